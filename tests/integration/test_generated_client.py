"""A client generated from the payment role's OpenAPI document works against the real stack
(issue 21): openapi-python-client (a pinned dev dependency) generates it from
docs/openapi/payment.json, which test_openapi_documents keeps equal to what the role serves, and
this test creates and reads a payin with it, unedited. The §4.1 signature is added by an httpx
request event hook, the way a merchant would add it to any generated client.
"""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from core.signing import sign_request
from tests.fuzz.hooks import Merchant, module_merchant

DOCUMENT = Path(__file__).resolve().parents[2] / "docs" / "openapi" / "payment.json"
PACKAGE = "gateway_payment_client"


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Any:
    out = tmp_path_factory.mktemp("generated")
    bin_dir = Path(sys.executable).parent  # the generator runs ruff from PATH on what it writes
    done = subprocess.run(
        [
            str(bin_dir / "openapi-python-client"),
            "generate",
            *("--path", str(DOCUMENT)),
            *("--output-path", str(out / PACKAGE)),
            *("--meta", "none"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"},
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Warning" not in done.stdout, done.stdout  # every part of the document was understood
    sys.path.insert(0, str(out))
    try:
        yield importlib.import_module(PACKAGE)
    finally:
        sys.path.remove(str(out))
        for name in [n for n in sys.modules if n == PACKAGE or n.startswith(f"{PACKAGE}.")]:
            del sys.modules[name]


@pytest.fixture(scope="module")
async def merchant(stack, resources) -> Merchant:
    return await module_merchant(resources, stack.ple_id, name="Generated client merchant")


def signing_client(package: Any, base_url: str, merchant: Merchant) -> Any:
    """The generated `Client`, every request signed over the exact bytes httpx sends."""

    def sign(request: httpx.Request) -> None:
        body = request.read()
        path_and_query = request.url.raw_path.decode("ascii")
        request.headers.update(sign_request(merchant.key_id, merchant.secret, request.method, path_and_query, body))

    return package.Client(
        base_url=base_url, httpx_args={"event_hooks": {"request": [sign]}}, raise_on_unexpected_status=True
    )


def test_a_generated_client_creates_and_reads_a_payin(generated, merchant, stack) -> None:
    create_payin, get_payin, list_payins, models = (
        importlib.import_module(f"{PACKAGE}.{name}")
        for name in ("api.payins.create_payin", "api.payins.get_payin", "api.payins.list_payins", "models")
    )
    client = signing_client(generated, stack.payment.url, merchant)

    body = models.PayinCreate(
        amount=25_000,
        currency="INR",
        reference="generated-client-1",
        method=models.PayinMethod.UPI,
        customer=models.CustomerIn(name="Asha Rao", email="asha@example.com"),
    )
    with client as c:
        created = create_payin.sync_detailed(client=c, body=body)
        assert created.status_code == 201, created.content
        payin = created.parsed
        assert isinstance(payin, models.Payin)
        assert payin.id.startswith("pi_") and payin.amount == 25_000 and payin.reference == "generated-client-1"
        assert isinstance(payin.status, models.PayinStatus)

        read = get_payin.sync(client=c, payin_id=payin.id)
        assert isinstance(read, models.Payin)
        assert (read.id, read.amount, read.customer.email) == (payin.id, 25_000, "asha@example.com")

        listed = list_payins.sync(client=c, reference="generated-client-1")
        assert isinstance(listed, models.PayinList)
        assert [p.id for p in listed.data] == [payin.id]

        missing = get_payin.sync_detailed(client=c, payin_id="pi_00000000000000000000000000")
        assert missing.status_code == 404
        assert isinstance(missing.parsed, models.Error)
        assert missing.parsed.error.code == models.ErrorDetailCode.NOT_FOUND
