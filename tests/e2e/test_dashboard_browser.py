"""The dashboard in a real browser against real roles (frontend process, the `stack` for the API)."""

from __future__ import annotations

import re
import time
from typing import Any

import httpx
import pytest
from playwright.async_api import Page, expect

from core.resources import Resources
from core.storage.postgres import Database
from tests.e2e.conftest import PASSWORD, check_page, new_user, sign_in
from tests.fixtures.stack import eventually
from tests.integration.webhook_receiver import Receiver

CUSTOMER = {"name": "Asha Rao", "email": "asha@example.com", "phone": "+919812345678"}


@pytest.fixture
async def receiver() -> Any:
    r = Receiver()
    await r.start()
    yield r
    await r.stop()


async def test_a_merchant_sees_its_payin_and_payout_and_resends_a_webhook(
    page: Page, frontend: Any, routed_merchant: Any, resources: Resources, receiver: Receiver
) -> None:
    m = await routed_merchant("payment", webhook_url=receiver.url)
    email = await new_user(resources.db, "merchant", m.merchant_id)
    payin = (
        await m.post(
            "/v1/payins",
            {"amount": 250_000, "currency": "INR", "reference": "e2e-payin", "method": "upi", "customer": CUSTOMER},
        )
    ).json()

    async def settled() -> bool:
        doc = await resources.mongo.db.payins.find_one({"_id": payin["id"]})
        return doc["status"] == "succeeded" and not doc.get("effects_pending")

    await eventually(settled, 15)
    payout = await m.post(
        "/v1/payouts",
        {
            "amount": 100_000,
            "currency": "INR",
            "reference": "e2e-payout",
            "mode": "imps",
            "beneficiary": {"name": "Ravi Kumar", "account_number": "123456789012", "ifsc": "HDFC0001234"},
        },
    )
    assert payout.status_code == 201, payout.text
    payout_id = payout.json()["id"]

    async def payout_done() -> bool:
        doc = await resources.mongo.db.payouts.find_one({"_id": payout_id})
        return doc["status"] == "succeeded" and not doc.get("effects_pending")

    await eventually(payout_done, 15)
    await eventually(lambda: _delivered(resources, m.merchant_id, 2), 15)

    await sign_in(page, frontend.url, email)
    await expect(page.get_by_test_id("available")).to_have_text("₹1,445.00")  # 2500 - 50 fee - 1000 - 5 fee
    assert await page.locator("svg.chart rect").count() == 30
    chart = await page.locator("svg.chart").bounding_box()
    assert chart and abs(chart["width"] / chart["height"] - 640 / 220) < 0.05  # drawn to scale, never stretched
    light = await page.evaluate("getComputedStyle(document.body).backgroundColor")
    await page.emulate_media(color_scheme="dark")
    dark = await page.evaluate("getComputedStyle(document.body).backgroundColor")
    assert light == "rgb(245, 246, 248)" and dark == "rgb(20, 23, 28)"  # prefers-color-scheme is honoured
    await check_page(page, "overview-dark")
    await page.emulate_media(color_scheme="light")
    await page.get_by_label("Colours").select_option("dark")  # the user's own choice wins over the browser's
    await page.get_by_role("button", name="Apply").click()
    await expect(page.locator("html")).to_have_attribute("data-theme", "dark")
    assert await page.evaluate("getComputedStyle(document.body).backgroundColor") == dark
    await page.get_by_label("Colours").select_option("auto")
    await page.get_by_role("button", name="Apply").click()
    await expect(page.locator("html")).to_have_attribute("data-theme", "auto")
    await check_page(page, "overview")
    await page.set_viewport_size({"width": 390, "height": 844})  # a phone
    await check_page(page, "overview-phone")
    await page.set_viewport_size({"width": 1280, "height": 900})

    await page.get_by_role("link", name="Payins").first.click()
    await expect(page.get_by_role("link", name=payin["id"])).to_be_visible()
    await check_page(page, "payins")
    await page.get_by_role("link", name=payin["id"]).click()
    timeline = page.get_by_test_id("timeline")
    await expect(timeline).to_contain_text("pending")
    await expect(timeline).to_contain_text("succeeded")
    await expect(page.get_by_test_id("delivery-status").first).to_have_text("delivered")
    await check_page(page, "payin-detail")
    # a refund from the payin's page: amount in rupees, the confirmation box is required
    await page.get_by_label("Amount to refund").fill("100")
    await page.get_by_role("button", name="Refund").click()
    assert "/refunds/" not in page.url  # the browser refused: the box is not ticked
    await page.get_by_label("I confirm").check()
    await page.get_by_role("button", name="Refund").click()
    await page.wait_for_url(re.compile(r".*/refunds/rf_\w+$"))
    await expect(page.get_by_role("heading", level=1)).to_contain_text("Refund")
    await check_page(page, "refund-detail")
    await page.get_by_role("link", name=payin["id"]).first.click()
    await expect(page.get_by_test_id("refunds")).to_contain_text("₹100.00")
    await check_page(page, "payin-with-refund")

    await page.goto(f"{frontend.url}/payouts?status=succeeded")
    await check_page(page, "payouts")
    await page.get_by_role("link", name=payout_id).click()
    await expect(page.get_by_test_id("timeline")).to_contain_text("processing")
    await expect(page.get_by_text("XXXXXXXX9012")).to_be_visible()
    await check_page(page, "payout-detail")

    await page.goto(f"{frontend.url}/ledger")
    await expect(page.get_by_text("payin succeeded")).to_be_visible()
    await check_page(page, "ledger")
    csv = await page.request.get(f"{frontend.url}/ledger.csv")
    assert csv.ok and payin["id"] in await csv.text()
    assert csv.headers["content-type"] == "text/csv; charset=utf-8"

    await page.goto(f"{frontend.url}/webhooks")
    await check_page(page, "webhooks")
    before = len(receiver.requests)
    await page.get_by_role("button", name="Resend").first.click()
    await expect(page.get_by_role("status")).to_contain_text("queued to be sent again")
    await eventually(lambda: _arrived(receiver, before + 1), 15)
    await page.get_by_role("button", name="Rotate the signing secret").click()
    await expect(page.get_by_test_id("new-webhook-secret")).to_contain_text("whsec")
    # Shown once: not on the page when it is opened again. (The secret is never stored anywhere it
    # could be shown from later, so the answer to the POST is the only place it appears.)
    await page.goto(f"{frontend.url}/webhooks")
    assert await page.get_by_test_id("new-webhook-secret").count() == 0

    # every merchant page on a phone and in the dark: no table cut off, axe-core clean
    pages = (
        ("/", "overview"),
        ("/payins?period=7d&method=upi", "payins-filtered"),
        (f"/payins/{payin['id']}", "payin-with-refund"),
        ("/payouts", "payouts"),
        ("/refunds", "refunds"),
        ("/ledger", "statement"),
        ("/webhooks", "webhooks"),
        ("/keys", "keys"),
    )
    for width, scheme in ((360, "light"), (360, "dark"), (1280, "dark"), (1280, "light")):
        await page.set_viewport_size({"width": width, "height": 800})
        await page.emulate_media(color_scheme=scheme)
        for path, name in pages:
            await page.goto(frontend.url + path)
            await check_page(page, f"{name}-{width}-{scheme}")


async def _delivered(resources: Resources, merchant_id: str, count: int) -> bool:
    found = await resources.mongo.db.webhook_deliveries.count_documents(
        {"merchant_id": merchant_id, "status": "delivered"}
    )
    return found >= count


async def _arrived(receiver: Receiver, count: int) -> bool:
    return len(receiver.requests) >= count


async def test_keys_whitelist_csrf_and_another_merchants_payin(
    db: Database, page: Page, frontend: Any, routed_merchant: Any, make_merchant: Any
) -> None:
    other = await routed_merchant("payment")
    foreign = (
        await other.post(
            "/v1/payins",
            {"amount": 10_000, "currency": "INR", "reference": "e2e-foreign", "method": "upi", "customer": CUSTOMER},
        )
    ).json()
    mine = await make_merchant()
    await sign_in(page, frontend.url, await new_user(db, "merchant", mine.merchant_id))

    await page.goto(f"{frontend.url}/keys")
    await check_page(page, "keys")
    await page.get_by_role("button", name="Create a key").click()
    secret = page.get_by_test_id("new-secret")
    await expect(secret).to_contain_text("sk")
    new_key = re.search(r"key_\w+", await page.get_by_role("status").inner_text())
    assert new_key is not None
    await check_page(page, "keys-created")
    await page.goto(f"{frontend.url}/keys")
    assert await page.get_by_test_id("new-secret").count() == 0  # shown once
    row = page.locator(f'tr[data-key="{new_key.group(0)}"]')
    await row.get_by_role("button", name="Revoke").click()
    await expect(page.locator(f'tr[data-key="{new_key.group(0)}"] .status')).to_have_text("revoked")

    await page.goto(f"{frontend.url}/settings/whitelist")
    await page.get_by_label("One address or CIDR per line").fill("10.0.0.0/33")
    await page.get_by_role("button", name="Save whitelist").click()
    await expect(page.get_by_test_id("error")).to_be_visible()
    await check_page(page, "whitelist-error")
    await page.get_by_label("One address or CIDR per line").fill("10.0.0.0/8\n2001:db8::/32")
    await page.get_by_role("button", name="Save whitelist").click()
    await expect(page.get_by_role("status")).to_have_text("Saved.")
    await expect(page.get_by_label("One address or CIDR per line")).to_have_value("10.0.0.0/8\n2001:db8::/32")

    forged = await page.request.post(f"{frontend.url}/settings/whitelist", form={"entries": "0.0.0.0/0"})
    assert forged.status == 403  # the browser's own cookie, but no CSRF token
    missing = await page.goto(f"{frontend.url}/payins/{foreign['id']}")
    assert missing is not None and missing.status == 404
    await check_page(page, "not-found")


async def test_an_admin_suspends_a_merchant_and_its_next_call_is_refused(
    db: Database, page: Page, frontend: Any, routed_merchant: Any
) -> None:
    m = await routed_merchant("api")
    assert (await m.get("/v1/balance")).status_code == 200
    await _locked_after_five_bad_passwords(page, frontend.url, await new_user(db, "admin"))
    await sign_in(page, frontend.url, await new_user(db, "admin"))
    await check_page(page, "admin-merchants")
    await page.goto(f"{frontend.url}/manage/merchants/{m.merchant_id}")
    await check_page(page, "admin-merchant")
    await page.get_by_role("button", name="Suspend merchant").click()
    await expect(page.get_by_test_id("merchant-status")).to_have_text("suspended")

    started = time.monotonic()

    async def refused() -> httpx.Response | None:
        answer = await m.get("/v1/balance")
        return answer if answer.status_code == 403 else None

    answer = await eventually(refused, 15)  # the key cache holds a merchant's status up to 10 s
    assert answer.json()["error"]["code"] == "merchant_suspended", time.monotonic() - started

    pages = (
        ("/manage/ples", "admin-ples"),
        ("/manage/payouts-review", "admin-review"),
        ("/manage/settlements", "admin-settlements"),
        ("/manage/reconciliation", "admin-reconciliation"),
    )
    for width in (1280, 360):
        await page.set_viewport_size({"width": width, "height": 800})
        for path, name in (*pages, (f"/manage/merchants/{m.merchant_id}", "admin-merchant")):
            await page.goto(frontend.url + path)
            await check_page(page, name if width == 1280 else f"{name}-{width}")
    await page.set_viewport_size({"width": 1280, "height": 900})
    await page.goto(f"{frontend.url}/manage/audit?target={m.merchant_id}")
    await expect(page.get_by_test_id("chain")).to_contain_text("verified")
    await expect(page.get_by_text("merchant.suspended")).to_be_visible()
    await check_page(page, "admin-audit")


async def _locked_after_five_bad_passwords(page: Page, base: str, email: str) -> None:
    await page.goto(f"{base}/signin")
    for attempt in range(6):
        await page.get_by_label("Email").fill(email)
        await page.get_by_label("Password").fill(PASSWORD if attempt == 5 else "not the password")
        async with page.expect_response(f"{base}/signin") as answer:
            await page.get_by_role("button", name="Sign in").click()
        expected = 429 if attempt == 5 else 401  # locked: even the right password is refused
        assert (await answer.value).status == expected, attempt
    await expect(page.get_by_role("alert")).to_contain_text("Too many failed sign-ins")
    await check_page(page, "signin-locked")
