"""Explicit adapter registration: adding a provider is one line here, never a plugin scan."""

from __future__ import annotations

from collections.abc import Callable

from core.config import Settings, load_settings
from core.providers.base import ProviderAdapter
from core.providers.sandbox import SandboxAdapter

ADAPTERS: dict[str, Callable[[Settings], ProviderAdapter]] = {
    "sandbox": SandboxAdapter,
}
_instances: dict[str, ProviderAdapter] = {}


class UnknownProvider(LookupError):
    """No adapter is registered under this provider code (callbacks answer 404 for it)."""

    def __init__(self, code: str) -> None:
        self.code = code
        super().__init__(f"unknown provider {code!r}")


def get_adapter(code: str, settings: Settings | None = None) -> ProviderAdapter:
    """The process-wide adapter for `code`, created on first use so its HTTP pools are shared."""
    adapter = _instances.get(code)
    if adapter is None:
        factory = ADAPTERS.get(code)
        if factory is None:
            raise UnknownProvider(code)
        adapter = factory(settings if settings is not None else load_settings())
        _instances[code] = adapter
    return adapter


async def close_adapters() -> None:
    """Close every adapter's HTTP clients (on shutdown; also between tests)."""
    adapters = list(_instances.values())
    _instances.clear()
    for adapter in adapters:
        await adapter.aclose()
