"""Every model module, imported once so the metadata is complete (alembic, tests)."""

from grau.accounts.models import AuthSession, RefreshToken, User
from grau.body_stats.models import BodyStat
from grau.catalog.models import Equipment, Exercise, ExerciseMuscle
from grau.core.revisions import CatalogRevision
from grau.db.model import Base
from grau.http.idempotency import IdempotencyKey
from grau.moods.models import Mood, MoodTag
from grau.nutrition.models import NutritionEntry
from grau.plans.models import Plan, PlanDay, PlannedExercise
from grau.portability.models import ImportKey
from grau.sync.models import SyncCounter, Tombstone
from grau.workouts.models import Workout, WorkoutSet

__all__ = [
    "AuthSession",
    "Base",
    "BodyStat",
    "CatalogRevision",
    "Equipment",
    "Exercise",
    "ExerciseMuscle",
    "IdempotencyKey",
    "ImportKey",
    "Mood",
    "MoodTag",
    "NutritionEntry",
    "Plan",
    "PlanDay",
    "PlannedExercise",
    "RefreshToken",
    "SyncCounter",
    "Tombstone",
    "User",
    "Workout",
    "WorkoutSet",
]
