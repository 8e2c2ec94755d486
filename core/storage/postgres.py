"""PostgreSQL through Piccolo: explicit handles, no process-global engine (ARCHITECTURE §3).

`Database` is a role's handle: a Piccolo `PostgresEngine` built from `Settings.database_url`
and its pool, owned by `Resources`. `Transaction` is one pool connection inside a transaction.
Both answer `sql()`, `transaction()` and `run()`, so a store function takes a `Handle` and runs
the same whether its caller holds a transaction or not. Nothing here reads Piccolo's ambient
transaction (a contextvar per engine): what runs inside a transaction is what is handed `tx`.

Schema changes are Piccolo migrations applied by `gateway migrate` (core/storage/migrate.py).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from string import Formatter
from typing import Any

import asyncpg
from piccolo.columns import Column
from piccolo.engine.postgres import PostgresEngine
from piccolo.query.base import Query
from piccolo.query.proxy import Proxy
from piccolo.querystring import QueryString

PiccoloQuery = Query[Any, Any] | Proxy[Any, Any]  # `.first()` wraps its query in a Proxy


_TEXTS: dict[tuple[str, int], tuple[str, int]] = {}  # (template, arguments) -> (`$n` text, arguments used)
_TEXTS_LIMIT = 4096


def _compiled(template: str, args: tuple[Any, ...]) -> tuple[str, list[Any]]:
    """`{}` placeholders (Piccolo QueryString) to asyncpg's `$n` and its argument list.

    Plain values (every argument here but a nested QueryString or a Column) need no Piccolo
    object per call: the `$n` text of a template is made once, exactly as `QueryString` makes it
    (tests/unit/test_sql_templates.py compares the two). Building it per call was a third of a
    ledger posting's client CPU (issue 19)."""
    if any(isinstance(a, QueryString | Column) for a in args):
        query, params = QueryString(template, *args).compile_string(engine_type="postgres")
        return query, list(params)
    key = (template, len(args))
    found = _TEXTS.get(key)
    if found is None:
        prefixes = [literal for literal, *_ in Formatter().parse(template)]
        text = "".join(p + (f"${i + 1}" if i < len(args) else "") for i, p in enumerate(prefixes))
        found = (text, min(len(args), len(prefixes)))  # Piccolo drops arguments beyond the fields
        if len(_TEXTS) >= _TEXTS_LIMIT:
            _TEXTS.clear()
        _TEXTS[key] = found
    return found[0], list(args[: found[1]])


async def _fetch(conn: asyncpg.Connection, template: str, args: tuple[Any, ...]) -> list[dict[str, Any]]:
    query, params = _compiled(template, args)
    return [dict(r) for r in await conn.fetch(query, *params)]


async def _run(conn: asyncpg.Connection, query: PiccoloQuery) -> Any:
    """A Piccolo query on `conn`, answered as `query.run()` would answer it (rows, `.first()`'s
    row or None, objects for `.output(as_objects=True)`). `Query._process_results` and
    `_validate` are Piccolo internals: its public `run()` only runs on the table's own engine."""
    if isinstance(query, Proxy):  # `.first()`: one row or None; no other proxy is used here
        if type(query).__name__ != "First":
            raise TypeError(f"{type(query).__name__} queries are not supported on a handle")
        rows = await _run(conn, query.query)
        return rows[0] if rows else None
    query._validate()
    answers = []
    for querystring in query.querystrings:
        text, params = querystring.compile_string(engine_type="postgres")
        answers.append(await query._process_results(await conn.fetch(text, *params)))
    return answers[0] if len(answers) == 1 else answers


class Transaction:
    """One connection inside a PostgreSQL transaction; `transaction()` nests as a savepoint."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn

    async def sql(self, template: str, *args: Any) -> list[dict[str, Any]]:
        """One statement with `{}` placeholders; rows as dicts."""
        return await _fetch(self.conn, template, args)

    async def run(self, query: PiccoloQuery) -> Any:
        """A Piccolo query (core/storage/tables.py) inside this transaction."""
        return await _run(self.conn, query)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Transaction]:
        """A savepoint: a failure inside rolls back to it and leaves this transaction usable."""
        async with self.conn.transaction():
            yield self


async def _keep_session(conn: asyncpg.Connection) -> None:
    """The pool's reset on release: nothing beyond what asyncpg always does (roll back an open
    transaction, drop listeners). Its default also sends `RESET ALL`, `UNLISTEN *`, `CLOSE ALL` and
    `pg_advisory_unlock_all()`: a round trip on every release, for session state these pool
    connections never set (no SET, LISTEN, cursor or session lock; `gateway migrate` takes its
    lock on a connection of its own). Issue 19, docs/decisions.md "No reset query on release"."""


class Database:
    """A role's PostgreSQL: the Piccolo engine for `url` and its pool (started by `open`)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = PostgresEngine(config={"dsn": url}, log_queries=False)

    async def open(self, max_size: int = 10) -> None:
        """Start the pool (lazily connecting: a down database must not stop start-up)."""
        await self.engine.start_connection_pool(min_size=0, max_size=max_size, reset=_keep_session)

    async def close(self) -> None:
        await self.engine.close_connection_pool()

    def _pool(self) -> asyncpg.Pool:
        if self.engine.pool is None:
            raise RuntimeError("Database.open() was not called")
        return self.engine.pool

    async def sql(self, template: str, *args: Any) -> list[dict[str, Any]]:
        """One statement with `{}` placeholders on a pooled connection, autocommitted."""
        async with self._pool().acquire() as conn:
            return await _fetch(conn, template, args)

    async def run(self, query: PiccoloQuery) -> Any:
        """A Piccolo query (core/storage/tables.py) on a pooled connection, autocommitted."""
        async with self._pool().acquire() as conn:
            return await _run(conn, query)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Transaction]:
        """A new transaction on one pooled connection: committed on exit, rolled back on error."""
        async with self._pool().acquire() as conn, conn.transaction():
            yield Transaction(conn)

    async def ping(self) -> None:
        await self.sql("SELECT 1")


Handle = Database | Transaction  # what store functions take: run here, or inside the caller's transaction
