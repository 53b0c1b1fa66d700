"""Workout rules (a time span that ends after it starts), sets nested in workouts, and
an exercise's progress, computed in SQL from the user's logged sets.

Besides the two services, this module holds a small, generic extension of
`grau.core.crud` for owned rows that live inside an owned parent
(`/parents/{parent_id}/children/{child_id}`): `NestedOwnedService` (its route
side is `grau.http.views.NestedResource`). Nothing in it is specific to workouts; it
is written to be moved into `grau/core/crud.py` as it is once a second nested
resource needs it.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Float, Select, and_, case, cast, func, select
from sqlalchemy.orm import Session, selectinload

from grau.accounts.models import User
from grau.catalog.models import Exercise
from grau.catalog.service import EXERCISES
from grau.core import crud
from grau.core.domain_errors import Conflict, Invalid, NotFound
from grau.core.units import convert, from_canonical, tidy, to_canonical
from grau.db.model import utcnow
from grau.workouts.models import Workout, WorkoutSet
from grau.workouts.schemas import MAX_SEQUENCE, MAX_WEIGHT, MAX_WEIGHT_KG, PROGRESS_UNITS

# ------------------------------------------------- nested owned resources (generic)


@dataclass
class NestedOwnedService:
    """List, get, create, update and delete rows owned through an owned parent.

    The nested counterpart of `crud.OwnedService`, with the same hooks
    (`filter`, `assign`, `check`, `conflict`) and these rules:
    - every call names the parent: a parent that is not the user's, and an
      item that belongs to another parent, are the same 404 as a missing id;
    - every child write also bumps the parent's version (its `updated_at`), so
      the parent's ETag changes with the children it shows, and a concurrent
      write to the same parent loses with 412 instead of interleaving.
    The child model has `user_id` (the parent's owner, repeated) and the
    foreign key named by `parent_key`. `present` is `crud.OwnedService`'s:
    how a read shows an item from its query (e.g. `unit`), and its ETag variant.
    """

    model: type[Any]
    parent: crud.OwnedService
    parent_key: str  # the child's column naming its parent, e.g. "workout_id"
    filter: crud.Filter = crud._no_filter
    assign: crud.Rule = crud._assign
    check: Callable[[Any], None] | None = None
    conflict: str = ""
    present: crud.Present | None = None

    def get_parent(
        self, session: Session, user_id: uuid.UUID, parent_id: uuid.UUID, *, lock: bool = False
    ) -> Any:
        """The user's parent row, or 404; `lock` for a write to it or its children."""
        return crud.get_owned(session, self.parent.model, user_id, parent_id, lock=lock)

    def list_page(
        self,
        session: Session,
        user_id: uuid.UUID,
        parent_id: uuid.UUID,
        args: Mapping[str, Any],
    ) -> crud.PageResult:
        self.get_parent(session, user_id, parent_id)
        model = self.model
        query = select(model).where(
            model.user_id == user_id, getattr(model, self.parent_key) == parent_id
        )
        query = self.filter(query, args).order_by(*crud.sort_clause(model, args["sort"]))
        return crud.presented_page(session, query, args, self.present)

    def show(
        self,
        session: Session,
        user_id: uuid.UUID,
        parent_id: uuid.UUID,
        item_id: uuid.UUID,
        args: Mapping[str, Any],
    ) -> tuple[Any, str]:
        """An item as a read with these query `args` shows it, and its ETag variant."""
        item = self.get(session, user_id, parent_id, item_id)
        return self.present(item, args) if self.present else (item, "")

    def get(
        self,
        session: Session,
        user_id: uuid.UUID,
        parent_id: uuid.UUID,
        item_id: uuid.UUID,
        *,
        lock: bool = False,
    ) -> Any:
        """The user's item under this parent, or 404."""
        item = crud.load(session, self.model, item_id, lock=lock)
        if item is None or item.user_id != user_id or getattr(item, self.parent_key) != parent_id:
            raise NotFound(f"No {self.model.__name__} with this id is in this {self._parent_noun}.")
        return item

    def create(
        self,
        session: Session,
        user_id: uuid.UUID,
        parent_id: uuid.UUID,
        data: Mapping[str, Any],
    ) -> Any:
        parent = self.get_parent(session, user_id, parent_id, lock=True)
        item = self.model(user_id=user_id, **{self.parent_key: parent_id})
        self.assign(session, user_id, item, data)
        if self.check:
            self.check(item)
        parent.updated_at = utcnow()
        crud.save(session, item, user_id, conflict=self.conflict)
        return item

    def update(
        self,
        session: Session,
        user_id: uuid.UUID,
        parent_id: uuid.UUID,
        item_id: uuid.UUID,
        changes: Mapping[str, Any],
        *,
        if_match: str | None,
    ) -> Any:
        parent = self.get_parent(session, user_id, parent_id, lock=True)  # parent, then child
        item = self.get(session, user_id, parent_id, item_id, lock=True)
        crud.check_if_match(item, if_match)
        self.assign(session, user_id, item, changes)
        if self.check:
            self.check(item)
        item.updated_at = utcnow()
        parent.updated_at = utcnow()
        crud.save(session, item, user_id, conflict=self.conflict)
        return item

    def delete(
        self,
        session: Session,
        user_id: uuid.UUID,
        parent_id: uuid.UUID,
        item_id: uuid.UUID,
        *,
        if_match: str | None,
    ) -> None:
        parent = self.get_parent(session, user_id, parent_id, lock=True)  # parent, then child
        item = self.get(session, user_id, parent_id, item_id, lock=True)
        crud.check_if_match(item, if_match)
        parent.updated_at = utcnow()
        crud.remove(session, item, user_id)

    @property
    def _parent_noun(self) -> str:
        return str(self.parent.model.__name__).lower()


# ------------------------------------------------------------------- weights shown in a unit


class SetInUnit:
    """A set shown with its weight in another unit: its own attributes but
    `weight` and `weight_unit` (`weight_kg` stays canonical).

    A view, not a change: the stored row keeps the unit it was logged in.
    """

    def __init__(self, workout_set: WorkoutSet, weight: float, unit: str) -> None:
        self._set = workout_set
        self.weight = weight
        self.weight_unit = unit

    def __getattr__(self, name: str) -> Any:
        return getattr(self._set, name)


class WorkoutInUnit:
    """A workout shown with (some of) its sets in another unit; otherwise itself."""

    def __init__(self, workout: Workout, sets: list[Any]) -> None:
        self._workout = workout
        self.sets = sets

    def __getattr__(self, name: str) -> Any:
        return getattr(self._workout, name)


def _present_set(workout_set: WorkoutSet, args: Mapping[str, Any]) -> tuple[Any, str]:
    """A set in the `unit` asked for; as stored (variant "") when nothing converts."""
    unit, weight, stored = args.get("unit"), workout_set.weight, workout_set.weight_unit
    if unit is None or weight is None or stored is None or unit == stored:
        return workout_set, ""
    return SetInUnit(workout_set, tidy(convert(weight, stored, unit)), unit), unit


def _present_workout(workout: Workout, args: Mapping[str, Any]) -> tuple[Any, str]:
    """A workout with its sets in the `unit` asked for. Its ETag variant is the unit
    only if some set converts: otherwise the representation is the stored one."""
    shown = [_present_set(workout_set, args) for workout_set in workout.sets]
    if not any(variant for _, variant in shown):
        return workout, ""
    return WorkoutInUnit(workout, [item for item, _ in shown]), args["unit"]


# --------------------------------------------------------------------------- workouts


def _check_span(workout: Workout) -> None:
    """The schemas check the span a request sends; this checks the row that results."""
    if workout.ended_at is not None and workout.ended_at < workout.started_at:
        raise Invalid("ended_at", "Must not be before started_at.")


def _filter_workouts(query: Select[Any], args: Mapping[str, Any]) -> Select[Any]:
    if "started_from" in args:
        query = query.where(Workout.started_at >= args["started_from"])
    if "started_to" in args:
        query = query.where(Workout.started_at <= args["started_to"])
    return query


WORKOUTS = crud.OwnedService(
    Workout,
    filter=_filter_workouts,
    check=_check_span,
    present=_present_workout,
    # Every read embeds the sets: one more query per page or item, however many.
    options=(selectinload(Workout.sets),),
)

# ------------------------------------------------------------------------------- sets


def _usable_exercise(session: Session, user_id: uuid.UUID, exercise_id: uuid.UUID) -> None:
    """422 on `exercise_id` unless it is a catalog exercise or the user's own."""
    exercise = session.get(Exercise, exercise_id)
    if exercise is None or exercise.user_id not in (None, user_id):
        # The same words for someone else's exercise and for none at all: no existence leak.
        raise Invalid("exercise_id", "Not an exercise of grau's catalog or of yours.")


def _taken(session: Session, workout_set: WorkoutSet, sequence: int) -> bool:
    query = select(WorkoutSet.id).where(
        WorkoutSet.workout_id == workout_set.workout_id, WorkoutSet.sequence == sequence
    )
    if workout_set.id is not None:
        query = query.where(WorkoutSet.id != workout_set.id)
    return session.scalar(query.limit(1)) is not None


def _next_sequence(session: Session, workout_id: uuid.UUID) -> int:
    last = session.scalar(
        select(func.max(WorkoutSet.sequence)).where(WorkoutSet.workout_id == workout_id)
    )
    if (last or 0) >= MAX_SEQUENCE:
        raise Conflict(f"The last set is at {MAX_SEQUENCE}, the highest sequence; send a free one.")
    return (last or 0) + 1


def _assign_set(
    session: Session, user_id: uuid.UUID, workout_set: WorkoutSet, values: Mapping[str, Any]
) -> None:
    if "exercise_id" in values:
        _usable_exercise(session, user_id, values["exercise_id"])
    sequence = values.get("sequence")
    if sequence is not None and _taken(session, workout_set, sequence):
        raise Conflict(f"Another set of this workout has sequence {sequence}.")
    crud.apply_changes(workout_set, values)
    if workout_set.sequence is None:
        workout_set.sequence = _next_sequence(session, workout_set.workout_id)


def _check_weight(workout_set: WorkoutSet) -> None:
    """A weight needs its unit (and the reverse), is at most 1000 kg; sets `weight_kg`."""
    weight, unit = workout_set.weight, workout_set.weight_unit
    if (weight is None) != (unit is None):
        missing = "weight_unit" if unit is None else "weight"
        raise Invalid(missing, "Send weight and weight_unit together.")
    if weight is None or unit is None:
        workout_set.weight_kg = None
        return
    weight_kg = to_canonical(weight, unit)
    if not 0 <= weight_kg <= MAX_WEIGHT_KG:
        raise Invalid("weight", f"Must be between 0 and {MAX_WEIGHT[unit]:g} {unit}.")
    workout_set.weight_kg = weight_kg


def _filter_sets(query: Select[Any], args: Mapping[str, Any]) -> Select[Any]:
    if "exercise_id" in args:
        query = query.where(WorkoutSet.exercise_id == args["exercise_id"])
    return query


WORKOUT_SETS = NestedOwnedService(
    WorkoutSet,
    parent=WORKOUTS,
    parent_key="workout_id",
    filter=_filter_sets,
    assign=_assign_set,
    check=_check_weight,
    present=_present_set,
    # The unique (workout_id, sequence) constraint, when two writers race for one position.
    conflict="Another set of this workout took this sequence meanwhile; read the sets again.",
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
