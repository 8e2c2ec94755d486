"""A round-robin TCP proxy: the chaos run's stand-in for Caddy in front of payment replicas."""

from __future__ import annotations

import asyncio
import itertools


class RoundRobinProxy:
    def __init__(self, port: int, upstreams: list[int]) -> None:
        self.port = port
        self._next = itertools.cycle(upstreams)
        self.server: asyncio.Server | None = None

    async def start(self) -> None:
        self.server = await asyncio.start_server(self._handle, "127.0.0.1", self.port)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", next(self._next))
        except OSError:
            writer.close()
            return

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            try:
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            except (ConnectionError, OSError):
                pass
            finally:
                dst.close()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))

    async def stop(self) -> None:
        if self.server:
            self.server.close()
            await self.server.wait_closed()
