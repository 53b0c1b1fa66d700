"""Export schemas: what the export is asked, and the `grau-export` document it gives."""

from __future__ import annotations

from marshmallow import fields, validate

from grau.accounts.schemas import User
from grau.body_stats.schemas import BodyStat
from grau.catalog.schemas import Equipment, Exercise
from grau.http.fields import COUNT_MAX, how_many, one_of
from grau.http.schemas import Schema
from grau.moods.schemas import Mood, MoodTag
from grau.nutrition.schemas import NutritionEntry
from grau.plans.schemas import Plan
from grau.portability.export import FORMAT, VERSION
from grau.portability.records import MAX_EXERCISE_NAME, MAX_ROWS, ROW_ERROR_TEXT_MAX
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


def _slugs(what: str) -> fields.Dict:
    return fields.Dict(
        keys=fields.String(validate=validate.Length(max=36)),
        values=fields.String(validate=validate.Length(max=64)),  # a slug
        metadata={
            "description": f"Each of grau's {what}: its id on this server -> its slug, which "
            "an import on another server finds it by.",
            "example": {"9d1e5c3a-2b4f-4a6e-8c7d-1f0e2a3b4c5d": "barbell_bench_press"},
        },
    )


class CatalogSlugs(Schema):
    """grau's catalog items by id, with their slugs."""

    COMPLETE = True

    exercises = _slugs("exercises")
    equipment = _slugs("equipment")


class GrauExport(Schema):
    """Everything the user owns, each item as its own GET shows it."""

    COMPLETE = True

    format = one_of((FORMAT,), metadata={"description": "Always `grau-export`.", "example": FORMAT})
    version = fields.Integer(
        validate=[validate.OneOf((VERSION,)), validate.Range(VERSION, VERSION)],
        metadata={"description": "The document's layout version.", "example": VERSION},
    )
    exported_at = fields.AwareDateTime(
        metadata={
            "description": "When the export began (UTC).",
            "example": "2026-12-06T08:00:00+00:00",
        }
    )
    profile = fields.Nested(User, metadata={"description": "The account and profile."})
    catalog = fields.Nested(
        "CatalogSlugs",
        metadata={"description": "grau's catalog as the items refer to it: ids and slugs."},
    )
    body_stats = _every(BodyStat, "Body stats")
    nutrition_entries = _every(NutritionEntry, "Nutrition entries")
    mood_tags = _every(MoodTag, "Mood tags")
    moods = _every(Mood, "Moods")
    equipment = _every(Equipment, "The user's own equipment")
    exercises = _every(Exercise, "The user's own exercises")
    workouts = _every(Workout, "Workouts, each with its sets")
    plans = _every(Plan, "Plans")


# ------------------------------------------------------------------------- imports

IMPORT_SOURCES = ("grau", "strong", "hevy")
MATCHES = ("own", "exact", "alias", "fuzzy", "created")


class ImportQuery(Schema):
    """What the uploaded file is, and how to import it."""

    source = one_of(
        IMPORT_SOURCES,
        required=True,
        metadata={
            "description": "What the file is: `grau` (a grau export, `GET /v1/export`'s "
            "JSON), `strong` (Strong's CSV export, any of its layouts) or `hevy` (Hevy's "
            "CSV export).",
            "example": "strong",
        },
    )
    dry_run = fields.Boolean(
        truthy={"true"},
        falsy={"false"},
        load_default=False,
        metadata={
            "description": "`true`: check the file and answer the report, keeping nothing.",
            "example": False,
        },
    )
    on_error = one_of(
        ("abort", "skip"),
        load_default="abort",
        metadata={
            "description": "`abort` (the default): a file with rows in error imports "
            "nothing (422, the errors by line). `skip`: import the other rows and list "
            "those left out in the report's `errors`.",
            "example": "abort",
        },
    )
    weight_unit = one_of(
        ("kg", "lb"),
        metadata={
            "description": "The unit of a Strong file whose rows do not say it (the app's "
            "setting when it exported). Default: the profile's `weight_unit`.",
            "example": "kg",
        },
    )


def _count(what: str) -> fields.Integer:
    # A CSV file has at most MAX_ROWS rows; a grau export (up to IMPORT_MAX_MB) may hold more.
    return how_many(what, 12)


class ImportCounts(Schema):
    """How many items of each kind."""

    COMPLETE = True

    profile = how_many("The profile (1 if its preferences changed).", 1, high=1)
    body_stats = _count("Body stats.")
    nutrition_entries = _count("Nutrition entries.")
    mood_tags = _count("Mood tags.")
    moods = _count("Moods.")
    equipment = _count("Equipment of the user's own.")
    exercises = _count("Exercises of the user's own.")
    workouts = _count("Workouts.")
    workout_sets = _count("Sets.")
    plans = _count("Plans.")


class ImportedExercise(Schema):
    """How one exercise name of the file was matched."""

    COMPLETE = True

    name = fields.String(
        validate=validate.Length(max=MAX_EXERCISE_NAME),
        metadata={"description": "As the file spells it.", "example": "Squat (Barbell)"},
    )
    exercise_id = fields.UUID(
        allow_none=True,
        metadata={
            "description": "The exercise its sets use (null: made by a dry run, which keeps "
            "nothing).",
            "example": "0f8c2b1e-6a3d-4c5e-9b7a-1d2e3f4a5b6c",
        },
    )
    match = one_of(
        MATCHES,
        metadata={
            "description": "`own`: the user's exercise of that name; `exact`, `alias` or "
            "`fuzzy`: an exercise of grau's catalog, by its name, by a known spelling of the "
            "app's, or by a close spelling (`score` at least 0.88); `created`: a new "
            "exercise of the user's own.",
            "example": "alias",
        },
    )
    score = fields.Float(
        metadata={"description": "How close the names are, 0 to 1.", "example": 1.0}
    )


class ImportRowError(Schema):
    """A row or item left out, and why."""

    COMPLETE = True

    line = fields.Integer(
        allow_none=True,
        validate=validate.Range(1, COUNT_MAX),
        metadata={
            "description": "Its line in a CSV file (the header is line 1); null in a grau export.",
            "example": 12,
        },
    )
    item = fields.String(
        allow_none=True,
        validate=validate.Length(max=ROW_ERROR_TEXT_MAX),
        metadata={
            "description": "Where it is in a grau export, e.g. `workouts[3]`; null in a CSV file.",
            "example": None,
        },
    )
    message = fields.String(
        validate=validate.Length(max=ROW_ERROR_TEXT_MAX),
        metadata={"description": "What is wrong.", "example": "Reps: 'abc' is not a whole number."},
    )


class ImportReport(Schema):
    """What an import did, or (a dry run) would do."""

    COMPLETE = True

    source = one_of(IMPORT_SOURCES, metadata={"description": "As asked.", "example": "strong"})
    variant = fields.String(
        validate=validate.Length(max=32),
        metadata={
            "description": "The file's layout, as read: `grau-export-1`, `strong-comma`, "
            "`strong-semicolon`, `strong-numbered`, `hevy-kg` or `hevy-lb`.",
            "example": "strong-comma",
        },
    )
    dry_run = fields.Boolean(metadata={"description": "Nothing was kept.", "example": False})
    created = fields.Nested(ImportCounts, metadata={"description": "Items made."})
    updated = fields.Nested(
        ImportCounts, metadata={"description": "Items changed (a grau export's profile)."}
    )
    skipped = fields.Nested(
        ImportCounts, metadata={"description": "Rows an earlier import made already."}
    )
    exercises = fields.List(
        fields.Nested(ImportedExercise),
        validate=validate.Length(max=MAX_ROWS),
        metadata={"description": "Each exercise name of the file, and what it became."},
    )
    errors = fields.List(
        fields.Nested(ImportRowError),
        validate=validate.Length(max=COUNT_MAX),  # a row, or an item of a grau export, each
        metadata={"description": "Rows or items left out (with `on_error=skip`)."},
    )
