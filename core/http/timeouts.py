"""A request body must keep arriving: each chunk within BODY_READ_TIMEOUT seconds.

Granian bounds how long headers may take, not the body; a client that sends headers and then
stalls would hold a connection (and a request slot) for ever. This ASGI wrapper times each wait
for the next body chunk; on expiry the request is answered 408 `request_timeout`.
"""

from __future__ import annotations

import asyncio
from typing import Any

BODY_READ_TIMEOUT_SECONDS = 10.0


class BodyReadTimeoutError(Exception):
    """The client stopped sending its request body."""


class BodyReadTimeout:
    def __init__(self, app: Any, seconds: float = BODY_READ_TIMEOUT_SECONDS) -> None:
        self.app = app
        self.seconds = seconds

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        seconds = self.seconds

        async def timed_receive() -> dict[str, Any]:
            # asyncio.timeout, not wait_for: wait_for wraps every receive in a new task (issue 19).
            try:
                async with asyncio.timeout(seconds):
                    return await receive()  # type: ignore[no-any-return]
            except TimeoutError:
                raise BodyReadTimeoutError(f"request body not received within {seconds:.0f} s") from None

        await self.app(scope, timed_receive, send)
