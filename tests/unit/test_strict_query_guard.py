"""The strict date-time guard sits on exactly the handlers that take a date-time parameter, and
is a coroutine (core/http/strict_query.py): Litestar runs a plain-function guard in a thread."""

from __future__ import annotations

import inspect

from core.http.app import create_app
from core.http.strict_query import strict_datetime_query, takes_datetime_query
from core.registry import discover_functions

DATE_FILTERED = {"admin.audit.list", "ledger.entries", "payins.list", "payouts.list", "refunds.list"}


def test_only_handlers_with_a_date_time_parameter_are_guarded() -> None:
    create_app("all")
    create_app("all")  # apps share handlers: building twice must not stack the guard
    specs = {spec.name: spec.handler for spec in discover_functions("functions")}
    taking = {name for name, handler in specs.items() if takes_datetime_query(handler)}
    assert DATE_FILTERED <= taking
    assert {"system.echo", "payins.create"} <= specs.keys() - taking
    for name, handler in specs.items():
        guards = list(handler.guards or ())
        assert guards.count(strict_datetime_query) == (1 if name in taking else 0), name


def test_the_guard_is_a_coroutine_so_it_runs_on_the_event_loop() -> None:
    assert inspect.iscoroutinefunction(strict_datetime_query)
