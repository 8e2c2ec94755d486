"""The sandbox's daily statement (docs/sandbox.md, docs/settlement.md "Three-way reconciliation").

Like a PSP's settlement file: one CSV line per payin paid, payout completed and refund completed
in the UTC day, with the provider reference, the gateway's id and the fee charged (payins and
payouts are charged the configured schedule, refunds nothing). Served signed at
`GET /v1/statements/{date}` (what the adapter calls) and unsigned at `GET /__sandbox/statements/{date}`.

`POST /__sandbox/statements/settings` sets the fee schedule (the PLE's, in the same shape) and the
alterations that let tests make the statement disagree with the gateway: `omit` a line, change its
`amount` or `fee` by `delta`, `duplicate` it, or `add` a line for any reference.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import orjson
from litestar import Request, get, post
from litestar.response import Response

from core.fees import fee_for, plan_or_free
from core.sandbox.signing import SIGNATURE_HEADER, STATEMENT_COLUMNS, matches, sign_request
from core.sandbox.simulator import Simulator

ACTIONS = ("omit", "amount", "fee", "duplicate", "add")


@dataclass(slots=True)
class StatementSettings:
    fee_schedule: dict[str, Any] = field(default_factory=dict)
    alterations: list[dict[str, Any]] = field(default_factory=list)


def _settings(request: Request[Any, Any, Any]) -> StatementSettings:
    state = request.app.state
    if "statement_settings" not in state:
        state.statement_settings = StatementSettings()
    return state.statement_settings  # type: ignore[no-any-return]


def _iso(at: datetime) -> str:
    return at.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _fee(schedule: dict[str, Any], direction: str, method: str, amount: int) -> int:
    return fee_for(amount, plan_or_free((schedule.get(direction) or {}).get(method)))


def statement_lines(sim: Simulator, settings: StatementSettings, day: date) -> list[dict[str, Any]]:
    """The day's lines in time order, after the alterations."""
    start = datetime(day.year, day.month, day.day, tzinfo=UTC)
    end = start + timedelta(days=1)
    lines: list[tuple[datetime, dict[str, Any]]] = []

    def add(kind: str, obj: Any, our_reference: str, fee: int) -> None:
        at = obj.settled_at
        if at is not None and start <= at < end:
            line = {"type": kind, "provider_reference": obj.provider_reference, "our_reference": our_reference}
            money = {"amount": obj.amount, "currency": obj.currency, "fee": fee}
            lines.append((at, line | money | {"occurred_at": _iso(at)}))

    schedule = settings.fee_schedule
    for payin in sim.payins.values():
        add("payin", payin, payin.payin_id, _fee(schedule, "payin", payin.method, payin.amount))
    for payout in sim.payouts.values():
        add("payout", payout, payout.payout_id, _fee(schedule, "payout", payout.mode, payout.amount))
    for refund in sim.refunds.values():
        add("refund", refund, refund.refund_id, 0)
    ordered = [line for _, line in sorted(lines, key=lambda pair: pair[0])]
    for change in settings.alterations:
        ordered = _alter(ordered, change, start)
    return ordered


def _alter(lines: list[dict[str, Any]], change: dict[str, Any], start: datetime) -> list[dict[str, Any]]:
    action, reference = change["action"], change.get("our_reference")
    if action == "add":
        return [*lines, {"occurred_at": _iso(start), "fee": 0, **change["line"]}]
    out: list[dict[str, Any]] = []
    for line in lines:
        if line["our_reference"] != reference:
            out.append(line)
        elif action == "duplicate":
            out.extend([line, dict(line)])
        elif action in ("amount", "fee"):
            out.append({**line, action: line[action] + int(change.get("delta", 0))})
        # "omit": left out
    return out


def render_csv(lines: list[dict[str, Any]]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=STATEMENT_COLUMNS, lineterminator="\n", extrasaction="ignore")
    writer.writeheader()
    writer.writerows(lines)
    return out.getvalue()


def _day(value: str) -> date | None:
    try:
        return date.fromisoformat(value) if len(value) == 10 else None
    except ValueError:
        return None


def _statement(request: Request[Any, Any, Any], day: str) -> Response[Any]:
    parsed = _day(day)
    if parsed is None:
        return _error(400, "invalid_request", "date must be YYYY-MM-DD")
    lines = statement_lines(request.app.state.simulator, _settings(request), parsed)
    return Response(content=render_csv(lines), status_code=200, media_type="text/csv")


def _error(status: int, code: str, message: str) -> Response[Any]:
    body = {"error": {"code": code, "message": message}}
    return Response(content=body, status_code=status, media_type="application/json")


@get("/v1/statements/{day:str}")
async def signed_statement(request: Request[Any, Any, Any], day: str) -> Response[Any]:
    """The adapter's call: signed like every /v1 request (method, path, empty body)."""
    sim: Simulator = request.app.state.simulator
    sim.count("statement")
    expected = sign_request(sim.options.secret, "GET", request.url.path, b"")
    if not matches(expected, request.headers.get(SIGNATURE_HEADER)):
        sim.count("unauthorized")
        return _error(401, "unauthorized", f"missing or invalid {SIGNATURE_HEADER}")
    return _statement(request, day)


@get("/__sandbox/statements/{day:str}")
async def test_statement(request: Request[Any, Any, Any], day: str) -> Response[Any]:
    return _statement(request, day)


def _check_alteration(change: Any) -> dict[str, Any]:
    if not isinstance(change, dict) or change.get("action") not in ACTIONS:
        raise ValueError(f"each alteration needs an action among {', '.join(ACTIONS)}")
    if change["action"] == "add":
        line = change.get("line")
        if not isinstance(line, dict) or not {"type", "our_reference", "amount", "currency"} <= line.keys():
            raise ValueError("add needs a line with type, our_reference, amount and currency")
    elif not isinstance(change.get("our_reference"), str):
        raise ValueError("our_reference is required")
    if not isinstance(change.get("delta", 0), int):
        raise ValueError("delta must be an integer")
    return change


@post("/__sandbox/statements/settings", status_code=200)
async def statement_settings(request: Request[Any, Any, Any]) -> Response[Any]:
    """Replace the fee schedule and/or the alterations given (others are kept)."""
    settings = _settings(request)
    try:
        data = orjson.loads(await request.body())
        if not isinstance(data, dict):
            raise ValueError("body must be a JSON object")
        if "fee_schedule" in data:
            schedule = data["fee_schedule"]
            if not isinstance(schedule, dict):
                raise ValueError("fee_schedule must be an object")
            for methods in schedule.values():
                for plan in (methods or {}).values():
                    plan_or_free(plan)
            settings.fee_schedule = schedule
        if "alterations" in data:
            if not isinstance(data["alterations"], list):
                raise ValueError("alterations must be a list")
            settings.alterations = [_check_alteration(c) for c in data["alterations"]]
    except (orjson.JSONDecodeError, ValueError, AttributeError) as exc:
        return _error(400, "invalid_request", str(exc))
    return Response(
        content={"fee_schedule": settings.fee_schedule, "alterations": settings.alterations},
        status_code=200,
        media_type="application/json",
    )


ROUTES = [signed_statement, test_statement, statement_settings]
