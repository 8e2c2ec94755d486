"""The payment gateway's Python SDK: `Client`, `AsyncClient`, `webhooks.verify` (README.md)."""

from gateway_client import webhooks
from gateway_client._core import __version__
from gateway_client.client import AsyncClient, Client
from gateway_client.errors import ApiConnectionError, ApiError, GatewayError, WebhookVerificationError
from gateway_client.models import Balance, CurrencyBalance, Event, Payin, Payout, Refund

__all__ = [
    "ApiConnectionError",
    "ApiError",
    "AsyncClient",
    "Balance",
    "Client",
    "CurrencyBalance",
    "Event",
    "GatewayError",
    "Payin",
    "Payout",
    "Refund",
    "WebhookVerificationError",
    "__version__",
    "webhooks",
]
