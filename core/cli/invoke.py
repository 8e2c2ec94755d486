"""`gateway invoke` and `gateway invoke-job`: run one function or job in-process.

`invoke` builds the request, signs it as the merchant would (core.signing), and sends it through
the full ASGI stack of the function's role (middleware, validation, error handlers), printing
status, headers, body and timing (§11).
"""

from __future__ import annotations

import asyncio
import re
import sys
import time
from pathlib import Path
from typing import Any

import click
import msgspec
import orjson

from core.cli.output import cli_settings, emit
from core.registry import discover_functions, discover_jobs

_PATH_PARAM = re.compile(r"\{(\w+)(?::\w+)?\}")


def _body_bytes(raw: str | None) -> bytes:
    if raw is None:
        return b""
    if raw.startswith("@"):
        return Path(raw[1:]).read_bytes()
    return raw.encode()


def _fill_path(template: str, params: dict[str, str]) -> str:
    def sub(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in params:
            raise click.UsageError(f"path needs --param {name}=VALUE")
        return params[name]

    return _PATH_PARAM.sub(sub, template)


async def invoke_function(
    name: str, *, merchant: str | None, body: bytes, query: str, params: dict[str, str], method: str | None
) -> dict[str, Any]:
    from core.http.app import create_app
    from core.http.context import litestar_of
    from core.http.inprocess import in_process_client

    spec = next((s for s in discover_functions() if s.name == name), None)
    if spec is None:
        raise click.UsageError(f"no function named {name!r} (see `gateway functions`)")
    verb = method or spec.methods[0]
    path = _fill_path(spec.path, params) + (f"?{query}" if query else "")
    headers = {"content-type": "application/json"} if body else {}
    app = create_app(spec.roles[0])
    async with in_process_client(app) as client:
        if merchant:
            from core.signing import sign_for_merchant

            spec_keys = litestar_of(app).state.settings.secrets_master_keys
            headers.update(
                await sign_for_merchant(litestar_of(app).state.resources.db, spec_keys, merchant, verb, path, body)
            )
        started = time.perf_counter()
        response = await client.request(verb, path, content=body, headers=headers)
        elapsed = (time.perf_counter() - started) * 1000
    try:
        parsed: Any = response.json()
    except ValueError:
        parsed = response.text
    return {
        "status": response.status_code,
        "headers": dict(response.headers),
        "body": parsed,
        "elapsed_ms": round(elapsed, 2),
    }


@click.command()
@click.argument("name")
@click.option("--merchant", help="merchant id to sign the request as")
@click.option("--json", "body", help="request body, or @file")
@click.option("--query", default="", help="raw query string, e.g. limit=5&status=pending")
@click.option("--param", "params", multiple=True, help="path parameter NAME=VALUE")
@click.option("--method", help="HTTP method when the function has several")
def invoke(
    name: str, merchant: str | None, body: str | None, query: str, params: tuple[str, ...], method: str | None
) -> None:
    """Run function NAME once through the full middleware stack and print the answer as JSON."""
    cli_settings()
    parsed_params = dict(p.split("=", 1) for p in params)
    result = asyncio.run(
        invoke_function(
            name, merchant=merchant, body=_body_bytes(body), query=query, params=parsed_params, method=method
        )
    )
    emit(result, True)


@click.command("invoke-job")
@click.argument("name")
@click.option("--kwargs", "kwargs_json", default="{}", help="job keyword arguments as a JSON object")
def invoke_job(name: str, kwargs_json: str) -> None:
    """Run job NAME once, with a real context, and print {"result": ...}."""
    from core.cli.output import run_with_resources
    from core.worker import instrument

    settings = cli_settings()
    spec = next((j for j in discover_jobs() if j.name == name), None)
    if spec is None:
        raise click.UsageError(f"no job named {name!r} (see `gateway functions`)")
    try:
        kwargs = orjson.loads(kwargs_json)
    except orjson.JSONDecodeError as exc:
        raise click.UsageError(f"--kwargs is not JSON: {exc}") from None
    if not isinstance(kwargs, dict):
        raise click.UsageError("--kwargs must be a JSON object")
    try:  # the job's own arguments struct says what is missing or wrong, before anything runs
        msgspec.convert(kwargs, spec.ref.args)
    except msgspec.ValidationError as exc:
        raise click.UsageError(f"--kwargs do not fit {spec.ref.args.__name__}: {exc}") from None

    async def work(resources: Any) -> Any:
        return await instrument(spec)({"resources": resources, "job": None}, **kwargs)

    try:
        result = run_with_resources(settings, work)
    except Exception as exc:
        click.echo(f"job {name} failed: {type(exc).__name__}: {exc}", err=True)
        sys.exit(1)
    emit({"result": result}, True)
