"""Workout and workout set schemas (create, update, read, page, list query) and an
exercise's progress."""

from __future__ import annotations

import math
from datetime import date, datetime
from typing import Any

import marshmallow as ma
from marshmallow import fields, validate

from grau.catalog.models import catalog_id
from grau.core.units import from_canonical
from grau.http.fields import (
    FullMatch,
    Number,
    Text,
    Timestamp,
    WholeNumber,
    client_id,
    how_many,
    one_of,
)
from grau.http.openapi import choice_name
from grau.http.pages import PageArgs, page_schema, sort_field
from grau.http.schemas import Case, OneOf, Schema, ServerTimestamps, in_order
from grau.workouts.models import SET_KINDS, WEIGHT_UNITS

# ----------------------------------------------------------------------------- sets

MAX_SEQUENCE = 1000
MAX_WEIGHT_KG = 1000.0
MAX_DISTANCE_METERS = 1_000_000.0
# Four phases (lowering, pause, lifting, pause), each in seconds or X for explosive.
TEMPO_PATTERN = r"^(?:[0-9]{1,2}|X)(?:-(?:[0-9]{1,2}|X)){3}$"


def _max_weight(unit: str) -> float:
    """1000 kg in `unit`, rounded down to 4 decimals so the bound itself is accepted."""
    return math.floor(from_canonical(MAX_WEIGHT_KG, unit) * 10_000) / 10_000


MAX_WEIGHT = {unit: _max_weight(unit) for unit in WEIGHT_UNITS}


def _read_unit_field(description: str) -> fields.String:
    """The `unit` query parameter of the reads: show set weights in kg or lb."""
    return fields.String(
        validate=validate.OneOf(WEIGHT_UNITS),
        # No example: Swagger UI would fill it in, and a first "Try it out"
        # should show sets as stored.
        metadata={
            "description": f"{description} Sets without a weight are unchanged; converted "
            "weights keep 12 significant digits, and each unit has its own ETag."
        },
    )


def _weight_cases(*, update: bool) -> OneOf:
    """`weight` and `weight_unit` as cases of a set's body: a weight in kg or in lb (at
    most 1000 kg), none (both null), or neither sent (an update then keeps the weight)."""
    in_unit = tuple(
        Case(
            choice_name(unit),
            (
                ("weight", {"type": "number", "minimum": 0, "maximum": MAX_WEIGHT[unit]}),
                ("weight_unit", {"type": "string", "const": unit}),
            ),
            required=("weight", "weight_unit"),
            description=f"{'Changes the weight to' if update else 'A set lifting'} one in {unit}.",
        )
        for unit in WEIGHT_UNITS
    )
    null = Case(
        "NullWeight",
        (("weight", {"type": "null"}), ("weight_unit", {"type": "null"})),
        required=("weight", "weight_unit"),
        description="Clears the weight: both null."
        if update
        else "A set without a weight, sent as `weight` and `weight_unit` null.",
    )
    neither = Case(
        "Details" if update else "Unweighted",
        (("weight", None), ("weight_unit", None)),
        description="A change that keeps the weight." if update else "A set without a weight.",
    )
    return OneOf((*in_unit, null, neither))


def _half_steps(value: float) -> None:
    if (value * 2) % 1:
        raise ma.ValidationError("Must be a whole or half number, e.g. 7 or 7.5.")


EXERCISE_ID = {
    "description": "The exercise: one of grau's catalog or one of the user's own.",
    "example": str(catalog_id("exercise", "barbell_bench_press")),  # on every fresh server
}
SEQUENCE = {
    "description": f"The set's position in the workout (1 to {MAX_SEQUENCE}), unique within it. "
    "On create, omit it to append the set after the last one. A position another set of the "
    "workout holds is a 409: sets are never renumbered behind your back.",
    "example": 1,
}


class _SetBody(Schema):
    """The fields a client sends for a set; read, create and update share them."""

    exercise_id = fields.UUID(metadata=EXERCISE_ID)
    sequence = WholeNumber(validate=validate.Range(min=1, max=MAX_SEQUENCE), metadata=SEQUENCE)
    reps = WholeNumber(
        allow_none=True,
        validate=validate.Range(min=0, max=1000),
        metadata={"description": "Repetitions done (0 to 1000).", "example": 8},
    )
    weight = Number(
        allow_none=True,
        validate=validate.Range(min=0, max=max(MAX_WEIGHT.values())),
        metadata={
            "description": "Load lifted, in `weight_unit`: from 0 to 1000 kg "
            f"({MAX_WEIGHT['lb']} lb). Sent together with `weight_unit`; both null for none.",
            "example": 100.0,
        },
    )
    weight_unit = fields.String(
        allow_none=True,
        validate=validate.OneOf(WEIGHT_UNITS),
        metadata={"description": "Unit of `weight`.", "example": "kg"},
    )
    rpe = Number(
        allow_none=True,
        validate=[validate.Range(min=1, max=10), _half_steps],
        metadata={
            "description": "Rate of perceived exertion, 1 to 10 in steps of 0.5.",
            "example": 8.5,
            "multipleOf": 0.5,
        },
    )
    rir = WholeNumber(
        allow_none=True,
        validate=validate.Range(min=0, max=10),
        metadata={"description": "Repetitions in reserve (0 to 10).", "example": 2},
    )
    rest_seconds = WholeNumber(
        allow_none=True,
        validate=validate.Range(min=0, max=3600),
        metadata={"description": "Rest after the set, in seconds (0 to 3600).", "example": 90},
    )
    tempo = Text(
        max_length=11,
        allow_none=True,
        validate=FullMatch(TEMPO_PATTERN, error="Four phases like 3-1-1-0 (seconds or X)."),
        metadata={
            "description": "Seconds lowering, paused, lifting and paused again, "
            "each 0-99 or X (explosive).",
            "example": "3-1-X-0",
        },
    )
    duration_seconds = WholeNumber(
        allow_none=True,
        validate=validate.Range(min=0, max=86400),
        metadata={
            "description": "How long the set lasted, in seconds (0 to 86400), e.g. a plank.",
            "example": 45,
        },
    )
    distance_meters = Number(
        allow_none=True,
        validate=validate.Range(min=0, max=MAX_DISTANCE_METERS),
        metadata={
            "description": "How far, in metres (0 to 1,000,000), e.g. a run or a carry.",
            "example": 5000.0,
        },
    )
    kind = one_of(
        SET_KINDS,
        metadata={
            "description": "What the set was for: `normal` (a working set, the default), "
            "`warmup`, `dropset` or `failure`.",
            "example": "normal",
        },
    )
    note = Text(
        max_length=1000,
        allow_none=True,
        metadata={"description": "Free text, up to 1000 characters.", "example": "Felt easy"},
    )

    @ma.validates_schema
    def _weight_pair(self, data: dict[str, Any], **_: Any) -> None:
        """What the weight cases state: weight and its unit are sent and cleared together."""
        sent = [name for name in ("weight", "weight_unit") if name in data]
        if len(sent) == 1:
            missing = "weight_unit" if sent == ["weight"] else "weight"
            raise ma.ValidationError("Send weight and weight_unit together.", missing)
        if sent and (data["weight"] is None) != (data["weight_unit"] is None):
            raise ma.ValidationError("Clear weight and weight_unit together (both null).", "weight")


class WorkoutSetCreate(_SetBody):
    """A new set in a workout."""

    NOT_IN_EXAMPLE = ("sequence",)  # left out, a set is appended: every try succeeds

    id = client_id()

    CASES = _weight_cases(update=False)

    exercise_id = fields.UUID(required=True, metadata=EXERCISE_ID)


class WorkoutSetUpdate(_SetBody):
    """A partial change to a set: only the fields sent change."""

    NOT_IN_EXAMPLE = ("sequence",)  # another set may hold it: the example would be a 409

    CASES = _weight_cases(update=True)


class WorkoutSet(_SetBody, ServerTimestamps):
    """A set as stored, in the unit it was logged in."""

    class Meta(Schema.Meta):
        dump_only = tuple(_SetBody().declared_fields)

    id = fields.UUID(dump_only=True, metadata={"example": "9e1c3b7a-52d4-4f0e-8a6b-3c2d1e0f9a8b"})
    workout_id = fields.UUID(
        dump_only=True,
        metadata={
            "description": "The workout this set belongs to.",
            "example": "4d2a7c1e-8b3f-4e6a-9c0d-1f2e3a4b5c6d",
        },
    )
    weight_kg = Number(
        dump_only=True,
        allow_none=True,
        metadata={
            "description": "`weight` in kg, to compare sets logged in different units.",
            "example": 100.0,
        },
    )


WorkoutSetPage = page_schema(WorkoutSet, "WorkoutSetPage")


class WorkoutSetQuery(PageArgs):
    """Filters and order for the sets of one workout."""

    exercise_id = fields.UUID(metadata={"description": "Only sets of this exercise."})
    sort = sort_field(("sequence", "-sequence"), "sequence")
    unit = _read_unit_field("Show each set's `weight` in this unit (`weight_unit` says so).")


class WorkoutSetReadQuery(Schema):
    """How to show one set."""

    unit = _read_unit_field("Show the set's `weight` in this unit (`weight_unit` says so).")


# ------------------------------------------------------------------------- workouts

NAME = {"description": "What the workout was, 1 to 120 characters.", "example": "Push day"}
STARTED_AT = {
    "description": "When the workout started (RFC 3339 with offset).",
    "example": "2026-11-20T18:00:00+01:00",
}
ENDED_AT = {
    "description": "When it ended, not before `started_at`; null while it is still going on.",
    "example": "2026-11-20T19:05:00+01:00",
}
WORKOUT_NOTE = {"description": "Free text, up to 1000 characters.", "example": "New gym"}
SPAN = ("started_at", "ended_at")


def _check_span(data: dict[str, Any]) -> None:
    started: datetime | None = data.get("started_at")
    ended: datetime | None = data.get("ended_at")
    if started is not None and ended is not None and ended < started:
        raise ma.ValidationError("Must not be before started_at.", "ended_at")


class WorkoutCreate(Schema):
    """A new workout; its sets are added under `/v1/workouts/{workout_id}/sets`."""

    id = client_id()

    name = Text(required=True, min_length=1, max_length=120, metadata=NAME)
    started_at = Timestamp(required=True, metadata=STARTED_AT)
    ended_at = Timestamp(allow_none=True, metadata=ENDED_AT)
    note = Text(max_length=1000, allow_none=True, metadata=WORKOUT_NOTE)

    @ma.validates_schema
    def _span(self, data: dict[str, Any], **_: Any) -> None:
        _check_span(data)


class WorkoutUpdate(Schema):
    """A partial change: only the fields sent change.

    `started_at` and `ended_at` make one time span: send both or neither
    (`ended_at` may be null), so that every update can be checked on its own.
    """

    JSON_SCHEMA = {"dependentRequired": {"started_at": ["ended_at"], "ended_at": ["started_at"]}}

    name = Text(min_length=1, max_length=120, metadata=NAME)
    started_at = Timestamp(metadata=STARTED_AT)
    ended_at = Timestamp(allow_none=True, metadata=ENDED_AT)
    note = Text(max_length=1000, allow_none=True, metadata=WORKOUT_NOTE)

    @ma.validates_schema
    def _span(self, data: dict[str, Any], **_: Any) -> None:
        sent = [name for name in SPAN if name in data]
        if len(sent) == 1:
            missing = "ended_at" if sent == ["started_at"] else "started_at"
            raise ma.ValidationError("Send started_at and ended_at together.", missing)
        _check_span(data)


class Workout(ServerTimestamps):
    """A workout as stored, with all its sets in order.

    `updated_at` and the ETag change when the workout or any of its sets does.
    """

    id = fields.UUID(dump_only=True, metadata={"example": "4d2a7c1e-8b3f-4e6a-9c0d-1f2e3a4b5c6d"})
    name = Text(max_length=120, dump_only=True, metadata=NAME)
    started_at = Timestamp(dump_only=True, bounded=False, metadata=STARTED_AT)
    ended_at = Timestamp(dump_only=True, bounded=False, allow_none=True, metadata=ENDED_AT)
    note = Text(max_length=1000, allow_none=True, dump_only=True, metadata=WORKOUT_NOTE)
    sets = fields.List(
        fields.Nested(WorkoutSet),
        dump_only=True,
        validate=validate.Length(max=MAX_SEQUENCE),
        metadata={"description": "The workout's sets, ordered by `sequence`."},
    )


WorkoutPage = page_schema(Workout, "WorkoutPage")
SORTS = ("started_at", "-started_at", "name", "-name", "created_at", "-created_at")


class WorkoutQuery(PageArgs):
    """Filters and order for the workout list."""

    started_from = Timestamp(
        bounded=False, metadata={"description": "Only workouts started at or after this moment."}
    )
    started_to = Timestamp(
        bounded=False, metadata={"description": "Only workouts started at or before this moment."}
    )
    sort = sort_field(SORTS, "-started_at")
    unit = _read_unit_field("Show the `weight` of every set in this unit (`weight_unit` says so).")

    _in_order = in_order("started_from", "started_to")


class WorkoutReadQuery(Schema):
    """How to show one workout."""

    unit = _read_unit_field("Show the `weight` of every set in this unit (`weight_unit` says so).")


# ----------------------------------------------------------------------- progress

PROGRESS_UNITS = ("kg", "lb")
# Bounds of a progress date filter: any real workout lies within, and a day
# added to the upper one stays representable.
FIRST_DAY, LAST_DAY = date(1900, 1, 1), date(2999, 12, 31)

UNIT = {"description": "Unit of every weight in this body.", "example": "kg"}


def _weight(description: str, example: float) -> fields.Float:
    return Number(allow_none=True, metadata={"description": description, "example": example})


def _day(value: date) -> None:
    if not FIRST_DAY <= value <= LAST_DAY:
        raise ma.ValidationError(f"Must be between {FIRST_DAY} and {LAST_DAY}.")


class ExerciseProgressQuery(Schema):
    """Which unit, and which days, the progress covers."""

    unit = one_of(
        PROGRESS_UNITS,
        metadata={
            "description": "Unit of the weights returned. Default: the user's preferred "
            "weight unit if it is kg or lb, else kg.",
            "example": "kg",
        },
    )
    date_from = fields.Date(
        validate=_day,
        metadata={
            "description": "Only workouts started on or after this day (in the user's time zone).",
            "example": "2026-01-01",
        },
    )
    date_to = fields.Date(
        validate=_day,
        metadata={
            "description": "Only workouts started on or before this day (in the user's time zone).",
            "example": "2026-12-31",
        },
    )

    _in_order = in_order("date_from", "date_to")


E1RM = (
    "Estimated one-rep max (Epley: weight * (1 + reps / 30); a single rep is its own "
    "weight), from sets with a weight above 0 and 1 to 12 reps; null if there is none."
)
WORKOUT_ID = {
    "description": "The workout (session) the set was performed in.",
    "example": "3c9e7b2a-5d1f-4e8a-9b6c-2a4d7e0f1b38",
}
STARTED_AT = {
    "description": "When that workout started (UTC).",
    "example": "2026-11-20T17:30:00+00:00",
}


class ExerciseBestSet(Schema):
    """The heaviest set (ties: more reps, then the earliest)."""

    COMPLETE = True

    set_id = fields.UUID(
        metadata={"description": "The set's id.", "example": "7e2d4c6b-1a3f-4b5e-8d9c-0f1e2a3b4c5d"}
    )
    workout_id = fields.UUID(metadata=WORKOUT_ID)
    started_at = Timestamp(bounded=False, metadata=STARTED_AT)
    weight = Number(metadata={"description": "Weight lifted, in `unit`.", "example": 100.0})
    reps = how_many("Repetitions.", 5, high=1000)  # as a set's
    e1rm = _weight(E1RM, 116.667)


class ExerciseProgressSession(Schema):
    """One workout's sets of the exercise, aggregated."""

    COMPLETE = True

    workout_id = fields.UUID(metadata=WORKOUT_ID)
    started_at = Timestamp(bounded=False, metadata=STARTED_AT)
    date = fields.Date(
        metadata={
            "description": "The day it started, in the user's time zone.",
            "example": "2026-11-20",
        }
    )
    set_count = how_many("Sets of this exercise in the workout.", 3, high=MAX_SEQUENCE)
    volume = Number(
        metadata={
            "description": "Sum of weight * reps over the sets with both, in `unit`.",
            "example": 1500.0,
        }
    )
    top_weight = _weight("Heaviest weight lifted, in `unit`; null if no set had one.", 100.0)
    best_e1rm = _weight(f"Best e1RM of the workout, in `unit`. {E1RM}", 116.667)


class ExerciseProgress(Schema):
    """The user's progress on one exercise, per workout in time order."""

    COMPLETE = True

    exercise_id = fields.UUID(
        metadata={"description": "The exercise.", "example": "9d1e5c3a-2b4f-4a6e-8c7d-1f0e2a3b4c5d"}
    )
    unit = one_of(PROGRESS_UNITS, metadata=UNIT)
    best_set = fields.Nested(
        ExerciseBestSet,
        allow_none=True,
        metadata={
            "description": "The best set in the period; null if no set had a weight and reps."
        },
    )
    sessions = fields.List(
        fields.Nested(ExerciseProgressSession),
        metadata={"description": "One entry per workout with this exercise, oldest first."},
    )
