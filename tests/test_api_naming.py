"""One name per concept across the API, read from the OpenAPI schema itself, so an
operation added later is held to the same names without further wiring:

- a path names the object it addresses ``{id}``; a parent before it is named for
  its collection (``/customers/{customer_id}/things/{id}/``);
- the customer is ``customer_id``: ``account_id``, ``account`` and ``customer``
  (and the ``key`` and ``pk`` of paths) appear only as deprecated aliases;
- every list has the one pagination shape (``results``, ``next``, ``previous``)
  and a ``limit`` capped at 1000; no operation answers a bare array.
"""

from types import SimpleNamespace

import pytest
from drf_spectacular.generators import SchemaGenerator

from billing_site.api_input import StrictCursorPagination, StrictLimitOffsetPagination

SCHEMA = SchemaGenerator().get_schema(request=None, public=True)
METHODS = ("get", "post", "put", "patch", "delete")
OPERATIONS = [
    (method.upper(), path, operation)
    for path, methods in SCHEMA["paths"].items()
    for method, operation in methods.items()
    if method in METHODS
]

# Names that may appear only as a deprecated alias of the current one.
RETIRED_PARAMETERS = {"account_id", "account", "customer", "key", "pk"}
RETIRED_PROPERTIES = {"account_id"}
LIMIT_DESCRIPTION = "1 to 1000"


def _resolve(schema: dict) -> dict:
    while "$ref" in schema:
        name = schema["$ref"].removeprefix("#/components/schemas/")
        schema = SCHEMA["components"]["schemas"][name]
    return schema


def _properties(schema: dict, where: str, seen: set):
    """``(where, name, property schema, its siblings)`` of every property in
    ``schema``, nested objects, arrays and compositions included."""
    if "$ref" in schema:
        name = schema["$ref"].removeprefix("#/components/schemas/")
        if name in seen:
            return
        seen.add(name)
        yield from _properties(_resolve(schema), name, seen)
        return
    siblings = schema.get("properties", {})
    for name, child in siblings.items():
        yield where, name, child, siblings
        yield from _properties(child, f"{where}.{name}", seen)
    for key in ("items", "additionalProperties"):
        if isinstance(schema.get(key), dict):
            yield from _properties(schema[key], where, seen)
    for key in ("allOf", "oneOf", "anyOf"):
        for child in schema.get(key, []):
            yield from _properties(child, where, seen)


def _path_names(path: str) -> list[tuple[str, str]]:
    """``(parameter, the segment before it)`` for each ``{parameter}`` of ``path``."""
    segments = path.strip("/").split("/")
    return [
        (segment[1:-1], segments[index - 1])
        for index, segment in enumerate(segments)
        if segment.startswith("{")
    ]


def _success_schema(operation: dict) -> dict | None:
    for code in ("200", "201"):
        content = operation["responses"].get(code, {}).get("content", {})
        if "application/json" in content:
            return content["application/json"]["schema"]
    return None


def _is_list(operation: dict) -> bool:
    schema = _success_schema(operation)
    return operation["operationId"].endswith("_list") or (
        schema is not None and _resolve(schema).get("type") == "array"
    )


def test_the_schema_has_operations_of_every_kind():
    paths = {path for _, path, _ in OPERATIONS}
    assert "/api/v1/customers/{id}/" in paths
    assert sum(_is_list(operation) for *_, operation in OPERATIONS) >= 10


def test_every_path_names_its_object_id_and_its_parents_for_their_collection():
    wrong = []
    for method, path, _ in OPERATIONS:
        names = _path_names(path)
        for index, (name, collection) in enumerate(names):
            parent = collection.removesuffix("s").replace("-", "_") + "_id"
            expected = "id" if index == len(names) - 1 else parent
            if name != expected:
                wrong.append(f"{method} {path}: {{{name}}} should be {{{expected}}}")
    assert not wrong, "\n".join(wrong)


def test_retired_names_are_only_deprecated_aliases():
    wrong, aliases = [], 0
    for method, path, operation in OPERATIONS:
        for parameter in operation.get("parameters", []):
            if parameter["name"] in RETIRED_PARAMETERS:
                aliases += 1
                if not (parameter.get("deprecated") or operation.get("deprecated")):
                    wrong.append(f"{method} {path}: parameter {parameter['name']}")
    for name, schema in SCHEMA["components"]["schemas"].items():
        for where, field, child, siblings in _properties(schema, name, set()):
            if field in RETIRED_PROPERTIES:
                aliases += 1
                if not child.get("deprecated"):
                    wrong.append(f"{where}.{field}")
                if "customer_id" not in siblings:
                    wrong.append(f"{where}.{field}: no customer_id beside it")
    assert not wrong, "\n".join(sorted(set(wrong)))
    # The aliases kept for earlier clients are seen (the check is not vacuous).
    assert aliases >= 5


def test_every_list_has_the_one_pagination_shape():
    wrong = []
    for method, path, operation in OPERATIONS:
        schema = _success_schema(operation)
        if schema is not None and schema.get("type") == "array":
            wrong.append(f"{method} {path}: a bare array")
        if not _is_list(operation):
            continue
        page = _resolve(schema or {})
        properties = page.get("properties", {})
        if not (
            page.get("type") == "object"
            and properties.get("results", {}).get("type") == "array"
            and {"next", "previous"} <= set(properties)
        ):
            wrong.append(f"{method} {path}: not {{results, next, previous}}")
        parameters = {p["name"]: p for p in operation.get("parameters", [])}
        limit = parameters.get("limit", {})
        if LIMIT_DESCRIPTION not in limit.get("description", ""):
            wrong.append(f"{method} {path}: no limit capped at 1000")
        if not ({"offset", "cursor"} & set(parameters)):
            wrong.append(f"{method} {path}: no offset or cursor")
    assert not wrong, "\n".join(wrong)


def _request(limit: str):
    return SimpleNamespace(query_params={"limit": limit})


@pytest.mark.parametrize(
    ("limit", "expected"), [("", 50), ("0", 50), ("7", 7), ("1000", 1000),
                            ("5000", 1000)],
)  # fmt: skip
def test_offset_pages_cap_the_limit(limit, expected):
    assert StrictLimitOffsetPagination().get_limit(_request(limit)) == expected


def test_cursor_pages_cap_the_limit():
    pagination = StrictCursorPagination()
    assert pagination.get_page_size(_request("5000")) == 1000
    assert pagination.get_page_size(_request("7")) == 7
