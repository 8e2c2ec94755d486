"""Find and export on the dashboard: filters, "1–25 of N", page sizes, and a CSV whose rows are
exactly the API's list for the same filters (frontend in process, payins through the real stack)."""

from __future__ import annotations

import asyncio
import csv
import io
import re
from typing import Any

from core.ids import new_id
from tests.integration.test_dashboard import new_user, sign_in
from tests.integration.test_refunds import settled

POSITION = re.compile(r'data-testid="position">([^<]*)<')
EXPORT = re.compile(r'data-testid="export" href="([^"]+)"|href="([^"]+)" download data-testid="export"')


def payin(amount: int, method: str = "upi", email: str = "asha@example.com", phone: str | None = None) -> dict:
    customer = {"name": "Asha", "email": email, **({"phone": phone} if phone else {})}
    return {"amount": amount, "currency": "INR", "reference": new_id("find"), "method": method, "customer": customer}


def position(html: str) -> str:
    found = POSITION.search(html)
    assert found, html[:400]
    return found.group(1).strip()


def export_link(html: str) -> str:
    found = EXPORT.search(html)
    assert found, "no export link"
    return (found.group(1) or found.group(2)).replace("&amp;", "&")


def csv_ids(text: str) -> list[str]:
    rows = list(csv.DictReader(io.StringIO(text)))
    return [r["id"] for r in rows]


async def test_filters_count_pages_and_export_exactly_the_apis_rows(
    routed_merchant: Any, resources: Any, stack: Any, app_client: Any, db: Any
) -> None:
    m = await routed_merchant()
    bodies = [payin(10_000 + 100 * i) for i in range(24)]  # 24 paid by the sandbox (amount % 100 == 0)
    bodies += [payin(20_051, method="card"), payin(30_051, method="card")]  # 2 failed (51)
    bodies += [payin(55_500, method="bank_transfer", email="Ravi.K@Example.com", phone="+919800000001")]
    created = []
    for chunk in range(0, len(bodies), 9):
        answers = await asyncio.gather(*(m.post("/v1/payins", b) for b in bodies[chunk : chunk + 9]))
        assert all(a.status_code == 201 for a in answers), [a.text for a in answers if a.status_code != 201]
        created += [a.json() for a in answers]
    for p in created:
        await settled(resources, "payin", p["id"], "failed" if p["amount"] % 100 == 51 else "succeeded", timeout=40)
    email = await new_user(db, merchant_id=m.merchant_id)
    async with app_client("frontend") as client:
        await sign_in(client, email)
        everything = await client.get("/payins")
        assert position(everything.text) == "1–25 of 27" and 'rel="next"' in everything.text
        second = await client.get("/payins?page=2")
        assert position(second.text) == "26–27 of 27" and 'rel="prev"' in second.text
        assert position((await client.get("/payins?size=50")).text) == "1–27 of 27"

        succeeded = await client.get("/payins?status=succeeded&period=today")
        assert position(succeeded.text) == "1–25 of 25"
        exported = await client.get(export_link(succeeded.text))
        assert exported.status_code == 200 and exported.headers["content-type"] == "text/csv; charset=utf-8"
        api = (await m.get("/v1/payins?status=succeeded&limit=100")).json()
        assert csv_ids(exported.text) == [p["id"] for p in api["data"]]  # every page, same order

        failed_csv = await client.get("/payins.csv?status=failed")
        rows = list(csv.DictReader(io.StringIO(failed_csv.text)))
        assert sorted(int(r["amount"]) for r in rows) == [20_051, 30_051]
        assert {r["fee_charged"] for r in rows} == {"0"} and {r["method"] for r in rows} == {"card"}

        by_amount = await client.get("/payins?amount_min=105&amount_max=110.00")
        assert position(by_amount.text) == "1–6 of 6"  # 10,500 … 11,000 paise, both ends inclusive
        assert position((await client.get("/payins?method=bank_transfer")).text) == "1–1 of 1"
        for who in ("ravi.k@example.com", "+919800000001"):
            found = await client.get("/payins", params={"customer": who})
            assert position(found.text) == "1–1 of 1", who
        assert position((await client.get("/payins?period=custom&from=2020-01-01&to=2020-01-31")).text) == (
            "Nothing matches"
        )

        for bad in ("amount_min=ten", "from=2026-13-45&period=custom", "status=nonsense&size=7&page=x"):
            answer = await client.get(f"/payins?{bad}")
            assert answer.status_code == 200, bad
            assert position(answer.text) == "1–25 of 27", bad  # a bad value is dropped, the rest applies
        assert "must be a number" in (await client.get("/payins?amount_min=ten")).text


async def test_an_export_holds_only_the_signed_in_merchants_rows(
    routed_merchant: Any, resources: Any, stack: Any, app_client: Any, db: Any
) -> None:
    mine, theirs = await routed_merchant(), await routed_merchant()
    own = (await mine.post("/v1/payins", payin(10_000))).json()
    other = (await theirs.post("/v1/payins", payin(10_000))).json()
    email = await new_user(db, merchant_id=mine.merchant_id)
    async with app_client("frontend") as client:
        await sign_in(client, email)
        exported = await client.get("/payins.csv")
        assert csv_ids(exported.text) == [own["id"]] and other["id"] not in exported.text
        assert (await client.get("/payouts.csv")).text.splitlines()[0].startswith("id,created_at,status")
