"""The forged-callback lane of the chaos run (issue 25): someone holding PLE B's secret (a hostile
or compromised provider account) posts callbacks at the gateway while the run goes on:

- `other_ple`: "paid" for a payin of PLE A that will never be collected, signed with B's secret,
  at the generic URL, at A's own URL and at B's own URL: must be refused (401), nothing credited;
- `wrong_amount`: "paid" for a never-collected payin of B, signed by B, for another amount: the
  gateway must not credit it (amount checked against the transaction);
- `replayed`: the same signed "paid" bytes of a payin B really collected, sent three times at B's
  URL and once at A's: credited exactly once, never through A;
- `unknown_id`: "paid" for ids no one created, signed by B and by a secret no PLE has.

Whether money moved is judged after the drain by the provider-side invariants
(chaos/provider_truth.py): these payins were never collected, or collected once. Here each answer
is counted, and any 2xx to a callback that had to be refused, or any 5xx, is a problem."""

from __future__ import annotations

import asyncio
import random
import secrets
from typing import Any

import httpx
import orjson

from chaos.lanes import count, signed_post
from core.sandbox.signing import SIGNATURE_HEADER, sign_body

CALLBACKS = "/v1/callbacks/sandbox"


def callback(payin_id: str, amount: int, *, event_id: str | None = None) -> bytes:
    return orjson.dumps(
        {
            "event_id": event_id or f"evt_forged_{secrets.token_hex(8)}",
            "event_type": "payin.paid",
            "object": "payin",
            "object_id": payin_id,
            "provider_reference": f"sbx_pi_{secrets.token_hex(8)}",
            "status": "paid",
            "amount": amount,
            "currency": "INR",
            "failure_code": None,
            "occurred_at": None,
        }
    )


class ForgedLane:
    def __init__(
        self,
        client: httpx.AsyncClient,
        ples: dict[str, dict[str, Any]],  # "a" and "b": {"id", "secret", "sandbox_url", "merchants"}
        stats: dict[str, Any],
        problems: list[str],
    ) -> None:
        self.client, self.ples, self.stats, self.problems = client, ples, stats, problems

    async def post(self, variant: str, path: str, secret: str, raw: bytes, *, refused: bool) -> None:
        headers = {"content-type": "application/json", SIGNATURE_HEADER: sign_body(secret, raw)}
        code = 0  # resent like a provider would while a store restarts: a 5xx there is no verdict
        for attempt in range(6):
            try:
                code = (await self.client.post(path, content=raw, headers=headers)).status_code
            except httpx.TransportError:
                code = 0
            if 0 < code < 500:
                break
            count(self.stats, "forged", "resent")
            await asyncio.sleep(attempt + 1)
        count(self.stats, "forged", variant, str(code))
        if code == 0 or code >= 500 or (refused and code < 400):
            self.problems.append(f"forged {variant} callback at {path} answered {code}")

    async def payin(self, ple: str, merchant: dict[str, str], amount: int, n: int) -> str | None:
        body = {"amount": amount, "currency": "INR", "reference": f"forged-{ple}-{n}", "method": "upi"}
        body |= {"customer": {"name": "F", "email": "f@example.com"}, "expires_in_minutes": 1}
        for _ in range(5):
            try:
                response = await signed_post(self.client, merchant, "/v1/payins", body, f"forged-{ple}-{n}")
            except httpx.TransportError:
                await asyncio.sleep(1)
                continue
            if response.status_code == 201:
                return str(response.json()["id"])
            await asyncio.sleep(1.1)
        return None

    async def provider_paid(self, ple: str, payin_id: str, seconds: float = 20) -> bool:
        for _ in range(int(seconds * 2)):
            answer = await self.client.get(f"{self.ples[ple]['sandbox_url']}/__sandbox/payins/{payin_id}")
            if answer.json().get("status") == "paid":
                return True
            await asyncio.sleep(0.5)
        return False

    async def round(self, rng: random.Random, n: int) -> None:
        a, b = self.ples["a"], self.ples["b"]
        urls = {"generic": CALLBACKS, "a": f"{CALLBACKS}/{a['id']}", "b": f"{CALLBACKS}/{b['id']}"}
        amount = rng.randint(10, 90) * 100
        victim = await self.payin("a", rng.choice(a["merchants"]), amount + 52, n)
        if victim:
            for url in urls.values():
                await self.post("other_ple", url, b["secret"], callback(victim, amount + 52), refused=True)
        own = await self.payin("b", rng.choice(b["merchants"]), amount + 52, n)
        if own:
            await self.post("wrong_amount", urls["b"], b["secret"], callback(own, amount * 10 + 52), refused=False)
        await self.post("unknown_id", urls["generic"], b["secret"], callback(f"pi_forged{n}", amount), refused=False)
        stranger = secrets.token_urlsafe(32)
        await self.post("unknown_id", urls["generic"], stranger, callback(f"pi_forged{n}", amount), refused=True)
        paid = await self.payin("b", rng.choice(b["merchants"]), amount, 10_000 + n)
        if paid and await self.provider_paid("b", paid):
            raw = callback(paid, amount, event_id=f"evt_replayed_{n}")
            for _ in range(3):
                await self.post("replayed", urls["b"], b["secret"], raw, refused=False)
            await self.post("replayed", urls["a"], b["secret"], raw, refused=True)

    async def run(self, rng: random.Random, rounds: int, done: asyncio.Event) -> None:
        for n in range(rounds):
            if done.is_set():
                break
            await self.round(rng, n)
            count(self.stats, "forged", "rounds")
