"""Body stat schemas: create, update, read, page, list and read queries, and the summary."""

from __future__ import annotations

from datetime import date, timedelta

import marshmallow as ma
from marshmallow import fields, validate

from grau.body_stats.models import STATS
from grau.http.deprecation import alias
from grau.http.fields import Timestamp, client_id, how_many
from grau.http.measurements import NAMED_AT_SOURCE, MeasurementFields
from grau.http.pages import PageArgs, page_schema
from grau.http.schemas import Schema, ServerTimestamps, in_order, requires

BUCKETS = ("day", "week", "month")
# A summary's date range: whole local days, at most five years of them.
EARLIEST_DATE, LATEST_DATE = date(1900, 1, 1), date(2999, 12, 31)
MAX_SPAN = timedelta(days=5 * 365 + 2)

STAT = MeasurementFields(
    STATS,
    type_doc="What was measured.",
    value_doc="The measurement in `unit`; must be plausible for its type "
    "(a weight of -3 kg or 10 t is refused).",
    recorded_at_doc="When the measurement was taken (RFC 3339 with offset).",
    note_example="Morning, before breakfast",
    example=("weight", 72.4, "kg"),
)
MEASUREMENT = ("type", "value", "unit")


def _read_unit(description: str) -> fields.String:
    return STAT.read_unit(f"{description} Converted values keep 12 significant digits.")


class BodyStatCreate(Schema):
    """A new measurement."""

    id = client_id()

    JSON_SCHEMA = NAMED_AT_SOURCE
    CASES = STAT.cases()

    type = STAT.type(required=True)
    value = STAT.value(required=True)
    unit = STAT.unit(required=True)
    recorded_at = STAT.recorded_at(required=True)
    note = STAT.note()
    source = STAT.source()
    external_id = STAT.external_id()

    _named_at_source = requires("external_id", "source")


class BodyStatUpdate(Schema):
    """A partial change: only the fields sent change.

    `type`, `value` and `unit` make one measurement: send all three or none,
    so that every update can be checked on its own.
    """

    CASES = STAT.cases(update=True)
    TOGETHER = MEASUREMENT

    type = STAT.type()
    value = STAT.value()
    unit = STAT.unit()
    recorded_at = STAT.recorded_at()
    note = STAT.note()


class BodyStat(ServerTimestamps):
    """A measurement as stored."""

    id = fields.UUID(dump_only=True, metadata={"example": "5b7c1f9e-1d2a-4a4e-9a67-0f3c2b8e6d11"})
    type = STAT.type(dump_only=True)
    value = STAT.value(dump_only=True)
    unit = STAT.unit(dump_only=True)
    recorded_at = STAT.recorded_at(dump_only=True, bounded=False)
    note = STAT.note(dump_only=True)
    source = STAT.source(dump_only=True)
    external_id = STAT.external_id(dump_only=True)


BodyStatPage = page_schema(BodyStat, "BodyStatPage")


class BodyStatQuery(PageArgs):
    """Filters and order for the body stat list."""

    type = STAT.type("Only stats of this type.")
    source = STAT.source("Only readings from this source.")
    recorded_from = Timestamp(
        bounded=False, metadata={"description": "Only stats recorded at or after this moment."}
    )
    recorded_to = Timestamp(
        bounded=False, metadata={"description": "Only stats recorded at or before this moment."}
    )
    sort = STAT.sort()
    unit = _read_unit(
        "Show values in this unit: every stat whose type is measured in it is converted "
        "(unit=lb converts weights; body fat and lengths keep their own unit)."
    )

    _in_order = in_order("recorded_from", "recorded_to")


class BodyStatReadQuery(Schema):
    """How to show one body stat."""

    unit = _read_unit(
        "Show the value in this unit, if the stat's type is measured in it "
        "(otherwise the stat keeps its own unit). Each unit has its own ETag."
    )


def _summary_date(description: str, example: str, **kwargs: object) -> fields.Date:
    return fields.Date(
        validate=validate.Range(min=EARLIEST_DATE, max=LATEST_DATE),
        metadata={
            "description": f"{description} Between {EARLIEST_DATE} and {LATEST_DATE}.",
            "example": example,
        },
        **kwargs,  # type: ignore[arg-type]
    )


class BodyStatSummaryQuery(Schema):
    """Which stats to summarize, per which period, in which unit."""

    RENAMED = {"from": "date_from", "to": "date_to"}  # the names until 0.1

    type = STAT.type(required=True)
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
        "2026-11-01",
    )
    date_to = _summary_date(
        "Only stats recorded on or before this local date; at most "
        f"{MAX_SPAN.days} days after `date_from`.",
        "2026-11-30",  # a month: the examples sum up something, not an empty day
    )
    deprecated_from = alias(_summary_date("", "2026-11-01"), "from", "date_from")
    deprecated_to = alias(_summary_date("", "2026-11-30"), "to", "date_to")
    unit = _read_unit(
        f"The unit of the results; it must be one the type is measured in ({STATS.doc}). "
        "Default: the user's preferred unit (`weight_unit`, `height_unit`)."
    )

    @ma.validates_schema
    def _unit_of_type(self, data: dict[str, object], **_: object) -> None:
        stat_type, unit = data.get("type"), data.get("unit")
        if stat_type is None or unit is None:
            return
        units = STATS.types[str(stat_type)].units
        if unit not in units:
            raise ma.ValidationError(f"A {stat_type} is measured in {', '.join(units)}.", "unit")

    @ma.validates_schema
    def _range(self, data: dict[str, object], **_: object) -> None:
        start, end = data.get("date_from"), data.get("date_to")
        if not isinstance(start, date) or not isinstance(end, date):
            return
        if start > end:
            raise ma.ValidationError("Must not be before date_from.", "date_to")
        if end - start > MAX_SPAN:
            raise ma.ValidationError(
                f"Must be at most {MAX_SPAN.days} days after date_from.", "date_to"
            )


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
    count = how_many("How many stats were recorded in the period.", 4)


class BodyStatSummary(Schema):
    """One type of stat per day, week or month, in the user's time zone."""

    COMPLETE = True

    type = STAT.type()
    bucket = fields.String(
        validate=validate.OneOf(BUCKETS),
        metadata={"description": "The period of each bucket.", "example": "week"},
    )
    unit = fields.String(
        validate=validate.OneOf(STATS.units),
        metadata={"description": "The unit of `min`, `max` and `average`.", "example": "kg"},
    )
    timezone = fields.String(
        validate=validate.Length(max=64),  # as the profile's
        metadata={
            "description": "The user's time zone (IANA), which the periods follow.",
            "format": "iana-time-zone",  # as the profile's `timezone`
            "example": "Europe/Berlin",
        },
    )
    buckets = fields.List(
        fields.Nested(BodyStatSummaryPeriod),
        validate=validate.Length(max=MAX_SPAN.days + 1),  # a day each, at the most
        metadata={"description": "The periods that have stats, oldest first."},
    )
