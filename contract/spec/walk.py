"""What the test suites derive from the OpenAPI document: operations, resources, bodies.

The one spec walker of the Python suites: the security suite (contract/security)
and the live race tests (test/test_write_races_live.py) read the spec through
it. Nothing here names a grau resource.

A resource is a collection path with a POST whose item path adds one
`{param}` (`/v1/moods` + `/v1/moods/{mood_id}`, `/v1/workouts/{workout_id}/sets`
+ `.../{set_id}`). A path parameter names
the resource whose item path ends in it; a body field `<x>_id` or `<x>_ids`
in UUID format references the resource whose item parameter is `<x>_id`
(`tag_ids` -> `{tag_id}`). Request bodies are built from the schemas'
examples (and minimal values where a field has none), so a resource added
to the spec is covered by the suite without new code; anything the suite
cannot derive fails loudly (`SpecError`) instead of being skipped.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

METHODS = ("get", "post", "put", "patch", "delete")
PARAM = re.compile(r"\{([^}]+)\}")
SPEC_PATH = Path(__file__).resolve().parents[2] / "openapi" / "openapi.json"
NUL_FREE = "^[^\\u0000]*$"  # grau's pattern on every free-text string

# Only where an example alone cannot make a valid body. Keyed by operationId, then
# by field; empty today: every example in the spec is valid on its own.
BODY_OVERRIDES: dict[str, dict[str, Any]] = {}


class SpecError(AssertionError):
    """The suite cannot exercise something the spec declares: a gap in coverage."""


@dataclass
class Operation:
    path: str
    method: str
    raw: dict[str, Any]

    @property
    def id(self) -> str:
        return str(self.raw["operationId"])

    @property
    def params(self) -> list[str]:
        return PARAM.findall(self.path)

    @property
    def protected(self) -> bool:
        return self.raw.get("security") != []

    def declares(self, parameter: str) -> bool:
        """Whether the operation takes `parameter` (by name, or as a shared `$ref`)."""
        refs = {p.get("$ref", "").rsplit("/", 1)[-1] for p in self.raw.get("parameters", [])}
        names = {p.get("name") for p in self.raw.get("parameters", [])}
        return parameter in refs or parameter in names

    def __str__(self) -> str:
        return f"{self.method.upper()} {self.path} ({self.id})"


@dataclass
class Reference:
    """A place in a body that holds the id of another resource's item."""

    where: tuple[str | int, ...]  # path into the body
    param: str  # the item parameter it names, e.g. "tag_id"

    @property
    def field(self) -> str:
        return str(self.where[0])


@dataclass
class Spec:
    raw: dict[str, Any]
    operations: list[Operation] = field(init=False)

    @classmethod
    def committed(cls) -> Spec:
        """The committed spec (`make openapi-check` keeps it equal to what the code serves)."""
        return cls(json.loads(SPEC_PATH.read_text()))

    def __post_init__(self) -> None:
        self.operations = [
            Operation(path, method, op)
            for path, item in self.raw["paths"].items()
            for method, op in item.items()
            if method in METHODS
        ]

    # ------------------------------------------------------------------ structure

    def resolve(self, node: dict[str, Any]) -> dict[str, Any]:
        """The schema `node` stands for: a reference's target (with the keywords beside the
        reference, e.g. a property's example), a nullable reference's (`anyOf` of it and
        null) likewise, and a body documented case by case (`oneOf`) as its first case."""
        while True:
            if "$ref" in node:
                kind, name = node["$ref"].split("/")[-2:]
                beside = {k: v for k, v in node.items() if k != "$ref"}
                node = (
                    {**self.raw["components"][kind][name], **beside}
                    if beside
                    else (self.raw["components"][kind][name])
                )
                continue
            options = [o for o in node.get("anyOf", ()) if o.get("type") != "null"]
            if len(options) == 1 and len(node["anyOf"]) == 2:
                beside = {k: v for k, v in node.items() if k != "anyOf"}
                node = {**options[0], **beside}
                continue
            if node.get("oneOf"):
                beside = {k: v for k, v in node.items() if k not in ("oneOf", "discriminator")}
                node = {**node["oneOf"][0], **beside}
                continue
            return node

    def operation(self, path: str, method: str) -> Operation | None:
        return next((op for op in self.operations if op.path == path and op.method == method), None)

    def creates(self) -> list[Operation]:
        """Every operation that creates something: a POST documented with a 201."""
        return [o for o in self.operations if o.method == "post" and "201" in o.raw["responses"]]

    def updates(self) -> list[Operation]:
        return [o for o in self.operations if o.method in ("patch", "put")]

    def item_paths(self) -> dict[str, str]:
        """Item parameter -> the collection path that creates its items (POST)."""
        found = {}
        for op in self.operations:
            match = re.fullmatch(r"(.*)/\{([^}]+)\}", op.path)
            if match and self.operation(match.group(1), "post"):
                found[match.group(2)] = match.group(1)
        return found

    def creation_order(self) -> list[tuple[str, Operation]]:
        """(item parameter, create operation), each after whatever it needs."""
        pending = dict(self.item_paths())
        ordered: list[tuple[str, Operation]] = []
        done: set[str] = set()
        while pending:
            ready = [
                param for param, collection in pending.items() if self.needs(collection) <= done
            ]
            if not ready:
                raise SpecError(f"cannot order the creation of {sorted(pending)}: circular needs")
            for param in sorted(ready):
                create = self.operation(pending.pop(param), "post")
                assert create is not None
                ordered.append((param, create))
                done.add(param)
        return ordered

    def needs(self, collection: str) -> set[str]:
        """Item parameters a create on `collection` needs: its path's and its body's."""
        create = self.operation(collection, "post")
        assert create is not None
        needed = set(create.params)
        schema = self.body_schema(create)
        if schema is not None:
            _, references = self.build(schema, {}, strict=False)
            needed |= {ref.param for ref in references}
        return needed

    def body_schema(self, op: Operation) -> dict[str, Any] | None:
        """The JSON body's schema; None for an operation without one, or whose body is a
        file (an import's upload)."""
        body = op.raw.get("requestBody")
        if not body:
            return None
        media = self.resolve(body)["content"].get("application/json")
        return media["schema"] if media else None

    def success_schema(self, op: Operation) -> dict[str, Any] | None:
        for status in ("200", "201"):
            response = op.raw["responses"].get(status)
            if response:
                content = self.resolve(response).get("content", {})
                if "application/json" in content:
                    return self.resolve(content["application/json"]["schema"])
        return None

    def server_owned(self, op: Operation) -> dict[str, Any]:
        """Fields the response has (readOnly) that the request body cannot set: name -> value.

        Plus `user_id`, the owner, which no response shows and no body may name.
        """
        schema = self.body_schema(op)
        returned = self.success_schema(op)
        if schema is None or returned is None or "id" not in returned.get("properties", {}):
            return {}
        writable = set(self.resolve(schema).get("properties", {}))
        owned = {
            name: _example(self.resolve(prop))
            for name, prop in returned.get("properties", {}).items()
            if prop.get("readOnly") and name not in writable
        }
        return {**owned, "user_id": "8a6e0804-2bd0-4672-b79d-d97027f9071a"}

    # -------------------------------------------------------------------- bodies

    def reference_param(self, name: str) -> str | None:
        """`tag_ids` -> `tag_id` if some item path ends in `{tag_id}`."""
        stem = re.sub(r"_ids?$", "", name)
        candidate = f"{stem}_id"
        return candidate if candidate in self.item_paths() else None

    def build(
        self,
        schema: dict[str, Any],
        ids: dict[str, str],
        *,
        strict: bool = True,
        unique: str = "",
        leave: Collection[str] = (),
    ) -> tuple[Any, list[Reference]]:
        """A valid value for `schema`, with references filled from `ids` (param -> id).

        `unique`: a suffix for every free-text string long enough to take it, so
        names that must be unique per user stay unique over many creates.
        `leave`: top-level fields to leave out (optional ones only).
        """
        references: list[Reference] = []
        value = self._build(self.resolve(schema), ids, (), references, strict)
        if isinstance(value, dict):
            value = {k: v for k, v in value.items() if k not in leave}
        if unique:
            value = self._unique(value, self.resolve(schema), unique)
        return value, references

    def _unique(self, value: Any, schema: dict[str, Any], suffix: str) -> Any:
        schema = self.resolve(schema)
        if isinstance(value, dict):
            props = schema.get("properties", {})
            return {k: self._unique(v, props.get(k, {}), suffix) for k, v in value.items()}
        if isinstance(value, list):
            return [self._unique(v, schema.get("items", {}), suffix) for v in value]
        if not isinstance(value, str) or schema.get("format") or schema.get("enum"):
            return value
        if (schema.get("maxLength") or 0) < 30:
            return value
        candidate = f"{value}-{suffix}"[: schema["maxLength"]]
        pattern = schema.get("pattern")
        if pattern and pattern != NUL_FREE and not re.search(pattern, candidate):
            return value
        return candidate

    def _build(
        self,
        schema: dict[str, Any],
        ids: dict[str, str],
        where: tuple[str | int, ...],
        references: list[Reference],
        strict: bool,
    ) -> Any:
        schema = self.resolve(schema)
        types = schema.get("type", "object")
        types = [t for t in (types if isinstance(types, list) else [types]) if t != "null"]
        kind = types[0] if types else "object"
        name = str(where[-1]) if where and isinstance(where[-1], str) else ""
        is_uuid = schema.get("format") == "uuid" or (
            kind == "array" and self.resolve(schema.get("items", {})).get("format") == "uuid"
        )
        if is_uuid and name:
            param = self.reference_param(name)
            if param is None:
                raise SpecError(f"{name} at {where} is a UUID naming no resource of the spec")
            references.append(Reference(where, param))
            if param not in ids:
                if strict:
                    raise SpecError(f"no {param} to put in {where}")
                return [] if kind == "array" else None
            return [ids[param]] if kind == "array" else ids[param]
        if kind == "object":
            out = {}
            required = set(schema.get("required", []))
            for prop, sub in schema.get("properties", {}).items():
                sub_resolved = self.resolve(sub)
                if sub_resolved.get("readOnly"):
                    continue
                if not where and prop == "id":  # a create's own id: the server picks one
                    continue
                composite = _kind(sub_resolved) in ("object", "array")
                if prop in required or "example" in sub_resolved or composite:
                    out[prop] = self._build(sub_resolved, ids, (*where, prop), references, strict)
            return out
        if kind == "array":
            if "example" in schema:
                return copy.deepcopy(schema["example"])
            items = self.resolve(schema.get("items", {}))
            count = max(1, schema.get("minItems", 0))
            return [self._build(items, ids, (*where, n), references, strict) for n in range(count)]
        return _example(schema)

    def create_body(
        self, op: Operation, ids: dict[str, str], *, unique: str = "", leave: Collection[str] = ()
    ) -> Any:
        """A valid body for `op` (a create or an update), naming the items in `ids`."""
        schema = self.body_schema(op)
        if schema is None:
            return None
        body, _ = self.build(schema, ids, unique=unique, leave=leave)
        return {**body, **BODY_OVERRIDES.get(op.id, {})}

    def references(self, op: Operation) -> list[Reference]:
        schema = self.body_schema(op)
        if schema is None:
            return []
        _, found = self.build(schema, {}, strict=False)
        return found


def _kind(schema: dict[str, Any]) -> str:
    types = schema.get("type", "object")
    types = [t for t in (types if isinstance(types, list) else [types]) if t != "null"]
    return types[0] if types else "object"


def _example(schema: dict[str, Any]) -> Any:
    """The schema's example, or the smallest valid value of its type."""
    if "example" in schema:
        return copy.deepcopy(schema["example"])
    if "enum" in schema:
        return next(v for v in schema["enum"] if v is not None)
    kind = _kind(schema)
    fmt = schema.get("format")
    if kind == "string":
        if fmt == "date-time":
            return (datetime.now(UTC) - timedelta(days=1)).isoformat()
        if fmt == "date":
            return "2000-01-01"
        if fmt == "uuid":
            return "00000000-0000-4000-8000-000000000000"
        return "x" * max(1, schema.get("minLength", 0))
    if kind in ("integer", "number"):
        return schema.get("minimum", 1)
    if kind == "boolean":
        return False
    if kind == "array":
        return []
    if kind == "object":
        return {}
    raise SpecError(f"no value for a schema of type {kind}: {schema}")


def set_at(body: Any, where: tuple[str | int, ...], value: Any) -> Any:
    """A copy of `body` with the value at `where` replaced."""
    changed = copy.deepcopy(body)
    node = changed
    for key in where[:-1]:
        node = node[key]
    node[where[-1]] = value
    return changed
