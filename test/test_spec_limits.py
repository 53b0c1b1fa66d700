"""The spec bounds every input and documents every limit (OWASP API4, resource consumption).

Walks the committed OpenAPI document, so an operation or field added later is
held to the same rules without a new test: every string a client sends has a
length cap (or is an enum, a UUID, a date), every number has both bounds,
every array a size cap, and every operation that is rate limited documents
its 429 with `Retry-After`. Header parameters (`If-Match`, `If-None-Match`,
`Idempotency-Key`) are bounded by the server's header size limit instead.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
SPEC = json.loads((ROOT / "openapi" / "openapi.json").read_text())
METHODS = ("get", "post", "put", "patch", "delete")
# String formats whose syntax bounds their length.
BOUNDED_FORMATS = {"uuid", "date", "date-time"}
PUBLIC_RATE_LIMITED = {"login", "refreshTokens", "createUser"}


def _resolve(node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        kind, name = node["$ref"].split("/")[-2:]
        node = SPEC["components"][kind][name]
    return node


def _operations() -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in SPEC["paths"].items():
        for method, op in item.items():
            if method in METHODS:
                yield path, method, op


def _inputs() -> Iterator[tuple[str, dict[str, Any]]]:
    """(where, schema) of every query and path parameter and request body."""
    for path, method, op in _operations():
        name = f"{method.upper()} {path}"
        for parameter in map(_resolve, op.get("parameters", [])):
            if parameter["in"] in ("query", "path"):
                yield f"{name} {parameter['in']} {parameter['name']}", parameter["schema"]
        body = op.get("requestBody")
        for media, content in _resolve(body or {}).get("content", {}).items():
            yield f"{name} body ({media})", content["schema"]


def _unbounded(schema: dict[str, Any], where: str) -> Iterator[str]:
    schema = _resolve(schema)
    types = schema.get("type", [])
    types = types if isinstance(types, list) else [types]
    if "string" in types and not (
        "enum" in schema
        or "const" in schema
        or schema.get("format") in BOUNDED_FORMATS
        or "maxLength" in schema
    ):
        yield f"{where}: string without maxLength"
    if {"integer", "number"} & set(types):
        low = "minimum" in schema or "exclusiveMinimum" in schema
        high = "maximum" in schema or "exclusiveMaximum" in schema
        if not (low and high):
            yield f"{where}: number without both bounds"
    if "array" in types and "maxItems" not in schema:
        yield f"{where}: array without maxItems"
    # A batch operation's body is checked as the body of its own request, when it runs.
    checked_later = "x-checked-as" in schema and "maxProperties" in schema
    open_object = schema.get("additionalProperties", False) is not False
    if "object" in types and open_object and not checked_later:
        yield f"{where}: object that takes any property"
    for name, sub in schema.get("properties", {}).items():
        yield from _unbounded(sub, f"{where}.{name}")
    if "items" in schema:
        yield from _unbounded(schema["items"], f"{where}[]")


INPUTS = list(_inputs())


@pytest.mark.parametrize(("where", "schema"), INPUTS, ids=[w for w, _ in INPUTS])
def test_every_input_is_bounded(where, schema):
    problems = list(_unbounded(schema, where))

    assert problems == []


def test_page_size_is_capped_at_100_on_every_list():
    caps = {
        f"{method.upper()} {path}": _resolve(parameter)["schema"].get("maximum")
        for path, method, op in _operations()
        for parameter in op.get("parameters", [])
        if _resolve(parameter)["name"] == "page_size"
    }

    assert caps and set(caps.values()) == {100}, caps


RATE_LIMITED = [
    (path, method, op)
    for path, method, op in _operations()
    if op.get("security") != [] or op["operationId"] in PUBLIC_RATE_LIMITED
]


@pytest.mark.parametrize(
    ("path", "method", "op"), RATE_LIMITED, ids=[op["operationId"] for _, _, op in RATE_LIMITED]
)
def test_rate_limited_operation_documents_429_with_retry_after(path, method, op):
    response = _resolve(op["responses"].get("429", {}))

    assert "Retry-After" in response.get("headers", {})


def test_the_request_body_limit_is_documented_on_every_body():
    missing = [
        f"{method.upper()} {path}"
        for path, method, op in _operations()
        if "requestBody" in op and "413" not in op["responses"]
    ]

    assert missing == []
