"""Client behaviour that needs no gateway: timeouts, constructor checks, no secret in sight."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import pytest
from gateway_client import ApiConnectionError, AsyncClient, Client

from tests.sdk.conftest import done


@pytest.fixture
def silent() -> Iterator[tuple[str, list[socket.socket]]]:
    """A server that accepts connections and never answers."""
    listener = socket.create_server(("127.0.0.1", 0))
    accepted: list[socket.socket] = []

    def accept() -> None:
        while True:
            try:
                accepted.append(listener.accept()[0])
            except OSError:
                return

    threading.Thread(target=accept, daemon=True).start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}", accepted
    listener.close()
    for conn in accepted:
        conn.close()


async def test_a_silent_gateway_times_out_after_each_retry(client_kind, silent) -> None:
    url, accepted = silent
    cls = Client if client_kind == "sync" else AsyncClient
    client = cls(url, "key_1", "sk_very_secret", timeout=0.3, max_retries=1)
    with pytest.raises(ApiConnectionError) as error:
        await done(client.payins.create(amount=1, currency="INR", reference="r", method="upi", customer={}))
    assert "Timeout" in str(error.value) and "sk_very_secret" not in str(error.value)
    assert len(accepted) == 2  # the first attempt and one retry
    await done(client.aclose() if isinstance(client, AsyncClient) else client.close())


def test_settings_are_checked_and_the_secret_never_shown() -> None:
    client = Client("https://pay.example.com/", "key_1", "sk_very_secret")
    assert repr(client) == "Client(base_url='https://pay.example.com', key_id='key_1')"
    assert "sk_very_secret" not in repr(client.payins) + repr(vars(client))
    client.close()
    for bad in (
        lambda: client.request("GET", "/v1/balance", json={"a": 1}),
        lambda: client.request("GET", "v1/balance"),
        lambda: client.payins.get(""),
        lambda: Client("pay.example.com", "key_1", "s"),
        lambda: Client("https://pay.example.com", "", "s"),
        lambda: Client("https://pay.example.com", "key_1", ""),
        lambda: AsyncClient("https://pay.example.com", "key_1", "s", max_retries=-1),
    ):
        with pytest.raises(ValueError):
            bad()
