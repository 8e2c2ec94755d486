"""What security runs beside every serving role, for the role's lifetime.

- the request verifier (core/http/auth.py), its key cache fed by the revocation broadcast;
- the audit anchor loop, pinning the audit chain's head in PostgreSQL.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

from litestar.datastructures import State

from core.background import stop_tasks
from core.http.auth import install_verifier
from core.security import audit_keys
from core.security.audit_anchor import anchor_loop
from core.security.invalidation import listen
from core.security.verify import RequestVerifier


@contextlib.asynccontextmanager
async def security_runtime(state: State, resources: Any) -> AsyncIterator[None]:
    install_verifier(state, resources)
    audit_keys.use_master_keys(resources.settings.secrets_master_keys)
    verifier: RequestVerifier = state.verifier

    def invalidate(kind: str, ident: str) -> None:
        if kind == "key":
            verifier.keys.drop_key(ident)
        elif kind == "merchant":
            verifier.keys.drop_merchant(ident)

    tasks = [
        asyncio.create_task(listen(resources.redis, invalidate, verifier.keys.clear), name="revocation-listener"),
        asyncio.create_task(anchor_loop(resources.mongo, resources.db), name="audit-anchor"),
    ]
    try:
        yield
    finally:
        await stop_tasks(*tasks)
