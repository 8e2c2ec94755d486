"""Everything the sync and async clients share, written once and free of I/O.

`Core.exchange(call)` is a generator that drives one API call: it builds and signs each attempt,
decides on retries and backoff, and decodes the answer. It yields what it needs done, a `Sleep`
or an `httpx.Request` to send, and is sent back the response (or the transport exception).
`Client` and `AsyncClient` are the two thin drivers of it (one blocking, one awaiting), so
signing, retries, the one-second rule, errors and decoding cannot drift apart between them.
"""

from __future__ import annotations

import logging
import random
import time
import uuid
from collections.abc import Generator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar
from urllib.parse import quote, urlencode

import httpx
import msgspec

from gateway_client._signing import GUARD, signature
from gateway_client.errors import ApiConnectionError, ApiError, GatewayError
from gateway_client.models import Page

__version__ = "0.1.0"
log = logging.getLogger("gateway_client")
T = TypeVar("T")

# Transient failures worth another attempt; a POST is safe to resend because it keeps its
# Idempotency-Key (§4.3). Anything else (a 4xx, a TLS or URL mistake) is answered at once.
RETRY_EXCEPTIONS = (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError)
MAX_RETRY_AFTER = 30.0


@dataclass(frozen=True)
class Sleep:
    seconds: float


@dataclass(frozen=True)
class Call(Generic[T]):
    """One API call: `model` is what a 2xx answer decodes to (None: plain JSON)."""

    method: str
    path: str
    model: type[T] | None = None
    params: Sequence[tuple[str, str]] = ()
    body: Any = None
    idempotency_key: str | None = None


Step = Generator[Sleep | httpx.Request, httpx.Response | Exception | None, T]


def segment(value: str) -> str:
    """An id as one path segment: never empty, never able to climb to another path."""
    if not isinstance(value, str) or not value:
        raise ValueError("an object id must be a non-empty string")
    return quote(value, safe="")


def query_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError("datetime filters must be timezone-aware")
        return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
    return str(value)


def query(filters: Mapping[str, object]) -> list[tuple[str, str]]:
    return [(name, query_value(value)) for name, value in filters.items() if value is not None]


def api_error(response: httpx.Response) -> ApiError:
    """The §4.2 error of an answer; any other body (a proxy's page) is `unexpected_response`."""
    request_id = response.headers.get("x-request-id")
    try:
        payload = msgspec.json.decode(response.content)
    except msgspec.DecodeError:
        payload = None
    error = payload.get("error") if isinstance(payload, dict) else None
    if isinstance(error, dict) and isinstance(error.get("code"), str):
        param = error.get("param")
        return ApiError(
            response.status_code,
            error["code"],
            str(error.get("message", "")),
            param=param if isinstance(param, str) else None,
            request_id=str(error.get("request_id") or request_id or "") or None,
            body=error,
        )
    excerpt = response.text[:200].strip()
    return ApiError(
        response.status_code, "unexpected_response", f"HTTP {response.status_code}: {excerpt}", request_id=request_id
    )


@dataclass
class Core:
    base_url: str
    key_id: str
    secret: str = field(repr=False)
    timeout: float = 30.0
    max_retries: int = 2

    def __post_init__(self) -> None:
        if not self.base_url.startswith(("http://", "https://")):
            raise ValueError("base_url must start with http:// or https://")
        if not self.key_id or not self.secret:
            raise ValueError("key_id and secret are required")
        if self.max_retries < 0:
            raise ValueError("max_retries must be 0 or more")
        self.base_url = self.base_url.rstrip("/")
        self._timeout = httpx.Timeout(self.timeout).as_dict()
        self._user_agent = f"gateway-client-python/{__version__}"

    def exchange(self, call: Call[T]) -> Step[T]:
        if call.method == "GET" and call.body is not None:
            raise ValueError("a GET has no body: pass params instead")
        body = b"" if call.body is None else msgspec.json.encode(call.body)
        key = call.idempotency_key
        if call.method == "POST" and key is None:
            key = str(uuid.uuid4())  # one key for every attempt: the gateway creates the object once
        url = self.base_url + call.path + ("?" + urlencode(list(call.params)) if call.params else "")
        attempt = 0
        while True:
            request = self._signed(call.method, url, body, key)
            wait = int(request.headers["X-Timestamp"]) - time.time()
            if wait > 0:
                yield Sleep(wait)
            outcome = yield request
            if isinstance(outcome, httpx.Response) and outcome.is_success:
                return self._decode(call, outcome)
            delay = self._retry_delay(attempt, outcome)
            if delay is None:
                if isinstance(outcome, httpx.Response):
                    raise api_error(outcome)
                raise ApiConnectionError(f"{call.method} {call.path}: no answer from the gateway ({outcome!r})") from (
                    outcome if isinstance(outcome, BaseException) else None
                )
            attempt += 1
            what = outcome.status_code if isinstance(outcome, httpx.Response) else type(outcome).__name__
            log.info(
                "retrying %s %s after %s (retry %d of %d)", call.method, call.path, what, attempt, self.max_retries
            )
            yield Sleep(delay)

    def _signed(self, method: str, url: str, body: bytes, idempotency_key: str | None) -> httpx.Request:
        headers = {"Accept": "application/json", "User-Agent": self._user_agent, "X-Api-Key": self.key_id}
        if body:
            headers["Content-Type"] = "application/json"
        if idempotency_key is not None:
            headers["Idempotency-Key"] = idempotency_key
        request = httpx.Request(
            method,
            url,
            content=body or None,
            headers=headers,
            extensions={"timeout": self._timeout},
        )
        path_and_query = request.url.raw_path.decode("ascii")  # exactly the bytes on the request line
        stamp = GUARD.reserve(self.key_id, method, path_and_query, body, time.time())
        request.headers["X-Timestamp"] = str(stamp)
        request.headers["X-Signature"] = signature(self.secret, stamp, method, path_and_query, body)
        return request

    def _retry_delay(self, attempt: int, outcome: httpx.Response | Exception | None) -> float | None:
        """Seconds to wait before the next attempt, or None when this outcome is final."""
        if attempt >= self.max_retries:
            return None
        backoff = min(8.0, 0.5 * 2.0**attempt) * random.uniform(0.5, 1.0)  # jitter, not a secret
        if isinstance(outcome, httpx.Response):
            status = outcome.status_code
            in_use = status == 409 and api_error(outcome).code == "idempotency_key_in_use"
            if not (status >= 500 or status == 429 or in_use):
                return None
            retry_after = outcome.headers.get("retry-after", "")
            if retry_after.isascii() and retry_after.isdigit():
                return max(backoff, min(float(retry_after), MAX_RETRY_AFTER))
            return backoff
        return backoff if isinstance(outcome, RETRY_EXCEPTIONS) else None

    @staticmethod
    def _decode(call: Call[T], response: httpx.Response) -> T:
        if not response.content:
            return None  # type: ignore[return-value]
        try:
            if call.model is None:
                return msgspec.json.decode(response.content)  # type: ignore[no-any-return]
            return msgspec.json.decode(response.content, type=call.model)
        except msgspec.DecodeError as exc:
            raise GatewayError(f"{call.method} {call.path}: the answer does not match the SDK's model: {exc}") from exc


class Pager(Generic[T]):
    """The state of one `list()`: which page to ask for next, and what a page yields."""

    def __init__(self, path: str, model: type[T], limit: int, filters: Mapping[str, object]) -> None:
        self._path, self._model, self._limit = path, model, limit
        self._filters = dict(filters)
        self._cursor = self._filters.pop("starting_after", None)
        self._done = False

    def next_call(self) -> Call[Page[T]] | None:
        if self._done:
            return None
        params = query({**self._filters, "limit": self._limit, "starting_after": self._cursor})
        return Call("GET", self._path, Page[self._model], params)  # type: ignore[name-defined]

    def take(self, page: Page[T]) -> list[T]:
        if page.has_more and page.data:
            self._cursor = page.data[-1].id  # type: ignore[attr-defined]
        else:
            self._done = True
        return page.data
