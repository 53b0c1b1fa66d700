"""The base schema and its loop over a body's fields, server timestamps, problems, flat dumps."""

from __future__ import annotations

import keyword
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cached_property
from typing import Any, ClassVar

import marshmallow as ma
from marshmallow import fields, validate

from grau.http import deprecation
from grau.http.fields import PROBLEM_TEXT_MAX, Number, Text, Timestamp, WholeNumber

# Names for choices whose words alone would make no name or the same one, for generators
# that make an enum's members from its choices (`x-enumNames`): else they strip the
# punctuation and number what clashes (`DDMMYYYY1`).
CHOICE_NAMES = {
    "%": "Percent",
    "YYYY-MM-DD": "YearMonthDay",
    "DD.MM.YYYY": "DayMonthYearDotted",
    "DD/MM/YYYY": "DayMonthYear",
    "MM/DD/YYYY": "MonthDayYear",
}


def choice_name(choice: str) -> str:
    """A choice's name, for an enum's member or a case: `CHOICE_NAMES`, else its words in
    Pascal case (`grau-export` -> `GrauExport`, `body_fat` -> `BodyFat`)."""
    return CHOICE_NAMES.get(choice) or "".join(
        word.capitalize() for word in re.split(r"[^A-Za-z0-9]+", choice)
    )


@dataclass(frozen=True)
class Case:
    """One case of a request body whose fields' rules depend on each other (a weight in kg).

    `name` goes into the body's component name (`BodyStat` + `WeightKg` + `Create`);
    `fields` are the schemas its fields take in this case, replacing theirs (None: the
    field is not sent in this case); `required` are fields it needs beyond the body's;
    `cases` split it further."""

    name: str
    fields: tuple[tuple[str, dict[str, Any] | None], ...]
    required: tuple[str, ...] = ()
    description: str = ""
    cases: OneOf | None = None

    def field(self, name: str) -> dict[str, Any] | None:
        """The schema `name` takes in this case (None: its own, or not sent)."""
        return dict(self.fields).get(name)


@dataclass(frozen=True)
class OneOf:
    """A request body as exactly one of its `cases`, told apart by the value of the field
    `discriminator` (a constant in each case), if there is one."""

    cases: tuple[Case, ...]
    discriminator: str | None = None


class Schema(ma.Schema):
    """Base schema: unknown fields are an error, never silently dropped.

    `JSON_SCHEMA` holds rules that span fields (`dependentRequired`), which
    marshmallow validates in code: `grau.http.openapi.finalize` merges them into
    the schema's component so the spec states them too. `CASES` states rules
    between fields' values (the units of a type, a value's bounds in each unit) as
    `oneOf` the cases, each a component of its own: generators make a union of
    types from it, and those that validate keep the bounds. `COMPLETE` marks an
    output schema whose every field is always in the body (null when empty):
    the spec then lists them all as required, so generated clients need no
    "maybe missing" checks.
    """

    JSON_SCHEMA: ClassVar[dict[str, Any]] = {}
    CASES: ClassVar[OneOf | None] = None
    COMPLETE: ClassVar[bool] = False
    # Fields that only make sense together: sent all or none (one group).
    TOGETHER: ClassVar[tuple[str, ...]] = ()
    # Deprecated names still taken, as sent -> their current names (grau.http.deprecation).
    RENAMED: ClassVar[dict[str, str]] = {}
    # Fields a request body's example leaves out, for it to succeed for every reader (a
    # unique name another reader took, a position the first try filled): grau.http.openapi.
    NOT_IN_EXAMPLE: ClassVar[tuple[str, ...]] = ()

    @ma.pre_load
    def _renamed(self, data: Any, **_: Any) -> Any:
        return deprecation.renamed(data, self.RENAMED) if self.RENAMED else data

    @ma.validates_schema
    def _sent_together(self, data: dict[str, Any], **_: Any) -> None:
        sent = [name for name in self.TOGETHER if name in data]
        if sent and len(sent) < len(self.TOGETHER):
            message = f"Send {', '.join(self.TOGETHER)} together."
            raise ma.ValidationError({n: [message] for n in self.TOGETHER if n not in data})

    class Meta:
        unknown = ma.RAISE
        ordered = True

    def _deserialize(
        self,
        data: Any,
        *,
        error_store: Any,
        many: bool = False,
        partial: Any = None,
        unknown: Any = ma.RAISE,
        index: int | None = None,
    ) -> Any:
        """marshmallow's loop over the fields, for the load a request body makes: a JSON
        object of known keys, loaded whole (not `partial`, not `many`). Each value is
        deserialized by its field, as marshmallow does; what this leaves out is what
        marshmallow wraps around each call (a closure, an error-store call, the unknown
        keys' set), about a third of a create's load. Any other load, and a body with
        any value a field refuses, is marshmallow's own loop from the start, so every
        error is reported as marshmallow reports it (a refused body's fields are loaded
        again, at each level of nesting that takes this path: a body no field refuses
        costs less, one that is refused somewhat more). The test suite runs both on
        every body it loads and compares them (test/conftest.py, test/test_flat_load.py),
        so a marshmallow release that changes its own loop, whose private
        `_deserialize` this overrides, shows there; requirements.lock pins it."""
        flat = self._flat
        if (
            flat is None
            or many
            or partial is not None
            or unknown != ma.RAISE
            or type(data) is not dict
            or not data.keys() <= flat[1]
        ):
            return self._marshmallow_deserialize(data, error_store, many, partial, unknown, index)
        loaded = self.dict_class()
        missing = ma.missing
        try:
            for key, attribute, deserialize in flat[0]:
                value = deserialize(data.get(key, missing), key, data)
                if value is not missing:
                    loaded[attribute] = value
        except ma.ValidationError:
            return self._marshmallow_deserialize(data, error_store, many, partial, unknown, index)
        return loaded

    def _marshmallow_deserialize(
        self, data: Any, error_store: Any, many: bool, partial: Any, unknown: Any, index: Any
    ) -> Any:
        return super()._deserialize(
            data,
            error_store=error_store,
            many=many,
            partial=partial,
            unknown=unknown,
            index=index,
        )

    def _init_fields(self) -> None:
        super()._init_fields()
        # A copy whose fields are set again (a Nested field's `only` or `exclude` on a
        # schema instance) must not keep the loop of the schema it was copied from.
        self.__dict__.pop("_flat", None)

    @cached_property
    def _flat(self) -> tuple[list[tuple[str, str, Callable[..., Any]]], frozenset[str]] | None:
        """(key in the body, key in the result, the field's `deserialize`) per load field,
        and the keys a body may have; None where an attribute is dotted (marshmallow
        nests those)."""
        steps = [
            (
                name if field.data_key is None else field.data_key,
                field.attribute or name,
                field.deserialize,
            )
            for name, field in self.load_fields.items()
        ]
        if any("." in attribute for _, attribute, _ in steps):
            return None
        return steps, frozenset(key for key, _, _ in steps)


def in_order(start: str, end: str) -> Any:
    """A schema check that `end` is not before `start` when both are sent (422 on `end`)."""

    @ma.validates_schema
    def check(self: ma.Schema, data: Mapping[str, Any], **_: Any) -> None:
        first, last = data.get(start), data.get(end)
        if first is not None and last is not None and first > last:
            raise ma.ValidationError(f"Must not be before {start}.", end)

    return check


def requires(field: str, other: str) -> Any:
    """A schema check that `other` is sent whenever `field` is (422 on `other`)."""

    @ma.validates_schema
    def check(self: ma.Schema, data: Mapping[str, Any], **_: Any) -> None:
        if data.get(field) is not None and data.get(other) is None:
            raise ma.ValidationError(f"Send it with {field}.", other)

    return check


class ServerTimestamps(Schema):
    """`created_at` and `updated_at`, which only the server sets."""

    COMPLETE = True

    created_at = Timestamp(
        dump_only=True,
        bounded=False,
        metadata={
            "description": "When the server stored this item (UTC).",
            "example": "2026-11-20T07:31:02.512000+00:00",
        },
    )
    updated_at = Timestamp(
        dump_only=True,
        bounded=False,
        metadata={
            "description": "When the server last changed this item (UTC).",
            "example": "2026-11-21T18:02:44.090000+00:00",
        },
    )


class Problem(Schema):
    """An RFC 9457 problem details object, returned for every error."""

    JSON_SCHEMA = {"required": ["type", "title", "status"]}

    type = fields.String(
        validate=validate.Length(max=PROBLEM_TEXT_MAX),
        metadata={
            "description": "A URI reference identifying the problem type.",
            "format": "uri-reference",
            "example": "about:blank",
        },
    )
    title = fields.String(
        validate=validate.Length(max=64),
        metadata={"description": "Short summary of the problem type.", "example": "Not Found"},
    )
    status = fields.Integer(
        validate=validate.Range(min=400, max=599),
        metadata={"description": "The HTTP status code.", "example": 404, "format": "int32"},
    )
    detail = fields.String(
        validate=validate.Length(max=PROBLEM_TEXT_MAX),
        metadata={
            "description": "What went wrong with this request.",
            "example": "No resource exists at this URL, or it is not yours.",
        },
    )
    instance = fields.String(
        validate=validate.Length(max=PROBLEM_TEXT_MAX),
        metadata={
            "description": "The request path, percent-encoded (its first 2,000 characters).",
            "format": "uri-reference",
            "example": "/v1/body-stats/1d0f...",
        },
    )
    errors = fields.Dict(
        keys=fields.String(),
        values=fields.Raw(),
        metadata={
            "description": "For validation errors: messages per field name.",
            "example": {"value": ["Must be between 0 and 650 kg."]},
        },
    )
    current = fields.Dict(
        metadata={
            "description": "With a 412 for a stale If-Match: the resource as it is now, as "
            "its GET shows it (its ETag is the response's ETag header), to merge an edit "
            "made on an older version without asking again.",
            "example": {"id": "1d0f...", "version": 4},
        },
    )


# ------------------------------------------------------------------ flat dumps


def _utc_iso(value: datetime) -> str:
    return value.astimezone(UTC).isoformat()


# What `_serialize` of each of these field classes does with a value that is not None
# (all of them give None for None). Exact classes only: a subclass may serialize
# otherwise. `str` stands for marshmallow's `ensure_text_type`, which decodes bytes
# first: no column grau dumps holds bytes.
PLAIN_CONVERSIONS: dict[type[fields.Field], Callable[[Any], Any]] = {
    fields.String: str,
    Text: str,
    fields.UUID: str,
    fields.Integer: int,
    WholeNumber: int,
    fields.Float: float,
    Number: float,
    Timestamp: _utc_iso,
}


def _in_utc(value: datetime) -> datetime:
    return value if value.tzinfo is UTC else value.astimezone(UTC)


# The same, for a body that goes straight to orjson (`FlatDump(schema, for_orjson=True)`):
# orjson writes a UUID as `str` does and an aware datetime as `isoformat` does (with
# microseconds only when there are some, `+00:00` in UTC), in C and without the
# strings in between (`None`: the value as it is).
ORJSON_CONVERSIONS: dict[type[fields.Field], Callable[[Any], Any] | None] = {
    **PLAIN_CONVERSIONS,
    fields.UUID: None,
    Timestamp: _in_utc,
}


def _plain(field: fields.Field) -> bool:
    return (
        type(field) in PLAIN_CONVERSIONS
        and field.dump_default is ma.missing
        and not getattr(field, "as_string", False)
        and "." not in (field.attribute or "")
    )


Step = tuple[str, str, Callable[[Any], Any] | None]  # (output key, attribute, conversion)


def _written(steps: list[Step], name: str) -> Callable[[Any], dict[str, Any]] | None:
    """Compile `steps` into one function `dump(item) -> dict`, as `dataclasses` compiles
    an `__init__`: for each step in order, `item.<attribute>`, converted unless None;
    no loop, `getattr` call or default check (a body stat: about 0.9 µs instead of
    1.8 µs in `FlatDump._stepped`). An attribute the item lacks raises AttributeError
    out of it, and `FlatDump` falls back to `_stepped` (rare: grau's items have every
    column). None where an attribute is not a plain ASCII identifier (`with-dash`,
    `class`, or a name Python would normalize, such as a ligature): only `getattr`
    reads those as written.

        def dump(item):
            v0 = item.id
            v1 = item.type
            if v1 is not None: v1 = c1(v1)
            ...
            return {'id': v0, 'type': v1, ...}
    """
    attributes = [attribute for _, attribute, _ in steps]
    if not all(a.isascii() and a.isidentifier() and not keyword.iskeyword(a) for a in attributes):
        return None
    namespace: dict[str, Any] = {}  # the conversions, by name; then the function
    lines = ["def dump(item):"]
    entries = []
    for index, (key, attribute, convert) in enumerate(steps):
        lines.append(f"    v{index} = item.{attribute}")
        if convert is not None:  # (read, then converted, field by field: marshmallow's order)
            namespace[f"c{index}"] = convert
            lines.append(f"    if v{index} is not None: v{index} = c{index}(v{index})")
        entries.append(f"{key!r}: v{index}")
    lines.append("    return {" + ", ".join(entries) + "}")
    exec(compile("\n".join(lines), f"<FlatDump of {name}>", "exec"), namespace)
    written: Callable[[Any], dict[str, Any]] = namespace["dump"]
    return written


class FlatDump:
    """`schema.dump(item)` for one item: the same dict, in a fraction of the time, where
    every field the schema dumps is a plain value (`PLAIN_CONVERSIONS`) and no hook
    changes the result. marshmallow dispatches each field through several calls (a
    getter, `serialize`, an accessor, `_serialize`); this makes one conversion per field,
    in a function written for the schema (`_written`). An item lacking an attribute is
    dumped field by field (`_stepped`), which leaves it out as marshmallow does.

    Any other schema, and an item that is a mapping (marshmallow reads its keys
    before its attributes), is dumped by marshmallow. test/test_flat_dump.py
    compares both on every item schema of grau.

    `for_orjson`: the result is for orjson alone (`ORJSON_CONVERSIONS`), which writes it
    as the same bytes as marshmallow's dict, at about half the cost of an item.
    """

    def __init__(self, schema: ma.Schema, for_orjson: bool = False) -> None:
        self.schema = schema
        conversions = ORJSON_CONVERSIONS if for_orjson else PLAIN_CONVERSIONS
        hooks = type(schema).resolve_hooks()
        dumped = schema.dump_fields.items()
        flat = not (hooks.get("pre_dump") or hooks.get("post_dump")) and all(
            _plain(field) for _, field in dumped
        )
        # (output key, attribute, conversion) per field, in dump order; None: not flat.
        self.steps = (
            [
                (
                    name if field.data_key is None else field.data_key,
                    name if field.attribute is None else field.attribute,
                    conversions[type(field)],
                )
                for name, field in dumped
            ]
            if flat
            else None
        )
        self._write()

    def _write(self) -> None:
        """The dump written as one function for the steps (None: none to write)."""
        self._written = _written(self.steps, type(self.schema).__name__) if self.steps else None

    def __call__(self, item: Any) -> Any:
        if self.steps is None or hasattr(item, "__getitem__"):
            return self.schema.dump(item)
        if self._written is not None:
            try:
                return self._written(item)
            except AttributeError:  # the item lacks an attribute, or a property or
                pass  # a conversion raised it: read again with defaults, field by field
        return self._stepped(item)

    def __getstate__(self) -> dict[str, Any]:
        """Pickled without its written function (which is not found by name), and
        written again from the steps when unpickled."""
        state = dict(vars(self))
        del state["_written"]
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        vars(self).update(state)
        self._write()

    def _stepped(self, item: Any) -> dict[str, Any]:
        """The dump field by field, as marshmallow reads it (`getattr(item, attribute,
        missing)`): an attribute the item lacks is left out."""
        assert self.steps is not None
        shown: dict[str, Any] = {}
        missing = ma.missing
        for key, attribute, convert in self.steps:
            value = getattr(item, attribute, missing)
            if value is not missing:  # a missing attribute is left out, as marshmallow does
                shown[key] = value if value is None or convert is None else convert(value)
        return shown

    def many(self, items: list[Any]) -> Any:
        """`schema.dump(items, many=True)`."""
        if self.steps is None:
            return self.schema.dump(items, many=True)
        return [self(item) for item in items]
