"""Discovery of functions and jobs: adding an endpoint or a job is adding one file.

A function module under `functions/` declares `ROLE` (a role name or a tuple of them) and
exactly one Litestar route handler. A job module under `jobs/` defines an async function named
after the module, and optionally `CRON` (a cron expression) and `TIMEOUT` / `RETRIES`.
Anything else stops start-up with a message naming the module.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from litestar.handlers import HTTPRouteHandler

from core.config import ROLES


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
    name: str
    module: str
    function: Callable[..., Any]
    cron: str | None
    timeout: int
    retries: int


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


def discover_jobs(package: str = "jobs") -> list[JobSpec]:
    specs = []
    for module in _walk(package):
        name = module.__name__.rsplit(".", 1)[-1]
        function = getattr(module, name, None)
        if function is None or not callable(function):
            raise DiscoveryError(f"{module.__name__}: defines no job function named {name!r}")
        specs.append(
            JobSpec(
                name=name,
                module=module.__name__,
                function=function,
                cron=getattr(module, "CRON", None),
                timeout=int(getattr(module, "TIMEOUT", 60)),
                retries=int(getattr(module, "RETRIES", 5)),
            )
        )
    return sorted(specs, key=lambda s: s.name)


def functions_for_role(specs: list[FunctionSpec], role: str) -> list[FunctionSpec]:
    return [s for s in specs if role == "all" or role in s.roles]
