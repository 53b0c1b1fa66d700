"""Plan schemas: a plan is one document (its days and their planned exercises), page and query.

Days and exercises are lists whose order is their `position`: clients send the
lists in order and read `position` back, never set it.
"""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from marshmallow import fields, validate

from grau.catalog.models import catalog_id
from grau.http.fields import Number, StrictBoolean, Text, WholeNumber, client_id
from grau.http.pages import PageArgs, page_schema, sort_field
from grau.http.schemas import Case, OneOf, Schema, ServerTimestamps

MAX_DAYS = 14
MAX_EXERCISES_PER_DAY = 30
WEIGHT_UNITS = ("kg", "lb")
# Generous enough for a sled leg press in pounds; anything above is a typo.
MAX_TARGET_WEIGHT = 5000

NOTE = {"description": "Free text, up to 1000 characters.", "example": "Pause 1 s at the bottom"}
DESCRIPTION = {
    "description": "What the plan is for, up to 2000 characters.",
    "example": "Three full-body days a week for the first two months.",
}
IS_ACTIVE_TEXT = (
    "Whether this is the user's active plan; a user has at most one. "
    "Setting it to true (on create or update) deactivates the plan that was active "
    "before, in the same transaction. If another plan is activated concurrently, "
    "one of the two requests gets 409."
)
IS_ACTIVE = {"description": IS_ACTIVE_TEXT, "example": True}
POSITION = {
    "description": "0-based place in the list; it is the order in which the list was sent.",
    "example": 0,
}


# `_whole_weight` as the cases of the body: a target weight with its unit, or neither.
WEIGHT_CASES = OneOf(
    (
        Case(
            "Weighted",
            (
                ("target_weight", {"type": "number", "minimum": 0, "maximum": MAX_TARGET_WEIGHT}),
                ("weight_unit", {"$ref": "#/components/schemas/WeightUnit"}),
            ),
            required=("target_weight", "weight_unit"),
            description="With a target weight, in its unit.",
        ),
        Case(
            "Unweighted",
            (("target_weight", {"type": "null"}), ("weight_unit", {"type": "null"})),
            description="Without a target weight: `target_weight` and `weight_unit` null or "
            "not sent.",
        ),
    )
)


def _count(low: int, high: int, description: str, example: int) -> fields.Integer:
    return WholeNumber(
        allow_none=True,
        validate=validate.Range(min=low, max=high),
        metadata={"description": f"{description} ({low}-{high}).", "example": example},
    )


class PlannedExerciseCreate(Schema):
    """An exercise planned on a day, with optional targets.

    Targets are optional; `target_weight` and `weight_unit` come together.
    """

    CASES = WEIGHT_CASES

    exercise_id = fields.UUID(
        required=True,
        metadata={
            "description": "An exercise from grau's catalog or one of the user's own; "
            "anything else is a 422 on this field.",
            "example": str(catalog_id("exercise", "barbell_back_squat")),
        },
    )
    target_sets = _count(1, 20, "Sets to do", 3)
    target_reps = _count(1, 100, "Repetitions per set", 8)
    target_weight = Number(
        allow_none=True,
        allow_nan=False,
        validate=validate.Range(min=0, max=MAX_TARGET_WEIGHT),
        metadata={
            "description": "Load per repetition in `weight_unit` (0 for bodyweight); "
            "sent together with `weight_unit`. Stored and returned as sent.",
            "example": 60.0,
        },
    )
    weight_unit = fields.String(
        allow_none=True,
        validate=validate.OneOf(WEIGHT_UNITS),
        metadata={"description": "Unit of `target_weight`.", "example": "kg"},
    )
    target_rpe = Number(
        allow_none=True,
        allow_nan=False,
        validate=validate.Range(min=1, max=10),
        metadata={"description": "Target rate of perceived exertion (1-10).", "example": 8.0},
    )
    note = Text(max_length=1000, allow_none=True, metadata=NOTE)

    @ma.validates_schema
    def _whole_weight(self, data: dict[str, Any], **_: Any) -> None:
        weight, unit = data.get("target_weight"), data.get("weight_unit")
        if weight is not None and unit is None:
            raise ma.ValidationError("Send weight_unit with target_weight.", "weight_unit")
        if unit is not None and weight is None:
            raise ma.ValidationError("Send target_weight with weight_unit.", "target_weight")


DAY_NAME = {"description": "The day's name, 1 to 80 characters.", "example": "Day A: push"}
EXERCISES_TEXT = f"The exercises of the day in order (at most {MAX_EXERCISES_PER_DAY})."


class PlanDayCreate(Schema):
    """A day of a plan and the exercises planned on it, in order."""

    name = Text(required=True, min_length=1, max_length=80, metadata=DAY_NAME)
    note = Text(max_length=1000, allow_none=True, metadata=NOTE)
    exercises = fields.List(
        fields.Nested(PlannedExerciseCreate),
        validate=validate.Length(max=MAX_EXERCISES_PER_DAY),
        metadata={"description": EXERCISES_TEXT + " Default: none."},
    )


NAME = {"description": "The plan's name, 1 to 120 characters.", "example": "Full body 3x"}
DAYS = {
    "description": f"The plan's days in order (at most {MAX_DAYS}). On update, sending "
    "`days` replaces all of them (and their exercises) with the list sent.",
}


def _days(**kwargs: Any) -> fields.List:
    return fields.List(
        fields.Nested(PlanDayCreate),
        validate=validate.Length(max=MAX_DAYS),
        metadata=DAYS,
        **kwargs,
    )


class PlanCreate(Schema):
    """A new plan, with its days and exercises in one document."""

    id = client_id()

    name = Text(required=True, min_length=1, max_length=120, metadata=NAME)
    description = Text(max_length=2000, allow_none=True, metadata=DESCRIPTION)
    is_active = StrictBoolean(
        metadata={"description": IS_ACTIVE_TEXT + " Default: false.", "example": True}
    )

    days = _days()


class PlanUpdate(Schema):
    """A partial change: only the fields sent change; `days`, when sent, replaces every day."""

    name = Text(min_length=1, max_length=120, metadata=NAME)
    description = Text(max_length=2000, allow_none=True, metadata=DESCRIPTION)
    is_active = StrictBoolean(metadata=IS_ACTIVE)
    days = _days()


class PlannedExercise(Schema):
    """A planned exercise as stored."""

    COMPLETE = True

    position = fields.Integer(
        dump_only=True, validate=validate.Range(0, MAX_EXERCISES_PER_DAY - 1), metadata=POSITION
    )
    exercise_id = fields.UUID(
        dump_only=True,
        metadata={
            "description": "The exercise (grau's catalog or the user's own).",
            "example": str(catalog_id("exercise", "barbell_back_squat")),
        },
    )
    target_sets = fields.Integer(
        dump_only=True,
        allow_none=True,
        validate=validate.Range(1, 20),  # as a create takes them
        metadata={"description": "Sets to do.", "example": 3},
    )
    target_reps = fields.Integer(
        dump_only=True,
        allow_none=True,
        validate=validate.Range(1, 100),
        metadata={"description": "Repetitions per set.", "example": 8},
    )
    target_weight = fields.Float(
        dump_only=True,
        allow_none=True,
        metadata={"description": "Load per repetition in `weight_unit`.", "example": 60.0},
    )
    weight_unit = fields.String(
        dump_only=True,
        allow_none=True,
        validate=validate.OneOf(WEIGHT_UNITS),
        metadata={"description": "Unit of `target_weight`, as sent.", "example": "kg"},
    )
    target_rpe = fields.Float(
        dump_only=True,
        allow_none=True,
        metadata={"description": "Target rate of perceived exertion.", "example": 8.0},
    )
    note = Text(max_length=1000, dump_only=True, allow_none=True, metadata=NOTE)


class PlanDay(Schema):
    """A day of a plan as stored."""

    COMPLETE = True

    position = fields.Integer(
        dump_only=True, validate=validate.Range(0, MAX_DAYS - 1), metadata=POSITION
    )
    name = Text(max_length=80, dump_only=True, metadata=DAY_NAME)
    note = Text(max_length=1000, dump_only=True, allow_none=True, metadata=NOTE)
    exercises = fields.List(
        fields.Nested(PlannedExercise),
        dump_only=True,
        validate=validate.Length(max=MAX_EXERCISES_PER_DAY),
        metadata={"description": EXERCISES_TEXT},
    )


class Plan(ServerTimestamps):
    """A plan as stored, with every day and planned exercise."""

    id = fields.UUID(dump_only=True, metadata={"example": "2f6b0c1d-8e3a-4d5f-b7c9-1a2e3f4d5c6b"})
    name = Text(max_length=120, dump_only=True, metadata=NAME)
    description = Text(max_length=2000, dump_only=True, allow_none=True, metadata=DESCRIPTION)
    is_active = fields.Boolean(dump_only=True, metadata=IS_ACTIVE)
    days = fields.List(
        fields.Nested(PlanDay),
        dump_only=True,
        validate=validate.Length(max=MAX_DAYS),
        metadata=DAYS,
    )


PlanPage = page_schema(Plan, "PlanPage")
SORTS = ("name", "-name", "created_at", "-created_at", "updated_at", "-updated_at")


class PlanQuery(PageArgs):
    """Filters and order for the plan list."""

    is_active = fields.Boolean(
        truthy={"true"},
        falsy={"false"},
        metadata={
            "description": "`true`: only the active plan; `false`: only the others.",
            "example": True,
        },
    )
    sort = sort_field(SORTS, "name")
