"""Command output: `--json` prints one JSON value on stdout and nothing else there."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import click
import orjson

from core.config import ConfigError, Settings, load_settings

T = TypeVar("T")


def emit(value: Any, as_json: bool) -> None:
    if as_json:
        sys.stdout.write(orjson.dumps(value, default=str).decode() + "\n")
    elif isinstance(value, dict):
        for key, item in value.items():
            text = orjson.dumps(item, default=str).decode() if isinstance(item, dict | list) else item
            click.echo(f"{key}: {text}")
    else:
        click.echo(orjson.dumps(value, default=str, option=orjson.OPT_INDENT_2).decode())


def cli_settings(role: str = "cli") -> Settings:
    """Settings for a command, logging to stderr; a config error exits 2 naming the variable."""
    from core.observability.setup import configure_process

    try:
        settings = load_settings()
    except ConfigError as exc:
        click.echo(str(exc), err=True)
        sys.exit(2)
    configure_process(role, settings, cli=True)
    return settings


def run_with_resources(settings: Settings, work: Callable[[Any], Awaitable[T]]) -> T:
    """Open the same connections a role opens, run `work(resources)`, close them."""
    from core.resources import open_resources

    async def main() -> T:
        async with open_resources(settings, pool_size=4) as resources:
            return await work(resources)

    return asyncio.run(main())
