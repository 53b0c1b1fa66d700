"""Schema pieces every resource shares: safe text, bounded datetimes, pages, problems."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime, timedelta
from typing import Any, ClassVar

import marshmallow as ma
from marshmallow import fields, validate

# Fields that accept a datetime refuse ones this far from today: a typo or a
# fuzzer, not a measurement (and PostgreSQL's range stops at year 294276).
EARLIEST = datetime(1900, 1, 1, tzinfo=UTC)
FUTURE_SKEW = timedelta(days=1)

PAGE_SIZE_DEFAULT = 20
PAGE_SIZE_MAX = 100
PAGE_MAX = 100_000


class Schema(ma.Schema):
    """Base schema: unknown fields are an error, never silently dropped.

    `JSON_SCHEMA` holds rules that span fields (`dependentRequired`, `if`/`then`),
    which marshmallow validates in code: `grau.http.openapi.finalize` merges them into
    the schema's component so the spec states them too. `COMPLETE` marks an
    output schema whose every field is always in the body (null when empty):
    the spec then lists them all as required, so generated clients need no
    "maybe missing" checks.
    """

    JSON_SCHEMA: ClassVar[dict[str, Any]] = {}
    COMPLETE: ClassVar[bool] = False
    # Fields that only make sense together: sent all or none (one group).
    TOGETHER: ClassVar[tuple[str, ...]] = ()

    @ma.validates_schema
    def _sent_together(self, data: dict[str, Any], **_: Any) -> None:
        sent = [name for name in self.TOGETHER if name in data]
        if sent and len(sent) < len(self.TOGETHER):
            message = f"Send {', '.join(self.TOGETHER)} together."
            raise ma.ValidationError({n: [message] for n in self.TOGETHER if n not in data})

    class Meta:
        unknown = ma.RAISE
        ordered = True


class FullMatch(validate.Regexp):
    """A Regexp over the whole string. Python's `$` also matches before a final
    newline, JSON Schema's does not: the spec's pattern is the rule."""

    def __init__(self, regex: str, *, error: str) -> None:
        super().__init__(regex, error=error)
        self.whole = re.compile(regex)

    def __call__(self, value: str) -> str:  # type: ignore[override]
        if self.whole.fullmatch(value) is None:
            raise ma.ValidationError(self.error.format(input=value, regex=self.whole.pattern))
        return value


def _no_nul(value: str) -> None:
    if "\x00" in value:
        raise ma.ValidationError("Must not contain NUL characters.")


# The spec's statement of `_no_nul`, so generated clients and fuzzers know it.
NO_NUL_PATTERN = r"^[^\u0000]*$"


class Text(fields.String):
    """A string with a length cap and no NUL bytes (PostgreSQL rejects them)."""

    def __init__(self, *, max_length: int = 255, min_length: int = 0, **kwargs: Any) -> None:
        validators: list[Any] = [validate.Length(min=min_length, max=max_length), _no_nul]
        extra = kwargs.pop("validate", None)
        if extra is not None:
            validators.extend(extra if isinstance(extra, list) else [extra])
        if not any(isinstance(v, validate.Regexp) for v in validators):
            # A Regexp validator documents its own pattern, which excludes NUL already.
            kwargs["metadata"] = {"pattern": NO_NUL_PATTERN, **kwargs.get("metadata", {})}
        super().__init__(validate=validators, **kwargs)


class Number(fields.Float):
    """A JSON number: unlike marshmallow's Float, refuses "72.5" and true."""

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.make_error("invalid")
        return super()._deserialize(value, attr, data, **kwargs)


class WholeNumber(fields.Integer):
    """JSON Schema's `integer`: `4` and `4.0` (no fraction), never `4.5`, `"4"` or `true`.

    marshmallow's strict Integer also refuses `4.0`, which the spec calls an
    integer; its lax one takes `"4"`, which the spec does not.
    """

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.make_error("invalid")
        if isinstance(value, float) and not value.is_integer():
            raise self.make_error("invalid")
        return int(value)


class StrictBoolean(fields.Boolean):
    """A JSON true or false: marshmallow's Boolean also takes 1, "yes" and "on"."""

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> bool:
        if not isinstance(value, bool):
            raise self.make_error("invalid", input=value)
        return value


def _not_too_far(value: datetime) -> None:
    if value < EARLIEST:
        raise ma.ValidationError("Must not be before 1900-01-01.")
    if value > datetime.now(UTC) + FUTURE_SKEW:
        raise ma.ValidationError("Must not be in the future.")


class Timestamp(fields.AwareDateTime):
    """An RFC 3339 timestamp with an offset; naive input is refused, output is UTC."""

    def __init__(self, *, bounded: bool = True, **kwargs: Any) -> None:
        if bounded:
            kwargs.setdefault("validate", _not_too_far)
        super().__init__(format="iso", default_timezone=None, **kwargs)

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> datetime:
        parsed = super()._deserialize(value, attr, data, **kwargs)
        try:
            return parsed.astimezone(UTC)
        except OverflowError as exc:  # e.g. 0001-01-01T00:00:00+01:00
            raise ma.ValidationError("Out of the supported date range.") from exc

    def _serialize(self, value: Any, attr: Any, obj: Any, **kwargs: Any) -> Any:
        if isinstance(value, datetime):
            value = value.astimezone(UTC)
        return super()._serialize(value, attr, obj, **kwargs)


def in_order(start: str, end: str) -> Any:
    """A schema check that `end` is not before `start` when both are sent (422 on `end`)."""

    @ma.validates_schema
    def check(self: ma.Schema, data: Mapping[str, Any], **_: Any) -> None:
        first, last = data.get(start), data.get(end)
        if first is not None and last is not None and first > last:
            raise ma.ValidationError(f"Must not be before {start}.", end)

    return check


def past_date(value: date) -> None:
    if value < EARLIEST.date() or value > date.today():
        raise ma.ValidationError("Must be between 1900-01-01 and today.")


def client_id() -> fields.UUID:
    """A create's optional `id`: the app names the item it makes (offline, say)."""
    return fields.UUID(
        metadata={
            "description": "Optional: the new item's id, chosen by the app (a random UUID), "
            "so it can refer to the item before the server has seen it. The same id with "
            "the same body again replays the first answer; an id already used by another "
            "item is a 409.",
            "example": "6f1c2b7e-4d0a-4b8e-9a35-2c7d1e9f0b14",
        }
    )


def one_of(choices: tuple[str, ...], **kwargs: Any) -> fields.String:
    """A string enum that documents its choices in the spec."""
    return fields.String(validate=validate.OneOf(choices), **kwargs)


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
        metadata={
            "description": "A URI reference identifying the problem type.",
            "example": "about:blank",
        }
    )
    title = fields.String(
        metadata={"description": "Short summary of the problem type.", "example": "Not Found"}
    )
    status = fields.Integer(metadata={"description": "The HTTP status code.", "example": 404})
    detail = fields.String(
        metadata={
            "description": "What went wrong with this request.",
            "example": "No resource exists at this URL, or it is not yours.",
        }
    )
    instance = fields.String(
        metadata={"description": "The request path.", "example": "/v1/body-stats/1d0f..."}
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


class PageArgs(Schema):
    """Query parameters shared by every list."""

    page = fields.Integer(
        load_default=1,
        validate=validate.Range(min=1, max=PAGE_MAX),
        metadata={"description": "1-based page number.", "example": 1},
    )
    page_size = fields.Integer(
        load_default=PAGE_SIZE_DEFAULT,
        validate=validate.Range(min=1, max=PAGE_SIZE_MAX),
        metadata={"description": f"Items per page (at most {PAGE_SIZE_MAX}).", "example": 20},
    )


class Pagination(Schema):
    """Where a page sits in the whole list."""

    COMPLETE = True

    page = fields.Integer(metadata={"description": "This page's number.", "example": 1})
    page_size = fields.Integer(metadata={"description": "Items per page.", "example": 20})
    total = fields.Integer(metadata={"description": "Items in the whole list.", "example": 42})
    total_pages = fields.Integer(metadata={"description": "Number of pages.", "example": 3})


def page_schema(item: type[ma.Schema], name: str) -> type[ma.Schema]:
    """The `{"items": [...], "pagination": {...}}` envelope for one item schema."""
    return type(
        name,
        (Schema,),
        {
            "__doc__": f"A page of {item.__name__} items.",
            "COMPLETE": True,
            "items": fields.List(
                fields.Nested(item), metadata={"description": "This page's items."}
            ),
            "pagination": fields.Nested(Pagination, metadata={"description": "Page position."}),
        },
    )


def sort_field(choices: tuple[str, ...], default: str) -> fields.String:
    return fields.String(
        load_default=default,
        validate=validate.OneOf(choices),
        metadata={
            "description": "Sort order: a field name, `-` in front for descending. "
            f"Ties are broken by id. Default `{default}`.",
            "example": default,
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


def _plain(field: fields.Field) -> bool:
    return (
        type(field) in PLAIN_CONVERSIONS
        and field.dump_default is ma.missing
        and not getattr(field, "as_string", False)
        and "." not in (field.attribute or "")
    )


class FlatDump:
    """`schema.dump(item)` for one item: the same dict, in a fraction of the time, where
    every field the schema dumps is a plain value (`PLAIN_CONVERSIONS`) and no hook
    changes the result. marshmallow dispatches each field through several calls (a
    getter, `serialize`, an accessor, `_serialize`); this makes one conversion per field.

    Any other schema, and an item that is a mapping (marshmallow reads its keys
    before its attributes), is dumped by marshmallow. test/test_flat_dump.py
    compares both on every item schema of grau.
    """

    def __init__(self, schema: ma.Schema) -> None:
        self.schema = schema
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
                    PLAIN_CONVERSIONS[type(field)],
                )
                for name, field in dumped
            ]
            if flat
            else None
        )

    def __call__(self, item: Any) -> Any:
        if self.steps is None or hasattr(item, "__getitem__"):
            return self.schema.dump(item)
        shown: dict[str, Any] = {}
        for key, attribute, convert in self.steps:
            value = getattr(item, attribute, ma.missing)
            if value is not ma.missing:  # a missing attribute is left out, as marshmallow does
                shown[key] = None if value is None else convert(value)
        return shown

    def many(self, items: list[Any]) -> Any:
        """`schema.dump(items, many=True)`."""
        if self.steps is None:
            return self.schema.dump(items, many=True)
        return [self(item) for item in items]
