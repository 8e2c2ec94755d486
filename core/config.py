"""Typed settings read from the environment, validated once at start-up.

Every role and every CLI command reads the same variables (ARCHITECTURE §11). A missing or
malformed variable raises `ConfigError` naming it, so start-up stops with a message an operator
can act on instead of a traceback from deep inside a driver.
"""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, get_type_hints
from urllib.parse import urlsplit

from core.security.dev_secrets import is_well_known

ROLES = ("api", "payment", "worker", "frontend")
SERVE_ROLES = (*ROLES, "all")
DEFAULT_WEBHOOK_RETRY_SCHEDULE = (60, 300, 900, 3600, 10800, 21600, 43200, 86400)
# A key that only exists so a fresh checkout runs; production sets its own (see clients/).
DEV_MASTER_KEY = "dev1:ZGV2ZWxvcG1lbnQtb25seS1tYXN0ZXIta2V5LTMyYiE="


class ConfigError(Exception):
    """A setting is missing or malformed; the message names the variable."""

    def __init__(self, variable: str, problem: str) -> None:
        self.variable = variable
        super().__init__(f"configuration error: {variable} {problem}")


def _doc(text: str, **kw: Any) -> Any:
    return field(metadata={"doc": text}, **kw)


@dataclass(frozen=True, slots=True)
class Settings:
    """One field per environment variable; the field name upper-cased is the variable name."""

    role: str = _doc("role served by `gateway serve` when --role is not given", default="all")
    environment: str = _doc("development | production (production demands real secrets)", default="development")
    client: str = _doc("client folder under clients/ this deployment belongs to", default="demo")
    port: int = _doc("HTTP port of the role", default=8000)
    database_url: str = _doc(
        "PostgreSQL URL (ledger, merchants)", default="postgresql://postgres@127.0.0.1:5432/gateway"
    )
    mongo_url: str = _doc("MongoDB URL; the database name is the URL path", default="mongodb://127.0.0.1:27017/gateway")
    redis_url: str = _doc("Redis URL (replay cache, idempotency, queues)", default="redis://127.0.0.1:6379/0")
    secrets_master_keys: str = _doc("kid:base64(32 bytes),... first encrypts, all decrypt", default=DEV_MASTER_KEY)
    signature_tolerance_seconds: int = _doc("allowed clock skew of X-Timestamp", default=300)
    trusted_proxies: tuple[str, ...] = _doc("CIDRs whose X-Forwarded-For is believed", default=())
    payin_auto_expire_minutes: int = _doc("default payin lifetime", default=30)
    payin_max_expire_minutes: int = _doc("largest expires_in_minutes a merchant may ask for", default=1440)
    payin_expiry_unit_seconds: int = _doc("seconds in one expiry 'minute' (60; tests shorten it)", default=60)
    payout_poll_initial_delay_seconds: int = _doc("delay before the first payout status poll", default=60)
    payout_poll_max_attempts: int = _doc("payout status polls before needs_review", default=10)
    webhook_retry_schedule: tuple[int, ...] = _doc(
        "seconds between webhook attempts, comma-separated", default=DEFAULT_WEBHOOK_RETRY_SCHEDULE
    )
    allow_private_webhook_targets: bool = _doc("allow http and private webhook targets (dev, tests)", default=False)
    sandbox_secret: str = _doc("shared secret of the sandbox provider (the PLE's; no default)", default="")
    sandbox_delay_seconds: float = _doc("sandbox: seconds before a payin/payout settles", default=2.0)
    sandbox_url: str = _doc("base URL of the sandbox provider for the dev PLE", default="http://127.0.0.1:8400")
    provider_connect_timeout_seconds: float = _doc("provider HTTP connect timeout", default=2.0)
    provider_read_timeout_seconds: float = _doc("provider HTTP read timeout", default=10.0)
    rate_limit_per_second: int = _doc("default requests per second per API key", default=100)
    rate_limit_burst: int = _doc("default burst per API key", default=200)
    worker_concurrency: int = _doc("jobs one worker process runs at once", default=20)
    webhook_concurrency: int = _doc(
        "webhook deliveries one worker process sends at once (their own queue, beside WORKER_CONCURRENCY)",
        default=20,
    )
    otel_exporter_otlp_endpoint: str = _doc("OTLP endpoint for traces; empty disables export", default="")
    otel_service_name: str = _doc("service.name resource attribute", default="gateway")
    log_level: str = _doc("DEBUG | INFO | WARNING | ERROR", default="INFO")
    max_body_bytes: int = _doc("largest request body accepted (413 above)", default=1024 * 1024)

    @property
    def mongo_database(self) -> str:
        return urlsplit(self.mongo_url).path.lstrip("/").split("?")[0] or "gateway"


def env_name(name: str) -> str:
    return name.upper()


def _convert(name: str, kind: Any, raw: str) -> Any:
    var = env_name(name)
    text = raw.strip()
    try:
        if kind is bool:
            lowered = text.lower()
            if lowered in ("1", "true", "yes", "on"):
                return True
            if lowered in ("0", "false", "no", "off", ""):
                return False
            raise ValueError(text)
        if kind is int:
            return int(text)
        if kind is float:
            return float(text)
        if kind == tuple[int, ...]:
            return tuple(int(p) for p in text.split(",") if p.strip())
        if kind == tuple[str, ...]:
            return tuple(p.strip() for p in text.split(",") if p.strip())
    except ValueError:
        raise ConfigError(
            var, f"is malformed: {text[:40]!r} is not a valid {getattr(kind, '__name__', kind)}"
        ) from None
    return text


def _validate(s: Settings) -> None:
    if s.role not in SERVE_ROLES:
        raise ConfigError("ROLE", f"must be one of {', '.join(SERVE_ROLES)}, got {s.role!r}")
    if s.environment not in ("development", "production", "test"):
        raise ConfigError("ENVIRONMENT", "must be development, test or production")
    for var, url, schemes in (
        ("DATABASE_URL", s.database_url, ("postgres", "postgresql")),
        ("MONGO_URL", s.mongo_url, ("mongodb", "mongodb+srv")),
        ("REDIS_URL", s.redis_url, ("redis", "rediss", "unix")),
    ):
        if urlsplit(url).scheme not in schemes:
            raise ConfigError(var, f"must be a URL with scheme {' or '.join(schemes)}")
    for cidr in s.trusted_proxies:
        try:
            ipaddress.ip_network(cidr, strict=False)
        except ValueError:
            raise ConfigError("TRUSTED_PROXIES", f"contains {cidr!r}, not an address or CIDR") from None
    if not s.secrets_master_keys.strip():
        raise ConfigError("SECRETS_MASTER_KEYS", "is empty")
    if s.environment == "production" and s.secrets_master_keys == DEV_MASTER_KEY:
        raise ConfigError("SECRETS_MASTER_KEYS", "is the development key; production needs its own")
    if s.environment == "production" and is_well_known(s.sandbox_secret):
        raise ConfigError("SANDBOX_SECRET", "is a well-known development value; production needs its own")
    for var, value in (
        ("SIGNATURE_TOLERANCE_SECONDS", s.signature_tolerance_seconds),
        ("PAYIN_AUTO_EXPIRE_MINUTES", s.payin_auto_expire_minutes),
        ("PAYIN_MAX_EXPIRE_MINUTES", s.payin_max_expire_minutes),
        ("PAYOUT_POLL_MAX_ATTEMPTS", s.payout_poll_max_attempts),
        ("WORKER_CONCURRENCY", s.worker_concurrency),
        ("WEBHOOK_CONCURRENCY", s.webhook_concurrency),
    ):
        if value <= 0:
            raise ConfigError(var, "must be a positive integer")
    if not s.webhook_retry_schedule:
        raise ConfigError("WEBHOOK_RETRY_SCHEDULE", "must list at least one delay")
    if s.log_level.upper() not in ("DEBUG", "INFO", "WARNING", "ERROR"):
        raise ConfigError("LOG_LEVEL", "must be DEBUG, INFO, WARNING or ERROR")


def _raw_value(env: Any, var: str) -> str | None:
    """VAR, or the content of the file VAR_FILE names (compose `secrets:` mount them read-only
    under /run/secrets, so a secret never sits in a container's environment)."""
    file_var = f"{var}_FILE"
    path = env.get(file_var)
    if path is None:
        return env.get(var)  # type: ignore[no-any-return]
    if env.get(var) is not None:
        raise ConfigError(var, f"and {file_var} are both set: set only one")
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(file_var, f"names {path!r}, which cannot be read ({type(exc).__name__})") from None
    return text.rstrip("\r\n")  # the file's final newline is not part of the value


def load_settings(environ: dict[str, str] | None = None, **overrides: Any) -> Settings:
    """Build settings from `environ` (default: os.environ); raise ConfigError naming the variable."""
    env = os.environ if environ is None else environ
    hints = get_type_hints(Settings)
    values: dict[str, Any] = {}
    for f in fields(Settings):
        raw = _raw_value(env, env_name(f.name))
        if raw is not None:
            values[f.name] = _convert(f.name, hints[f.name], raw)
    values.update(overrides)
    settings = Settings(**values)
    _validate(settings)
    return settings


def documented_variables() -> dict[str, str]:
    """Every variable the settings object reads, with its one-line description."""
    return {env_name(f.name): f.metadata["doc"] for f in fields(Settings)}


def load_env_files(client: str | None = None, root: Path | None = None) -> None:
    """Local development: read clients/<client>/.env.backend (never overriding the real env)."""
    from dotenv import load_dotenv

    base = root or Path.cwd()
    name = client or os.environ.get("CLIENT", "")
    if name:
        load_dotenv(base / "clients" / name / ".env.backend", override=False)
    load_dotenv(base / ".env", override=False)
