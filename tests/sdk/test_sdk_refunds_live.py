"""Refunds through the SDK against the live gateway and sandbox (the server side of issue 20),
with both `Client` and `AsyncClient`."""

from __future__ import annotations

import pytest
from gateway_client import ApiError, Refund

from tests.sdk.conftest import done, every
from tests.sdk.test_sdk_payments import payin_params, settle


async def test_a_payin_is_refunded_in_part_then_in_full_and_over_refunding_is_refused(
    make_sdk_merchant, open_client
) -> None:
    merchant = await make_sdk_merchant(funds=1_000)
    client = open_client(merchant)
    payin = await done(client.payins.create(**payin_params("sdk-rf-payin")))
    await settle(client, "payins", payin.id, ("pending",))
    part = await done(client.refunds.create(payin_id=payin.id, reference="sdk-rf-1", amount=2_500, reason="damaged"))
    assert isinstance(part, Refund) and part.object == "refund" and part.amount == 2_500
    rest = await done(client.refunds.create(payin_id=payin.id, reference="sdk-rf-2"))  # what is left
    assert rest.amount == 7_500
    with pytest.raises(ApiError) as refused:
        await done(client.refunds.create(payin_id=payin.id, reference="sdk-rf-3", amount=1))
    assert refused.value.status == 422 and refused.value.code == "refund_exceeds_payin"
    for refund in (part, rest):
        assert (await settle(client, "refunds", refund.id, ("pending", "processing"))).status == "succeeded"
    listed = await every(client.refunds.list(payin_id=payin.id))
    assert sorted(r.amount for r in listed) == [2_500, 7_500]
    assert (await done(client.payins.get(payin.id))).amount_refunded == 10_000
    balance = await done(client.balance())
    assert balance["INR"].available == 1_000 + 9_800 - 10_000


async def test_refunding_a_pending_payin_is_refused(make_sdk_merchant, open_client) -> None:
    merchant = await make_sdk_merchant(funds=10_000)
    client = open_client(merchant)
    payin = await done(client.payins.create(**payin_params("sdk-rf-pending", amount=10_052)))  # never paid
    with pytest.raises(ApiError) as refused:
        await done(client.refunds.create(payin_id=payin.id, reference="sdk-rf-p", amount=100))
    assert refused.value.code == "payin_not_refundable" and refused.value.request_id.startswith("req_")
