"""Equipment and exercise schemas: create, update, read, page and list query for each."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from marshmallow import fields, validate

from grau.catalog.models import (
    DIFFICULTIES,
    EQUIPMENT_CATEGORIES,
    EXERCISE_CATEGORIES,
    LATERALITIES,
    MUSCLES,
    catalog_id,
)
from grau.http.fields import Text, client_id, one_of
from grau.http.pages import PageArgs, page_schema, sort_field
from grau.http.schemas import Schema, ServerTimestamps

SORTS = ("name", "-name", "category", "-category", "created_at", "-created_at")
SOURCES = ("all", "system", "own")
NAME_MAX = 80  # the models' column length
MAX_EQUIPMENT = 20
MAX_STEPS = 30
STEP_MAX = 500

# ------------------------------------------------------------------ shared fields


class SortedList(fields.List):
    """A list dumped in sorted order, so a representation (and its ETag) never
    depends on the order rows were loaded or sent in."""

    def _serialize(self, value: Any, attr: Any, obj: Any, **kwargs: Any) -> Any:
        if value is not None:
            value = sorted(value, key=str)
        return super()._serialize(value, attr, obj, **kwargs)


class SystemFlag(fields.Boolean):
    """`true` for grau's catalog rows (no owner), from the row's `user_id`."""

    def __init__(self) -> None:
        super().__init__(
            attribute="user_id",
            dump_only=True,
            metadata={
                "description": "`true` for grau's catalog entries (read-only, the same for "
                "everyone), `false` for the user's own.",
                "example": True,
            },
        )

    def _serialize(self, value: Any, attr: Any, obj: Any, **kwargs: Any) -> bool:
        return value is None


def _unique(values: list[Any]) -> None:
    if len(set(values)) != len(values):
        raise ma.ValidationError("Must not list the same value twice.")


def _name(example: str, **kwargs: Any) -> Text:
    return Text(
        min_length=1,
        max_length=NAME_MAX,
        metadata={
            "description": "Display name; unique among the user's own entries (409 otherwise).",
            "example": example,
        },
        **kwargs,
    )


def _slug() -> fields.String:
    return fields.String(
        dump_only=True,
        allow_none=True,
        validate=validate.Length(max=64),
        metadata={
            "description": "Stable handle of a catalog entry (the same on every grau); "
            "null for the user's own.",
            "example": "barbell",
        },
    )


def _id(example: str) -> fields.UUID:
    return fields.UUID(dump_only=True, metadata={"description": "Its id.", "example": example})


def _source() -> fields.String:
    return one_of(
        SOURCES,
        load_default="all",
        metadata={
            "description": "`system`: grau's catalog only; `own`: the user's own only; "
            "`all` (default): both.",
            "example": "all",
        },
    )


def _search() -> Text:
    return Text(
        min_length=1,
        max_length=NAME_MAX,
        metadata={
            "description": "Only entries whose name contains this text, ignoring case "
            "(`%` and `_` match themselves).",
            "example": "press",
        },
    )


# ---------------------------------------------------------------------- equipment

EQUIPMENT_CATEGORY = {
    "description": "Kind of equipment.",
    "example": "free_weights",
}
DESCRIPTION = {
    "description": "What it is, up to 1000 characters.",
    "example": "A long bar loaded with plates.",
}


class EquipmentCreate(Schema):
    """A new piece of the user's own equipment."""

    id = client_id()

    name = _name("Sandbag", required=True)
    category = one_of(EQUIPMENT_CATEGORIES, required=True, metadata=EQUIPMENT_CATEGORY)
    description = Text(max_length=1000, allow_none=True, metadata=DESCRIPTION)


class EquipmentUpdate(Schema):
    """A partial change to the user's own equipment: only the fields sent change."""

    name = _name("Sandbag")
    category = one_of(EQUIPMENT_CATEGORIES, metadata=EQUIPMENT_CATEGORY)
    description = Text(max_length=1000, allow_none=True, metadata=DESCRIPTION)


class Equipment(ServerTimestamps):
    """A piece of equipment: grau's (`system`) or the user's own."""

    id = _id("0f6c2b1e-7d4a-4e59-9a1b-3c2d5e8f7a60")
    slug = _slug()
    system = SystemFlag()
    name = _name("Barbell", dump_only=True)
    category = one_of(EQUIPMENT_CATEGORIES, dump_only=True, metadata=EQUIPMENT_CATEGORY)
    description = Text(max_length=1000, allow_none=True, dump_only=True, metadata=DESCRIPTION)


EquipmentPage = page_schema(Equipment, "EquipmentPage")


class EquipmentQuery(PageArgs):
    """Filters and order for the equipment list."""

    category = one_of(EQUIPMENT_CATEGORIES, metadata=EQUIPMENT_CATEGORY)
    q = _search()
    source = _source()
    sort = sort_field(SORTS, "name")


# ---------------------------------------------------------------------- exercises


def _muscles(description: str, example: list[str], least: int, **kwargs: Any) -> SortedList:
    return SortedList(
        one_of(MUSCLES, metadata={"example": example[0]}),
        validate=[validate.Length(min=least, max=len(MUSCLES)), _unique],
        metadata={"description": description, "example": example, "uniqueItems": True},
        **kwargs,
    )


PRIMARY = "Muscles the exercise mainly works (at least one), in alphabetical order."
PRIMARY_SHOWN = (
    "Muscles the exercise mainly works, in alphabetical order: at least one, except for "
    "an exercise an import made from a name grau did not know (none until you set them)."
)
SECONDARY = (
    "Muscles it also works, in alphabetical order. A muscle that is also primary is listed "
    "as primary only."
)
EXERCISE_CATEGORY = {"description": "Kind of exercise.", "example": "strength"}
LATERALITY = {
    "description": "`bilateral`: both sides at once; `unilateral`: one side at a time.",
    "example": "bilateral",
}
DIFFICULTY = {"description": "How hard it is to learn and perform.", "example": "beginner"}
EQUIPMENT_IDS = {
    "description": f"Ids of the equipment it needs (grau's or the user's own; at most "
    f"{MAX_EQUIPMENT}), in id order. Another user's equipment is a 422.",
    "example": [str(catalog_id("equipment", "barbell"))],  # on every fresh server
    "uniqueItems": True,
}
INSTRUCTIONS = {
    "description": f"How to perform it, step by step (at most {MAX_STEPS} steps of "
    f"{STEP_MAX} characters each).",
    "example": ["Lie on the bench with your feet flat.", "Lower the bar to your chest."],
}


def _equipment_ids(**kwargs: Any) -> SortedList:
    return SortedList(
        fields.UUID(metadata={"example": str(catalog_id("equipment", "barbell"))}),
        validate=[validate.Length(max=MAX_EQUIPMENT), _unique],
        metadata=EQUIPMENT_IDS,
        **kwargs,
    )


def _instructions(**kwargs: Any) -> fields.List:
    return fields.List(
        Text(min_length=1, max_length=STEP_MAX, metadata={"example": "Brace your core."}),
        validate=validate.Length(max=MAX_STEPS),
        metadata=INSTRUCTIONS,
        **kwargs,
    )


def _primary(**kwargs: Any) -> SortedList:
    return _muscles(PRIMARY, ["glutes", "hamstrings"], 1, **kwargs)


def _secondary(**kwargs: Any) -> SortedList:
    return _muscles(SECONDARY, ["lower_back"], 0, **kwargs)


class ExerciseCreate(Schema):
    """A new exercise of the user's own."""

    id = client_id()

    name = _name("Sandbag Shouldering", required=True)
    category = one_of(EXERCISE_CATEGORIES, required=True, metadata=EXERCISE_CATEGORY)
    primary_muscles = _primary(required=True)
    secondary_muscles = _secondary(load_default=list)
    equipment_ids = _equipment_ids(load_default=list)
    laterality = one_of(
        LATERALITIES,
        load_default="bilateral",
        metadata={**LATERALITY, "description": f"{LATERALITY['description']} Default bilateral."},
    )
    difficulty = one_of(
        DIFFICULTIES,
        load_default="beginner",
        metadata={**DIFFICULTY, "description": f"{DIFFICULTY['description']} Default beginner."},
    )
    instructions = _instructions(load_default=list)


class ExerciseUpdate(Schema):
    """A partial change to the user's own exercise: only the fields sent change."""

    name = _name("Sandbag Shouldering")
    category = one_of(EXERCISE_CATEGORIES, metadata=EXERCISE_CATEGORY)
    primary_muscles = _primary()
    secondary_muscles = _secondary()
    equipment_ids = _equipment_ids()
    laterality = one_of(LATERALITIES, metadata=LATERALITY)
    difficulty = one_of(DIFFICULTIES, metadata=DIFFICULTY)
    instructions = _instructions()


class Exercise(ServerTimestamps):
    """An exercise: grau's (`system`) or the user's own."""

    id = _id("9d1e5c3a-2b4f-4a6e-8c7d-1f0e2a3b4c5d")
    slug = _slug()
    system = SystemFlag()
    name = _name("Barbell Bench Press", dump_only=True)
    category = one_of(EXERCISE_CATEGORIES, dump_only=True, metadata=EXERCISE_CATEGORY)
    # At least one, but for an exercise an import made from a name grau did not know.
    primary_muscles = _muscles(PRIMARY_SHOWN, ["glutes", "hamstrings"], 0, dump_only=True)
    secondary_muscles = _secondary(dump_only=True)
    equipment_ids = _equipment_ids(dump_only=True)
    laterality = one_of(LATERALITIES, dump_only=True, metadata=LATERALITY)
    difficulty = one_of(DIFFICULTIES, dump_only=True, metadata=DIFFICULTY)
    instructions = _instructions(dump_only=True)


ExercisePage = page_schema(Exercise, "ExercisePage")


class ExerciseQuery(PageArgs):
    """Filters and order for the exercise list; filters combine with AND."""

    muscle = one_of(
        MUSCLES,
        metadata={
            "description": "Only exercises that work this muscle, as primary or secondary.",
            "example": "chest",
        },
    )
    primary_muscle = one_of(
        MUSCLES,
        metadata={"description": "Only exercises with this primary muscle.", "example": "chest"},
    )
    equipment_id = fields.UUID(
        metadata={
            "description": "Only exercises that use this equipment.",
            "example": "0f6c2b1e-7d4a-4e59-9a1b-3c2d5e8f7a60",
        }
    )
    category = one_of(EXERCISE_CATEGORIES, metadata=EXERCISE_CATEGORY)
    difficulty = one_of(DIFFICULTIES, metadata=DIFFICULTY)
    laterality = one_of(LATERALITIES, metadata=LATERALITY)
    q = _search()
    source = _source()
    sort = sort_field(SORTS, "name")
