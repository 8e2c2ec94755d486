"""docs/signing.md's examples, run for real against a live api role."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import orjson
import pytest

DOC = Path("docs/signing.md").read_text()


def block(language: str, heading: str) -> str:
    """The first `language` block under `## heading`."""
    match = re.search(rf"^## {re.escape(heading)}\n.*?```{language}\n(.*?)```", DOC, re.S | re.M)
    assert match, f"docs/signing.md has no {language} block under '## {heading}'"
    return match.group(1)


@pytest.fixture
def live_merchant(start_role):
    role = start_role("api")
    created = subprocess.run(
        [sys.executable, "-m", "core", "merchant", "create", "--name", "Docs", "--json"],
        capture_output=True,
        text=True,
        check=True,
    )
    info = orjson.loads(created.stdout)
    return {**os.environ, "BASE_URL": role.url, "KEY_ID": info["key_id"], "SECRET": info["secret"]}


def test_python_example_is_accepted(live_merchant) -> None:
    result = subprocess.run(
        [sys.executable, "-c", block("python", "Python (standard library only)")],
        env=live_merchant,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("200 ") and "signed in python" in result.stdout


def test_curl_openssl_example_is_accepted(live_merchant) -> None:
    result = subprocess.run(
        ["bash", "-c", block("sh", "curl and openssl")], env=live_merchant, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    assert orjson.loads(result.stdout) == {"message": "signed with openssl", "count": 1}


def test_a_wrong_secret_in_the_example_is_refused(live_merchant) -> None:
    env = {**live_merchant, "SECRET": live_merchant["SECRET"] + "x"}
    result = subprocess.run(["bash", "-c", block("sh", "curl and openssl")], env=env, capture_output=True, text=True)
    assert orjson.loads(result.stdout)["error"]["code"] == "invalid_signature"


def test_sdk_example_is_accepted(live_merchant) -> None:
    code = block("python", "Python SDK")
    result = subprocess.run([sys.executable, "-c", code], env=live_merchant, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["{'message': 'signed by the sdk', 'count': 1}", "Balance(data=[])"]


def test_the_sdk_raises_api_error_for_a_wrong_secret(live_merchant) -> None:
    env = {**live_merchant, "SECRET": live_merchant["SECRET"] + "x"}
    code = block("python", "Python SDK")
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert result.returncode == 1 and result.stdout == ""
    assert "gateway_client.errors.ApiError: 401 invalid_signature" in result.stderr
    assert env["SECRET"] not in result.stderr
