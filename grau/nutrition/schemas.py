"""Nutrition entry schemas: create, update, read, page, list and read queries, daily totals."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import marshmallow as ma
from marshmallow import fields, validate

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
from grau.nutrition.models import NUTRITION_TYPES
from grau.nutrition.service import LIMITS, MAX_SPAN_DAYS, NUTRITION_UNITS, max_value

TYPES = tuple(NUTRITION_TYPES)
TYPE_UNITS = "; ".join(f"{t}: {', '.join(units)}" for t, (units, _) in NUTRITION_TYPES.items())
LIMITS_DOC = "; ".join(
    f"{', '.join(t for t in LIMITS if LIMITS[t] == limit)} {limit[0]:g} {limit[1]}"
    for limit in dict.fromkeys(LIMITS.values())
)
DEFAULT_UNITS = ", ".join(f"{t} in {default}" for t, (_, default) in NUTRITION_TYPES.items())
# The largest value any unit accepts (2 kg in mg); each type's own bound is in the rules below.
VALUE_CAP = max(max_value(t, u) for t, (units, _) in NUTRITION_TYPES.items() for u in units)
EARLIEST_DAY, LATEST_DAY = date(1900, 1, 1), date(2999, 12, 31)


def _type_field(**kwargs: Any) -> fields.String:
    return fields.String(
        validate=validate.OneOf(TYPES),
        metadata={"description": "What was taken in.", "example": "water"},
        **kwargs,
    )


def _value_field(**kwargs: Any) -> fields.Float:
    return Number(
        allow_nan=False,
        validate=validate.Range(min=0, max=VALUE_CAP),
        metadata={
            "description": f"The amount in `unit`: at least 0, and per entry at most {LIMITS_DOC}.",
            "example": 250.0,
        },
        **kwargs,
    )


def _unit_field(**kwargs: Any) -> fields.String:
    return fields.String(
        validate=validate.OneOf(NUTRITION_UNITS),
        metadata={
            "description": f"Unit of `value`, valid for the type ({TYPE_UNITS}).",
            "example": "ml",
        },
        **kwargs,
    )


NOTE = {"description": "Free text, up to 1000 characters.", "example": "After the run"}
RECORDED_AT = {
    "description": "When it was taken in (RFC 3339 with offset).",
    "example": "2026-11-20T07:30:00+01:00",
}


# `service._validate_amount` as JSON Schema: units per type, the largest value per unit.
AMOUNT_RULES = unit_value_rules(
    {
        entry_type: {unit: {"maximum": max_value(entry_type, unit)} for unit in units}
        for entry_type, (units, _) in NUTRITION_TYPES.items()
    }
)
AMOUNT = ("type", "value", "unit")


class NutritionEntryCreate(Schema):
    """A new nutrition entry."""

    JSON_SCHEMA = AMOUNT_RULES

    type = _type_field(required=True)
    value = _value_field(required=True)
    unit = _unit_field(required=True)
    recorded_at = Timestamp(required=True, metadata=RECORDED_AT)
    note = Text(max_length=1000, allow_none=True, metadata=NOTE)


class NutritionEntryUpdate(Schema):
    """A partial change: only the fields sent change.

    `type`, `value` and `unit` make one amount: send all three or none, so
    that every update can be checked on its own.
    """

    JSON_SCHEMA = AMOUNT_RULES
    TOGETHER = AMOUNT

    type = _type_field()
    value = _value_field()
    unit = _unit_field()
    recorded_at = Timestamp(metadata=RECORDED_AT)
    note = Text(max_length=1000, allow_none=True, metadata=NOTE)


class NutritionEntry(ServerTimestamps):
    """A nutrition entry as stored, or in the unit a read asked for."""

    id = fields.UUID(dump_only=True, metadata={"example": "0c9e4b1a-7f3d-4e2b-9a51-6d8f2c3b1e47"})
    type = _type_field(dump_only=True)
    value = _value_field(dump_only=True)
    unit = _unit_field(dump_only=True)
    recorded_at = Timestamp(dump_only=True, bounded=False, metadata=RECORDED_AT)
    note = Text(max_length=1000, allow_none=True, dump_only=True, metadata=NOTE)


NutritionEntryPage = page_schema(NutritionEntry, "NutritionEntryPage")
SORTS = ("recorded_at", "-recorded_at", "created_at", "-created_at", "value", "-value")


def _read_unit_field() -> fields.String:
    return fields.String(
        validate=validate.OneOf(NUTRITION_UNITS),
        metadata={
            "description": "Show `value` in this unit: entries whose type accepts it are "
            f"converted ({TYPE_UNITS}); entries of another quantity keep their own unit, so "
            "in a list of water and calories `unit=l` shows the water in litres and the "
            "calories as stored. Converted values are rounded to 12 significant digits. "
            "Without it, each entry comes in the unit it was recorded in.",
        },
    )


class NutritionEntryQuery(PageArgs):
    """Filters, order and display unit for the nutrition entry list."""

    type = _type_field()
    recorded_from = Timestamp(
        bounded=False, metadata={"description": "Only entries recorded at or after this moment."}
    )
    recorded_to = Timestamp(
        bounded=False, metadata={"description": "Only entries recorded at or before this moment."}
    )
    unit = _read_unit_field()
    sort = sort_field(SORTS, "-recorded_at")

    @ma.validates_schema
    def _range(self, data: dict[str, Any], **_: Any) -> None:
        start, end = data.get("recorded_from"), data.get("recorded_to")
        if start is not None and end is not None and start > end:
            raise ma.ValidationError("Must not be before recorded_from.", "recorded_to")


class NutritionEntryReadQuery(Schema):
    """The display unit of one nutrition entry."""

    unit = _read_unit_field()


# ------------------------------------------------------------------------ daily totals


def _day_field(name: str, description: str) -> fields.Date:
    return fields.Date(
        required=True,
        data_key=name,
        validate=validate.Range(min=EARLIEST_DAY, max=LATEST_DAY),
        metadata={"description": description, "example": "2026-11-20"},
    )


class NutritionDailyTotalsQuery(Schema):
    """The days to total, and optionally one type."""

    # `from` is a Python keyword: the attributes are `start` and `end`.
    start = _day_field(
        "from",
        f"First local day (in the user's time zone), from {EARLIEST_DAY} to {LATEST_DAY}.",
    )
    end = _day_field(
        "to", f"Last local day, included: not before `from`, at most {MAX_SPAN_DAYS} days after it."
    )
    type = _type_field()

    @ma.validates_schema
    def _span(self, data: dict[str, Any], **_: Any) -> None:
        start, end = data.get("start"), data.get("end")
        if start is None or end is None:
            return
        if end < start:
            raise ma.ValidationError("Must not be before from.", "to")
        if end - start > timedelta(days=MAX_SPAN_DAYS):
            raise ma.ValidationError(f"At most {MAX_SPAN_DAYS} days after from.", "to")


class NutritionTotal(Schema):
    """One type's total on one local day."""

    COMPLETE = True

    type = _type_field()
    total = fields.Float(
        metadata={
            "description": "Sum of the day's entries of this type in `unit`, rounded to 12 "
            "significant digits.",
            "example": 1736.5882365,
        }
    )
    unit = fields.String(
        validate=validate.OneOf(NUTRITION_UNITS),
        metadata={
            "description": f"The type's reporting unit ({DEFAULT_UNITS}), whatever unit the "
            "entries were recorded in.",
            "example": "ml",
        },
    )
    count = fields.Integer(
        metadata={"description": "How many entries the total adds up.", "example": 3}
    )


class NutritionDay(Schema):
    """One local day and its totals."""

    COMPLETE = True

    date = fields.Date(metadata={"description": "The local day.", "example": "2026-11-20"})
    totals = fields.List(
        fields.Nested(NutritionTotal),
        metadata={
            "description": f"One total per type logged that day, in the order {', '.join(TYPES)}; "
            "empty when nothing was logged."
        },
    )


class NutritionDailyTotals(Schema):
    """Totals per local day and type over a range of days."""

    COMPLETE = True

    start = fields.Date(
        data_key="from", metadata={"description": "First day, as asked.", "example": "2026-11-20"}
    )
    end = fields.Date(
        data_key="to", metadata={"description": "Last day, as asked.", "example": "2026-11-22"}
    )
    timezone = fields.String(
        metadata={
            "description": "The user's time zone (profile `timezone`) the days are local to.",
            "example": "Pacific/Auckland",
        }
    )
    days = fields.List(
        fields.Nested(NutritionDay),
        metadata={
            "description": "Every day from `from` to `to`, in order, including days with "
            "nothing logged."
        },
    )
