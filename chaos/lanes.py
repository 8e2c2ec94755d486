"""The merchants' side of the chaos run: a plan of payins, payouts and refunds drawn from the seed
before anything starts (so `--seed N` replays the same operations whatever the scheduling), and
the lanes that send it, resending with the same Idempotency-Key as a merchant would."""

from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass
from typing import Any

import httpx
import orjson

from core.signing import sign_request

OUTCOMES = [0] * 14 + [51, 52, 53, 54, 55, 56]  # mostly paid, every special row present
REFUND_OUTCOMES = [0] * 6 + [51, 52, 53, 55, 56]  # refunds follow the payout column; 54 is as 00
LANES = 16
REFUND_LAG = 30  # paid payins planned between a refund and the payin it refunds


@dataclass(frozen=True, slots=True)
class Operation:
    n: int
    kind: str  # payin | payout | refund
    merchant: int  # index into the merchants list
    amount: int
    refund_of: int | None = None  # the plan index of the payin a refund is of


def plan(rng: random.Random, ops: int, merchants: int) -> list[Operation]:
    """60 % payins, 30 % payouts, 10 % refunds of a payin of the same merchant planned earlier."""
    out: list[Operation] = []
    paid_payins: list[Operation] = []
    for n in range(ops):
        roll = rng.random()
        if roll < 0.1 and len(paid_payins) > REFUND_LAG:
            # a payin planned well before, so it has usually been paid when the refund is sent
            payin = rng.choice(paid_payins[-2 * REFUND_LAG : -REFUND_LAG])
            amount = rng.randint(1, 9) * 100 + rng.choice(REFUND_OUTCOMES)
            out.append(Operation(n, "refund", payin.merchant, amount, refund_of=payin.n))
            continue
        outcome = rng.choice(OUTCOMES)
        kind = "payin" if roll < 0.7 else "payout"
        op = Operation(n, kind, rng.randrange(merchants), rng.randint(10, 90) * 100 + outcome)
        out.append(op)
        if kind == "payin" and outcome in (0, 54, 55):
            paid_payins.append(op)
    return out


def body_of(op: Operation, payin_ids: dict[int, str]) -> tuple[str, dict[str, Any]] | None:
    if op.kind == "payin":
        customer = {"name": "Chaos", "email": "c@example.com"}
        body = {"amount": op.amount, "currency": "INR", "reference": f"c{op.n}", "method": "upi"}
        return "/v1/payins", body | {"customer": customer, "expires_in_minutes": 1}
    if op.kind == "payout":
        beneficiary = {"name": "B", "account_number": "123456789012", "ifsc": "HDFC0001234"}
        body = {"amount": op.amount, "currency": "INR", "reference": f"c{op.n}", "mode": "imps"}
        return "/v1/payouts", body | {"beneficiary": beneficiary}
    payin_id = payin_ids.get(op.refund_of or 0)
    if payin_id is None:  # its payin was not created (yet): nothing to refund
        return None
    return "/v1/refunds", {"payin_id": payin_id, "reference": f"c{op.n}", "amount": op.amount}


def count(stats: dict[str, Any], *keys: str) -> None:
    node = stats
    for key in keys[:-1]:
        node = node.setdefault(key, {})
    node[keys[-1]] = node.get(keys[-1], 0) + 1


async def signed_post(
    client: httpx.AsyncClient, merchant: dict[str, str], path: str, body: dict[str, Any], key: str
) -> httpx.Response:
    raw = orjson.dumps(body)
    headers = sign_request(merchant["key_id"], merchant["secret"], "POST", path, raw)
    headers.update({"content-type": "application/json", "Idempotency-Key": key})
    return await client.post(path, content=raw, headers=headers)


async def send(
    client: httpx.AsyncClient, merchant: dict[str, str], op: Operation, payin_ids: dict[int, str], stats: dict
) -> None:
    """One merchant request, resent with the same Idempotency-Key on connection errors and 5xx."""
    request = body_of(op, payin_ids)
    if request is None:
        count(stats, "refunds_skipped")
        return
    path, body = request
    key = f"chaos-{op.n}"
    for attempt in range(8):
        try:
            response = await signed_post(client, merchant, path, body, key)
        except httpx.TransportError:
            stats["connection_errors"] += 1
            await asyncio.sleep(0.5 * (attempt + 1))
            continue
        code = response.status_code
        if code in (409, 401) and attempt > 0:  # in flight elsewhere, or a same-second resend: wait, resend
            await asyncio.sleep(1.1)
            if response.json()["error"]["code"] == "duplicate_reference":
                count(stats, "answers", op.kind, "409")
                return
            continue
        if code >= 500 and code != 502:
            stats["server_errors"] += 1
            await asyncio.sleep(0.5 * (attempt + 1))
            continue
        error = response.json().get("error", {}).get("code") if code >= 400 else None
        if error == "payin_not_refundable" and attempt < 7:  # its payin not settled yet: wait, as a merchant would
            key = f"chaos-{op.n}-{attempt}"  # a new request (an answer may be kept under its key)
            await asyncio.sleep(5)
            continue
        count(stats, "answers", op.kind, f"{code} {error}" if error else str(code))
        if op.kind == "payin" and code == 201:
            payin_ids[op.n] = response.json()["id"]
        return
    stats["gave_up"] += 1


async def drive(
    operations: list[Operation],
    merchants: list[dict[str, str]],
    base_url: str,
    stats: dict[str, Any],
    progress: dict[str, int],
) -> None:
    queue: asyncio.Queue[Operation] = asyncio.Queue()
    for op in operations:
        queue.put_nowait(op)
    payin_ids: dict[int, str] = {}
    async with httpx.AsyncClient(base_url=base_url, timeout=20) as client:

        async def lane() -> None:
            while not queue.empty():
                op = queue.get_nowait()
                await send(client, merchants[op.merchant], op, payin_ids, stats)
                progress["sent"] += 1

        await asyncio.gather(*[lane() for _ in range(LANES)])
