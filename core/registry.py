"""Discovery of functions and jobs: adding an endpoint or a job is adding one file.

A function module under `functions/` declares `ROLE` (a role name or a tuple of them) and
exactly one Litestar route handler. A job module under `jobs/` implements one of the references core
declares (core/job_refs.py): `JOB = <that reference>` and an async function named after the
module taking `(ctx, args: <the reference's arguments struct>)`. A module that matches no
reference, or a reference no module implements, stops start-up with a message naming it.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import typing
from collections.abc import Callable
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from litestar.handlers import HTTPRouteHandler

from core.config import ROLES
from core.jobs_client import JobRef
from core.storage.redis import QUEUE_NAMES


class DiscoveryError(Exception):
    """A function or job module breaks the contract; the message names the module."""


@dataclass(frozen=True)
class FunctionSpec:
    name: str  # payins.create
    module: str  # functions.payins.create
    roles: tuple[str, ...]
    handler: HTTPRouteHandler
    methods: tuple[str, ...]
    path: str


@dataclass(frozen=True)
class JobSpec:
    ref: JobRef[Any]
    module: str
    function: Callable[..., Any]  # async (ctx, args) -> result

    @property
    def name(self) -> str:
        return self.ref.name

    @property
    def cron(self) -> str | None:
        return self.ref.cron


def _walk(package: str) -> list[ModuleType]:
    try:
        root = importlib.import_module(package)
    except Exception as exc:
        raise DiscoveryError(f"{package}: cannot import ({exc})") from exc
    modules = []
    for info in pkgutil.walk_packages(root.__path__, prefix=f"{package}."):
        if info.ispkg or info.name.rsplit(".", 1)[-1].startswith("_"):
            continue
        try:
            modules.append(importlib.import_module(info.name))
        except Exception as exc:
            raise DiscoveryError(f"{info.name}: cannot import ({type(exc).__name__}: {exc})") from exc
    return modules


def _roles_of(module: ModuleType) -> tuple[str, ...]:
    declared = getattr(module, "ROLE", None)
    if declared is None:
        raise DiscoveryError(f"{module.__name__}: declares no ROLE")
    roles = (declared,) if isinstance(declared, str) else tuple(declared)
    unknown = [r for r in roles if r not in ROLES]
    if unknown or not roles:
        raise DiscoveryError(f"{module.__name__}: unknown role {unknown or roles!r}; known: {ROLES}")
    return roles


def discover_functions(package: str = "functions") -> list[FunctionSpec]:
    specs: list[FunctionSpec] = []
    claimed: dict[tuple[str, str], str] = {}
    for module in _walk(package):
        handlers = [v for v in vars(module).values() if isinstance(v, HTTPRouteHandler)]
        if len(handlers) != 1:
            found = "no route handler" if not handlers else f"{len(handlers)} route handlers"
            raise DiscoveryError(f"{module.__name__}: has {found}; a function module has exactly one")
        handler = handlers[0]
        roles = _roles_of(module)
        methods = tuple(sorted(handler.http_methods))
        for path in handler.paths:
            for method in methods:
                owner = claimed.setdefault((method, path), module.__name__)
                if owner != module.__name__:
                    raise DiscoveryError(f"{module.__name__}: {method} {path} is already claimed by {owner}")
        specs.append(
            FunctionSpec(
                name=module.__name__.removeprefix(f"{package}."),
                module=module.__name__,
                roles=roles,
                handler=handler,
                methods=methods,
                path=sorted(handler.paths)[0],
            )
        )
    return sorted(specs, key=lambda s: s.name)


def _job_spec(module: ModuleType) -> JobSpec:
    name = module.__name__.rsplit(".", 1)[-1]
    ref = getattr(module, "JOB", None)
    if not isinstance(ref, JobRef):
        raise DiscoveryError(f"{module.__name__}: declares no JOB (a reference from core/job_refs.py)")
    if ref.name != name:
        raise DiscoveryError(f"{module.__name__}: JOB is {ref.name!r}; a job module is named after its job")
    if ref.queue not in QUEUE_NAMES:  # no worker would ever take its jobs
        raise DiscoveryError(f"{module.__name__}: JOB names queue {ref.queue!r}; known: {QUEUE_NAMES}")
    function = getattr(module, name, None)
    if function is None or not inspect.iscoroutinefunction(function):
        raise DiscoveryError(f"{module.__name__}: defines no async job function named {name!r}")
    params = list(inspect.signature(function).parameters.values())
    try:
        hints = typing.get_type_hints(function)
    except Exception as exc:
        raise DiscoveryError(f"{module.__name__}: cannot resolve the annotations of {name} ({exc})") from exc
    if len(params) != 2 or hints.get(params[1].name) is not ref.args:
        raise DiscoveryError(
            f"{module.__name__}: {name} must take (ctx, args: {ref.args.__name__}) as JOB {ref.name!r} declares"
        )
    return JobSpec(ref=ref, module=module.__name__, function=function)


def discover_jobs(package: str = "jobs", refs: tuple[JobRef[Any], ...] | None = None) -> list[JobSpec]:
    """Every job module matched to its reference; `refs` defaults to core/job_refs.ALL."""
    if refs is None:
        from core.job_refs import ALL as refs
    specs = [_job_spec(module) for module in _walk(package)]
    implemented = {s.name for s in specs}
    declared = {r.name for r in refs}
    if missing := sorted(declared - implemented):
        raise DiscoveryError(f"{package}: no module implements job(s) {', '.join(missing)} (core/job_refs.py)")
    if unknown := sorted(implemented - declared):
        raise DiscoveryError(f"{package}.{unknown[0]}: job {unknown[0]!r} is not declared in core/job_refs.py")
    return sorted(specs, key=lambda s: s.name)


def functions_for_role(specs: list[FunctionSpec], role: str) -> list[FunctionSpec]:
    return [s for s in specs if role == "all" or role in s.roles]
