"""Nutrition entry schemas: create, update, read, page, list and read queries, daily totals."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import marshmallow as ma
from marshmallow import fields, validate

from grau.http.deprecation import alias
from grau.http.fields import Timestamp, client_id, how_many
from grau.http.measurements import NAMED_AT_SOURCE, MeasurementFields
from grau.http.pages import PageArgs, page_schema
from grau.http.schemas import Schema, ServerTimestamps, in_order, requires
from grau.nutrition.models import AMOUNTS
from grau.nutrition.service import MAX_SPAN_DAYS

# The most one entry may hold, types with the same limit together.
LIMITS_DOC = "; ".join(
    f"{', '.join(t for t, m in AMOUNTS.types.items() if m == limit)} {limit.stated()}"
    for limit in dict.fromkeys(AMOUNTS.types.values())
)
DEFAULT_UNITS = ", ".join(f"{t} in {m.reported}" for t, m in AMOUNTS.types.items())
EARLIEST_DAY, LATEST_DAY = date(1900, 1, 1), date(2999, 12, 31)

AMOUNT = MeasurementFields(
    AMOUNTS,
    type_doc="What was taken in.",
    value_doc=f"The amount in `unit`: at least 0, and per entry at most {LIMITS_DOC}.",
    recorded_at_doc="When it was taken in (RFC 3339 with offset).",
    note_example="After the run",
    example=("water", 250.0, "ml"),
)


class NutritionEntryCreate(Schema):
    """A new nutrition entry."""

    id = client_id()

    JSON_SCHEMA = NAMED_AT_SOURCE
    CASES = AMOUNT.cases()

    type = AMOUNT.type(required=True)
    value = AMOUNT.value(required=True)
    unit = AMOUNT.unit(required=True)
    recorded_at = AMOUNT.recorded_at(required=True)
    note = AMOUNT.note()
    source = AMOUNT.source()
    external_id = AMOUNT.external_id()

    _named_at_source = requires("external_id", "source")


class NutritionEntryUpdate(Schema):
    """A partial change: only the fields sent change.

    `type`, `value` and `unit` make one amount: send all three or none, so
    that every update can be checked on its own.
    """

    CASES = AMOUNT.cases(update=True)
    TOGETHER = ("type", "value", "unit")

    type = AMOUNT.type()
    value = AMOUNT.value()
    unit = AMOUNT.unit()
    recorded_at = AMOUNT.recorded_at()
    note = AMOUNT.note()


class NutritionEntry(ServerTimestamps):
    """A nutrition entry as stored, or in the unit a read asked for."""

    id = fields.UUID(dump_only=True, metadata={"example": "0c9e4b1a-7f3d-4e2b-9a51-6d8f2c3b1e47"})
    type = AMOUNT.type(dump_only=True)
    value = AMOUNT.value(dump_only=True)
    unit = AMOUNT.unit(dump_only=True)
    recorded_at = AMOUNT.recorded_at(dump_only=True, bounded=False)
    note = AMOUNT.note(dump_only=True)
    source = AMOUNT.source(dump_only=True)
    external_id = AMOUNT.external_id(dump_only=True)


NutritionEntryPage = page_schema(NutritionEntry, "NutritionEntryPage")


def _read_unit_field() -> fields.String:
    return AMOUNT.read_unit(
        "Show `value` in this unit: entries whose type accepts it are "
        f"converted ({AMOUNTS.doc}); entries of another quantity keep their own unit, so "
        "in a list of water and calories `unit=l` shows the water in litres and the "
        "calories as stored. Converted values are rounded to 12 significant digits. "
        "Without it, each entry comes in the unit it was recorded in."
    )


class NutritionEntryQuery(PageArgs):
    """Filters, order and display unit for the nutrition entry list."""

    type = AMOUNT.type("Only entries of this type.")
    source = AMOUNT.source("Only readings from this source.")
    recorded_from = Timestamp(
        bounded=False, metadata={"description": "Only entries recorded at or after this moment."}
    )
    recorded_to = Timestamp(
        bounded=False, metadata={"description": "Only entries recorded at or before this moment."}
    )
    unit = _read_unit_field()
    sort = AMOUNT.sort()

    _in_order = in_order("recorded_from", "recorded_to")


class NutritionEntryReadQuery(Schema):
    """The display unit of one nutrition entry."""

    unit = _read_unit_field()


# ------------------------------------------------------------------------ daily totals


def _day_field(
    description: str, *, required: bool = True, example: str = "2026-11-20"
) -> fields.Date:
    return fields.Date(
        required=required,
        validate=validate.Range(min=EARLIEST_DAY, max=LATEST_DAY),
        metadata={"description": description, "example": example},
    )


class NutritionDailyTotalsQuery(Schema):
    """The days to total, and optionally one type."""

    RENAMED = {"from": "date_from", "to": "date_to"}  # the names until 0.1

    date_from = _day_field(
        f"First local day (in the user's time zone), from {EARLIEST_DAY} to {LATEST_DAY}."
    )
    date_to = _day_field(
        f"Last local day, included: not before `date_from`, at most {MAX_SPAN_DAYS} days after it.",
        example="2026-11-26",  # a week: the example totals more than one day
    )
    deprecated_from = alias(_day_field("", required=False), "from", "date_from")
    deprecated_to = alias(_day_field("", required=False, example="2026-11-26"), "to", "date_to")
    type = AMOUNT.type("Only this type.")

    @ma.validates_schema
    def _span(self, data: dict[str, Any], **_: Any) -> None:
        start, end = data.get("date_from"), data.get("date_to")
        if start is None or end is None:
            return
        if end < start:
            raise ma.ValidationError("Must not be before date_from.", "date_to")
        if end - start > timedelta(days=MAX_SPAN_DAYS):
            raise ma.ValidationError(f"At most {MAX_SPAN_DAYS} days after date_from.", "date_to")


class NutritionTotal(Schema):
    """One type's total on one local day."""

    COMPLETE = True

    type = AMOUNT.type()
    total = fields.Float(
        metadata={
            "description": "Sum of the day's entries of this type in `unit`, rounded to 12 "
            "significant digits.",
            "example": 1736.5882365,
        }
    )
    unit = fields.String(
        validate=validate.OneOf(AMOUNTS.units),
        metadata={
            "description": f"The type's reporting unit ({DEFAULT_UNITS}), whatever unit the "
            "entries were recorded in.",
            "example": "ml",
        },
    )
    count = how_many("How many entries the total adds up.", 3)


class NutritionDay(Schema):
    """One local day and its totals."""

    COMPLETE = True

    date = fields.Date(metadata={"description": "The local day.", "example": "2026-11-20"})
    totals = fields.List(
        fields.Nested(NutritionTotal),
        validate=validate.Length(max=len(AMOUNTS.types)),
        metadata={
            "description": "One total per type logged that day, in the order "
            f"{', '.join(AMOUNTS.types)}; empty when nothing was logged."
        },
    )


def _deprecated_day(name: str, current: str, day: Callable[[Any], date]) -> fields.Function:
    return fields.Function(
        lambda totals: day(totals).isoformat(),
        data_key=name,
        metadata={
            "type": "string",
            "format": "date",
            "description": f"Deprecated: read `{current}` (the same day).",
            "deprecated": True,
            "example": "2026-11-20",
        },
    )


class NutritionDailyTotals(Schema):
    """Totals per local day and type over a range of days."""

    COMPLETE = True

    date_from = fields.Date(
        attribute="start", metadata={"description": "First day, as asked.", "example": "2026-11-20"}
    )
    date_to = fields.Date(
        attribute="end", metadata={"description": "Last day, as asked.", "example": "2026-11-22"}
    )
    # The names until 0.1, the same days (a Function field: marshmallow reads one attribute once).
    deprecated_from = _deprecated_day("from", "date_from", lambda totals: totals.start)
    deprecated_to = _deprecated_day("to", "date_to", lambda totals: totals.end)
    timezone = fields.String(
        validate=validate.Length(max=64),  # as the profile's
        metadata={
            "description": "The user's time zone (profile `timezone`) the days are local to.",
            "format": "iana-time-zone",
            "example": "Pacific/Auckland",
        },
    )
    days = fields.List(
        fields.Nested(NutritionDay),
        validate=validate.Length(max=MAX_SPAN_DAYS + 1),
        metadata={
            "description": "Every day from `date_from` to `date_to`, in order, including days with "
            "nothing logged."
        },
    )
