"""Catalog rules: system rows shared and read-only, private rows per user, list filters."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, and_, select
from sqlalchemy.orm import Session, selectinload

from grau.catalog.models import Equipment, Exercise, ExerciseMuscle
from grau.core import crud
from grau.core.domain_errors import Invalid
from grau.db.model import utcnow

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
