"""Caddy routes the ARCHITECTURE §10 prefixes to the right role (parsed from the Caddyfile)."""

from __future__ import annotations

import fnmatch
import re

import pytest
from deploy_support import STACKS

APP = STACKS / "app"
CADDYFILE = (APP / "Caddyfile").read_text()


def _block(text: str, start: int) -> str:
    """Text of the {...} block opening at or after `start`."""
    i = text.index("{", start)
    depth = 0
    for j in range(i, len(text)):
        depth += {"{": 1, "}": -1}.get(text[j], 0)
        if depth == 0:
            return text[i + 1 : j]
    raise ValueError("unbalanced braces")


def routes(caddyfile: str) -> list[tuple[list[str] | None, str | None]]:
    """[(path patterns or None for catch-all, upstream snippet or None)] in Caddy's order."""
    site = _block(caddyfile, caddyfile.index("{$APP_DOMAIN}") + len("{$APP_DOMAIN}"))
    matchers = {m.group(1): m.group(2).split() for m in re.finditer(r"^\s*@(\S+)\s+path\s+(.+)$", site, re.M)}
    result = []
    for m in re.finditer(r"^\s*handle(?:\s+@(\S+))?\s*\{", site, re.M):
        body = _block(site, m.start())
        upstream = re.search(r"import\s+(\w+_upstreams)", body)
        result.append((matchers[m.group(1)] if m.group(1) else None, upstream and upstream.group(1)))
    return result


def route(path: str, caddyfile: str = CADDYFILE) -> str | None:
    for patterns, upstream in routes(caddyfile):
        if patterns is None or any(fnmatch.fnmatchcase(path, p) for p in patterns):
            return upstream
    return None


@pytest.mark.parametrize(
    ("path", "upstream"),
    [
        ("/v1/payins", "payment_upstreams"),
        ("/v1/payins/pi_123", "payment_upstreams"),
        ("/v1/payouts", "payment_upstreams"),
        ("/v1/payouts/po_1/status", "payment_upstreams"),
        ("/v1/callbacks/sandbox", "payment_upstreams"),
        ("/v1/balance", "api_upstreams"),
        ("/v1/ledger/entries", "api_upstreams"),
        ("/v1/webhook-deliveries", "api_upstreams"),
        ("/admin/merchants", "api_upstreams"),
        ("/", "frontend_upstreams"),
        ("/login", "frontend_upstreams"),
        ("/dashboard/payins", "frontend_upstreams"),
    ],
)
def test_caddy_routes_prefix_to_role(path, upstream):
    assert route(path) == upstream


def test_router_notices_wrong_routing():
    # A payment matcher without /v1/payins would send payins to api: detected.
    narrowed = CADDYFILE.replace("/v1/payins /v1/payins/* ", "")
    assert route("/v1/payins", narrowed) == "api_upstreams"
    # An unconditional handle before the frontend's would swallow the dashboard: detected.
    greedy = CADDYFILE.replace("handle @api {", "handle {")
    assert route("/login", greedy) == "api_upstreams"


@pytest.mark.parametrize("mode", ["local", "hosts"])
def test_upstream_snippets_point_at_the_roles(mode):
    text = (APP / "caddy" / f"upstreams-{mode}.caddy").read_text()
    for role in ("api", "payment", "frontend"):
        body = _block(text, text.index(f"({role}_upstreams)"))
        if mode == "local":
            assert re.search(rf"dynamic a {role} 8000", body), role
        else:
            assert f"{{${role.upper()}_UPSTREAMS}}" in body, role


def test_caddy_forwards_client_address_limits_body_and_sets_headers():
    assert "header_up X-Forwarded-For {remote_host}" in CADDYFILE
    assert re.search(r"request_body\s*\{\s*max_size 1MB\s*\}", CADDYFILE)
    for header in ("Strict-Transport-Security", "X-Content-Type-Options", "X-Frame-Options"):
        assert header in CADDYFILE
    compose = (APP / "compose.yml").read_text()
    assert "./Caddyfile:/etc/caddy/Caddyfile:ro" in compose
    assert "./caddy:/etc/caddy/upstreams:ro" in compose
