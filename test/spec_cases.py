"""The cases a request body is documented as (`CASES` of grau's schemas), read from the
committed spec: what generated clients and the fuzzer see (`make openapi-check` keeps
it equal to what the code serves)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema

SPEC: dict[str, Any] = json.loads(
    (Path(__file__).resolve().parents[1] / "openapi" / "openapi.json").read_text()
)
SCHEMAS: dict[str, Any] = SPEC["components"]["schemas"]


def leaves(name: str) -> Iterator[dict[str, Any]]:
    """The object schemas a body is one of, through nested `oneOf`s."""
    schema = SCHEMAS[name]
    if "oneOf" not in schema:
        yield schema
        return
    for case in schema["oneOf"]:
        yield from leaves(case["$ref"].rsplit("/", 1)[-1])


def measurement_bounds(name: str) -> Iterator[tuple[str, str, float, float]]:
    """(type, unit, minimum, maximum) of each case of a measurement body."""
    for leaf in leaves(name):
        properties = leaf["properties"]
        if "type" in properties:
            value = properties["value"]
            yield (
                properties["type"]["const"],
                properties["unit"]["const"],
                value["minimum"],
                value["maximum"],
            )


def validator(name: str) -> jsonschema.protocols.Validator:
    """A JSON Schema validator of the component `name`, its references resolved."""
    schema = {"$ref": f"#/components/schemas/{name}", "components": SPEC["components"]}
    return jsonschema.Draft202012Validator(schema)
