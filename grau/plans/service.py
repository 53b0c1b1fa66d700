"""Plan rules: exercises the user may plan, days replaced as a whole, one active plan per user.

A plan is read and written as one document. Its days and their exercises are
loaded with two `selectinload` queries whatever their number, and a write that
sends `days` replaces them all. Activating a plan deactivates the user's other
active plan in the same transaction; the partial unique index on
`plans(user_id) WHERE is_active` makes a concurrent activation that slipped
past that step fail at commit, which `crud.commit` answers with 409.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Select, or_, select, update
from sqlalchemy.orm import Session, selectinload
from sqlalchemy.orm.exc import StaleDataError

from grau.catalog.models import Exercise
from grau.core import crud
from grau.core.domain_errors import Invalid, Stale
from grau.db.model import utcnow
from grau.plans.models import Plan, PlanDay, PlannedExercise

CONFLICT = (
    "Another change to your plans happened at the same time (another plan was activated, "
    "or a planned exercise was deleted); read your plans again and retry."
)


def _filter(query: Select[Any], args: Mapping[str, Any]) -> Select[Any]:
    if "is_active" in args:
        query = query.where(Plan.is_active == args["is_active"])
    return query


def _check_exercises(
    session: Session, user_id: uuid.UUID, days: Sequence[Mapping[str, Any]]
) -> None:
    """422 naming each `days.<i>.exercises.<j>.exercise_id` the user may not plan.

    Someone else's exercise and a missing one get the same answer, so ids
    reveal nothing. One query for the whole document.
    """
    wanted = {planned["exercise_id"] for day in days for planned in day.get("exercises", [])}
    if not wanted:
        return
    usable = set(
        session.scalars(
            select(Exercise.id).where(
                Exercise.id.in_(wanted),
                or_(Exercise.user_id.is_(None), Exercise.user_id == user_id),
            )
        )
    )
    # Keyed like marshmallow's own errors for lists, so clients read both the same way.
    errors: dict[str, Any] = {}
    for i, day in enumerate(days):
        for j, planned in enumerate(day.get("exercises", [])):
            if planned["exercise_id"] not in usable:
                exercises = errors.setdefault(str(i), {"exercises": {}})["exercises"]
                exercises[str(j)] = {
                    "exercise_id": ["No exercise with this id is in grau's catalog or yours."]
                }
    if errors:
        raise Invalid.fields({"days": errors})


def _deactivate_others(session: Session, user_id: uuid.UUID, plan: Plan) -> None:
    """Deactivate the user's active plan, if it is not `plan`, moving its version (its ETag)."""
    others = update(Plan).where(Plan.user_id == user_id, Plan.is_active)
    if plan.id is not None:
        others = others.where(Plan.id != plan.id)
    session.execute(others.values(is_active=False, version=Plan.version + 1, updated_at=utcnow()))


def _build_days(days: Sequence[Mapping[str, Any]]) -> list[PlanDay]:
    return [
        PlanDay(
            position=i,
            name=day["name"],
            note=day.get("note"),
            exercises=[
                PlannedExercise(position=j, **planned)
                for j, planned in enumerate(day.get("exercises", []))
            ],
        )
        for i, day in enumerate(days)
    ]


def _remove_days(session: Session, plan: Plan) -> None:
    """Delete the plan's days now: the new ones reuse their (plan_id, position).

    The plan's own row is updated in the same flush, before its days: it is
    the lock. A concurrent writer of this plan waits on it, then finds the
    version moved and gets 412, instead of deleting days that are gone.
    """
    plan.updated_at = utcnow()
    plan.days.clear()
    try:
        session.flush()
    except StaleDataError:
        session.rollback()
        raise Stale("The plan changed while you were writing; fetch it again.") from None


def _assign(session: Session, user_id: uuid.UUID, plan: Plan, values: Mapping[str, Any]) -> None:
    changes = dict(values)
    days = changes.pop("days", None)
    # Queries first, while nothing of this request is pending: an autoflush of
    # a half-assigned plan would write it before the old active plan is off.
    if days is not None:
        _check_exercises(session, user_id, days)
    if changes.get("is_active"):
        _deactivate_others(session, user_id, plan)
    if days is not None:
        if plan.days:
            _remove_days(session, plan)
        plan.days = _build_days(days)
    crud.apply_changes(plan, changes)


PLANS = crud.OwnedService(
    Plan,
    filter=_filter,
    assign=_assign,
    conflict=CONFLICT,
    options=(selectinload(Plan.days).selectinload(PlanDay.exercises),),
)
