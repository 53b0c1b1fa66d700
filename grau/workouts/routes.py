"""/v1/workouts and their sets (/v1/workouts/{workout_id}/sets)."""

from __future__ import annotations

import json
import uuid
from typing import Any

from flask import Response

from grau.catalog.routes import EXERCISE_ID, exercises_blp
from grau.db.session import db
from grau.http import views
from grau.http.extensions import Blueprint, MethodView
from grau.http.idempotency import idempotent
from grau.http.openapi import conditional_read, conditional_write, errors
from grau.http.views import (
    NestedResource,
    Resource,
    authenticated,
    current_principal,
    current_user_id,
    if_match,
)
from grau.workouts import schemas
from grau.workouts.service import WORKOUT_SETS, WORKOUTS, exercise_progress

blp = Blueprint(
    "workouts",
    __name__,
    url_prefix="/v1/workouts",
    description="Workout sessions and the sets performed in them, in order.",
)

WORKOUT_RESOURCE = Resource(
    schema=schemas.Workout(), endpoint=f"{blp.name}.Workout", id_arg="workout_id"
)
WORKOUT_ID = {"in": "path", "name": "workout_id", "description": "The workout's id."}


@blp.route("")
class Workouts(MethodView):
    @authenticated
    @blp.arguments(schemas.WorkoutQuery, location="query")
    @blp.response(200, schemas.WorkoutPage)
    @conditional_read
    def get(self, args: dict[str, Any]) -> Response:
        """List workouts

        The user's workouts, most recently started first by default, each with
        its sets in order (a page costs the same few queries however many
        sets it holds). Filterable by when they started; `unit` shows every
        set's weight in kg or lb.
        """
        return views.list_page(WORKOUT_RESOURCE, WORKOUTS, args)

    @authenticated
    @idempotent
    @blp.arguments(schemas.WorkoutCreate)
    @blp.response(201, schemas.Workout)
    def post(self, data: dict[str, Any]) -> Response:
        """Start or log a workout

        A name and when it started; `ended_at` (not before `started_at`) once
        it is over. Add its sets with `POST /v1/workouts/{workout_id}/sets`.
        """
        return views.create(WORKOUT_RESOURCE, WORKOUTS, data)


@blp.route("/<uuid:workout_id>", parameters=[WORKOUT_ID])
class Workout(MethodView):
    @authenticated
    @blp.arguments(schemas.WorkoutReadQuery, location="query")
    @conditional_read
    @errors(404)
    @blp.response(200, schemas.Workout)
    def get(self, args: dict[str, Any], workout_id: uuid.UUID) -> Response:
        """Get a workout

        One of the user's workouts with all its sets, ordered by `sequence`,
        and an ETag that changes when the workout or any of its sets does.
        With `unit`, set weights are shown in kg or lb (as stored without it);
        each unit shown has its own ETag, and If-Match accepts any of them.
        """
        return views.read(WORKOUT_RESOURCE, WORKOUTS, workout_id, args)

    @authenticated
    @blp.arguments(schemas.WorkoutUpdate)
    @blp.response(200, schemas.Workout)
    @errors(404)
    @conditional_write
    def patch(self, changes: dict[str, Any], workout_id: uuid.UUID) -> Response:
        """Update a workout

        Partial update: only the fields sent change. `started_at` and
        `ended_at` are sent together (`ended_at` may be null), and `ended_at`
        must not be before `started_at`.
        """
        return views.update(WORKOUT_RESOURCE, WORKOUTS, workout_id, changes)

    @authenticated
    @blp.response(204)
    @errors(404)
    @conditional_write
    def delete(self, workout_id: uuid.UUID) -> Response:
        """Delete a workout

        Removes the workout and all its sets for good. With If-Match, only if
        it is unchanged since it was read (a change to a set changes it too).
        """
        return views.delete(WORKOUT_RESOURCE, WORKOUTS, workout_id)


# ------------------------------------------------------------------------------- sets

SETS = NestedResource(
    schema=schemas.WorkoutSet(),
    endpoint=f"{blp.name}.WorkoutSetItem",
    id_arg="set_id",
    parent_arg="workout_id",
    parent_key="workout_id",
)
SET_ID = {"in": "path", "name": "set_id", "description": "The set's id (within this workout)."}


@blp.route("/<uuid:workout_id>/sets", parameters=[WORKOUT_ID])
class WorkoutSets(MethodView):
    @authenticated
    @blp.arguments(schemas.WorkoutSetQuery, location="query")
    @blp.response(200, schemas.WorkoutSetPage)
    @errors(404)
    @conditional_read
    def get(self, args: dict[str, Any], workout_id: uuid.UUID) -> Response:
        """List a workout's sets

        The sets of one of the user's workouts, by `sequence` (the order they
        were done in), filterable by exercise; `unit` shows weights in kg or
        lb. 404 if the workout is not the user's.
        """
        principal = current_principal()
        user_id = principal.user_id
        return SETS.page(principal, lambda: WORKOUT_SETS.list_page(db(), user_id, workout_id, args))

    @authenticated
    @idempotent
    @blp.arguments(schemas.WorkoutSetCreate)
    @blp.response(201, schemas.WorkoutSet)
    @errors(404, 409)
    def post(self, data: dict[str, Any], workout_id: uuid.UUID) -> Response:
        """Add a set to a workout

        Without `sequence`, the set goes after the workout's last set; a
        `sequence` another set holds is a 409. The exercise is one of grau's
        catalog or the user's own (anything else is a 422 on `exercise_id`).
        The workout's ETag changes too.
        """
        return SETS.created(WORKOUT_SETS.create(db(), current_user_id(), workout_id, data))


@blp.route("/<uuid:workout_id>/sets/<uuid:set_id>", parameters=[WORKOUT_ID, SET_ID])
class WorkoutSetItem(MethodView):
    @authenticated
    @blp.arguments(schemas.WorkoutSetReadQuery, location="query")
    @blp.response(200, schemas.WorkoutSet)
    @errors(404)
    @conditional_read
    def get(self, args: dict[str, Any], workout_id: uuid.UUID, set_id: uuid.UUID) -> Response:
        """Get a set

        One set of one of the user's workouts, with an ETag: send it in
        If-Match when changing or deleting it. With `unit`, its weight is
        shown in kg or lb (with that unit's own ETag, which If-Match accepts
        too). 404 if the set is not in this workout.
        """
        principal = current_principal()
        user_id = principal.user_id
        return SETS.item(
            principal, lambda: WORKOUT_SETS.show(db(), user_id, workout_id, set_id, args)
        )

    @authenticated
    @blp.arguments(schemas.WorkoutSetUpdate)
    @blp.response(200, schemas.WorkoutSet)
    @errors(404, 409)
    @conditional_write
    def patch(self, changes: dict[str, Any], workout_id: uuid.UUID, set_id: uuid.UUID) -> Response:
        """Update a set

        Partial update: only the fields sent change; `weight` and
        `weight_unit` are sent together. Moving the set to a `sequence`
        another set holds is a 409. The workout's ETag changes too.
        """
        user_id = current_user_id()
        return views.stale_shows_current(
            SETS,
            lambda: SETS.updated(
                WORKOUT_SETS.update(db(), user_id, workout_id, set_id, changes, if_match=if_match())
            ),
            lambda: WORKOUT_SETS.show(db(), user_id, workout_id, set_id, views.AS_STORED),
        )

    @authenticated
    @blp.response(204)
    @errors(404)
    @conditional_write
    def delete(self, workout_id: uuid.UUID, set_id: uuid.UUID) -> Response:
        """Delete a set

        Removes the set for good; the other sets keep their `sequence`. With
        If-Match, only if it is unchanged since it was read. The workout's
        ETag changes too.
        """
        user_id = current_user_id()

        def write() -> Response:
            WORKOUT_SETS.delete(db(), user_id, workout_id, set_id, if_match=if_match())
            return SETS.deleted()

        return views.stale_shows_current(
            SETS,
            write,
            lambda: WORKOUT_SETS.show(db(), user_id, workout_id, set_id, views.AS_STORED),
        )


# An exercise's progress reads the user's sets, so it lives here, on the
# exercises blueprint (its path and tag are the exercise's). It is never
# cached: every logged set changes it, and computing it is one indexed
# aggregate.
@exercises_blp.route(
    "/<uuid:exercise_id>/progress",
    parameters=[EXERCISE_ID],
)
class ExerciseProgress(MethodView):
    @authenticated
    @exercises_blp.arguments(schemas.ExerciseProgressQuery, location="query")
    @exercises_blp.response(200, schemas.ExerciseProgress)
    @exercises_blp.doc(operationId="getExerciseProgress")
    @errors(404)
    @conditional_read
    def get(self, args: dict[str, Any], exercise_id: uuid.UUID) -> Response:
        """Get progress on an exercise

        The user's sets of this exercise (grau's or their own; 404 otherwise),
        per workout in time order: set count, volume (sum of weight * reps),
        top weight and best estimated one-rep max, plus the best set overall
        (heaviest; ties: more reps, then earliest). The e1RM uses Epley's
        formula, weight * (1 + reps / 30), with a single rep counting as its
        own weight; only sets with a weight above 0 and 1 to 12 reps are
        estimated. Weights are in `unit`; `date_from` and `date_to` are days
        in the user's time zone, both included.
        """
        data = exercise_progress(db(), current_user_id(), exercise_id, args)
        dumped = schemas.ExerciseProgress().dump(data)
        return views.uncached(json.dumps(dumped, separators=(",", ":")).encode())
