"""A grau export (`GET /v1/export`'s `grau-export` document) into a user's account.

Every item is loaded through its own create schema and made by its own
service's rules (`OwnedService.build`), in the request's one transaction,
under a new id; what refers to another item of the export (a mood's tags, an
exercise's equipment, a set's or a planned exercise's exercise) is pointed at
that item's new id, and what refers to grau's catalog at the catalog item of
the same slug here (`catalog` in the document), so an export moves between
servers. Each item is remembered by its id in the export (`ImportKey`): the
same export imported again, or a newer one of the same account, adds only
what is new. The profile's preferences (names, birthday, gender, units, date
format, language, time zone) are set from the export's; the account's email,
password and username stay as they are.

An item the rules refuse (checked before it is added) is left out, as an
error under its place in the document (`workouts[3]`), which refuses the
whole import unless the caller asked to skip such items.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

import marshmallow as ma
from marshmallow import fields
from sqlalchemy import select
from sqlalchemy.orm import Session

from grau.accounts.models import User
from grau.accounts.schemas import UserUpdate
from grau.body_stats.schemas import BodyStatCreate
from grau.catalog.models import Equipment, Exercise
from grau.catalog.schemas import EquipmentCreate, ExerciseCreate
from grau.core import crud
from grau.core.domain_errors import DomainError, Invalid, Unauthenticated
from grau.db.model import utcnow
from grau.moods.schemas import MoodCreate, MoodTagCreate
from grau.nutrition.schemas import NutritionEntryCreate
from grau.owned import KINDS
from grau.plans.schemas import PlanCreate
from grau.portability.export import FORMAT, PARTS, VERSION
from grau.portability.importer import Keys, Refused, Report, messages_of, said
from grau.portability.records import RowError
from grau.workouts.models import Workout, WorkoutSet
from grau.workouts.schemas import MAX_SEQUENCE, WorkoutCreate, WorkoutSetCreate
from grau.workouts.service import WORKOUT_SETS

SOURCE = "grau"
CREATES: dict[str, ma.Schema] = {
    "body_stats": BodyStatCreate(),
    "nutrition_entries": NutritionEntryCreate(),
    "mood_tags": MoodTagCreate(),
    "moods": MoodCreate(),
    "equipment": EquipmentCreate(),
    "exercises": ExerciseCreate(),
    "workouts": WorkoutCreate(),
    "plans": PlanCreate(),
}
SET_CREATE = WorkoutSetCreate()
# The profile's fields an export carries over: not who the account is.
PROFILE = tuple(
    name
    for name in UserUpdate().load_fields
    if name not in ("email", "password", "current_password", "username")
)
PROFILE_FIELDS = UserUpdate(only=PROFILE)


def import_export(
    session: Session,
    user_id: uuid.UUID,
    document: Any,
    *,
    dry_run: bool,
    skip_errors: bool,
) -> Report:
    """Import a `grau-export` document for the user; see the module."""
    _check_format(document)
    report = Report(SOURCE, f"{FORMAT}-{VERSION}", dry_run)
    parts = {name: _items(document, name) for name, _ in PARTS}
    wanted = [f"{name}:{item.get('id')}" for name, items in parts.items() for item in items]
    wanted += [set_key(s) for workout in parts["workouts"] for s in _sets_of(workout)]
    restore = _Restore(session, user_id, report, Keys(session, user_id, SOURCE, wanted))
    restore.catalog_from(document.get("catalog"))
    restore.profile(document.get("profile"))
    for name, kind in PARTS:
        for index, item in enumerate(parts[name]):
            restore.item(name, kind, index, item)
    if report.errors and not skip_errors:
        session.rollback()
        raise Refused(report.errors)
    if dry_run:
        session.rollback()
    else:
        crud.commit(session, user_id)
    return report


def set_key(shown: Mapping[str, Any]) -> str:
    return f"workout_sets:{shown.get('id')}"


def _sets_of(workout: Mapping[str, Any]) -> list[dict[str, Any]]:
    sets = workout.get("sets") or []
    return [s for s in sets if isinstance(s, dict)] if isinstance(sets, list) else []


def _check_format(document: Any) -> None:
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise Invalid("file", f"Not a grau export: its `format` must be `{FORMAT}`.")
    if document.get("version") != VERSION:
        raise Invalid("file", f"A grau export of version {VERSION} is read; this one is not.")


def _items(document: Mapping[str, Any], name: str) -> list[dict[str, Any]]:
    items = document.get(name)
    if items is None:  # an export without any of them
        return []
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        raise Invalid("file", f"`{name}` must be a list of items.")
    return items


def loadable(schema: ma.Schema, shown: Mapping[str, Any]) -> dict[str, Any]:
    """An item as its GET shows it, cut to what `schema` (a create) loads, nested too."""
    data: dict[str, Any] = {}
    for name, field in schema.load_fields.items():
        key = field.data_key or name
        if key not in shown:
            continue
        value = shown[key]
        if value is None and not field.allow_none:
            continue  # shown as null where nothing was sent: send nothing
        inner = field.inner if isinstance(field, fields.List) else field
        if isinstance(inner, fields.Nested) and value is not None:
            nested: ma.Schema = inner.schema
            if isinstance(field, fields.List) and isinstance(value, list):
                value = [loadable(nested, v) if isinstance(v, dict) else v for v in value]
            elif isinstance(value, dict):
                value = loadable(nested, value)
        data[key] = value
    return data


class Unresolved(ValueError):
    """A reference to an item neither in the export nor in grau's catalog."""


class _Restore:
    def __init__(self, session: Session, user_id: uuid.UUID, report: Report, keys: Keys):
        self.session, self.user_id, self.report, self.keys = session, user_id, report, keys
        self.new_ids: dict[str, uuid.UUID] = {}  # an id in the export -> the item's id here
        self.catalog: dict[str, uuid.UUID] = {}  # a catalog id there -> the one here
        self.exercises: set[uuid.UUID] = set()  # exercises a set may use here

    def catalog_from(self, listed: Any) -> None:
        """Catalog ids of the export's server mapped to this one's, by slug (and this
        server's own catalog ids to themselves)."""
        here = {
            slug: item_id
            for model in (Exercise, Equipment)
            for item_id, slug in self.session.execute(
                select(model.id, model.slug).where(model.user_id.is_(None))
            )
            if slug
        }
        self.catalog = {str(item_id): item_id for item_id in here.values()}
        for kind in ("exercises", "equipment"):
            slugs = listed.get(kind) if isinstance(listed, dict) else None
            for there, slug in (slugs or {}).items() if isinstance(slugs, dict) else ():
                if slug in here:
                    self.catalog[str(there)] = here[slug]
        self.exercises = set(
            self.session.scalars(
                select(Exercise.id).where(
                    (Exercise.user_id == self.user_id) | Exercise.user_id.is_(None)
                )
            )
        )

    def profile(self, shown: Any) -> None:
        if not isinstance(shown, dict):
            return
        try:
            values = PROFILE_FIELDS.load({k: v for k, v in shown.items() if k in PROFILE})
        except ma.ValidationError as invalid:
            self._refused("profile", invalid.normalized_messages())
            return
        user = self.session.get(User, self.user_id)
        if user is None:  # deleted since the token was checked
            raise Unauthenticated("This account no longer exists.")
        if any(getattr(user, name) != value for name, value in values.items()):
            crud.apply_changes(user, values)
            self.report.updated["profile"] = 1

    def item(self, name: str, kind: str, index: int, shown: dict[str, Any]) -> None:
        where, original = f"{name}[{index}]", str(shown.get("id"))
        key = f"{name}:{original}"
        existing = self.keys.item(key)
        if existing is not None:
            self.new_ids[original] = existing
            self.report.skipped[name] += 1
            if name == "workouts":
                self._new_sets(where, existing, _sets_of(shown))
            return
        try:
            data = self._pointed(name, loadable(CREATES[name], shown))
            data["id"] = str(uuid.uuid4())
            partial = _optional(name, data)
            for absent in partial:
                data.pop(absent, None)
            values = CREATES[name].load(data, partial=partial)
        except (Unresolved, ma.ValidationError) as refused:
            self._refused(where, messages_of(refused))
            return
        try:
            sets = self._sets(_sets_of(shown)) if name == "workouts" else []
            made = KINDS[kind].service.build(self.session, self.user_id, values)
        except (DomainError, Unresolved, ma.ValidationError) as refused:
            self._refused(where, messages_of(refused))
            return
        for set_shown, workout_set in sets:
            self._add_set(made.id, set_shown, workout_set)
        self.new_ids[original] = made.id
        if name == "exercises":
            self.exercises.add(made.id)
        self.keys.remember(key, kind, made.id)
        self.report.created[name] += 1

    def _sets(self, shown: list[dict[str, Any]]) -> list[tuple[dict[str, Any], WorkoutSet]]:
        """Sets as the export shows them (their sequence kept), each checked by a set's own
        rules before anything of its workout is added."""
        made = []
        for index, set_shown in enumerate(shown):
            data = self._pointed("sets", loadable(SET_CREATE, set_shown))
            values = SET_CREATE.load(data)
            if values["exercise_id"] not in self.exercises:
                raise Unresolved(f"sets[{index}].exercise_id: not an exercise here.")
            workout_set = WorkoutSet(user_id=self.user_id, **values)
            WORKOUT_SETS.check(workout_set)  # type: ignore[misc]
            made.append((set_shown, workout_set))
        return made

    def _new_sets(self, where: str, workout_id: uuid.UUID, shown: list[dict[str, Any]]) -> None:
        """The sets a workout imported before did not have then (a newer export): added
        after its last set where their sequence is taken (by a set added here since)."""
        new = [s for s in shown if self.keys.item(set_key(s)) is None]
        self.report.skipped["workout_sets"] += len(shown) - len(new)
        if not new:
            return
        try:
            sets = self._sets(new)
        except (Unresolved, ma.ValidationError, DomainError) as refused:
            self._refused(where, messages_of(refused))
            return
        taken = set(
            self.session.scalars(
                select(WorkoutSet.sequence).where(WorkoutSet.workout_id == workout_id)
            )
        )
        for set_shown, workout_set in sets:
            if workout_set.sequence is None or workout_set.sequence in taken:
                workout_set.sequence = max(taken, default=0) + 1
            if workout_set.sequence > MAX_SEQUENCE:
                self._refused(where, {"sets": [f"A workout holds at most {MAX_SEQUENCE} sets."]})
                return
            taken.add(workout_set.sequence)
            self._add_set(workout_id, set_shown, workout_set)
        workout = self.session.get(Workout, workout_id)
        if workout is not None:  # its version moves with its sets, as a set's create moves it
            workout.updated_at = utcnow()

    def _add_set(
        self, workout_id: uuid.UUID, shown: Mapping[str, Any], workout_set: WorkoutSet
    ) -> None:
        workout_set.id, workout_set.workout_id = uuid.uuid4(), workout_id
        self.session.add(workout_set)
        self.keys.remember(set_key(shown), "workout_set", workout_set.id)
        self.report.created["workout_sets"] += 1

    def _pointed(self, name: str, data: dict[str, Any]) -> dict[str, Any]:
        """`data` with what it refers to pointed at the items here."""
        data.pop("id", None)
        if name == "moods":
            data["tag_ids"] = [self._here(t, catalog=False) for t in data.get("tag_ids") or []]
        elif name == "exercises":
            data["equipment_ids"] = [self._here(e) for e in data.get("equipment_ids") or []]
        elif name == "sets" and data.get("exercise_id") is not None:
            data["exercise_id"] = self._here(data["exercise_id"])
        elif name == "plans":
            for day in data.get("days") or []:
                for planned in day.get("exercises") or [] if isinstance(day, dict) else []:
                    if isinstance(planned, dict) and planned.get("exercise_id") is not None:
                        planned["exercise_id"] = self._here(planned["exercise_id"])
        return data

    def _here(self, there: Any, *, catalog: bool = True) -> str:
        found = self.new_ids.get(str(there)) or (self.catalog.get(str(there)) if catalog else None)
        if found is None:
            raise Unresolved(f"{there} is neither an item of this export nor of grau's catalog.")
        return str(found)

    def _refused(self, where: str, messages: Mapping[str, Any]) -> None:
        self.report.errors.append(RowError(None, said(messages), item=where))


def _optional(name: str, data: Mapping[str, Any]) -> tuple[str, ...]:
    """Fields a create requires that an exported item may lack: an exercise an import made
    from a name grau did not know has no muscles yet."""
    return ("primary_muscles",) if name == "exercises" and not data.get("primary_muscles") else ()
