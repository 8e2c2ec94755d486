"""The app factory: one Litestar app per role, built from that role's discovered functions."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import structlog
from litestar import Litestar
from litestar.datastructures import State
from litestar.di import Provide
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import JsonRenderPlugin

from core.background import stop_tasks
from core.config import Settings, load_settings
from core.http.auth import AUTH_DEPENDENCIES, auth_middleware
from core.http.context import RequestContext, litestar_of
from core.http.error_handlers import EXCEPTION_HANDLERS
from core.http.idempotency import idempotency_middleware
from core.http.openapi import SECURITY_SCHEMES, ClosedStructs, describe
from core.http.strict_body import strict_body_middleware
from core.http.strict_query import guard_datetime_queries
from core.http.timeouts import BodyReadTimeout
from core.observability.figures import kept_fresh
from core.observability.tracing import TraceIds, litestar_plugin, name_server_span, spans_recorded
from core.providers import close_adapters
from core.registry import discover_functions, discover_jobs, functions_for_role
from core.resources import Resources, open_resources
from core.security.runtime import security_runtime
from core.worker import build_worker

log = structlog.get_logger("app")
SCHEMA_ROLES = ("api", "payment", "all")
WORKER_ROLES = ("worker", "all")


def _resources(state: State) -> Resources:
    return state.resources  # type: ignore[no-any-return]


def create_app(
    role: str,
    settings: Settings | None = None,
    *,
    functions_package: str = "functions",
    jobs_package: str = "jobs",
) -> RequestContext:
    """Build the ASGI app of `role`; discovery errors stop start-up naming the module."""
    settings = settings or load_settings()
    specs = functions_for_role(discover_functions(functions_package), role)
    jobs = discover_jobs(jobs_package) if role in WORKER_ROLES else []
    handlers = []
    for spec in specs:
        spec.handler.opt["function"] = spec.name
        describe(spec.handler)
        guard_datetime_queries(spec.handler)
        handlers.append(spec.handler)

    @contextlib.asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        async with open_resources(settings) as resources, security_runtime(app.state, resources):
            app.state.resources = resources
            worker_task = None
            if jobs:
                worker = build_worker(resources.queue, resources, jobs)
                worker_task = asyncio.create_task(worker.start(), name="saq-worker")
                app.state.worker = worker
            loop = type(asyncio.get_running_loop())
            log.info(
                "role started",
                functions=len(specs),
                jobs=len(jobs),
                loop=f"{loop.__module__}.{loop.__name__}",
                traces="exported" if recorded else "off",  # off without an OTLP endpoint
            )
            # The worker role exports the reconciliation and settlement figures from the store.
            figures = kept_fresh(resources) if jobs else contextlib.nullcontext()
            try:
                async with figures:
                    yield
            finally:
                if worker_task is not None:
                    await app.state.worker.stop()
                    await stop_tasks(worker_task)
                # Their HTTP sessions belong to this loop: left open, aiohttp complains at exit
                # in lines that are not JSON (a few dozen at every stop of a payment role).
                await close_adapters()

    openapi = (
        OpenAPIConfig(
            title=f"Payment gateway: {role} role",
            version="1.0.0",
            path="/schema",
            render_plugins=[JsonRenderPlugin(path="/")],
            components=SECURITY_SCHEMES,
        )
        if role in SCHEMA_ROLES
        else None
    )
    recorded = spans_recorded()  # else no span is built: TraceIds gives requests their ids
    app = Litestar(
        route_handlers=handlers,
        dependencies={"resources": Provide(_resources, sync_to_thread=False), **AUTH_DEPENDENCIES},
        middleware=[auth_middleware, strict_body_middleware, idempotency_middleware],
        exception_handlers=EXCEPTION_HANDLERS,
        # one server span per request, named by its route template
        plugins=[litestar_plugin(), ClosedStructs()] if recorded else [ClosedStructs()],
        before_send=[name_server_span] if recorded else [],
        lifespan=[lifespan],
        openapi_config=openapi,
        request_max_body_size=settings.max_body_bytes,
        state=State({"role": role, "settings": settings}),
        logging_config=None,
        debug=False,
    )
    return RequestContext(BodyReadTimeout(app if recorded else TraceIds(app)), role)


def role_document(role: str) -> dict[str, Any]:
    """The OpenAPI document `role` serves at GET /schema (docs/openapi/<role>.json holds a copy)."""
    return litestar_of(create_app(role)).openapi_schema.to_schema()  # type: ignore[no-any-return]


def app_from_env() -> RequestContext:
    """Granian's factory target: the role comes from ROLE."""
    from core.observability.setup import configure_process

    settings = load_settings()
    configure_process(settings.role, settings)
    return create_app(settings.role, settings)
