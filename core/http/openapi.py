"""The OpenAPI documents (ARCHITECTURE §4.4), described through Litestar's own handler options.

A function module declares its operation in one line on its route decorator,
`**documented("createPayin", errors=(502,))`: a stable operationId, the named answer when the
handler's annotation does not name one, and the error statuses only its logic can answer.
`describe` (called by the app factory for every handler) adds what follows from the path: the
tag, the security scheme of §4.1/§4.8, and the statuses authentication, the strict body, the
idempotency layer, path and query parameters can answer, each as the one `Error` component. It
also swaps in `GatewayOperation`, which drops the 400 Litestar declares for every handler with
parameters: the gateway answers bad input 422 `validation_error` (core/http/error_handlers.py).
"""

from __future__ import annotations

import inspect
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from litestar._openapi.schema_generation.plugins.struct import StructSchemaPlugin
from litestar.handlers import HTTPRouteHandler
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import Components, Example, Operation, SecurityScheme
from litestar.typing import FieldDefinition

from core.http.answers import PUBLIC_NAMES, Error
from core.http.auth import auth_kind
from core.http.openapi_examples import ANSWER_EXAMPLES, CALLER_ERROR_EXAMPLES, ERROR_EXAMPLES

SIGNED: list[dict[str, list[str]]] = [{"ApiKey": [], "Timestamp": [], "Signature": []}]
ADMIN: list[dict[str, list[str]]] = [{"AdminBearer": []}]
_SIGNING = (
    "HMAC-SHA256, hex, of the string to sign: X-Timestamp, the method in upper case, the path "
    "with its query exactly as sent, and the raw body bytes, joined by `\\n` (docs/signing.md)."
)
SECURITY_SCHEMES = Components(
    security_schemes={
        "ApiKey": SecurityScheme(type="apiKey", name="X-Api-Key", security_scheme_in="header", description="key id"),
        "Timestamp": SecurityScheme(
            type="apiKey",
            name="X-Timestamp",
            security_scheme_in="header",
            description="Unix seconds, ASCII digits; within the tolerance window (300 s) of the server's clock",
        ),
        "Signature": SecurityScheme(
            type="apiKey", name="X-Signature", security_scheme_in="header", description=_SIGNING
        ),
        "AdminBearer": SecurityScheme(
            type="http", scheme="bearer", description="An admin token (§4.8) holding the scope the operation needs."
        ),
    }
)
_DESCRIPTIONS = {
    401: "Not authenticated",
    403: "Not allowed",
    404: "No such object",
    409: "Conflict",
    413: "Request body too large",
    422: "Invalid request",
    429: "Too many requests",
    502: "Provider unavailable",
}
_CALLERS = ("merchant", "admin", "resources", "client_ip", "request", "data")
_answers: dict[str, type[Any]] = {}


@dataclass
class GatewayOperation(Operation):
    """An operation without the 400 `{status_code, detail, extra}` the gateway never sends."""

    def __post_init__(self) -> None:
        if self.responses:
            self.responses.pop("400", None)


class ClosedStructs(StructSchemaPlugin):
    """Litestar's msgspec schema plus `additionalProperties: false` where the struct forbids
    unknown fields (the strict body layer answers them 422, so the document says so); the views
    of core/payments are described under their public names (`PayinView` as `Payin`)."""

    def to_openapi_schema(self, field_definition: Any, schema_creator: Any) -> Any:
        public = PUBLIC_NAMES.get(field_definition.type_)
        if public is not None:
            field_definition = FieldDefinition.from_annotation(public)
        schema = super().to_openapi_schema(field_definition, schema_creator)
        struct = field_definition.type_
        if getattr(getattr(struct, "__struct_config__", None), "forbid_unknown_fields", False):
            schema.additional_properties = False  # the component itself (Litestar refers to it later)
        return schema


class VerbatimExample(Example):
    """An example rendered as given: Litestar's `to_schema` drops every `None` from nested dicts,
    which would make a real answer's `"failure_code": null` vanish and the example invalid."""

    def to_schema(self) -> dict[str, Any]:
        return {**super().to_schema(), "value": self.value}


def documented(
    operation_id: str,
    answers: type[Any] | None = None,
    *,
    errors: Iterable[int] = (),
    also: dict[int, str] | None = None,
    media_type: str | None = None,
) -> dict[str, Any]:
    """Keyword arguments of a route decorator: the operation's id, its answer (when the return
    annotation names none), the error statuses only its logic answers, other 2xx statuses it
    answers (`also`, status: when) and a media type other than JSON."""
    if answers is not None:
        _answers[operation_id] = answers
    responses: dict[int, ResponseSpec] = _error_responses(errors)
    for status, when in (also or {}).items():
        responses[status] = ResponseSpec(answers or dict[str, Any], generate_examples=False, description=when)
    kwargs = {"operation_id": operation_id, "responses": responses, "operation_class": GatewayOperation}
    return kwargs | ({"media_type": media_type} if media_type else {})


def describe(handler: HTTPRouteHandler) -> None:
    """Add to `handler` what its path and signature imply (idempotent: handlers are module-level)."""
    path = next(iter(handler.paths))
    if handler.include_in_schema is False:
        return
    kind = auth_kind(path)
    params = handler.parsed_fn_signature.parameters
    statuses = set()
    if kind in ("merchant", "admin"):
        statuses |= {401, 403, 429}
        handler.security = SIGNED if kind == "merchant" else ADMIN
    if kind == "provider":
        statuses |= {401, 422}
    if "data" in params or kind == "provider":
        statuses |= {413, 422}
    if kind == "merchant" and "POST" in handler.http_methods:
        statuses |= {409, 422}  # the idempotency layer: key in use, key reused with another body
    if "{" in path:
        statuses.add(404)
    if any(name not in _CALLERS and f"{{{name}:" not in path for name in params):
        statuses.add(422)  # a query parameter out of its range or enum
    success = handler.status_code
    answer = _answers.get(str(handler.operation_id))
    responses = dict(sorted({**_error_responses(statuses, kind), **(handler.responses or {})}.items()))
    if answer is not None:
        responses[success] = ResponseSpec(
            answer,
            generate_examples=False,
            description=answer.__doc__.splitlines()[0] if answer.__doc__ else "Success",
            examples=_examples(ANSWER_EXAMPLES.get(answer.__name__)),
        )
    handler.responses = responses
    handler.operation_class = GatewayOperation
    handler.tags = [_tag(path)]
    handler.summary, handler.description = _summary(handler)


def _summary(handler: HTTPRouteHandler) -> tuple[str | None, str | None]:
    """From the function module's docstring, `METHOD /path: what it does` (registry contract)."""
    doc = inspect.getdoc(sys.modules[handler.fn.__module__]) or ""
    first, _, rest = doc.partition("\n\n")
    what = " ".join(first.partition(": ")[2].split()) or None
    return (what[0].upper() + what[1:] if what else None), (" ".join(rest.split()) or None)


def _tag(path: str) -> str:
    parts = [p for p in path.split("/") if p and p != "v1"]
    return parts[0] if parts else "root"


def _examples(value: Any) -> list[Example] | None:
    return [VerbatimExample(id="real", summary="a real answer", value=value)] if value is not None else None


def _error_responses(statuses: Iterable[int], caller: str = "merchant") -> dict[int, ResponseSpec]:
    examples = ERROR_EXAMPLES | CALLER_ERROR_EXAMPLES.get(caller, {})
    return {
        status: ResponseSpec(
            Error,
            generate_examples=False,
            description=_DESCRIPTIONS[status],
            examples=_examples(examples[status]),
        )
        for status in sorted(set(statuses))
    }
