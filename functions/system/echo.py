"""POST /v1/echo: answers what it was sent; the smallest signed endpoint (tests, benchmarks)."""

import msgspec
from litestar import post
from litestar.params import JSONBody

from core.http import answers
from core.http.openapi import documented

ROLE = "api"


class EchoBody(msgspec.Struct, forbid_unknown_fields=True):
    message: str
    count: int = 1


@post("/v1/echo", status_code=200, sync_to_thread=False, **documented("echo", answers.Echo))
def echo(data: JSONBody[EchoBody]) -> dict[str, object]:
    return {"message": data.message, "count": data.count}
