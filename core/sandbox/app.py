"""The sandbox's HTTP API (docs/sandbox.md): a Litestar app built by `create_app()`.

`/v1/...` is what a provider adapter calls (signed, subject to --latency-ms and --error-rate);
`/__sandbox/...` is for tests and operators (unsigned, never slowed or failed).
"""

from __future__ import annotations

import asyncio
import random
import secrets
from datetime import UTC, datetime
from typing import Any

from litestar import Litestar, Request, get, post
from litestar.response import Response

from core.sandbox.operator import OPERATOR_HANDLERS
from core.sandbox.options import SandboxOptions
from core.sandbox.responses import BadRequest, error_response, json_response, parse_object, simulator_of
from core.sandbox.signing import SIGNATURE_HEADER, matches, sign_request
from core.sandbox.simulator import Payin, Payout, Refund, Simulator
from core.sandbox.statements import ROUTES as STATEMENT_ROUTES

PAYIN_METHODS = ("upi", "bank_transfer", "card")
PAYOUT_MODES = ("imps", "neft", "rtgs", "upi")


async def _gate(request: Request[Any, Any, Any], operation: str) -> tuple[Response[Any] | None, bytes]:
    """Injected failures and authentication, in that order, before any state is touched."""
    sim = simulator_of(request)
    faults = request.app.state.faults
    sim.count(operation)
    if faults["fail_next"] > 0 or random.random() < sim.options.error_rate:
        faults["fail_next"] = max(0, faults["fail_next"] - 1)
        sim.count("injected_errors")
        return await _answer(
            request, error_response(503, "temporarily_unavailable", "injected failure"), acted=False
        ), b""
    raw = await request.body()
    expected = sign_request(sim.options.secret, request.method, request.url.path, raw)
    if not matches(expected, request.headers.get(SIGNATURE_HEADER)):
        sim.count("unauthorized")
        return error_response(401, "unauthorized", f"missing or invalid {SIGNATURE_HEADER}"), b""
    return None, raw


async def _answer(request: Request[Any, Any, Any], response: Response[Any], *, acted: bool = True) -> Response[Any]:
    """After the sandbox has acted: the configured latency (a caller that gives up waiting still
    leaves the object created, like a slow PSP), and the `fail_after_next` fault (a 5xx although
    the request was acted on); on creates also the shares --slow-create-rate (answered
    --slow-create-ms late) and --error-after-rate (a 5xx after acting)."""
    sim = simulator_of(request)
    faults = request.app.state.faults
    opts = sim.options
    created = acted and request.method == "POST"  # the shares below apply to creates only
    latency_ms = opts.latency_ms
    if faults["slow_next"] > 0:
        faults["slow_next"] -= 1
        latency_ms += faults["slow_ms"]
    elif created and opts.slow_create_rate and random.random() < opts.slow_create_rate:
        sim.count("slow_answers")
        latency_ms += opts.slow_create_ms
    if latency_ms:
        await asyncio.sleep(latency_ms / 1000)
    fail_after = acted and faults["fail_after_next"] > 0
    if fail_after or (created and opts.error_after_rate and random.random() < opts.error_after_rate):
        faults["fail_after_next"] = max(0, faults["fail_after_next"] - 1)
        sim.count("injected_errors_after_acting")
        return error_response(503, "temporarily_unavailable", "injected failure after acting")
    return response


def _field(data: dict[str, Any], name: str, kind: type, *, choices: tuple[str, ...] = ()) -> Any:
    value = data.get(name)
    if not isinstance(value, kind) or isinstance(value, bool) or (kind is str and not value):
        raise BadRequest(f"{name} is required and must be a {kind.__name__}")
    if choices and value not in choices:
        raise BadRequest(f"{name} must be one of {', '.join(choices)}")
    if kind is int and value <= 0:
        raise BadRequest(f"{name} must be positive")
    return value


def _expires_at(data: dict[str, Any]) -> datetime:
    try:
        at = datetime.fromisoformat(_field(data, "expires_at", str))
    except ValueError:
        raise BadRequest("expires_at must be an ISO 8601 timestamp") from None
    return at if at.tzinfo else at.replace(tzinfo=UTC)


def _instructions(method: str, reference: str) -> dict[str, Any] | None:
    if method == "upi":
        return {"vpa": "sandbox@upi", "upi_uri": f"upi://pay?pa=sandbox@upi&tr={reference}"}
    if method == "bank_transfer":
        return {"account_number": "000111222333", "ifsc": "SBOX0000001", "reference": reference}
    return None  # card: the payment page only


@post("/v1/payins")
async def create_payin(request: Request[Any, Any, Any]) -> Response[Any]:
    denied, raw = await _gate(request, "create_payin")
    if denied:
        return denied
    try:
        data = parse_object(raw)
        payin_id = _field(data, "payin_id", str)
        amount = _field(data, "amount", int)
        currency = _field(data, "currency", str)
        method = _field(data, "method", str, choices=PAYIN_METHODS)
        expires_at = _expires_at(data)
    except BadRequest as exc:
        return error_response(400, "invalid_request", str(exc))
    sim = simulator_of(request)
    existing = sim.payins.get(payin_id)
    if existing is not None:  # idempotent on the gateway's payin id
        existing.submissions += 1
        if (existing.amount, existing.currency) != (amount, currency):
            return await _answer(
                request, error_response(409, "idempotency_conflict", "payin_id reused with another amount")
            )
        return await _answer(request, json_response(200, existing.view()))
    reference = f"sbx_pi_{secrets.token_hex(8)}"
    payin = Payin(
        payin_id=payin_id,
        amount=amount,
        currency=currency,
        method=method,
        expires_at=expires_at,
        provider_reference=reference,
        payment_url=f"{str(request.base_url).rstrip('/')}/pay/{reference}",
        instructions=_instructions(method, reference),
    )
    sim.create_payin(payin)
    return await _answer(request, json_response(201, payin.view()))


@get("/v1/payins/{payin_id:str}")
async def get_payin(request: Request[Any, Any, Any], payin_id: str) -> Response[Any]:
    denied, _ = await _gate(request, "payin_status")
    if denied:
        return denied
    payin = simulator_of(request).payins.get(payin_id)
    if payin is None:
        return await _answer(request, error_response(404, "not_found", "no such payin"))
    return await _answer(request, json_response(200, payin.view()))


@post("/v1/payouts")
async def create_payout(request: Request[Any, Any, Any]) -> Response[Any]:
    denied, raw = await _gate(request, "create_payout")
    if denied:
        return denied
    try:
        data = parse_object(raw)
        payout_id = _field(data, "payout_id", str)
        amount = _field(data, "amount", int)
        currency = _field(data, "currency", str)
        mode = _field(data, "mode", str, choices=PAYOUT_MODES)
        _field(data, "beneficiary", dict)
    except BadRequest as exc:
        return error_response(400, "invalid_request", str(exc))
    sim = simulator_of(request)
    payout = sim.payouts.get(payout_id)
    if payout is None:
        payout = Payout(payout_id=payout_id, amount=amount, currency=currency, mode=mode)
        sim.payouts[payout_id] = payout
    payout.submissions += 1  # every submission that got this far counts, whatever its answer
    if (payout.amount, payout.currency) != (amount, currency):
        return await _answer(
            request, error_response(409, "idempotency_conflict", "payout_id reused with another amount")
        )
    if payout.provider_reference:  # idempotent: a resubmission never makes a second payout
        return await _answer(request, json_response(200, payout.view()))
    if amount % 100 == 56 and payout.submissions == 1:
        return await _answer(
            request, error_response(503, "temporarily_unavailable", "first submission fails (outcome 56)")
        )
    sim.submit_payout(payout)
    if payout.status == "rejected":
        return await _answer(
            request, error_response(422, payout.failure_code or "rejected", "payout rejected at submission")
        )
    return await _answer(request, json_response(201, payout.view()))


@get("/v1/payouts/{payout_id:str}")
async def get_payout(request: Request[Any, Any, Any], payout_id: str) -> Response[Any]:
    denied, _ = await _gate(request, "payout_status")
    if denied:
        return denied
    payout = simulator_of(request).payouts.get(payout_id)
    if payout is None or payout.status is None:
        return await _answer(request, error_response(404, "not_found", "no such payout"))
    return await _answer(request, json_response(200, payout.view()))


@post("/v1/refunds")
async def create_refund(request: Request[Any, Any, Any]) -> Response[Any]:
    denied, raw = await _gate(request, "create_refund")
    if denied:
        return denied
    try:
        data = parse_object(raw)
        refund_id = _field(data, "refund_id", str)
        payin_id = _field(data, "payin_id", str)
        amount = _field(data, "amount", int)
        currency = _field(data, "currency", str)
    except BadRequest as exc:
        return error_response(400, "invalid_request", str(exc))
    sim = simulator_of(request)
    refund = sim.refunds.get(refund_id)
    if refund is None:
        refund = Refund(refund_id=refund_id, payin_id=payin_id, amount=amount, currency=currency)
        sim.refunds[refund_id] = refund
    refund.submissions += 1  # every submission that got this far counts, whatever its answer
    if (refund.payin_id, refund.amount, refund.currency) != (payin_id, amount, currency):
        return await _answer(
            request, error_response(409, "idempotency_conflict", "refund_id reused with another refund")
        )
    if refund.provider_reference or refund.status == "rejected":  # idempotent: never a second refund
        return await _answer(request, json_response(200, refund.view()))
    if amount % 100 == 56 and refund.submissions == 1:
        return await _answer(
            request, error_response(503, "temporarily_unavailable", "first submission fails (outcome 56)")
        )
    refundable = sim.refundable(payin_id)
    if refundable is None:
        refund.status, refund.failure_code = "rejected", "payin_not_refundable"
    elif amount > refundable:
        refund.status, refund.failure_code = "rejected", "refund_exceeds_payment"
    else:
        sim.submit_refund(refund)
    if refund.status == "rejected":
        return await _answer(
            request, error_response(422, refund.failure_code or "rejected", "refund rejected at submission")
        )
    return await _answer(request, json_response(201, refund.view()))


@get("/v1/refunds/{refund_id:str}")
async def get_refund(request: Request[Any, Any, Any], refund_id: str) -> Response[Any]:
    denied, _ = await _gate(request, "refund_status")
    if denied:
        return denied
    refund = simulator_of(request).refunds.get(refund_id)
    if refund is None or refund.status is None:
        return await _answer(request, error_response(404, "not_found", "no such refund"))
    return await _answer(request, json_response(200, refund.view()))


@get("/pay/{reference:str}", media_type="text/html")
async def payment_page(reference: str) -> str:
    # A stand-in for the PSP's hosted page; the outcome is decided by the amount, not here.
    return f"<!doctype html><title>Sandbox payment</title><p>Sandbox payment {reference}</p>"


def create_app(options: SandboxOptions | None = None) -> Litestar:
    """App factory (Granian calls it with no argument: options come from SANDBOX_* env vars)."""
    opts = options or SandboxOptions.from_env()
    simulator = Simulator(opts)
    app = Litestar(
        route_handlers=[
            create_payin,
            get_payin,
            create_payout,
            get_payout,
            payment_page,
            create_refund,
            get_refund,
            *OPERATOR_HANDLERS,
            *STATEMENT_ROUTES,
        ],
        on_startup=[simulator.start],
        on_shutdown=[simulator.stop],
        openapi_config=None,
    )
    app.state.simulator = simulator
    app.state.faults = {"fail_next": 0, "fail_after_next": 0, "slow_next": 0, "slow_ms": 0}
    return app
