"""Body stat schemas: create, update, read, page and list query."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import fields, validate

from grau.body_stats.models import STAT_TYPES
from grau.schemas import (
    Number,
    PageArgs,
    Schema,
    ServerTimestamps,
    Text,
    Timestamp,
    page_schema,
    sort_field,
)
from grau.units import UNITS

TYPES = tuple(STAT_TYPES)
ALL_UNITS = tuple(UNITS)
TYPE_DOC = "; ".join(f"{t}: {', '.join(units)}" for t, (units, _) in STAT_TYPES.items())


def _type_field(**kwargs: object) -> fields.String:
    return fields.String(
        validate=validate.OneOf(TYPES),
        metadata={"description": "What was measured.", "example": "weight"},
        **kwargs,  # type: ignore[arg-type]
    )


def _value_field(**kwargs: object) -> fields.Float:
    return Number(
        allow_nan=False,
        metadata={
            "description": "The measurement in `unit`; must be plausible for its type "
            "(a weight of -3 kg or 10 t is refused).",
            "example": 72.4,
        },
        **kwargs,  # type: ignore[arg-type]
    )


def _unit_field(**kwargs: object) -> fields.String:
    return fields.String(
        validate=validate.OneOf(ALL_UNITS),
        metadata={
            "description": f"Unit of `value`, valid for the type ({TYPE_DOC}).",
            "example": "kg",
        },
        **kwargs,  # type: ignore[arg-type]
    )


NOTE = {"description": "Free text, up to 1000 characters.", "example": "Morning, before breakfast"}
RECORDED_AT = {
    "description": "When the measurement was taken (RFC 3339 with offset).",
    "example": "2026-11-20T07:30:00+01:00",
}


class BodyStatCreate(Schema):
    """A new measurement."""

    type = _type_field(required=True)
    value = _value_field(required=True)
    unit = _unit_field(required=True)
    recorded_at = Timestamp(required=True, metadata=RECORDED_AT)
    note = Text(max_length=1000, allow_none=True, metadata=NOTE)


class BodyStatUpdate(Schema):
    """A partial change: only the fields sent change."""

    type = _type_field()
    value = _value_field()
    unit = _unit_field()
    recorded_at = Timestamp(metadata=RECORDED_AT)
    note = Text(max_length=1000, allow_none=True, metadata=NOTE)


class BodyStat(ServerTimestamps):
    """A measurement as stored."""

    id = fields.UUID(dump_only=True, metadata={"example": "5b7c1f9e-1d2a-4a4e-9a67-0f3c2b8e6d11"})
    type = _type_field(dump_only=True)
    value = _value_field(dump_only=True)
    unit = _unit_field(dump_only=True)
    recorded_at = Timestamp(dump_only=True, bounded=False, metadata=RECORDED_AT)
    note = Text(max_length=1000, allow_none=True, dump_only=True, metadata=NOTE)


BodyStatPage = page_schema(BodyStat, "BodyStatPage")
SORTS = ("recorded_at", "-recorded_at", "created_at", "-created_at", "value", "-value")


class BodyStatQuery(PageArgs):
    """Filters and order for the body stat list."""

    type = _type_field()
    recorded_from = Timestamp(
        bounded=False, metadata={"description": "Only stats recorded at or after this moment."}
    )
    recorded_to = Timestamp(
        bounded=False, metadata={"description": "Only stats recorded at or before this moment."}
    )
    sort = sort_field(SORTS, "-recorded_at")

    @ma.validates_schema
    def _range(self, data: dict[str, object], **_: object) -> None:
        start, end = data.get("recorded_from"), data.get("recorded_to")
        if start is not None and end is not None and start > end:  # type: ignore[operator]
            raise ma.ValidationError("Must not be before recorded_from.", "recorded_to")
