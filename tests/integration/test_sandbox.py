"""The sandbox PSP as a real process, observed through the sandbox adapter and its callbacks.

Every row of ARCHITECTURE §5's outcome table, for payins and payouts, plus the provider faults the
payment code relies on: status queries retried, creates never blindly retried, idempotent payouts.
"""

from __future__ import annotations

import asyncio
import secrets
import time
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
import pytest_asyncio

from core.config import load_settings
from core.observability.metrics import render_latest
from core.providers import (
    CallbackEvent,
    InvalidCallbackSignature,
    MalformedCallback,
    PayinRequest,
    PayoutRequest,
    PleConfig,
    ProviderAdapter,
    ProviderRejected,
    ProviderUnavailable,
    UnknownProvider,
    close_adapters,
    get_adapter,
)
from core.providers.sandbox import SandboxAdapter
from core.sandbox.signing import sign_body
from tests.integration.sandbox_fixtures import (
    CallbackReceiver,
    Received,
    SandboxProcess,
    free_port,
    wait_until,
)

SECRET = secrets.token_urlsafe(32)  # generated: a PLE secret never has a default
DELAY = 0.3
QUIET = 0.5  # how long we listen for callbacks that must not come


class Env:
    """Everything a test needs: the processes, the receiver, an adapter and PLEs."""

    def __init__(
        self,
        main: SandboxProcess,
        slow: SandboxProcess,
        dropping: SandboxProcess,
        receiver: CallbackReceiver,
    ) -> None:
        self.main, self.slow, self.dropping, self.receiver = main, slow, dropping, receiver
        settings = load_settings({}, provider_read_timeout_seconds=2.0)
        self.adapter = SandboxAdapter(settings, retry_base_delay=0.02)

    def ple(self, sandbox: SandboxProcess | None = None, secret: str = SECRET) -> PleConfig:
        base_url = (sandbox or self.main).base_url
        return PleConfig("ple_test", "sandbox", base_url, secret, "INR")


@pytest_asyncio.fixture(scope="module")
async def env() -> AsyncIterator[Env]:
    receiver = CallbackReceiver()
    await receiver.start()
    common = ["--callback-url", receiver.url, "--callback-retry-base-seconds", "0.1"]
    main = SandboxProcess([*common, "--delay-seconds", str(DELAY)], SECRET)
    slow = SandboxProcess([*common, "--latency-ms", "600", "--error-rate", "1.0"], SECRET)
    dropping = SandboxProcess([*common, "--delay-seconds", "0", "--drop-callback-rate", "1.0"], SECRET)
    processes = (main, slow, dropping)
    try:
        await asyncio.gather(*(p.wait_ready() for p in processes))
        environment = Env(main, slow, dropping, receiver)
        yield environment
        await environment.adapter.aclose()
    finally:
        for process in processes:
            await process.stop()
        await receiver.stop()


def new_id(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:16]}"


def payin_request(amount: int, expires_at: datetime, method: str = "upi") -> PayinRequest:
    customer = {"name": "Asha", "email": "asha@example.com", "phone": "+919800000000"}
    return PayinRequest(new_id("pi"), amount, "INR", method, customer, expires_at)  # type: ignore[arg-type]


def payout_request(amount: int, payout_id: str | None = None) -> PayoutRequest:
    beneficiary = {"name": "Ravi", "account_number": "123456789012", "ifsc": "HDFC0000001"}
    return PayoutRequest(payout_id or new_id("po"), amount, "INR", "imps", beneficiary, "test")


def verified(env: Env, received: list[Received]) -> list[CallbackEvent]:
    """Every delivered callback must verify with the PLE secret."""
    return [env.adapter.verify_callback(SECRET, r.headers, r.body) for r in received]


# amount % 100 -> (final payin status, callback statuses in arrival order, same event twice?)
PAYIN_TABLE = {
    1000: ("succeeded", ["succeeded"]),
    1050: ("succeeded", ["succeeded"]),
    1051: ("failed", ["failed"]),
    1052: ("pending", []),
    1053: ("succeeded", ["succeeded"]),
    1054: ("succeeded", ["succeeded", "succeeded"]),
    1055: ("succeeded", []),
    1056: ("succeeded", ["succeeded", "failed"]),
    1099: ("succeeded", ["succeeded"]),
}


async def test_payin_outcome_table(env: Env) -> None:
    ple = env.ple()
    started = datetime.now(UTC)
    expires_at = started + timedelta(seconds=0.7)
    reqs = {amount: payin_request(amount, expires_at) for amount in PAYIN_TABLE}
    results = await asyncio.gather(*(env.adapter.create_payin(ple, r) for r in reqs.values()))
    created = dict(zip(reqs, results, strict=True))
    for amount, result in created.items():
        assert result.status == "pending", amount
        assert result.provider_reference and result.payment_url, amount
    assert created[1000].instructions and created[1000].instructions["vpa"]

    # After the delay but before expiry: 52 and 53 are still unpaid, the others are settled.
    await asyncio.sleep(DELAY + 0.15)
    assert (await env.adapter.payin_status(ple, reqs[1052].payin_id)).status == "pending"
    assert (await env.adapter.payin_status(ple, reqs[1053].payin_id)).status == "pending"
    assert (await env.adapter.payin_status(ple, reqs[1055].payin_id)).status == "succeeded"

    def all_arrived() -> bool:
        return all(len(env.receiver.delivered(reqs[a].payin_id)) >= len(cbs) for a, (_, cbs) in PAYIN_TABLE.items())

    assert await wait_until(all_arrived, timeout=5)
    await asyncio.sleep(QUIET)  # nothing more may come: 52 past its expiry, 55 never
    for amount, (final, callback_statuses) in PAYIN_TABLE.items():
        req = reqs[amount]
        status = await env.adapter.payin_status(ple, req.payin_id)
        assert status.status == final, amount
        assert status.provider_reference == created[amount].provider_reference
        events = verified(env, env.receiver.delivered(req.payin_id))
        assert [e.status for e in events] == callback_statuses, amount
        for event in events:
            assert (event.kind, event.object_id) == ("payin", req.payin_id)
            assert event.provider_reference == created[amount].provider_reference
        counters = await env.main.counters("payin", req.payin_id)
        assert (counters["submissions"], counters["payins_created"]) == (1, 1)

    # 53 is a late success: paid only after expires_at plus the delay.
    (late,) = verified(env, env.receiver.delivered(reqs[1053].payin_id))
    assert late.occurred_at and late.occurred_at >= expires_at + timedelta(seconds=DELAY - 0.05)
    # 54 delivers the same event twice; 56 a distinct, stale `failed` after the `paid` one.
    twice = verified(env, env.receiver.delivered(reqs[1054].payin_id))
    assert twice[0].event_id == twice[1].event_id
    stale = verified(env, env.receiver.delivered(reqs[1056].payin_id))
    assert stale[0].event_id != stale[1].event_id


# amount % 100 -> (final payout status, callback statuses in arrival order)
PAYOUT_TABLE = {
    2000: ("succeeded", ["succeeded"]),
    2050: ("succeeded", ["succeeded"]),
    2051: ("failed", ["failed"]),
    2052: ("failed", []),
    2053: ("processing", []),
    2054: ("reversed", ["succeeded", "reversed"]),
    2055: ("succeeded", []),
    2056: ("succeeded", ["succeeded"]),
    2099: ("succeeded", ["succeeded"]),
}


async def test_payout_outcome_table(env: Env) -> None:
    ple = env.ple()
    reqs = {amount: payout_request(amount) for amount in PAYOUT_TABLE}
    normal = [a for a in PAYOUT_TABLE if a not in (2052, 2056)]
    results = await asyncio.gather(*(env.adapter.create_payout(ple, reqs[a]) for a in normal))
    created = dict(zip(normal, results, strict=True))
    for amount, result in created.items():
        assert result.status == "processing", amount
        assert result.provider_reference, amount

    # 52: a synchronous rejection, nothing created.
    with pytest.raises(ProviderRejected) as rejected:
        await env.adapter.create_payout(ple, reqs[2052])
    assert rejected.value.code == "beneficiary_rejected"
    assert (await env.main.counters("payout", reqs[2052].payout_id))["payouts_created"] == 0

    # 56: the first submission answers 503 and creates nothing; a retry with the same id is accepted.
    with pytest.raises(ProviderUnavailable) as unavailable:
        await env.adapter.create_payout(ple, reqs[2056])
    assert unavailable.value.kind == "http_5xx"
    first = await env.main.counters("payout", reqs[2056].payout_id)
    assert (first["submissions"], first["payouts_created"], first["provider_reference"]) == (
        1,
        0,
        None,
    )
    created[2056] = await env.adapter.create_payout(ple, reqs[2056])
    assert created[2056].status == "processing"

    def all_arrived() -> bool:
        return all(len(env.receiver.delivered(reqs[a].payout_id)) >= len(cbs) for a, (_, cbs) in PAYOUT_TABLE.items())

    assert await wait_until(all_arrived, timeout=5)
    await asyncio.sleep(QUIET)  # 53 must still be processing well after two delays
    for amount, (final, callback_statuses) in PAYOUT_TABLE.items():
        req = reqs[amount]
        status = await env.adapter.payout_status(ple, req.payout_id)
        assert status.status == final, amount
        events = verified(env, env.receiver.delivered(req.payout_id))
        assert [e.status for e in events] == callback_statuses, amount
        counters = await env.main.counters("payout", req.payout_id)
        if amount == 2052:
            assert status.provider_reference is None and status.failure_code
            assert (counters["submissions"], counters["payouts_created"]) == (1, 0)
            continue
        assert status.provider_reference == created[amount].provider_reference, amount
        assert counters["payouts_created"] == 1, amount
        assert counters["submissions"] == (2 if amount == 2056 else 1), amount
        for event in events:
            assert (event.kind, event.object_id) == ("payout", req.payout_id)
            assert event.provider_reference == created[amount].provider_reference
    assert (await env.adapter.payout_status(ple, reqs[2051].payout_id)).failure_code


async def test_callback_signature_verification(env: Env) -> None:
    ple = env.ple()
    req = payin_request(3000, datetime.now(UTC) + timedelta(minutes=5))
    await env.adapter.create_payin(ple, req)
    assert await wait_until(lambda: env.receiver.delivered(req.payin_id))
    (good,) = env.receiver.delivered(req.payin_id)
    headers = {"X-Sandbox-Signature": good.headers["x-sandbox-signature"]}  # any header case
    event = env.adapter.verify_callback(SECRET, headers, good.body)
    assert event.event_id == good.json["event_id"] and event.status == "succeeded"

    tampered = good.body.replace(b'"paid"', b'"failed"')
    assert tampered != good.body
    with pytest.raises(InvalidCallbackSignature):
        env.adapter.verify_callback(SECRET, good.headers, tampered)
    with pytest.raises(InvalidCallbackSignature):
        env.adapter.verify_callback("another-secret", good.headers, good.body)
    with pytest.raises(InvalidCallbackSignature):
        env.adapter.verify_callback(SECRET, {}, good.body)
    for body in (b"not json", b'{"object": "payin", "event_id": "e"}', b"[1]"):
        with pytest.raises(MalformedCallback):
            env.adapter.verify_callback(SECRET, {"x-sandbox-signature": sign_body(SECRET, body)}, body)


async def test_undelivered_callback_is_retried(env: Env) -> None:
    req = payout_request(4000)
    env.receiver.fail_for[req.payout_id] = 2
    await env.adapter.create_payout(env.ple(), req)
    assert await wait_until(lambda: env.receiver.delivered(req.payout_id))
    attempts = env.receiver.attempts(req.payout_id)
    assert [a.answered for a in attempts] == [500, 500, 200]
    assert len({a.json["event_id"] for a in attempts}) == 1  # the same event each time
    (callback,) = (await env.main.counters("payout", req.payout_id))["callbacks"]
    assert (callback["attempts"], callback["outcome"]) == (3, "delivered")


async def test_status_query_retried_on_5xx(env: Env) -> None:
    ple = env.ple()
    req = payout_request(5053)  # stays processing
    await env.adapter.create_payout(ple, req)
    before = await env.main.stats()
    await env.main.faults(fail_next=2)
    assert (await env.adapter.payout_status(ple, req.payout_id)).status == "processing"
    after = await env.main.stats()
    assert after["payout_status"] - before.get("payout_status", 0) == 3
    assert after["injected_errors"] - before.get("injected_errors", 0) == 2

    await env.main.faults(fail_next=3)  # more failures than attempts: it gives up
    with pytest.raises(ProviderUnavailable) as exc:
        await env.adapter.payout_status(ple, req.payout_id)
    assert exc.value.kind == "http_5xx"
    assert (await env.main.stats())["payout_status"] - after["payout_status"] == 3


async def test_status_query_retried_on_timeout(env: Env) -> None:
    ple = env.ple()
    req = payin_request(5000, datetime.now(UTC) + timedelta(minutes=5))
    await env.adapter.create_payin(ple, req)
    settings = load_settings({}, provider_read_timeout_seconds=0.3)
    impatient = SandboxAdapter(settings, retry_base_delay=0.02)
    try:
        before = await env.main.stats()
        await env.main.faults(slow_next=1, slow_ms=1000)
        result = await impatient.payin_status(ple, req.payin_id)
        assert result.provider_reference
        assert (await env.main.stats())["payin_status"] - before["payin_status"] == 2
    finally:
        await impatient.aclose()


async def test_create_calls_are_not_blindly_retried(env: Env) -> None:
    ple = env.ple()
    # A 5xx on create: one request, no retry, nothing created.
    req = payout_request(6000)
    before = await env.main.stats()
    await env.main.faults(fail_next=1)
    with pytest.raises(ProviderUnavailable) as exc:
        await env.adapter.create_payout(ple, req)
    assert exc.value.kind == "http_5xx"
    assert (await env.main.stats())["create_payout"] - before["create_payout"] == 1
    assert (await env.main.counters("payout", req.payout_id))["payouts_created"] == 0

    # A timeout on create is ambiguous: the provider may act on it, so it must not be repeated.
    settings = load_settings({}, provider_read_timeout_seconds=0.3)
    impatient = SandboxAdapter(settings, retry_base_delay=0.02)
    try:
        pin = payin_request(6000, datetime.now(UTC))
        for create in (impatient.create_payout(ple, req), impatient.create_payin(ple, pin)):
            await env.main.faults(slow_next=1, slow_ms=700)
            with pytest.raises(ProviderUnavailable) as exc:
                await create
            assert exc.value.kind == "timeout"
        await asyncio.sleep(0.6)  # the slowed requests complete on the provider side
        counters = await env.main.counters("payout", req.payout_id)
        assert (counters["submissions"], counters["payouts_created"]) == (1, 1)
        pin_counters = await env.main.counters("payin", pin.payin_id)
        assert (pin_counters["submissions"], pin_counters["payins_created"]) == (1, 1)
        # Resubmitting with the same id (the caller's decision) finds the payout, never a second.
        again = await env.adapter.create_payout(ple, req)
        assert again.provider_reference == counters["provider_reference"]
    finally:
        await impatient.aclose()
    assert (await env.main.counters("payout", req.payout_id))["payouts_created"] == 1


async def test_payout_resubmission_creates_one_payout(env: Env) -> None:
    ple = env.ple()
    req = payout_request(7000)
    results = [await env.adapter.create_payout(ple, req) for _ in range(3)]
    results += await asyncio.gather(*(env.adapter.create_payout(ple, req) for _ in range(3)))
    assert len({r.provider_reference for r in results}) == 1
    counters = await env.main.counters("payout", req.payout_id)
    assert (counters["submissions"], counters["payouts_created"]) == (6, 1)
    assert await wait_until(lambda: env.receiver.delivered(req.payout_id))
    await asyncio.sleep(QUIET)
    assert len(env.receiver.delivered(req.payout_id)) == 1  # one payout, one callback

    # The same id with another amount is a conflict, not a second payout.
    with pytest.raises(ProviderRejected) as exc:
        await env.adapter.create_payout(ple, payout_request(7001, req.payout_id))
    assert exc.value.code == "idempotency_conflict"
    assert (await env.main.counters("payout", req.payout_id))["payouts_created"] == 1


async def test_bad_auth_is_refused(env: Env) -> None:
    before = await env.main.stats()
    with pytest.raises(ProviderRejected) as exc:
        await env.adapter.create_payout(env.ple(secret="wrong"), payout_request(8000))
    assert exc.value.code == "unauthorized"
    async with httpx.AsyncClient(base_url=env.main.base_url) as client:
        unsigned = await client.get("/v1/payins/pi_x")
        assert unsigned.status_code == 401
        forged = await client.post(
            "/v1/payouts", content=b"{}", headers={"X-Sandbox-Signature": sign_body(SECRET, b"{}")}
        )
        assert forged.status_code == 401  # method and path are part of what is signed
    assert (await env.main.stats())["unauthorized"] - before.get("unauthorized", 0) == 3


async def test_latency_and_error_rate_options(env: Env) -> None:
    ple = env.ple(env.slow)  # --latency-ms 600 --error-rate 1.0
    started = time.monotonic()
    with pytest.raises(ProviderUnavailable) as exc:
        await env.adapter.create_payout(ple, payout_request(9000))
    assert exc.value.kind == "http_5xx"
    assert time.monotonic() - started >= 0.6  # latency honoured, then the injected 503
    stats = await env.slow.stats()
    assert (stats["create_payout"], stats["injected_errors"]) == (1, 1)

    settings = load_settings({}, provider_read_timeout_seconds=0.2)
    impatient = SandboxAdapter(settings, retry_base_delay=0.02)
    try:
        with pytest.raises(ProviderUnavailable) as exc:
            await impatient.payout_status(ple, "po_any")
        assert exc.value.kind == "timeout"
    finally:
        await impatient.aclose()
    assert (await env.slow.stats())["payout_status"] == 3  # retried, then given up
    exposition = render_latest()[0].decode()
    assert any(
        line.startswith("gateway_provider_call_errors")
        and 'kind="timeout"' in line
        and 'operation="payout_status"' in line
        for line in exposition.splitlines()
    ), "every provider call is recorded in the metrics"


async def test_drop_callback_rate_option(env: Env) -> None:
    ple = env.ple(env.dropping)  # --drop-callback-rate 1.0 --delay-seconds 0
    req = payin_request(1000, datetime.now(UTC) + timedelta(minutes=5))
    await env.adapter.create_payin(ple, req)
    await asyncio.sleep(QUIET)  # with no delay, a callback would have arrived by now
    assert env.receiver.attempts(req.payin_id) == []
    assert (await env.adapter.payin_status(ple, req.payin_id)).status == "succeeded"
    (callback,) = (await env.dropping.counters("payin", req.payin_id))["callbacks"]
    assert (callback["attempts"], callback["outcome"]) == (0, "dropped")


async def test_share_faults_act_on_creates_and_the_dump_shows_the_truth(env: Env) -> None:
    """--error-after-rate and --slow-create-rate (issue 25): a create answered late and with a
    5xx although the payout exists; status queries are untouched; the dump lists what was made."""
    shares = ["--error-after-rate", "1.0", "--slow-create-rate", "1.0", "--slow-create-ms", "50"]
    hostile = SandboxProcess(["--callback-url", env.receiver.url, "--delay-seconds", "0", *shares], SECRET)
    try:
        await hostile.wait_ready()
        ple = env.ple(hostile)
        req = payout_request(9100)
        with pytest.raises(ProviderUnavailable) as exc:
            await env.adapter.create_payout(ple, req)
        assert exc.value.kind == "http_5xx"
        assert (await env.adapter.payout_status(ple, req.payout_id)).provider_reference  # it exists
        stats = await hostile.stats()
        assert (stats["slow_answers"], stats["injected_errors_after_acting"]) == (1, 1)
        dump = (await hostile.http.get("/__sandbox/dump")).json()
        (row,) = dump["payouts"]
        assert (row["id"], row["amount"], row["submissions"]) == (req.payout_id, 9100, 1)
        assert row["status"] in ("accepted", "completed") and row["provider_reference"]
        assert dump["payins"] == [] and dump["refunds"] == []
    finally:
        await hostile.stop()


async def test_unreachable_provider_is_connect_error() -> None:
    settings = load_settings({}, provider_connect_timeout_seconds=0.5)
    adapter = SandboxAdapter(settings, retry_base_delay=0.01)
    ple = PleConfig("ple_x", "sandbox", f"http://127.0.0.1:{free_port()}", SECRET, "INR")
    try:
        with pytest.raises(ProviderUnavailable) as exc:
            await adapter.payin_status(ple, "pi_any")
        assert exc.value.kind == "connect"
    finally:
        await adapter.aclose()


async def test_registry() -> None:
    settings = load_settings({})
    adapter = get_adapter("sandbox", settings)
    assert adapter is get_adapter("sandbox", settings)  # one instance, one set of HTTP pools
    assert adapter.code == "sandbox"
    assert isinstance(adapter, ProviderAdapter)
    with pytest.raises(UnknownProvider):
        get_adapter("nope", settings)
    await close_adapters()
    assert get_adapter("sandbox", settings) is not adapter
    await close_adapters()
