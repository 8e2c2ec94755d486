"""An httpx client wired straight into a role's ASGI app: the full stack, no socket.

Used by `gateway invoke` and the tests. The app's lifespan runs in its own task of the caller's
event loop (Litestar's lifespan holds an anyio task group, which must be left by the task that
entered it), so connection pools belong to the caller's loop.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx

from core.http.context import RequestContext, litestar_of


class RunningApp:
    """Runs an app's lifespan in a dedicated task until `stop()`."""

    def __init__(self, app: RequestContext) -> None:
        self.app = app
        self._ready = asyncio.Event()
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        async with litestar_of(self.app).lifespan():
            self._ready.set()
            await self._stop.wait()

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run())
        ready = asyncio.create_task(self._ready.wait())
        await asyncio.wait({ready, self._task}, return_when=asyncio.FIRST_COMPLETED)
        if self._task.done():
            ready.cancel()
            self._task.result()  # start-up failed: raise its error here

    async def stop(self) -> None:
        self._stop.set()
        if self._task is not None:
            await self._task


@asynccontextmanager
async def in_process_client(
    app: RequestContext, base_url: str = "http://gateway.local", client_ip: str = "127.0.0.1"
) -> AsyncIterator[httpx.AsyncClient]:
    running = RunningApp(app)
    await running.start()
    try:
        transport = httpx.ASGITransport(app=app, client=(client_ip, 40000))  # type: ignore[arg-type]
        async with httpx.AsyncClient(transport=transport, base_url=base_url) as client:
            yield client
    finally:
        await running.stop()
