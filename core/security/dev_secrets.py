"""Provider secrets that are public knowledge: never accepted for a PLE, never in production.

A callback signed with a secret anyone can read in this repository (or in an old release of
it) credits money no provider collected (issue 17). These are the values earlier versions used
as defaults and the test and benchmark harnesses used as constants.
"""

from __future__ import annotations

import secrets

from core.errors import ApiError
from core.security.text import check_text, check_url_text, has_control_characters
from core.storage.postgres import Database, Handle

WELL_KNOWN_SECRETS = frozenset(
    {
        "sandbox-dev-secret",
        "sandbox-test-secret",
        "test-sandbox-secret",
        "bench-sandbox-secret",
        "chaos-sandbox-secret",
        "secret",
        "changeme",
        "change-me",
    }
)


def is_well_known(secret: str) -> bool:
    return secret.strip().lower() in WELL_KNOWN_SECRETS


def new_provider_secret() -> str:
    """A PLE secret shown once to the operator: 256 bits, URL-safe (it is typed into a PSP's console)."""
    return secrets.token_urlsafe(32)


def check_ple_changes(changes: dict[str, object]) -> None:
    """The strict text rules and the secret rule for a PLE update (422 `validation_error`)."""
    if "name" in changes:
        check_text(changes["name"], "name", 200)
    if "base_url" in changes:
        check_url_text(changes["base_url"], "base_url")
    if "secret" in changes:
        check_provider_secret(changes["secret"])


def check_provider_secret(secret: object) -> str:
    """A PLE secret an operator chose: text without control characters, not a well-known value."""
    if not isinstance(secret, str) or not secret or has_control_characters(secret):
        raise ApiError("validation_error", "secret must be non-empty text without control characters", param="secret")
    if is_well_known(secret):
        raise ApiError(
            "validation_error", "secret is a well-known development value; omit it to generate one", param="secret"
        )
    return secret


async def ples_with_well_known_secrets(db: Handle, secrets_spec: str) -> list[str]:
    """`ple_id (name)` of every PLE, active or not, whose secret is a well-known value."""
    from core.security.crypto import keyring_for

    ring = keyring_for(secrets_spec)
    found = []
    for row in await db.sql("SELECT id, name, credentials_enc FROM ples ORDER BY id"):
        if is_well_known(ring.decrypt(row["credentials_enc"], f"ples:{row['id']}")):
            found.append(f"{row['id']} ({row['name']})")
    return found


def production_start_problem(database_url: str, secrets_spec: str, timeout: float = 30.0) -> str | None:
    """Why a role must not start in production, or None. SANDBOX_SECRET is checked with the
    settings (core/config.py); this checks every PLE. Fails closed: a database that does not
    answer is a reason too (the orchestrator restarts the role until it does)."""
    import asyncio

    async def check() -> list[str]:
        db = Database(database_url)
        await db.open(max_size=1)
        try:
            return await asyncio.wait_for(ples_with_well_known_secrets(db, secrets_spec), timeout)
        finally:
            await db.close()

    try:
        found = asyncio.run(check())
    except Exception as exc:  # any failure to check is a failure to prove safety
        return f"cannot check PLE secrets ({type(exc).__name__}); PostgreSQL must answer before a role starts"
    if found:
        return (
            f"PLE {', '.join(found)} uses a well-known development secret; set a real one "
            "(PATCH /admin/v1/ples/{id} with a new secret, and the same at the provider) before starting in production"
        )
    return None
