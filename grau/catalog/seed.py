"""Load grau's curated catalog (grau/catalog/data/*.json) into the database.

Idempotent: system rows are matched by slug, created when missing and updated
when the data changed; users' own rows are never touched. Run by
`flask grau seed-catalog` (which `make run` and the live stack call after
migrating) and by the test suite.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from importlib import resources
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from grau.catalog.models import Equipment, Exercise, ExerciseMuscle, catalog_id
from grau.core import revisions


@dataclass
class SeedReport:
    created: int = 0
    updated: int = 0
    unchanged: int = 0

    def __str__(self) -> str:
        return f"{self.created} created, {self.updated} updated, {self.unchanged} unchanged"


def load_data(name: str) -> list[dict[str, Any]]:
    text = resources.files("grau.catalog").joinpath("data", name).read_text(encoding="utf-8")
    data: list[dict[str, Any]] = json.loads(text)
    return data


def _set(row: Any, values: dict[str, Any]) -> bool:
    changed = False
    for name, value in values.items():
        if getattr(row, name) != value:
            setattr(row, name, value)
            changed = True
    return changed


def _free_id(session: Session, model: type[Equipment] | type[Exercise], slug: str) -> uuid.UUID:
    """The id a new catalog item gets: the one its slug names (`catalog_id`), unless a
    user's item took it first (a client may choose its items' ids), then a random one."""
    named = catalog_id("equipment" if model is Equipment else "exercise", slug)
    return named if session.get(model, named) is None else uuid.uuid4()


def seed_catalog(session: Session) -> SeedReport:
    """Upsert the system equipment and exercises; commits."""
    report = SeedReport()
    equipment = {
        e.slug: e for e in session.scalars(select(Equipment).where(Equipment.user_id.is_(None)))
    }
    for item in load_data("equipment.json"):
        row = equipment.get(item["slug"])
        values = {k: item[k] for k in ("name", "category", "description")}
        if row is None:
            row = Equipment(
                id=_free_id(session, Equipment, item["slug"]),
                slug=item["slug"],
                user_id=None,
                **values,
            )
            session.add(row)
            equipment[item["slug"]] = row
            report.created += 1
        elif _set(row, values):
            report.updated += 1
        else:
            report.unchanged += 1
    session.flush()

    exercises = {
        e.slug: e
        for e in session.scalars(
            select(Exercise)
            .where(Exercise.user_id.is_(None))
            .options(selectinload(Exercise.muscles), selectinload(Exercise.equipment))
        )
    }
    for item in load_data("exercises.json"):
        exercise = exercises.get(item["slug"])
        values = {
            k: item[k] for k in ("name", "category", "laterality", "difficulty", "instructions")
        }
        muscles = {m: True for m in item["primary_muscles"]} | {
            m: False for m in item["secondary_muscles"]
        }
        gear = [equipment[slug] for slug in item["equipment"]]
        if exercise is None:
            exercise = Exercise(
                id=_free_id(session, Exercise, item["slug"]),
                slug=item["slug"],
                user_id=None,
                **values,
            )
            exercise.muscles = [ExerciseMuscle(muscle=m, is_primary=p) for m, p in muscles.items()]
            exercise.equipment = gear
            session.add(exercise)
            report.created += 1
            continue
        changed = _set(exercise, values)
        if {m.muscle: m.is_primary for m in exercise.muscles} != muscles:
            exercise.muscles.clear()
            session.flush()  # delete the old exercises before inserting ones with the same keys
            exercise.muscles.extend(
                ExerciseMuscle(muscle=m, is_primary=p) for m, p in muscles.items()
            )
            changed = True
        if sorted(e.slug or "" for e in exercise.equipment) != sorted(item["equipment"]):
            exercise.equipment = gear
            changed = True
        if changed:
            report.updated += 1
        else:
            report.unchanged += 1
    if report.created or report.updated:
        # Every cached read that shows the catalog retires with this commit.
        revisions.bump_catalog(session)
    session.commit()
    return report
