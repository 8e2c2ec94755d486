"""The OpenAPI documents (ARCHITECTURE §4.4, issue 21): what they must say, and the committed
copies in docs/openapi/ equal to what the roles serve (regenerate with `just openapi`)."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from core.errors import ERROR_STATUS

ROOT = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location("openapi_script", ROOT / "scripts" / "openapi.py")
assert _spec is not None and _spec.loader is not None
script = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(script)
DOCUMENTS = {role: json.loads(script.render(role)) for role in script.PUBLISHED_ROLES}
METHODS = ("get", "post", "put", "patch", "delete")


def operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(m.upper(), path, op) for path, item in document["paths"].items() for m, op in item.items() if m in METHODS]


@pytest.mark.parametrize("role", script.PUBLISHED_ROLES)
def test_the_committed_document_is_the_served_one(role: str) -> None:
    committed = (ROOT / "docs" / "openapi" / f"{role}.json").read_text(encoding="utf-8")
    assert committed == script.render(role), f"docs/openapi/{role}.json is stale: run `just openapi`"


@pytest.mark.parametrize("role", script.PUBLISHED_ROLES)
def test_every_error_is_the_one_error_component_and_never_litestars_400(role: str) -> None:
    document = DOCUMENTS[role]
    for method, path, op in operations(document):
        assert "400" not in op["responses"], (method, path)
        errors = {s: r for s, r in op["responses"].items() if int(s) >= 400}
        assert errors, (method, path)
        for status, response in errors.items():
            media = response["content"]["application/json"]
            assert media["schema"] == {"$ref": "#/components/schemas/Error"}, (method, path, status)
            example = media["examples"]["real"]["value"]["error"]
            assert ERROR_STATUS[example["code"]] == int(status), (method, path, status)
    detail = document["components"]["schemas"]["ErrorDetail"]
    assert set(detail["properties"]["code"]["enum"]) == set(ERROR_STATUS)
    assert set(detail["required"]) == {"code", "message", "request_id"}


@pytest.mark.parametrize("role", script.PUBLISHED_ROLES)
def test_operations_are_named_tagged_and_secured(role: str) -> None:
    document = DOCUMENTS[role]
    ids = [op["operationId"] for _m, _p, op in operations(document)]
    assert len(ids) == len(set(ids))
    assert all(id_[0].islower() and "_" not in id_ for id_ in ids), ids
    for method, path, op in operations(document):
        assert op["tags"], (method, path)
        if path.startswith("/v1/callbacks/"):
            assert "security" not in op  # the provider's own signature, not a merchant's
        elif path.startswith("/v1/"):
            assert op["security"] == [{"ApiKey": [], "Timestamp": [], "Signature": []}], (method, path)
            assert {"401", "403", "429"} <= set(op["responses"]), (method, path)
        else:
            assert op["security"] == [{"AdminBearer": []}], (method, path)
    schemes = document["components"]["securitySchemes"]
    assert schemes["AdminBearer"] == {**schemes["AdminBearer"], "type": "http", "scheme": "bearer"}
    assert "string to sign" in schemes["Signature"]["description"]
    assert {schemes[k]["name"] for k in ("ApiKey", "Timestamp", "Signature")} == {
        "X-Api-Key",
        "X-Timestamp",
        "X-Signature",
    }


def test_payment_answers_are_named_components_with_enum_statuses() -> None:
    document = DOCUMENTS["payment"]
    answer = {op["operationId"]: op for _m, _p, op in operations(document)}
    expected = {
        "createPayin": ("201", "Payin"),
        "getPayin": ("200", "Payin"),
        "listPayins": ("200", "PayinList"),
        "createPayout": ("201", "Payout"),
        "getRefund": ("200", "Refund"),
        "listRefunds": ("200", "RefundList"),
    }
    for operation_id, (status, name) in expected.items():
        schema = answer[operation_id]["responses"][status]["content"]["application/json"]["schema"]
        assert schema == {"$ref": f"#/components/schemas/{name}"}, operation_id
    schemas = document["components"]["schemas"]
    assert schemas["PayinList"]["properties"]["data"]["items"] == {"$ref": "#/components/schemas/Payin"}
    assert schemas["PayinStatus"]["enum"]
    create = answer["createPayin"]
    assert {"409", "413", "422", "502"} <= set(create["responses"])
    body = create["requestBody"]["content"]["application/json"]["schema"]
    payin_create = schemas[body["$ref"].rsplit("/", 1)[-1]]
    assert payin_create["additionalProperties"] is False
    amount = payin_create["properties"]["amount"]
    assert amount["minimum"] == 1 and amount["maximum"] > 1


def test_api_answers_are_named_components() -> None:
    document = DOCUMENTS["api"]
    answer = {op["operationId"]: op for _m, _p, op in operations(document)}
    for operation_id, status, name in [
        ("getBalance", "200", "Balance"),
        ("listLedgerEntries", "200", "LedgerEntryList"),
        ("getEvent", "200", "Event"),
        ("listEvents", "200", "EventList"),
        ("listWebhookDeliveries", "200", "WebhookDeliveryList"),
        ("retryWebhookDelivery", "202", "WebhookDelivery"),
        ("adminListMerchants", "200", "MerchantList"),
        ("adminCreateMerchant", "201", "MerchantCreated"),
        ("adminGetPle", "200", "Ple"),
        ("adminCreateSettlement", "201", "Settlement"),
        ("adminCreateSettlement", "200", "Settlement"),  # the day was already settled
    ]:
        schema = answer[operation_id]["responses"][status]["content"]["application/json"]["schema"]
        assert schema == {"$ref": f"#/components/schemas/{name}"}, operation_id
    schemas = document["components"]["schemas"]
    assert schemas["WebhookDelivery"]["properties"]["status"]["enum"]
    assert schemas["Event"]["properties"]["type"]["enum"]
    limit = next(p for p in answer["listEvents"]["parameters"] if p["name"] == "limit")
    assert (limit["schema"]["minimum"], limit["schema"]["maximum"]) == (1, 100)


@pytest.mark.parametrize("role", script.PUBLISHED_ROLES)
def test_every_example_validates_against_its_schema(role: str) -> None:
    """The examples are real answers; each must also be valid by the schema it illustrates."""
    document = DOCUMENTS[role]
    checked = 0
    for method, path, op in operations(document):
        for status, response in op["responses"].items():
            for media in (response.get("content") or {}).values():
                for example in (media.get("examples") or {}).values():
                    schema = {**media["schema"], "components": document["components"]}
                    errors = list(jsonschema.Draft202012Validator(schema).iter_errors(example["value"]))
                    assert not errors, (method, path, status, errors[0].message)
                    checked += 1
    assert checked >= len(operations(document)) * 3
