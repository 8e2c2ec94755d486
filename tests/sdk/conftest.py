"""The SDK against the live gateway behind one base URL: the `all` role and the sandbox PSP as
real processes (one pair for the whole tests/sdk package), merchants routed to the sandbox, and
each test run with both `Client` and `AsyncClient`."""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from gateway_client import AsyncClient, Client

from core.ids import new_id
from core.ledger import adjust_merchant_balance
from core.local_services import free_port
from core.resources import Resources
from core.routing import create_ple, route_everything_to
from tests.fixtures.merchants import new_merchant
from tests.fixtures.processes import RoleProcess
from tests.fixtures.stack import MERCHANT_FEES, PROVIDER_FEES, SANDBOX_SECRET
from tests.sdk.fault_proxy import FaultProxy


@dataclass
class Edge:
    url: str  # the one base URL the SDK is given: the `all` role
    sandbox_url: str
    ple_id: str = ""

    def sandbox(self, path: str, body: Any = None) -> dict[str, Any]:
        """The sandbox's test-only API (`/__sandbox/...`): counters, fault injection."""
        if body is None:
            return httpx.get(self.sandbox_url + path, timeout=10).json()  # type: ignore[no-any-return]
        return httpx.post(self.sandbox_url + path, json=body, timeout=10).json()  # type: ignore[no-any-return]


@dataclass
class Merchant:
    merchant_id: str
    key_id: str
    secret: str
    webhook_secret: str


@pytest.fixture(scope="package")
def edge_processes() -> Iterator[Edge]:
    sandbox_port, edge_port = free_port(), free_port()
    sandbox = RoleProcess(
        [
            "sandbox",
            *("--port", str(sandbox_port), "--secret", SANDBOX_SECRET, "--delay-seconds", "0.3"),
            *("--callback-url", f"http://127.0.0.1:{edge_port}/v1/callbacks/sandbox"),
        ],
        sandbox_port,
        {"SANDBOX_SECRET": SANDBOX_SECRET},
        "sdk-sandbox",
    )
    edge = RoleProcess(["serve", "--role", "all", "--port", str(edge_port)], edge_port, {}, "sdk-all")
    try:
        sandbox.wait_live("/__sandbox/health")
        edge.wait_live()
        yield Edge(edge.url, sandbox.url)
    finally:
        edge.stop()
        sandbox.stop()


@pytest.fixture(scope="package")
async def edge(edge_processes: Edge, resources: Resources) -> Edge:
    ple = await create_ple(
        resources,
        provider="sandbox",
        name="Sandbox PLE (sdk tests)",
        currency="INR",
        base_url=edge_processes.sandbox_url,
        secret=SANDBOX_SECRET,
        fee_schedule=PROVIDER_FEES,
        actor="test",
    )
    edge_processes.ple_id = ple["id"]
    return edge_processes


@pytest.fixture
def make_sdk_merchant(edge: Edge, resources: Resources) -> Any:
    """`await make_sdk_merchant(funds=100_000, webhook_url=...)`: a merchant routed to the sandbox."""

    async def make(funds: int = 0, **kw: Any) -> Merchant:
        created = await new_merchant(resources, "SDK merchant", fee_plans=MERCHANT_FEES, **kw)
        merchant_id = created["merchant"]["id"]
        await route_everything_to(resources, merchant_id, edge.ple_id, actor="test")
        if funds:
            await adjust_merchant_balance(resources.db, merchant_id, "INR", funds, new_id("fund"), "sdk test funding")
        return Merchant(merchant_id, created["key_id"], created["secret"], created["webhook_secret"])

    return make


@pytest.fixture(params=["sync", "async"])
def client_kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
async def open_client(client_kind: str, edge: Edge) -> AsyncIterator[Any]:
    """`open_client(merchant, base_url=None, **options)` → a `Client` or `AsyncClient` (per the
    test's parameter) for that merchant, closed after the test."""
    opened: list[Client | AsyncClient] = []

    def make(merchant: Merchant, base_url: str | None = None, **options: Any) -> Client | AsyncClient:
        cls = Client if client_kind == "sync" else AsyncClient
        client = cls(base_url or edge.url, merchant.key_id, merchant.secret, **options)
        opened.append(client)
        return client

    yield make
    for client in opened:
        if isinstance(client, AsyncClient):
            await client.aclose()
        else:
            client.close()


@pytest.fixture
def proxy(edge: Edge) -> Iterator[FaultProxy]:
    started = FaultProxy(edge.url).start()
    yield started
    started.stop()


async def done(value: Any) -> Any:
    """The result of a `Client` call, or of an `AsyncClient` call awaited."""
    return await value if inspect.isawaitable(value) else value


async def every(iterator: Any) -> list[Any]:
    """Everything a `list()` yields, from a sync iterator or an async one."""
    if hasattr(iterator, "__aiter__"):
        return [item async for item in iterator]
    return list(iterator)


async def first(iterator: Any) -> Any:
    """Only the first item of a `list()`: the pages after it must not be fetched."""
    if hasattr(iterator, "__aiter__"):
        return await anext(iterator)
    return next(iterator)
