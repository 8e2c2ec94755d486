"""The ledger statement reads as a merchant's statement: credits, debits and each account's
balance after every entry, right across pages (frontend in process, real PostgreSQL)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from core import ledger
from core.dashboard.overview import overview
from core.ids import new_id
from tests.integration.test_dashboard import new_user, sign_in
from tests.integration.test_refunds import payin_body, settled

BALANCE = re.compile(r'data-testid="balance-after">([^<]*)<')


async def test_each_line_shows_the_balance_after_it_on_every_page(make_merchant: Any, app_client: Any, db: Any) -> None:
    merchant = await make_merchant()
    amounts = [10_000 + i for i in range(52)] + [-2_500]  # 53 entries: the page holds 50
    for amount in amounts:
        await ledger.adjust_merchant_balance(db, merchant.merchant_id, "INR", amount, new_id("adj"), "statement test")
    after, running = [], 0
    for amount in amounts:
        running += amount
        after.append(running)
    newest_first = [f"₹{v / 100:,.2f}" for v in reversed(after)]
    email = await new_user(db, merchant_id=merchant.merchant_id)
    async with app_client("frontend") as client:
        await sign_in(client, email)
        first = await client.get("/ledger")
        assert BALANCE.findall(first.text) == newest_first[:50]
        older = re.search(r'href="(/ledger\?starting_after=[^"]+)" rel="next"', first.text)
        assert older, "no link to older entries"
        second = await client.get(older.group(1))
        assert BALANCE.findall(second.text) == newest_first[50:]
        assert "₹25.00" in first.text  # the debit of 2,500 paise, in the debit column


async def test_the_overview_counts_today_seven_and_thirty_days_in_the_clients_days(
    routed_merchant: Any, resources: Any, stack: Any
) -> None:
    m = await routed_merchant()
    paid = (await m.post("/v1/payins", payin_body(12_300))).json()
    failed = (await m.post("/v1/payins", payin_body(4_551))).json()
    await settled(resources, "payin", paid["id"], "succeeded")
    await settled(resources, "payin", failed["id"], "failed")
    now = datetime.now(UTC)
    for days_later, expected in ((0, (1, 1, 1)), (3, (0, 1, 1)), (10, (0, 0, 1)), (40, (0, 0, 0))):
        numbers = await overview(resources, m.merchant_id, "Asia/Kolkata", now=now + timedelta(days=days_later))
        payins = numbers["payins"]
        volumes = tuple(payins[w]["volume"] // 12_300 for w in ("today", "week", "month"))
        assert volumes == expected, days_later
        if expected[0]:
            assert payins["today"]["count"] == 2 and payins["today"]["success_rate"] == 50.0
    day = now.astimezone(ZoneInfo("Asia/Kolkata")).date().isoformat()
    assert dict((await overview(resources, m.merchant_id, "Asia/Kolkata"))["daily_payin_volume"])[day] == 12_300
