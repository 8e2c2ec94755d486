"""The sandbox's operator endpoints, `/__sandbox/...` (docs/sandbox.md): unsigned, never slowed or
failed. Tests and the chaos run read the provider's truth here (`GET /__sandbox/dump`) and inject
deterministic faults (`POST /__sandbox/faults`)."""

from __future__ import annotations

from typing import Any

from litestar import Request, get, post
from litestar.response import Response

from core.sandbox.responses import BadRequest, error_response, json_response, parse_object, simulator_of
from core.sandbox.simulator import counters


@get("/__sandbox/health")
async def health() -> dict[str, Any]:
    return {"ok": True}


@get("/__sandbox/stats")
async def stats(request: Request[Any, Any, Any]) -> dict[str, Any]:
    return dict(simulator_of(request).stats)


@post("/__sandbox/faults", status_code=200)
async def set_faults(request: Request[Any, Any, Any]) -> Response[Any]:
    """Deterministic fault injection for tests: fail or slow down the next N API calls, or drop
    every callback of the objects named in `drop_callbacks_of`."""
    try:
        data = parse_object(await request.body())
        faults = request.app.state.faults
        ids = data.pop("drop_callbacks_of", [])
        if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
            raise BadRequest("drop_callbacks_of must be a list of object ids")
        simulator_of(request).drop_callbacks_of.update(ids)
        for name in ("fail_next", "fail_after_next", "slow_next", "slow_ms"):
            if name in data:
                value = data[name]
                if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                    raise BadRequest(f"{name} must be a non-negative integer")
                faults[name] = value
    except BadRequest as exc:
        return error_response(400, "invalid_request", str(exc))
    return json_response(200, dict(faults))


@get(["/__sandbox/payins/{object_id:str}", "/__sandbox/payouts/{object_id:str}", "/__sandbox/refunds/{object_id:str}"])
async def object_counters(request: Request[Any, Any, Any], object_id: str) -> Response[Any]:
    """One payin, payout or refund as the sandbox holds it: submissions and how many were made."""
    kind = request.url.path.split("/")[2].removesuffix("s")
    found = getattr(simulator_of(request), f"{kind}s").get(object_id)
    if found is None:
        return json_response(404, {"submissions": 0, f"{kind}s_created": 0, "provider_reference": None})
    return json_response(200, counters(found, kind))


@get("/__sandbox/dump")
async def dump(request: Request[Any, Any, Any]) -> dict[str, Any]:
    """Every payin, payout and refund this sandbox knows, by the gateway's id: status, amount,
    currency, reference and how many submissions reached it. A payout or refund that only ever
    got a 503 (outcome 56's first try) is listed with status null: nothing was made."""
    sim = simulator_of(request)

    def row(obj: Any, object_id: str) -> dict[str, Any]:
        return {
            "id": object_id,
            "status": obj.status,
            "amount": obj.amount,
            "currency": obj.currency,
            "provider_reference": obj.provider_reference,
            "submissions": obj.submissions,
        }

    return {
        "payins": [row(p, i) for i, p in sim.payins.items()],
        "payouts": [row(p, i) for i, p in sim.payouts.items()],
        "refunds": [row(r, i) | {"payin_id": r.payin_id} for i, r in sim.refunds.items()],
        "stats": dict(sim.stats),
    }


OPERATOR_HANDLERS = (health, stats, set_faults, object_counters, dump)
