"""What a generated client relies on, read from the OpenAPI schema itself, so an
operation added later is held to it without further wiring:

- request bodies are JSON only (a body offered as JSON, form and multipart gives
  a client that does not import);
- every operation declares its success response with a schema (binary files as
  binary strings of their media type) and its 400 as the one error shape;
- list filters are parameters of their operation.
"""

import pytest
from drf_spectacular.generators import SchemaGenerator

SCHEMA = SchemaGenerator().get_schema(request=None, public=True)
METHODS = ("get", "post", "put", "patch", "delete")
OPERATIONS = [
    (method.upper(), path, operation)
    for path, methods in SCHEMA["paths"].items()
    for method, operation in methods.items()
    if method in METHODS
]
ERROR = {"$ref": "#/components/schemas/ErrorResponse"}


def _parameters(path: str, method: str = "get") -> set[str]:
    operation = SCHEMA["paths"][path][method]
    return {parameter["name"] for parameter in operation.get("parameters", [])}


def test_request_bodies_are_json_only():
    bodies = {
        (method, path): sorted(operation["requestBody"]["content"])
        for method, path, operation in OPERATIONS
        if "requestBody" in operation
    }
    assert bodies
    assert {
        key: types for key, types in bodies.items() if types != ["application/json"]
    } == {}


def test_the_event_batch_has_a_body_schema():
    body = SCHEMA["paths"]["/api/v1/events/batch/"]["post"]["requestBody"]
    assert body["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/UsageEventBatchInput"
    }
    assert body["required"] is True


def test_every_operation_declares_its_success_response_with_a_schema():
    missing = []
    for method, path, operation in OPERATIONS:
        success = {
            code: response
            for code, response in operation["responses"].items()
            if code.startswith("2")
        }
        if not success:
            missing.append((method, path, "no 2xx"))
        for code, response in success.items():
            if code == "204":
                continue
            content = response.get("content", {})
            if not content or any("schema" not in item for item in content.values()):
                missing.append((method, path, code))
    assert missing == []


def test_every_operation_declares_the_one_error_shape_for_bad_input():
    wrong = [
        (method, path)
        for method, path, operation in OPERATIONS
        if operation["responses"]
        .get("400", {})
        .get("content", {})
        .get("application/json", {})
        .get("schema")
        != ERROR
    ]
    assert wrong == []
    error = SCHEMA["components"]["schemas"]["ErrorResponse"]
    assert error["required"] == ["errors"]


def test_current_usage_cost_declares_its_output():
    operation = SCHEMA["paths"]["/api/v1/customers/{id}/current-usage-cost/"]["get"]
    assert operation["responses"]["200"]["content"] == {
        "application/json": {
            "schema": {"$ref": "#/components/schemas/CurrentUsageCostOutput"}
        }
    }


@pytest.mark.parametrize(
    ("path", "media_type"),
    [
        ("/api/v1/invoices/{id}/pdf/", "application/pdf"),
        ("/api/v1/invoices/{id}/csv/", "text/csv"),
    ],
)
def test_files_are_declared_as_binary_of_their_media_type(path, media_type):
    content = SCHEMA["paths"][path]["get"]["responses"]["200"]["content"]
    assert content == {media_type: {"schema": {"type": "string", "format": "binary"}}}


def test_invoice_and_customer_filters_are_declared():
    assert _parameters("/api/v1/invoices/") == {
        "customer_id",
        "limit",
        "offset",
        "period",
        "status",
    }
    assert _parameters("/api/v1/customers/") == {
        "created_after",
        "email",
        "external_id",
        "limit",
        "offset",
        "search",
    }
