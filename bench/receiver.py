"""Scenario (e)'s merchant side: a tiny HTTP server that answers every webhook 200 and counts
them; `GET /count` answers the count. Raw asyncio so it costs the machine as little as possible.

`python -m bench.receiver --port P`
"""

from __future__ import annotations

import argparse
import asyncio

_count = 0


async def _serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    global _count
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            lower = head.lower()
            at = lower.find(b"content-length:")
            if at >= 0:
                await reader.readexactly(int(lower[at + 15 : lower.index(b"\r\n", at)]))
            if head.startswith(b"GET /count"):
                body = str(_count).encode()
            else:
                _count += 1
                body = b"{}"
            head_out = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(body)
            writer.write(head_out + body)
    except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError):
        pass
    finally:
        writer.close()


async def main(port: int) -> None:
    server = await asyncio.start_server(_serve, "127.0.0.1", port)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    asyncio.run(main(parser.parse_args().port))
