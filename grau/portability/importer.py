"""Workout history from another app's export (Strong, Hevy) into a user's account.

An import runs in the request's one transaction: it writes everything or
nothing. Rows the reader refused (`Parsed.errors`) and sets grau refuses (a
set's own rules, those of `POST /v1/workouts/{id}/sets`) stop it, unless the
caller asked to skip them; a dry run does all the work and keeps none of it.

Each exercise name of the file is matched once: to the user's own exercise of
that name, else to grau's catalog (`matching.Matcher`: exact, alias, fuzzy),
else it becomes the user's own exercise. Every workout and set made is
remembered under a key its row gives (`models.ImportKey`: the workout's start
and name; the set's place in it), so the same file, or a newer export that
overlaps it, adds only what is new: a workout seen before keeps its sets, and
gets the sets it did not have yet.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import marshmallow as ma
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from grau.catalog.models import Exercise
from grau.core import crud
from grau.core.domain_errors import DomainError, Invalid
from grau.owned import KINDS
from grau.portability.matching import Matcher, normalize
from grau.portability.models import ImportKey
from grau.portability.records import Parsed, RowError, SetRecord, WorkoutRecord
from grau.workouts.models import Workout, WorkoutSet
from grau.workouts.schemas import MAX_SEQUENCE, WorkoutSetCreate
from grau.workouts.service import WORKOUT_SETS

# What a report counts: every kind of item an import can make (a grau export has them all).
COUNTED = (
    "profile",
    "body_stats",
    "nutrition_entries",
    "mood_tags",
    "moods",
    "equipment",
    "exercises",
    "workouts",
    "workout_sets",
    "plans",
)
MAX_ERRORS_SHOWN = 100  # a refusal lists this many row errors at the most
KEYS_PER_QUERY = 500

_SET_FIELDS = WorkoutSetCreate()  # a set's own rules, as its create checks them


@dataclass(frozen=True)
class ExerciseMatch:
    """How one exercise name of the file was resolved."""

    name: str
    exercise_id: uuid.UUID | None  # None: made by a dry run, which keeps nothing
    match: str  # "own", "exact", "alias", "fuzzy" or "created"
    score: float


@dataclass
class Report:
    source: str
    variant: str
    dry_run: bool
    created: dict[str, int] = field(default_factory=lambda: dict.fromkeys(COUNTED, 0))
    updated: dict[str, int] = field(default_factory=lambda: dict.fromkeys(COUNTED, 0))
    skipped: dict[str, int] = field(default_factory=lambda: dict.fromkeys(COUNTED, 0))
    exercises: list[ExerciseMatch] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)


class Refused(Invalid):
    """Rows with errors, and no `skip_errors`: nothing was imported. `errors` lists them
    by line (`"line 12": [...]`), or by item in a grau export (`"workouts[3]": [...]`),
    the first `MAX_ERRORS_SHOWN` of them."""

    def __init__(self, errors: Sequence[RowError]) -> None:
        by_line: dict[str, list[str]] = {}
        for error in errors[:MAX_ERRORS_SHOWN]:
            where = f"line {error.line}" if error.line is not None else str(error.item)
            by_line.setdefault(where, []).append(error.message)
        if len(errors) > MAX_ERRORS_SHOWN:
            by_line["more"] = [f"{len(errors) - MAX_ERRORS_SHOWN} more rows have errors."]
        DomainError.__init__(
            self,
            f"{len(errors)} rows or items of the file have errors, so nothing was imported: "
            "fix them, or send on_error=skip to import the others.",
            errors=by_line,
        )


def import_workouts(
    session: Session,
    user_id: uuid.UUID,
    parsed: Parsed,
    *,
    source: str,
    dry_run: bool,
    skip_errors: bool,
) -> Report:
    """Import `parsed` (a Strong or Hevy file, read) for the user; see the module."""
    report = Report(source, parsed.variant, dry_run, errors=list(parsed.errors))
    if report.errors and not skip_errors:
        raise Refused(report.errors)
    exercises = _Exercises(session, user_id, report)
    wanted = []
    for record in parsed.workouts:
        wanted.append(workout_key(record))
        wanted.extend(set_key(workout_key(record), s) for s in record.sets)
    keys = Keys(session, user_id, source, wanted)
    last = last_sequences(session, keys.ids_of("workout"))
    for record in parsed.workouts:
        _import_workout(session, user_id, record, exercises, keys, last, report)
    if report.errors and not skip_errors:
        session.rollback()
        raise Refused(report.errors)
    if dry_run:
        session.rollback()
        report.exercises = [_unsaved(m) for m in report.exercises]
    else:
        crud.commit(session, user_id)
    return report


def _unsaved(found: ExerciseMatch) -> ExerciseMatch:
    """A dry run's exercise made nothing: its id is none."""
    if found.match != "created":
        return found
    return ExerciseMatch(found.name, None, found.match, found.score)


def workout_key(record: WorkoutRecord) -> str:
    """A workout's key: when it started and what it was called (the apps' own grouping)."""
    return f"{record.started_at.isoformat()}|{record.name}"[:240]


def set_key(workout: str, record: SetRecord) -> str:
    return f"{workout}|{record.position}"


def _import_workout(
    session: Session,
    user_id: uuid.UUID,
    record: WorkoutRecord,
    exercises: _Exercises,
    keys: Keys,
    sequences: dict[uuid.UUID, int],
    report: Report,
) -> None:
    key = workout_key(record)
    workout_id = keys.item(key)
    if workout_id is None:
        workout = Workout(
            id=uuid.uuid4(),
            user_id=user_id,
            name=record.name,
            started_at=record.started_at,
            ended_at=record.ended_at,
            note=record.note,
        )
        if workout.ended_at is not None and workout.ended_at < workout.started_at:
            workout.ended_at = None  # an app's clock slip: the start is what counts
        session.add(workout)
        workout_id, last = workout.id, 0
        keys.remember(key, "workout", workout_id)
        report.created["workouts"] += 1
    else:
        last = sequences.get(workout_id, 0)
        report.skipped["workouts"] += 1
    for set_record in record.sets:
        made = set_key(key, set_record)
        if keys.item(made) is not None:
            report.skipped["workout_sets"] += 1
            continue
        if last >= MAX_SEQUENCE:
            report.errors.append(
                RowError(set_record.line, f"A workout holds at most {MAX_SEQUENCE} sets.")
            )
            continue
        workout_set = _workout_set(set_record, exercises.id_of(set_record), report)
        if workout_set is None:
            continue
        last += 1
        workout_set.id, workout_set.sequence = uuid.uuid4(), last
        workout_set.user_id, workout_set.workout_id = user_id, workout_id
        session.add(workout_set)
        keys.remember(made, "workout_set", workout_set.id)
        report.created["workout_sets"] += 1


def _workout_set(record: SetRecord, exercise_id: uuid.UUID, report: Report) -> WorkoutSet | None:
    """The set a row stands for, checked by a set's own rules (None: refused, reported)."""
    sent: dict[str, Any] = {
        "exercise_id": str(exercise_id),
        "reps": record.reps,
        "weight": record.weight,
        "weight_unit": record.weight_unit,
        "rpe": record.rpe,
        "duration_seconds": record.duration_seconds,
        "distance_meters": record.distance_m,
        "kind": record.kind,
        "note": record.note,
    }
    try:
        values = _SET_FIELDS.load({k: v for k, v in sent.items() if v is not None})
        workout_set = WorkoutSet(**values)
        WORKOUT_SETS.check(workout_set)  # type: ignore[misc]
    except (ma.ValidationError, Invalid) as refused:
        report.errors.append(RowError(record.line, said(messages_of(refused))))
        return None
    return workout_set


def messages_of(refused: Exception) -> Mapping[str, Any]:
    """What a refusal says, per field: a schema's messages, or a domain error's."""
    if isinstance(refused, ma.ValidationError):
        return refused.normalized_messages()
    if isinstance(refused, DomainError):
        return refused.errors or {"item": [refused.detail or "Refused."]}
    return {"references": [str(refused)]}


def said(messages: Mapping[str, Any]) -> str:
    """Field messages as one line: `reps: Must be between 0 and 1000.`"""
    return " ".join(f"{name}: {_flat(text)}" for name, text in messages.items())


def _flat(text: Any) -> str:
    if isinstance(text, list):
        return " ".join(_flat(t) for t in text)
    if isinstance(text, dict):
        return " ".join(f"{k}: {_flat(v)}" for k, v in text.items())
    return str(text)


class _Exercises:
    """Each exercise name of the file, resolved once (see the module)."""

    def __init__(self, session: Session, user_id: uuid.UUID, report: Report) -> None:
        self.session, self.user_id, self.report = session, user_id, report
        rows = session.execute(
            select(Exercise.id, Exercise.slug, Exercise.name, Exercise.user_id).where(
                (Exercise.user_id == user_id) | Exercise.user_id.is_(None)
            )
        ).all()
        self.own = {normalize(r.name): r.id for r in rows if r.user_id is not None}
        self.catalog = {r.slug: r.id for r in rows if r.user_id is None and r.slug}
        names = {r.slug: r.name for r in rows if r.user_id is None and r.slug}
        self.matcher = Matcher(names)
        self.resolved: dict[str, uuid.UUID] = {}

    def id_of(self, record: SetRecord) -> uuid.UUID:
        found = self.resolved.get(record.exercise)
        if found is None:
            found = self.resolved[record.exercise] = self._resolve(record)
        return found

    def _resolve(self, record: SetRecord) -> uuid.UUID:
        name = record.exercise
        own = self.own.get(normalize(name))
        if own is not None:
            return self._matched(name, own, "own", 1.0)
        match = self.matcher.match(name)
        if match.slug is not None:
            return self._matched(name, self.catalog[match.slug], match.how, match.score)
        exercise = Exercise(
            id=uuid.uuid4(),
            user_id=self.user_id,
            name=name,
            category="cardio" if record.distance_m is not None else "strength",
            laterality="bilateral",
            difficulty="beginner",
        )
        self.session.add(exercise)
        self.own[normalize(name)] = exercise.id
        self.report.created["exercises"] += 1
        return self._matched(name, exercise.id, "created", 0.0)

    def _matched(self, name: str, exercise_id: uuid.UUID, how: str, score: float) -> uuid.UUID:
        self.report.exercises.append(ExerciseMatch(name, exercise_id, how, round(score, 3)))
        return exercise_id


class Keys:
    """The items earlier imports from one source made, by key (`models.ImportKey`). A key
    whose item is gone (deleted by the user since) is forgotten, so its row is imported
    again. `resource` is the changes feed's name of the item's kind (`grau.owned.KINDS`)."""

    def __init__(self, session: Session, user_id: uuid.UUID, source: str, wanted: list[str]):
        self.session, self.user_id, self.source = session, user_id, source
        found: list[Any] = []
        for chunk in _chunks(wanted):
            found.extend(
                session.execute(
                    select(ImportKey.key, ImportKey.resource, ImportKey.item_id).where(
                        ImportKey.user_id == user_id,
                        ImportKey.source == source,
                        ImportKey.key.in_(chunk),
                    )
                ).all()
            )
        alive = self._alive(found)
        gone = [key for key, _, item_id in found if item_id not in alive]
        for chunk in _chunks(gone):
            session.execute(
                delete(ImportKey).where(
                    ImportKey.user_id == user_id,
                    ImportKey.source == source,
                    ImportKey.key.in_(chunk),
                )
            )
        self.items: dict[str, uuid.UUID] = {k: i for k, _, i in found if i in alive}
        self._kinds = {k: r for k, r, i in found if i in alive}

    def ids_of(self, resource: str) -> list[uuid.UUID]:
        """The ids of the items of one kind that keys name."""
        return [self.items[k] for k, r in self._kinds.items() if r == resource]

    def _alive(self, found: list[Any]) -> set[uuid.UUID]:
        alive: set[uuid.UUID] = set()
        for resource in {r for _, r, _ in found}:
            model = KINDS[resource].model
            ids = [item_id for _, r, item_id in found if r == resource]
            for chunk in _chunks(ids):
                query = select(model.id).where(model.user_id == self.user_id, model.id.in_(chunk))
                alive.update(self.session.scalars(query))
        return alive

    def item(self, key: str) -> uuid.UUID | None:
        return self.items.get(key)

    def remember(self, key: str, resource: str, item_id: uuid.UUID) -> None:
        self.items[key] = item_id
        self.session.add(
            ImportKey(
                user_id=self.user_id,
                source=self.source,
                key=key,
                resource=resource,
                item_id=item_id,
            )
        )


def _chunks(values: list[Any]) -> Iterator[list[Any]]:
    for start in range(0, len(values), KEYS_PER_QUERY):
        yield values[start : start + KEYS_PER_QUERY]


def last_sequences(session: Session, workout_ids: list[uuid.UUID]) -> dict[uuid.UUID, int]:
    """The highest set sequence of each of these workouts (those with sets)."""
    last: dict[uuid.UUID, int] = {}
    for chunk in _chunks(workout_ids):
        query = (
            select(WorkoutSet.workout_id, func.max(WorkoutSet.sequence))
            .where(WorkoutSet.workout_id.in_(chunk))
            .group_by(WorkoutSet.workout_id)
        )
        last.update((workout_id, sequence) for workout_id, sequence in session.execute(query))
    return last
