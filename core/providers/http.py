"""The HTTP client adapters use: pooled, timed, traced, and retrying only what is safe to retry.

A create call that times out may have been acted on by the provider, so repeating it blindly could
pay twice; it raises ProviderUnavailable and the caller decides (e.g. resubmit with the same
idempotency key, or poll). Status queries are idempotent and are retried with backoff.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping

import httpx
from opentelemetry import trace

from core.observability.metrics import record_provider_call
from core.providers.base import ProviderUnavailable, UnavailableKind

DEFAULT_RETRY_ATTEMPTS = 3
DEFAULT_RETRY_BASE_DELAY = 0.2
_tracer = trace.get_tracer("gateway.providers")


def _classify(exc: httpx.TransportError) -> UnavailableKind:
    # Only a failed connect means nothing reached the provider; a timeout after sending, a dropped
    # connection or a broken write leave the outcome unknown (ARCHITECTURE §4.5).
    if isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout):
        return "connect"
    if isinstance(exc, httpx.TimeoutException):
        return "timeout"
    return "dropped"


class ProviderHttpClient:
    """One pooled httpx.AsyncClient for one (provider, base_url)."""

    def __init__(
        self,
        provider: str,
        base_url: str,
        *,
        connect_timeout: float,
        read_timeout: float,
        retry_attempts: int = DEFAULT_RETRY_ATTEMPTS,
        retry_base_delay: float = DEFAULT_RETRY_BASE_DELAY,
    ) -> None:
        self.provider = provider
        self.base_url = base_url.rstrip("/")
        self.retry_attempts = max(1, retry_attempts)
        self.retry_base_delay = retry_base_delay
        self._client = httpx.AsyncClient(
            base_url=self.base_url,
            timeout=httpx.Timeout(read_timeout, connect=connect_timeout),
            limits=httpx.Limits(max_connections=100, max_keepalive_connections=20),
        )

    async def request(
        self,
        operation: str,
        method: str,
        path: str,
        *,
        content: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        idempotent: bool,
    ) -> httpx.Response:
        """Send one call; return any response below 500, raise ProviderUnavailable otherwise.

        `idempotent` calls are retried on timeout, connect error and 5xx; others are tried once.
        """
        attempts = self.retry_attempts if idempotent else 1
        failure: ProviderUnavailable | None = None
        for attempt in range(1, attempts + 1):
            if attempt > 1:
                await asyncio.sleep(self.retry_base_delay * 2 ** (attempt - 2))
            try:
                response = await self._attempt(operation, method, path, content, headers, attempt)
            except ProviderUnavailable as exc:
                failure = exc
                continue
            return response
        assert failure is not None
        raise failure

    async def _attempt(
        self,
        operation: str,
        method: str,
        path: str,
        content: bytes | None,
        headers: Mapping[str, str] | None,
        attempt: int,
    ) -> httpx.Response:
        attributes = {
            "provider": self.provider,
            "operation": operation,
            "http.request.method": method,
            "attempt": attempt,
        }
        # Only bounded, non-secret attributes: no bodies, headers or ids.
        with _tracer.start_as_current_span(f"provider {operation}", attributes=attributes) as span:
            started = time.perf_counter()
            try:
                response = await self._client.request(method, path, content=content, headers=headers)
            except httpx.TransportError as exc:
                kind = _classify(exc)
                record_provider_call(self.provider, operation, time.perf_counter() - started, kind)
                span.set_attribute("error.type", kind)
                span.set_status(trace.StatusCode.ERROR)
                raise ProviderUnavailable(kind, type(exc).__name__) from None
            elapsed = time.perf_counter() - started
            status = response.status_code
            span.set_attribute("http.response.status_code", status)
            if status >= 500:
                record_provider_call(self.provider, operation, elapsed, "http_5xx")
                span.set_status(trace.StatusCode.ERROR)
                raise ProviderUnavailable("http_5xx", f"HTTP {status}")
            record_provider_call(self.provider, operation, elapsed, "http_4xx" if status >= 400 else None)
            return response

    async def aclose(self) -> None:
        await self._client.aclose()
