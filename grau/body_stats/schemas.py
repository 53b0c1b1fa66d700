"""Body stat schemas: create, update, read, page, list and read queries, and the summary."""

from __future__ import annotations

import math
from datetime import date, timedelta

import marshmallow as ma
from marshmallow import fields, validate

from grau.body_stats.models import STAT_TYPES
from grau.core.units import from_canonical
from grau.http.schemas import (
    Number,
    PageArgs,
    Schema,
    ServerTimestamps,
    Text,
    Timestamp,
    page_schema,
    sort_field,
    unit_value_rules,
)

TYPES = tuple(STAT_TYPES)
# Every unit some body stat type is measured in.
ALL_UNITS = tuple(dict.fromkeys(u for units, _ in STAT_TYPES.values() for u in units))
TYPE_DOC = "; ".join(f"{t}: {', '.join(units)}" for t, (units, _) in STAT_TYPES.items())
# Units some body stat type is measured in, in STAT_TYPES order: what reads convert to.
BUCKETS = ("day", "week", "month")
# A summary's date range: whole local days, at most five years of them.
EARLIEST_DATE, LATEST_DATE = date(1900, 1, 1), date(2999, 12, 31)
MAX_SPAN = timedelta(days=5 * 365 + 2)


def _type_field(**kwargs: object) -> fields.String:
    return fields.String(
        validate=validate.OneOf(TYPES),
        metadata={"description": "What was measured.", "example": "weight"},
        **kwargs,  # type: ignore[arg-type]
    )


def _value_field(**kwargs: object) -> fields.Float:
    return Number(
        allow_nan=False,
        # The widest bounds of any unit; each type's and unit's own are in the rules.
        validate=validate.Range(min=VALUE_FLOOR, max=VALUE_CAP),
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


def _read_unit_field(description: str) -> fields.String:
    return fields.String(
        validate=validate.OneOf(ALL_UNITS),
        # No example: Swagger UI would fill it in, and a first "Try it out"
        # should show stats as stored.
        metadata={"description": f"{description} Converted values keep 12 significant digits."},
    )


NOTE = {"description": "Free text, up to 1000 characters.", "example": "Morning, before breakfast"}
RECORDED_AT = {
    "description": "When the measurement was taken (RFC 3339 with offset).",
    "example": "2026-11-20T07:30:00+01:00",
}


def _inward(value: float, up: bool) -> float:
    """Round a range bound inward to 4 decimals, so the bound itself converts back inside."""
    scaled = value * 10_000
    return (math.ceil(scaled) if up else math.floor(scaled)) / 10_000


# `service._validate_measurement` as JSON Schema: units per type, plausible values per unit.
MEASUREMENT_RULES = unit_value_rules(
    {
        stat_type: {
            unit: {
                "minimum": _inward(from_canonical(low, unit), up=True),
                "maximum": _inward(from_canonical(high, unit), up=False),
            }
            for unit in units
        }
        for stat_type, (units, (low, high)) in STAT_TYPES.items()
    }
)
MEASUREMENT = ("type", "value", "unit")
_UNIT_BOUNDS = [
    (_inward(from_canonical(low, unit), up=True), _inward(from_canonical(high, unit), up=False))
    for units, (low, high) in STAT_TYPES.values()
    for unit in units
]
VALUE_FLOOR = min(low for low, _ in _UNIT_BOUNDS)
VALUE_CAP = max(high for _, high in _UNIT_BOUNDS)


class BodyStatCreate(Schema):
    """A new measurement."""

    JSON_SCHEMA = MEASUREMENT_RULES

    type = _type_field(required=True)
    value = _value_field(required=True)
    unit = _unit_field(required=True)
    recorded_at = Timestamp(required=True, metadata=RECORDED_AT)
    note = Text(max_length=1000, allow_none=True, metadata=NOTE)


class BodyStatUpdate(Schema):
    """A partial change: only the fields sent change.

    `type`, `value` and `unit` make one measurement: send all three or none,
    so that every update can be checked on its own.
    """

    JSON_SCHEMA = MEASUREMENT_RULES
    TOGETHER = MEASUREMENT

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
    unit = _read_unit_field(
        "Show values in this unit: every stat whose type is measured in it is converted "
        "(unit=lb converts weights; body fat and lengths keep their own unit)."
    )

    @ma.validates_schema
    def _range(self, data: dict[str, object], **_: object) -> None:
        start, end = data.get("recorded_from"), data.get("recorded_to")
        if start is not None and end is not None and start > end:  # type: ignore[operator]
            raise ma.ValidationError("Must not be before recorded_from.", "recorded_to")


class BodyStatReadQuery(Schema):
    """How to show one body stat."""

    unit = _read_unit_field(
        "Show the value in this unit, if the stat's type is measured in it "
        "(otherwise the stat keeps its own unit). Each unit has its own ETag."
    )


def _summary_date(description: str, **kwargs: object) -> fields.Date:
    return fields.Date(
        validate=validate.Range(min=EARLIEST_DATE, max=LATEST_DATE),
        metadata={
            "description": f"{description} Between {EARLIEST_DATE} and {LATEST_DATE}.",
            "example": "2026-11-01",
        },
        **kwargs,  # type: ignore[arg-type]
    )


class BodyStatSummaryQuery(Schema):
    """Which stats to summarize, per which period, in which unit."""

    type = _type_field(required=True)
    bucket = fields.String(
        load_default="week",
        validate=validate.OneOf(BUCKETS),
        metadata={
            "description": "The period of each bucket: a local day, a week from Monday, "
            "or a calendar month. Default `week`.",
            "example": "week",
        },
    )
    date_from = _summary_date(
        "Only stats recorded on or after this local date (the user's time zone).",
        data_key="from",
    )
    date_to = _summary_date(
        "Only stats recorded on or before this local date; at most "
        f"{MAX_SPAN.days} days after `from`.",
        data_key="to",
    )
    unit = _read_unit_field(
        f"The unit of the results; it must be one the type is measured in ({TYPE_DOC}). "
        "Default: the user's preferred unit (`weight_unit`, `height_unit`)."
    )

    @ma.validates_schema
    def _unit_of_type(self, data: dict[str, object], **_: object) -> None:
        stat_type, unit = data.get("type"), data.get("unit")
        if stat_type is None or unit is None:
            return
        units = STAT_TYPES[str(stat_type)][0]
        if unit not in units:
            raise ma.ValidationError(f"A {stat_type} is measured in {', '.join(units)}.", "unit")

    @ma.validates_schema
    def _range(self, data: dict[str, object], **_: object) -> None:
        start, end = data.get("date_from"), data.get("date_to")
        if not isinstance(start, date) or not isinstance(end, date):
            return
        if start > end:
            raise ma.ValidationError("Must not be before from.", "to")
        if end - start > MAX_SPAN:
            raise ma.ValidationError(f"Must be at most {MAX_SPAN.days} days after from.", "to")


class BodyStatSummaryPeriod(Schema):
    """The stats of one period, in the summary's unit."""

    COMPLETE = True

    period_start = fields.Date(
        metadata={
            "description": "The local date the period starts on (a Monday for weeks, "
            "the 1st for months).",
            "example": "2026-11-16",
        }
    )
    min = fields.Float(metadata={"description": "The lowest value.", "example": 71.8})
    max = fields.Float(metadata={"description": "The highest value.", "example": 72.9})
    average = fields.Float(metadata={"description": "The mean of the values.", "example": 72.35})
    count = fields.Integer(
        metadata={"description": "How many stats were recorded in the period.", "example": 4}
    )


class BodyStatSummary(Schema):
    """One type of stat per day, week or month, in the user's time zone."""

    COMPLETE = True

    type = _type_field()
    bucket = fields.String(
        validate=validate.OneOf(BUCKETS),
        metadata={"description": "The period of each bucket.", "example": "week"},
    )
    unit = fields.String(
        validate=validate.OneOf(ALL_UNITS),
        metadata={"description": "The unit of `min`, `max` and `average`.", "example": "kg"},
    )
    timezone = fields.String(
        metadata={
            "description": "The user's time zone (IANA), which the periods follow.",
            "format": "iana-time-zone",  # as the profile's `timezone`
            "example": "Europe/Berlin",
        }
    )
    buckets = fields.List(
        fields.Nested(BodyStatSummaryPeriod),
        metadata={"description": "The periods that have stats, oldest first."},
    )
