"""Who may call what: the policy by path, and the middleware that enforces it.

`/v1/*` (but provider callbacks) is signed by a merchant (§4.1); `/admin/*` needs an admin
bearer token (§4.8) holding the scope its function declares; health, metrics and the schema
are open. The raw body is verified before anything parses it. The verified caller is injected
into functions as `merchant` or `admin`.
"""

from __future__ import annotations

from typing import Any

import structlog
from litestar import Request
from litestar.datastructures import State
from litestar.di import Provide

from core.errors import ApiError
from core.security.admin_tokens import authenticate_admin, require_scope
from core.security.network import client_ip, networks
from core.security.verify import MerchantAuth, RequestVerifier


def auth_kind(path: str) -> str:
    if path.startswith("/v1/callbacks/"):
        return "provider"  # verified by the provider's own signature, in its function
    if path.startswith("/v1/"):
        return "merchant"
    if path.startswith("/admin/"):
        return "admin"
    return "none"


def _header(scope: dict[str, Any], name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            return value.decode("latin-1")
    return None


def peer_ip(scope: dict[str, Any], trusted: tuple[Any, ...]) -> str:
    peer = (scope.get("client") or ("0.0.0.0", 0))[0]
    return client_ip(peer, _header(scope, b"x-forwarded-for"), trusted)


def auth_middleware(app: Any) -> Any:
    async def middleware(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        kind = auth_kind(scope["path"])
        state = scope.setdefault("state", {})
        app_state = scope["litestar_app"].state
        ip = peer_ip(scope, app_state.trusted_proxies)
        state["client_ip"] = ip
        if kind == "merchant":
            request: Request[Any, Any, Any] = Request(scope, receive)
            body = await request.body()
            raw_path = (scope.get("raw_path") or scope["path"].encode()).decode("latin-1")
            query = scope.get("query_string", b"").decode("latin-1")
            verifier: RequestVerifier = app_state.verifier
            auth = await verifier.verify(
                key_id=_header(scope, b"x-api-key") or "",
                timestamp=_header(scope, b"x-timestamp") or "",
                sig=_header(scope, b"x-signature") or "",
                method=scope["method"],
                path_and_query=raw_path + (f"?{query}" if query else ""),
                body=body,
                ip=ip,
            )
            state["merchant"] = auth
            state["_verified_body"] = body
            structlog.contextvars.bind_contextvars(merchant_id=auth.merchant_id, key_id=auth.key_id)
        elif kind == "admin":
            token = await authenticate_admin(
                app_state.resources.db, _header(scope, b"authorization"), redis=app_state.verifier.redis, ip=ip
            )
            # Each admin function declares the scope it needs (`opt={"admin_scope": ...}`).
            handler = scope.get("route_handler")
            require_scope(token, getattr(handler, "opt", {}).get("admin_scope"))
            state["admin"] = token.actor
            structlog.contextvars.bind_contextvars(admin=token.id)
        await app(scope, receive, send)

    return middleware


def _merchant(request: Request[Any, Any, Any]) -> MerchantAuth:
    auth = request.scope.get("state", {}).get("merchant")
    if auth is None:  # a function asked for a merchant on a path the policy leaves open
        raise ApiError("invalid_api_key", "this endpoint needs a signed merchant request")
    return auth  # type: ignore[no-any-return]


def _admin(request: Request[Any, Any, Any]) -> str:
    admin = request.scope.get("state", {}).get("admin")
    if admin is None:
        raise ApiError("unauthorized", "admin API needs Authorization: Bearer <admin token>")
    return admin  # type: ignore[no-any-return]


def _client_ip(request: Request[Any, Any, Any]) -> str:
    return str(request.scope.get("state", {}).get("client_ip", ""))


AUTH_DEPENDENCIES = {
    "merchant": Provide(_merchant, sync_to_thread=False),
    "admin": Provide(_admin, sync_to_thread=False),
    "client_ip": Provide(_client_ip, sync_to_thread=False),
}


def install_verifier(state: State, resources: Any) -> None:
    s = resources.settings
    state.verifier = RequestVerifier(
        resources.redis,
        resources.db,
        secrets_spec=s.secrets_master_keys,
        tolerance=s.signature_tolerance_seconds,
        rate=s.rate_limit_per_second,
        burst=s.rate_limit_burst,
    )
    state.trusted_proxies = networks(s.trusted_proxies)
