"""The dashboard over HTTP (frontend role, in process): sign-in, sessions, CSRF, throttling, scoping."""

from __future__ import annotations

import re
import secrets
from typing import Any

import httpx

from core.dashboard.users import create_user
from core.storage.postgres import Database, Handle

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
PASSWORD = "correct horse battery"


def csrf_of(html: str) -> str:
    found = CSRF.search(html)
    assert found, html[:500]
    return found.group(1)


async def new_user(db: Handle, role: str = "merchant", merchant_id: str | None = None) -> str:
    email = f"{role}-{secrets.token_hex(4)}@example.com"
    await create_user(db, email, PASSWORD, role, merchant_id)
    return email


async def sign_in(client: httpx.AsyncClient, email: str, password: str = PASSWORD) -> httpx.Response:
    form = await client.get("/signin")
    assert form.status_code == 200
    return await client.post("/signin", data={"email": email, "password": password, "csrf_token": csrf_of(form.text)})


async def test_sign_in_shows_the_overview_and_sets_a_safe_cookie(
    db: Database, app_client: Any, make_merchant: Any
) -> None:
    merchant = await make_merchant()
    email = await new_user(db, merchant_id=merchant.merchant_id)
    async with app_client("frontend") as client:
        assert (await client.get("/")).headers["location"] == "/signin"
        answer = await sign_in(client, email)
        assert answer.status_code == 303 and answer.headers["location"] == "/"
        cookie = answer.headers["set-cookie"].lower()
        assert "httponly" in cookie and "samesite=lax" in cookie and "secure" not in cookie
        page = await client.get("/")
        assert page.status_code == 200
        assert "<title>Overview" in page.text and "<svg" in page.text and 'data-testid="available"' in page.text
        out = await client.post("/signout", data={"csrf_token": csrf_of(page.text)})
        assert out.status_code == 303
        assert (await client.get("/")).headers["location"] == "/signin"


async def test_a_post_without_the_csrf_token_is_refused(db: Database, app_client: Any, make_merchant: Any) -> None:
    merchant = await make_merchant()
    email = await new_user(db, merchant_id=merchant.merchant_id)
    async with app_client("frontend") as client:
        await sign_in(client, email)
        refused = await client.post("/settings/whitelist", data={"entries": "10.0.0.0/8"})
        assert refused.status_code == 403 and "text/html" in refused.headers["content-type"]
        wrong = await client.post("/settings/whitelist", data={"entries": "10.0.0.0/8", "csrf_token": "x" * 43})
        assert wrong.status_code == 403
        page = await client.get("/settings/whitelist")
        assert "10.0.0.0/8" not in page.text
        ok = await client.post("/settings/whitelist", data={"entries": "10.0.0.0/8", "csrf_token": csrf_of(page.text)})
        assert ok.status_code == 303
        assert "10.0.0.0/8" in (await client.get("/settings/whitelist")).text


async def test_the_sign_in_form_itself_needs_its_token(db: Database, app_client: Any, make_merchant: Any) -> None:
    merchant = await make_merchant()
    email = await new_user(db, merchant_id=merchant.merchant_id)
    async with app_client("frontend") as client:
        answer = await client.post("/signin", data={"email": email, "password": PASSWORD})
        assert answer.status_code == 403


async def test_repeated_bad_passwords_lock_the_email_from_that_address(
    db: Database, app_client: Any, make_merchant: Any
) -> None:
    merchant = await make_merchant()
    email = await new_user(db, merchant_id=merchant.merchant_id)
    async with app_client("frontend", client_ip="10.9.8.7") as client:
        for _ in range(5):
            assert (await sign_in(client, email, "wrong password!")).status_code == 401
        locked = await sign_in(client, email)  # even the right password waits out the lock
        assert locked.status_code == 429 and "Too many failed sign-ins" in locked.text
    async with app_client("frontend", client_ip="10.9.8.8") as other:  # another address is not locked
        assert (await sign_in(other, email)).status_code == 303


async def test_a_merchant_user_sees_only_its_own_merchant(
    db: Database, app_client: Any, make_merchant: Any, routed_merchant: Any
) -> None:
    other = await routed_merchant("payment")
    created = await other.post(
        "/v1/payins",
        {
            "amount": 10000,
            "currency": "INR",
            "reference": f"scope-{secrets.token_hex(4)}",
            "method": "upi",
            "customer": {"name": "A", "email": "a@example.com", "phone": "+919800000000"},
        },
    )
    assert created.status_code == 201, created.text
    payin_id = created.json()["id"]
    mine = await make_merchant()
    email = await new_user(db, merchant_id=mine.merchant_id)
    other_email = await new_user(db, merchant_id=other.merchant_id)
    async with app_client("frontend") as client:
        await sign_in(client, email)
        missing = await client.get(f"/payins/{payin_id}")
        assert missing.status_code == 404 and "text/html" in missing.headers["content-type"]
        assert payin_id not in (await client.get("/payins")).text
        assert (await client.get("/manage/merchants")).status_code == 403
    async with app_client("frontend") as client:
        await sign_in(client, other_email)
        assert (await client.get(f"/payins/{payin_id}")).status_code == 200
        assert payin_id in (await client.get("/payins")).text


async def test_an_admin_is_kept_out_of_merchant_pages(db: Database, app_client: Any) -> None:
    email = await new_user(db, "admin")
    async with app_client("frontend") as client:
        answer = await sign_in(client, email)
        assert answer.headers["location"] == "/manage/merchants"
        assert (await client.get("/payins")).status_code == 403


async def test_admin_changes_go_through_the_services_and_are_audited_as_the_user(
    app_client: Any, resources: Any, db: Any
) -> None:
    from core import audit, ledger
    from core.merchants.service import get_merchant

    email = await new_user(resources.db, "admin")
    async with app_client("frontend") as client:
        await sign_in(client, email)
        page = await client.get("/manage/merchants")
        token = csrf_of(page.text)
        created = await client.post("/manage/merchants", data={"name": "Form merchant", "csrf_token": token})
        assert created.status_code == 201 and "shown only once" in created.text
        merchant_id = re.search(r"mer_\w+", created.text).group(0)  # type: ignore[union-attr]
        fees = f"/manage/merchants/{merchant_id}/fee-plans"
        bad = await client.post(fees, data={"fee:payin:upi:percent": "150", "csrf_token": token})
        assert bad.status_code == 422 and "payin upi percent" in bad.text
        form = {"fee:payin:upi:percent": "1.5", "fee:payout:imps:fixed": "5", "csrf_token": token}
        preview = await client.post(fees, data={**form, "action": "preview"})
        assert preview.status_code == 200 and "Preview: not saved yet." in preview.text
        assert re.findall(r'data-testid="sample-fee">([^<]*)<', preview.text)[:4] == [
            "₹15.00",
            "₹0.00",
            "₹0.00",
            "₹5.00",
        ]
        assert (await get_merchant(db, merchant_id))["fee_plans"] == {}  # a preview saves nothing
        assert (await client.post(fees, data={**form, "action": "save"})).status_code == 303
        saved = (await get_merchant(db, merchant_id))["fee_plans"]
        assert saved == {
            "payin": {"upi": {"percent_bps": 150, "fixed": 0}},
            "payout": {"imps": {"percent_bps": 0, "fixed": 500}},
        }
        credit = {
            "direction": "credit",
            "amount": "50.00",
            "currency": "INR",
            "reference": "adj-1",
            "reason": "goodwill",
        }
        credit["csrf_token"] = token
        assert (await client.post(f"/manage/merchants/{merchant_id}/adjustments", data=credit)).status_code == 303
        again = await client.post(f"/manage/merchants/{merchant_id}/adjustments", data=credit)
        assert again.headers["location"].endswith("done=replayed")
        debit = {**credit, "direction": "debit", "amount": "12.5", "reference": "adj-2"}
        assert (await client.post(f"/manage/merchants/{merchant_id}/adjustments", data=debit)).status_code == 303
        assert (await ledger.merchant_balances(db, merchant_id))[0]["available"] == 5_000 - 1_250
        paise = await client.post(f"/manage/merchants/{merchant_id}/adjustments", data={**credit, "amount": "1.234"})
        assert paise.status_code == 422
        suspend = {"status": "suspended", "csrf_token": token}
        assert (await client.post(f"/manage/merchants/{merchant_id}/status", data=suspend)).status_code == 303
        detail = await client.get(f"/manage/merchants/{merchant_id}")
        assert 'data-testid="merchant-status">suspended' in detail.text
        audit_page = await client.get(f"/manage/audit?target={merchant_id}")
        assert audit_page.status_code == 200 and "verified" in audit_page.text
        for path in ("/manage/ples", "/manage/settlements", "/manage/reconciliation", "/manage/payouts-review"):
            assert (await client.get(path)).status_code == 200, path
    entries, _ = await audit.list_entries(resources.mongo, target=merchant_id, limit=20)
    actions = {e["action"]: e["actor"] for e in entries}
    assert set(actions) >= {"merchant.created", "merchant.updated", "balance.adjusted", "merchant.suspended"}
    actors = set(actions.values())
    assert len(actors) == 1 and next(iter(actors)).startswith("user:usr_"), actors


async def test_the_user_command_creates_a_user_who_can_sign_in(app_client: Any, make_merchant: Any) -> None:
    import asyncio
    import sys

    merchant = await make_merchant()
    email = f"cli-{secrets.token_hex(4)}@example.com"
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        "from core.cli.user import user; user()",
        *("create", "--email", email, "--role", "merchant", "--merchant", merchant.merchant_id),
        *("--password", PASSWORD, "--json"),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await proc.communicate()
    assert proc.returncode == 0, err.decode()[-1000:]
    assert email in out.decode() and "password" not in out.decode()
    async with app_client("frontend") as client:
        assert (await sign_in(client, email)).status_code == 303


async def test_an_admin_creates_a_ple_from_the_form_and_sees_a_generated_secret_once(app_client: Any, db: Any) -> None:
    from core.routing import get_ple

    email = await new_user(db, "admin")
    async with app_client("frontend") as client:
        await sign_in(client, email)
        page = await client.get("/manage/ples")
        token = csrf_of(page.text)
        form = {
            "provider": "sandbox",
            "name": "Form PLE",
            "currency": "INR",
            "base_url": "http://127.0.0.1:8400",
            "fee:payin:upi:percent": "0.5",
            "csrf_token": token,
        }
        weak = await client.post("/manage/ples", data={**form, "secret": "sandbox-dev-secret"})
        assert weak.status_code == 422 and 'data-testid="ple-created"' not in weak.text
        bad_url = await client.post("/manage/ples", data={**form, "base_url": "ftp://x"})
        assert bad_url.status_code == 422
        created = await client.post("/manage/ples", data=form)
        assert created.status_code == 201, created.text[:500]
        secret = re.search(r'data-testid="ple-secret">([^<]+)<', created.text)
        assert secret and len(secret.group(1)) >= 32
        ple_id = re.search(r"<code>(ple_\w+)</code>", created.text).group(1)  # type: ignore[union-attr]
        ple = await get_ple(db, ple_id)
        assert ple["fee_schedule"] == {"payin": {"upi": {"percent_bps": 50, "fixed": 0}}}
        assert secret.group(1) not in (await client.get("/manage/ples")).text  # shown once


async def test_the_colour_theme_is_remembered_per_user(app_client: Any, make_merchant: Any, db: Any) -> None:
    merchant = await make_merchant()
    email = await new_user(db, merchant_id=merchant.merchant_id)
    async with app_client("frontend") as client:
        await sign_in(client, email)
        page = await client.get("/payins")
        assert 'data-theme="auto"' in page.text
        token = csrf_of(page.text)
        chosen = await client.post(
            "/settings/theme", data={"theme": "dark", "csrf_token": token}, headers={"referer": "http://x/payins?a=1"}
        )
        assert chosen.status_code == 303 and chosen.headers["location"] == "/"  # another site's page: home
        back = await client.post(
            "/settings/theme", data={"theme": "dark", "csrf_token": token}, headers={"referer": "/payins"}
        )
        assert back.headers["location"] == "/payins"
        bad = await client.post("/settings/theme", data={"theme": "pink", "csrf_token": token})
        assert bad.status_code == 422
        assert (await client.post("/settings/theme", data={"theme": "light"})).status_code == 403  # no CSRF token
    async with app_client("frontend") as again:  # another browser, a new session: still dark
        await sign_in(again, email)
        assert 'data-theme="dark"' in (await again.get("/")).text
    admin = await new_user(db, "admin")
    async with app_client("frontend") as client:
        await sign_in(client, admin)
        page = await client.get("/manage/merchants")
        answer = await client.post("/settings/theme", data={"theme": "light", "csrf_token": csrf_of(page.text)})
        assert answer.status_code == 303
        assert 'data-theme="light"' in (await client.get("/manage/merchants")).text
