"""Export schemas: what the export is asked, and the `grau-export` document it gives."""

from __future__ import annotations

from marshmallow import fields

from grau.accounts.schemas import User
from grau.body_stats.schemas import BodyStat
from grau.catalog.schemas import Equipment, Exercise
from grau.http.fields import one_of
from grau.http.schemas import Schema
from grau.moods.schemas import Mood, MoodTag
from grau.nutrition.schemas import NutritionEntry
from grau.plans.schemas import Plan
from grau.portability.export import FORMAT, VERSION
from grau.workouts.schemas import Workout

EXPORT_FORMATS = ("json", "csv")


class ExportQuery(Schema):
    """Which form the export takes."""

    format = one_of(
        EXPORT_FORMATS,
        load_default="json",
        metadata={
            "description": "`json`: one `grau-export` document (the default). `csv`: a ZIP "
            "of one CSV file per kind of item (also chosen by `Accept: application/zip`).",
            "example": "json",
        },
    )


def _every(schema: type[Schema], what: str) -> fields.List:
    return fields.List(
        fields.Nested(schema), metadata={"description": f"{what}, oldest first, as GET shows each."}
    )


class GrauExport(Schema):
    """Everything the user owns, each item as its own GET shows it."""

    COMPLETE = True

    format = one_of((FORMAT,), metadata={"description": "Always `grau-export`.", "example": FORMAT})
    version = fields.Integer(
        metadata={"description": "The document's layout version.", "example": VERSION}
    )
    exported_at = fields.AwareDateTime(
        metadata={
            "description": "When the export began (UTC).",
            "example": "2026-12-06T08:00:00+00:00",
        }
    )
    profile = fields.Nested(User, metadata={"description": "The account and profile."})
    body_stats = _every(BodyStat, "Body stats")
    nutrition_entries = _every(NutritionEntry, "Nutrition entries")
    mood_tags = _every(MoodTag, "Mood tags")
    moods = _every(Mood, "Moods")
    equipment = _every(Equipment, "The user's own equipment")
    exercises = _every(Exercise, "The user's own exercises")
    workouts = _every(Workout, "Workouts, each with its sets")
    plans = _every(Plan, "Plans")
