"""The simulator's options: flags of `gateway sandbox` / `python -m core.sandbox`, passed to the
Granian worker through SANDBOX_* environment variables (the app factory reads them)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, fields

from core.security.dev_secrets import is_well_known

DEFAULT_PORT = 8400
DEFAULT_CALLBACK_URL = "http://127.0.0.1:8000/v1/callbacks/sandbox"


@dataclass(frozen=True, slots=True)
class SandboxOptions:
    host: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    callback_url: str = DEFAULT_CALLBACK_URL
    secret: str = ""  # no default: the PLE's secret, printed once by `gateway ple create`
    delay_seconds: float = 2.0
    latency_ms: int = 0
    error_rate: float = 0.0
    drop_callback_rate: float = 0.0
    callback_attempts: int = 5
    callback_retry_base_seconds: float = 0.5
    slow_create_rate: float = 0.0  # share of creates answered slow_create_ms late (after acting)
    slow_create_ms: int = 0
    error_after_rate: float = 0.0  # share of creates answered 503 although acted on

    def __post_init__(self) -> None:
        for name in ("error_rate", "drop_callback_rate", "slow_create_rate", "error_after_rate"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"SANDBOX_{name.upper()} must be between 0 and 1, got {value}")
        for name in ("delay_seconds", "latency_ms", "callback_retry_base_seconds", "slow_create_ms"):
            if getattr(self, name) < 0:
                raise ValueError(f"SANDBOX_{name.upper()} must not be negative")
        if self.callback_attempts < 1:
            raise ValueError("SANDBOX_CALLBACK_ATTEMPTS must be at least 1")
        if not self.secret:
            raise ValueError(
                "the sandbox needs --secret (env SANDBOX_SECRET): its PLE's secret, printed by `gateway ple create`"
            )
        if os.environ.get("ENVIRONMENT") == "production" and is_well_known(self.secret):
            raise ValueError("SANDBOX_SECRET is a well-known development value; production needs its own")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> SandboxOptions:
        env = os.environ if environ is None else environ
        values: dict[str, object] = {}
        for f in fields(cls):
            raw = env.get(f"SANDBOX_{f.name.upper()}")
            if raw is None or raw == "":
                continue
            kind = type(f.default)
            try:
                values[f.name] = kind(raw)
            except ValueError:
                raise ValueError(f"SANDBOX_{f.name.upper()} is malformed: {raw[:40]!r}") from None
        return cls(**values)  # type: ignore[arg-type]

    def to_env(self) -> dict[str, str]:
        return {f"SANDBOX_{f.name.upper()}": str(getattr(self, f.name)) for f in fields(self)}
