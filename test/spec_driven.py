"""Requests built from the OpenAPI document, so suites cover resources added later.

`creates(spec)` lists every create operation (a POST answered with 201) and
`updates(spec)` every PATCH/PUT; `Builder` makes a valid body for any of them
from the schema's examples (the same examples Swagger UI and Postman show),
and `Builder.item` creates an item behind any item path, creating its parents
first (`/v1/workouts/{workout_id}/sets/{set_id}` makes a workout, then a set).

What JSON Schema cannot say is stated here once, as in the Postman builder:
lists of ids start empty, an `exercise_id` is one of grau's catalog
exercises, a set's `sequence` is left to the server, account fields
(email, password) never change on an update, and free-text strings get a
unique suffix so that names that must be unique stay unique.
"""

from __future__ import annotations

import json
import re
import secrets
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from live import PASSWORD, Reply

SPEC_PATH = Path(__file__).resolve().parent.parent / "openapi" / "openapi.json"
PARAM = re.compile(r"\{([^}]+)\}")
# Fields an update must not touch: they end the session the suite runs on.
ACCOUNT_FIELDS = {"email", "password", "current_password"}
# Optional fields left to the server: a position that must be unique, and a
# flag that deactivates the user's other plans.
SERVER_CHOSEN = {"sequence": None, "is_active": False}
NUL_FREE = "^[^\\u0000]*$"


def load_spec() -> dict[str, Any]:
    """The committed spec (`make openapi-check` keeps it equal to what the code serves)."""
    return json.loads(SPEC_PATH.read_text())


@dataclass(frozen=True)
class Operation:
    operation_id: str
    method: str
    path: str
    body_schema: dict[str, Any] | None
    raw: dict[str, Any]

    @property
    def public(self) -> bool:
        return self.raw.get("security") == []

    def declares(self, parameter: str) -> bool:
        refs = {p.get("$ref", "").rsplit("/", 1)[-1] for p in self.raw.get("parameters", [])}
        names = {p.get("name") for p in self.raw.get("parameters", [])}
        return parameter in refs or parameter in names

    def __str__(self) -> str:
        return self.operation_id


def operations(spec: dict[str, Any]) -> list[Operation]:
    found = []
    for path, item in spec["paths"].items():
        for method, op in item.items():
            if method not in ("get", "post", "put", "patch", "delete"):
                continue
            content = op.get("requestBody", {}).get("content", {})
            schema = content.get("application/json", {}).get("schema")
            found.append(Operation(op["operationId"], method.upper(), path, schema, op))
    return found


def creates(spec: dict[str, Any]) -> list[Operation]:
    """Every operation that creates something: a POST documented with a 201."""
    return [o for o in operations(spec) if o.method == "POST" and "201" in o.raw["responses"]]


def updates(spec: dict[str, Any]) -> list[Operation]:
    return [o for o in operations(spec) if o.method in ("PATCH", "PUT")]


def deref(spec: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        node: Any = spec
        for part in schema["$ref"].lstrip("#/").split("/"):
            node = node[part]
        schema = node
    return schema


def example_of(spec: dict[str, Any], schema: dict[str, Any], skip: Callable[[str], bool]) -> Any:
    """A value for `schema` from its examples (a port of the Postman builder's exampleOf)."""
    if "example" in schema:
        return schema["example"]
    if schema.get("examples"):
        return schema["examples"][0]
    resolved = deref(spec, schema)
    if resolved is not schema:
        return example_of(spec, resolved, skip)
    if resolved.get("default") is not None:
        return resolved["default"]
    if resolved.get("enum"):
        return resolved["enum"][0]
    for key in ("anyOf", "oneOf"):
        options = [o for o in resolved.get(key, []) if deref(spec, o).get("type") != "null"]
        if options:
            return example_of(spec, options[0], skip)
    if "allOf" in resolved and "properties" not in resolved:
        value: dict[str, Any] = {}
        for part in resolved["allOf"]:
            value.update(example_of(spec, part, skip) or {})
        return value
    if "properties" in resolved or resolved.get("type") == "object":
        value = {}
        for name, prop in resolved.get("properties", {}).items():
            prop_schema = deref(spec, prop)
            if prop_schema.get("readOnly") or skip(name):
                continue
            example = example_of(spec, prop, skip)
            if example is not None or name in resolved.get("required", []):
                value[name] = example
        return value
    if "items" in resolved:
        item = example_of(spec, resolved["items"], skip)
        return [] if item is None else [item]
    return None


class Builder:
    """Valid bodies and existing items for one user on a live server."""

    def __init__(
        self, spec: dict[str, Any], send: Callable[..., Reply], token: str | None = None
    ) -> None:
        self.spec = spec
        self.send = send  # send(method, path, body=None, token=..., headers=...)
        self.token = token
        self._catalog_exercise: str | None = None
        self._creates = {o.path: o for o in creates(spec)}

    # -- bodies --------------------------------------------------------------
    def body(self, operation: Operation, *, update: bool = False) -> Any:
        """A valid body for `operation`, unique in every free-text field."""
        if operation.body_schema is None:
            return None
        skip: Callable[[str], bool] = (
            (lambda name: name in ACCOUNT_FIELDS) if update else (lambda name: False)
        )
        raw = example_of(self.spec, operation.body_schema, skip)
        return self._fill(raw, operation.body_schema, secrets.token_hex(4))

    def _fill(self, value: Any, schema: dict[str, Any], suffix: str) -> Any:
        schema = deref(self.spec, schema)
        if isinstance(value, dict):
            props = schema.get("properties", {})
            filled: dict[str, Any] = {}
            for name, item in value.items():
                if name in SERVER_CHOSEN:
                    if SERVER_CHOSEN[name] is not None:
                        filled[name] = SERVER_CHOSEN[name]
                    continue
                if name.endswith("_ids") and isinstance(item, list):
                    filled[name] = []
                elif name == "exercise_id":
                    filled[name] = self.catalog_exercise()
                elif name == "email":
                    filled[name] = f"spec-{uuid.uuid4().hex[:12]}@example.com"
                elif name == "password":
                    filled[name] = PASSWORD
                else:
                    filled[name] = self._fill(item, props.get(name, {}), suffix)
            return filled
        if isinstance(value, list):
            items = schema.get("items", {})
            return [self._fill(item, items, suffix) for item in value]
        if isinstance(value, str):
            return self._unique(value, schema, suffix)
        return value

    def _unique(self, value: str, schema: dict[str, Any], suffix: str) -> str:
        if schema.get("format") or schema.get("enum") or (schema.get("maxLength") or 0) < 30:
            return value
        candidate = f"{value}-{suffix}"[: schema["maxLength"]]
        pattern = schema.get("pattern")
        if pattern and pattern != NUL_FREE and not re.search(pattern, candidate):
            return value
        return candidate

    def catalog_exercise(self) -> str:
        if self._catalog_exercise is None:
            listed = self.send("GET", "/v1/exercises?page_size=1", token=self.token)
            assert listed.status == 200, listed.body
            self._catalog_exercise = str(listed.json["items"][0]["id"])
        return self._catalog_exercise

    # -- items ---------------------------------------------------------------
    def resolve(self, path: str) -> str:
        """`path` with each `{param}` but the last-created filled by creating a parent."""
        while match := PARAM.search(path):
            parent = path[: match.start()].rstrip("/")
            path = path[: match.start()] + self.create(parent)[1] + path[match.end() :]
        return path

    def create(
        self, collection: str, url: str | None = None, headers: dict[str, str] | None = None
    ) -> tuple[Reply, str]:
        """POST a valid body to `collection` (a spec path, or its resolved `url`)."""
        operation = self._creates[collection]
        url = url or self.resolve(collection)
        reply = self.send("POST", url, self.body(operation), token=self.token, headers=headers)
        assert reply.status == 201, (operation.operation_id, reply.status, reply.body)
        return reply, str(reply.json["id"])

    def item(self, item_path: str) -> str:
        """A URL of a fresh item behind `item_path` (one ending in `{param}`), or the
        path itself when it names a singleton (`/v1/users/me`)."""
        if not item_path.endswith("}"):
            return item_path
        collection = item_path[: item_path.rindex("/")]
        url = self.resolve(collection)
        return f"{url}/{self.create(collection, url)[1]}"

    def collection_of(self, item_path: str) -> str | None:
        """The collection an item path belongs to, if the spec can create there."""
        collection = item_path[: item_path.rindex("/")]
        return collection if collection in self._creates else None
