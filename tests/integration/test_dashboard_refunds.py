"""A merchant refunds a payin from the dashboard (§4.9): the form on the payin's page goes through
the API's service; the refunds list, the refund page and the admin review page show refunds; a
failed payin shows no fee as charged. Frontend in process, payments through the real stack."""

from __future__ import annotations

import re
from typing import Any

import msgspec

from core.payments.refunds import MACHINE
from tests.integration.test_dashboard import csrf_of, new_user, sign_in
from tests.integration.test_refunds import paid_payin, payin_body, settled

FORM_REFERENCE = re.compile(r'name="reference" value="(dash-[0-9a-f]{16})"')


def refund_form(html: str, **fields: str) -> dict[str, str]:
    found = FORM_REFERENCE.search(html)
    assert found, "the payin page has no refund form"
    return {"csrf_token": csrf_of(html), "reference": found.group(1), **fields}


async def refunds_of(resources: Any, payin_id: str) -> list[dict[str, Any]]:
    return await resources.mongo.db.refunds.find({"payin_id": payin_id}).to_list(None)


async def test_a_merchant_refunds_part_of_a_payin_from_its_page_once(
    routed_merchant: Any, resources: Any, stack: Any, app_client: Any
) -> None:
    m, payin = await paid_payin(routed_merchant, resources, top_up=200)
    email = await new_user(resources.db, merchant_id=m.merchant_id)
    async with app_client("frontend") as client:
        await sign_in(client, email)
        page = await client.get(f"/payins/{payin['id']}")
        assert page.status_code == 200 and 'data-testid="refund-form"' in page.text
        assert "₹100.00" in page.text  # what may still be refunded: all of it

        unconfirmed = await client.post(f"/payins/{payin['id']}/refunds", data=refund_form(page.text, amount="40"))
        assert unconfirmed.status_code == 422 and "confirm" in unconfirmed.text
        for bad in ("12.345", "-5", "ten", "0"):
            refused = await client.post(
                f"/payins/{payin['id']}/refunds", data=refund_form(page.text, amount=bad, confirm="yes")
            )
            assert refused.status_code == 422 and 'data-testid="refund-error"' in refused.text, bad
        too_much = await client.post(
            f"/payins/{payin['id']}/refunds", data=refund_form(page.text, amount="100.01", confirm="yes")
        )
        assert too_much.status_code == 422 and "still refundable" in too_much.text
        assert await refunds_of(resources, payin["id"]) == []  # nothing held, nothing created

        form = refund_form(page.text, amount="40.00", reason="damaged parcel", confirm="yes")
        created = await client.post(f"/payins/{payin['id']}/refunds", data=form)
        assert created.status_code == 303 and created.headers["location"].startswith("/refunds/rf_")
        again = await client.post(f"/payins/{payin['id']}/refunds", data=form)  # a double-click, a re-post
        assert again.status_code == 409
        refunds = await refunds_of(resources, payin["id"])
        assert [(r["amount"], r["reason"]) for r in refunds] == [(4_000, "damaged parcel")]

        await settled(resources, "refund", refunds[0]["_id"], "succeeded")
        shown = await client.get(created.headers["location"])
        assert shown.status_code == 200 and "₹40.00" in shown.text and payin["id"] in shown.text
        page = await client.get(f"/payins/{payin['id']}")
        assert refunds[0]["_id"] in page.text and 'data-testid="amount-refunded"' in page.text
        assert "₹60.00" in page.text  # the rest is still refundable
        listed = await client.get("/refunds")
        assert listed.status_code == 200 and refunds[0]["_id"] in listed.text
        succeeded_only = await client.get("/refunds?status=failed")
        assert refunds[0]["_id"] not in succeeded_only.text


async def test_another_merchants_payin_cannot_be_refunded_from_the_dashboard(
    routed_merchant: Any, resources: Any, stack: Any, app_client: Any
) -> None:
    _, payin = await paid_payin(routed_merchant, resources, top_up=200)
    other = await routed_merchant()
    email = await new_user(resources.db, merchant_id=other.merchant_id)
    async with app_client("frontend") as client:
        await sign_in(client, email)
        assert (await client.get(f"/payins/{payin['id']}")).status_code == 404
        own = await client.get("/refunds")
        refused = await client.post(
            f"/payins/{payin['id']}/refunds",
            data={"csrf_token": csrf_of(own.text), "reference": "dash-0123456789abcdef", "confirm": "yes"},
        )
        assert refused.status_code == 404
    assert await refunds_of(resources, payin["id"]) == []


async def test_a_failed_payin_shows_no_fee_and_no_refund_form(
    routed_merchant: Any, resources: Any, stack: Any, app_client: Any
) -> None:
    m = await routed_merchant()
    payin = (await m.post("/v1/payins", payin_body(amount=10_051))).json()  # 51: the sandbox fails it
    await settled(resources, "payin", payin["id"], "failed")
    email = await new_user(resources.db, merchant_id=m.merchant_id)
    async with app_client("frontend") as client:
        await sign_in(client, email)
        page = await client.get(f"/payins/{payin['id']}")
        assert page.status_code == 200
        fee = re.search(r'data-testid="fee">([^<]*)<', page.text)
        assert fee and fee.group(1) == "none (not charged)"
        assert 'data-testid="refund-form"' not in page.text


async def test_admins_see_refunds_needing_review(
    routed_merchant: Any, resources: Any, stack: Any, app_client: Any
) -> None:
    m, payin = await paid_payin(routed_merchant, resources, top_up=200)
    refund = (await m.post("/v1/refunds", {"payin_id": payin["id"], "reference": "rv-1", "amount": 1_053})).json()
    await MACHINE.store(resources).update(refund["id"], lambda r: msgspec.structs.replace(r, needs_review=True))
    admin = await new_user(resources.db, role="admin")
    async with app_client("frontend") as client:
        await sign_in(client, admin)
        page = await client.get("/manage/payouts-review")
        assert page.status_code == 200
        section = page.text.split('data-testid="review-refunds"')[1].split("</table>")[0]
        assert refund["id"] in section and m.merchant_id in section
