"""Workout rules (a time span that ends after it starts) and sets nested in workouts.

Besides the two services, this module holds a small, generic extension of
`grau.crud` for owned rows that live inside an owned parent
(`/parents/{parent_id}/children/{child_id}`): `NestedOwnedService` (its route
side is `grau.views.NestedResource`). Nothing in it is specific to workouts; it
is written to be moved into `grau/crud.py` as it is once a second nested
resource needs it.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session, selectinload

from grau import crud
from grau.catalog.models import Exercise
from grau.db.model import utcnow
from grau.domain_errors import Conflict, Invalid, NotFound
from grau.units import convert, tidy, to_canonical
from grau.workouts.models import Workout, WorkoutSet
from grau.workouts.schemas import MAX_SEQUENCE, MAX_WEIGHT, MAX_WEIGHT_KG

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
