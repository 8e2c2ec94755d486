"""Provider adapters behind one interface (ARCHITECTURE §5); see base.py and registry.py."""

from core.providers.base import (
    CallbackEvent,
    InvalidCallbackSignature,
    MalformedCallback,
    PayinRequest,
    PayinResult,
    PayoutRequest,
    PayoutResult,
    PleConfig,
    ProviderAdapter,
    ProviderError,
    ProviderRejected,
    ProviderUnavailable,
)
from core.providers.registry import UnknownProvider, close_adapters, get_adapter

__all__ = [
    "CallbackEvent",
    "InvalidCallbackSignature",
    "MalformedCallback",
    "PayinRequest",
    "PayinResult",
    "PayoutRequest",
    "PayoutResult",
    "PleConfig",
    "ProviderAdapter",
    "ProviderError",
    "ProviderRejected",
    "ProviderUnavailable",
    "UnknownProvider",
    "close_adapters",
    "get_adapter",
]
