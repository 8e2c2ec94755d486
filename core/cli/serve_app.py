"""Granian's factory target for `gateway serve`, run in each worker process.

The checks `gateway serve` made before Granian started, moved here so the supervisor imports
nothing of the app (core/cli/serve.py says why): a config error names the variable, a broken
function or job module names the module, production refuses well-known secrets. A refusal is
written to the file the supervisor named and the worker exits 2; the supervisor prints it.
"""

from __future__ import annotations

import os
import sys
from typing import Any, NoReturn

from core.cli.serve import START_PROBLEM_ENV


def refuse(reason: str) -> NoReturn:
    """Stop this worker: the supervisor prints `reason` once and exits 2."""
    path = os.environ.get(START_PROBLEM_ENV)
    if path:
        with open(path, "w", encoding="utf-8") as out:
            out.write(reason + "\n")
    else:  # loaded by Granian directly, not through `gateway serve`
        print(reason, file=sys.stderr)
    raise SystemExit(2)


def app_from_env() -> Any:
    """Check what must hold before serving, then build the role's app (core.http.app)."""
    from core.config import ConfigError, load_settings
    from core.registry import DiscoveryError, discover_functions, discover_jobs

    try:
        settings = load_settings()
    except ConfigError as exc:
        refuse(str(exc))
    try:  # every role refuses a broken function or job module, not only the role that serves it
        discover_functions()
        discover_jobs()
    except DiscoveryError as exc:
        refuse(f"start-up stopped: {exc}")
    if settings.environment == "production":  # and a PLE with a public secret (issue 17)
        from core.security.dev_secrets import production_start_problem

        problem = production_start_problem(settings.database_url, settings.secrets_master_keys)
        if problem:
            refuse(f"start-up stopped: {problem}")

    from core.http.app import app_from_env as build

    return build()
