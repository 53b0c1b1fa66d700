"""Catalog rules: system rows shared and read-only, private rows per user, list filters,
and an exercise's progress computed in SQL from the user's logged sets."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Float, Select, and_, case, cast, func, select
from sqlalchemy.orm import Session, selectinload

from grau import crud
from grau.catalog.models import Equipment, Exercise, ExerciseMuscle
from grau.catalog.schemas import PROGRESS_UNITS
from grau.db.model import utcnow
from grau.domain_errors import Invalid
from grau.units import from_canonical
from grau.users.models import User
from grau.workouts.models import Workout, WorkoutSet

# ----------------------------------------------------------------- list filters


def _by_source(query: Select[Any], model: Any, source: str) -> Select[Any]:
    """`system` or `own` rows; the visibility rule has already left only these two kinds."""
    if source == "system":
        return query.where(model.user_id.is_(None))
    if source == "own":
        return query.where(model.user_id.is_not(None))
    return query


def _by_name(query: Select[Any], model: Any, text: str | None) -> Select[Any]:
    if text is None:
        return query
    # ILIKE on PostgreSQL, lower() LIKE lower() on SQLite; autoescape makes % and _
    # literal. NUL never gets here: the schema refuses it.
    return query.where(model.name.icontains(text, autoescape=True))


def _equipment_filter(query: Select[Any], args: Mapping[str, Any]) -> Select[Any]:
    if "category" in args:
        query = query.where(Equipment.category == args["category"])
    query = _by_name(query, Equipment, args.get("q"))
    return _by_source(query, Equipment, args["source"])


def _exercise_filter(query: Select[Any], args: Mapping[str, Any]) -> Select[Any]:
    for name in ("category", "difficulty", "laterality"):
        if name in args:
            query = query.where(getattr(Exercise, name) == args[name])
    if "muscle" in args:
        query = query.where(Exercise.muscles.any(ExerciseMuscle.muscle == args["muscle"]))
    if "primary_muscle" in args:
        query = query.where(
            Exercise.muscles.any(
                and_(ExerciseMuscle.muscle == args["primary_muscle"], ExerciseMuscle.is_primary)
            )
        )
    if "equipment_id" in args:
        query = query.where(Exercise.equipment.any(Equipment.id == args["equipment_id"]))
    query = _by_name(query, Exercise, args.get("q"))
    return _by_source(query, Exercise, args["source"])


# ------------------------------------------------------------------- exercise rules


def _visible_equipment(
    session: Session, user_id: uuid.UUID, ids: list[uuid.UUID]
) -> list[Equipment]:
    """The equipment with these ids, each grau's or the user's own; else 422."""
    if not ids:
        return []
    found = list(
        session.scalars(
            select(Equipment).where(
                Equipment.id.in_(ids), (Equipment.user_id == user_id) | Equipment.user_id.is_(None)
            )
        )
    )
    unknown = set(ids) - {e.id for e in found}
    if unknown:
        # The same message for another user's equipment as for none at all: ids reveal nothing.
        missing = ", ".join(sorted(str(i) for i in unknown))
        raise Invalid("equipment_ids", f"No equipment of yours or grau's has id {missing}.")
    return found


def _set_muscles(
    exercise: Exercise, primary: list[str] | None, secondary: list[str] | None
) -> None:
    """Replace what was sent; a muscle in both lists is primary only.

    A primary-wins rule rather than a 422: JSON Schema cannot state "no muscle
    in both" in a form SDKs and fuzzers can generate from (21 if/then rules).
    """
    if primary is None:
        primary = exercise.primary_muscles
    if secondary is None:
        secondary = exercise.secondary_muscles
    roles = {m: False for m in secondary} | {m: True for m in primary}
    # SQLAlchemy turns a removed and re-added (exercise, muscle) row into an UPDATE.
    exercise.muscles = [ExerciseMuscle(muscle=m, is_primary=p) for m, p in roles.items()]


def _assign_exercise(
    session: Session, user_id: uuid.UUID, exercise: Exercise, values: Mapping[str, Any]
) -> None:
    values = dict(values)
    primary = values.pop("primary_muscles", None)
    secondary = values.pop("secondary_muscles", None)
    equipment_ids = values.pop("equipment_ids", None)
    crud.apply_changes(exercise, values)
    if primary is not None or secondary is not None:
        _set_muscles(exercise, primary, secondary)
    if equipment_ids is not None:
        exercise.equipment = _visible_equipment(session, user_id, equipment_ids)


IN_USE = "This exercise is used in logged sets or in a plan; remove it from those first."


@dataclass
class ExerciseService(crud.OwnedService):
    def delete(
        self, session: Session, user_id: uuid.UUID, item_id: uuid.UUID, *, if_match: str | None
    ) -> None:
        # Sets and planned exercises reference exercises with ON DELETE RESTRICT:
        # the database refuses, and the conflict says why.
        item = self.get_writable(session, user_id, item_id, if_match=if_match)
        session.delete(item)
        crud.commit(session, user_id, conflict=IN_USE)


EXERCISES = ExerciseService(
    Exercise,
    filter=_exercise_filter,
    assign=_assign_exercise,
    conflict="You already have an exercise with this name.",
    shared=True,
    options=(selectinload(Exercise.muscles), selectinload(Exercise.equipment)),
)


@dataclass
class EquipmentService(crud.OwnedService):
    def delete(
        self, session: Session, user_id: uuid.UUID, item_id: uuid.UUID, *, if_match: str | None
    ) -> None:
        """Delete the user's equipment; their exercises that used it lose it.

        The database drops the links (ON DELETE CASCADE); those exercises get a
        new version (a new ETag).
        """
        item = self.get_writable(session, user_id, item_id, if_match=if_match)
        using = select(Exercise).where(
            Exercise.user_id == user_id, Exercise.equipment.any(Equipment.id == item.id)
        )
        for exercise in session.scalars(using):
            exercise.updated_at = utcnow()
        crud.remove(session, item, user_id)


EQUIPMENT = EquipmentService(
    Equipment,
    filter=_equipment_filter,
    conflict="You already have equipment with this name.",
    shared=True,
)


# ------------------------------------------------------------------------ progress

# The same visibility rule (404 unless grau's or the user's own) without loading
# the muscles and equipment that progress does not show.
_EXERCISE_ROW = replace(EXERCISES, options=())

# Epley: e1RM = w * (1 + reps / 30), and a single rep is its own weight. Only
# sets of 1-12 reps with a positive weight count: beyond 12 reps the estimate
# drifts too far from a real single.
_REPS = WorkoutSet.reps
_KG = WorkoutSet.weight_kg
E1RM_MAX_REPS = 12
E1RM = case(
    (
        and_(_KG > 0, _REPS >= 1, _REPS <= E1RM_MAX_REPS),
        case((_REPS == 1, _KG), else_=_KG * (1 + cast(_REPS, Float) / 30)),
    ),
    else_=None,
)


def _day_start(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time.min, tzinfo=zone).astimezone(UTC)


def _in_unit(kg: float | None, unit: str) -> float | None:
    return None if kg is None else round(from_canonical(kg, unit), 3)


def exercise_progress(
    session: Session, user_id: uuid.UUID, exercise_id: uuid.UUID, args: Mapping[str, Any]
) -> dict[str, Any]:
    """Best set and per-workout e1RM, volume and set count of one exercise; 404 if not visible."""
    _EXERCISE_ROW.get(session, user_id, exercise_id)
    user = session.get(User, user_id)
    assert user is not None  # authenticated: the account exists
    unit = args.get("unit") or (user.weight_unit if user.weight_unit in PROGRESS_UNITS else "kg")
    zone = ZoneInfo(user.timezone)

    where = [WorkoutSet.user_id == user_id, WorkoutSet.exercise_id == exercise_id]
    if "date_from" in args:
        where.append(Workout.started_at >= _day_start(args["date_from"], zone))
    if "date_to" in args:
        where.append(Workout.started_at < _day_start(args["date_to"] + timedelta(days=1), zone))

    per_workout = (
        select(
            Workout.id,
            Workout.started_at,
            func.count(WorkoutSet.id),
            func.coalesce(func.sum(_KG * _REPS), 0.0),
            func.max(_KG),
            func.max(E1RM),
        )
        .join(Workout, Workout.id == WorkoutSet.workout_id)
        .where(*where)
        .group_by(Workout.id, Workout.started_at)
        .order_by(Workout.started_at, Workout.id)
    )
    sessions = [
        {
            "workout_id": workout_id,
            "started_at": started_at,
            "date": started_at.astimezone(zone).date(),
            "set_count": set_count,
            "volume": _in_unit(volume, unit),
            "top_weight": _in_unit(top, unit),
            "best_e1rm": _in_unit(e1rm, unit),
        }
        for workout_id, started_at, set_count, volume, top, e1rm in session.execute(per_workout)
    ]

    best = session.execute(
        select(WorkoutSet.id, WorkoutSet.workout_id, Workout.started_at, _KG, _REPS, E1RM)
        .join(Workout, Workout.id == WorkoutSet.workout_id)
        .where(*where, _KG.is_not(None), _REPS >= 1)
        .order_by(_KG.desc(), _REPS.desc(), Workout.started_at, WorkoutSet.id)
        .limit(1)
    ).first()
    best_set = None
    if best is not None:
        set_id, workout_id, started_at, kg, reps, e1rm = best
        best_set = {
            "set_id": set_id,
            "workout_id": workout_id,
            "started_at": started_at,
            "weight": _in_unit(kg, unit),
            "reps": reps,
            "e1rm": _in_unit(e1rm, unit),
        }
    return {
        "exercise_id": exercise_id,
        "unit": unit,
        "best_set": best_set,
        "sessions": sessions,
    }
