"""/v1/equipment and /v1/exercises: the exercise catalog.

An exercise's progress (GET /v1/exercises/{exercise_id}/progress) reads the
user's sets: its view is in grau/workouts/routes.py, on this file's blueprint.
"""

from __future__ import annotations

import uuid
from typing import Any

from flask import Response

from grau.catalog import schemas
from grau.catalog.service import EQUIPMENT, EXERCISES
from grau.db.session import one_statement, single_statement
from grau.http import views
from grau.http.extensions import Blueprint, MethodView
from grau.http.idempotency import idempotent
from grau.http.openapi import conditional_read, conditional_write, errors
from grau.http.views import Resource, authenticated

blp = Blueprint(
    "equipment",
    __name__,
    url_prefix="/v1/equipment",
    description="Equipment: grau's catalog (read-only) plus the user's own.",
)

exercises_blp = Blueprint(
    "exercises",
    __name__,
    url_prefix="/v1/exercises",
    description="Exercises: grau's read-only catalog plus the user's own; progress per exercise.",
)

# 403: a catalog row is read-only; 409: a duplicate name (or, on delete, an exercise in use).
WRITE_ERRORS = (403, 409)

EQUIPMENT_RESOURCE = Resource(
    schema=schemas.Equipment(), endpoint=f"{blp.name}.Equipment", id_arg="equipment_id"
)
EQUIPMENT_ID = {"in": "path", "name": "equipment_id", "description": "The equipment's id."}


@blp.route("")
class EquipmentList(MethodView):
    @authenticated
    @blp.arguments(schemas.EquipmentQuery, location="query")
    @blp.response(200, schemas.EquipmentPage)
    @conditional_read
    def get(self, args: dict[str, Any]) -> Response:
        """List equipment

        grau's catalog (`system: true`, the same for everyone) and the user's
        own equipment, by name unless `sort` says otherwise; filter by
        category, name (`q`) and `source`.
        """
        return views.list_page(EQUIPMENT_RESOURCE, EQUIPMENT, args)

    @single_statement  # one INSERT, which checks the session too
    @authenticated(view_checks_session=one_statement)
    @idempotent
    @blp.arguments(schemas.EquipmentCreate)
    @blp.response(201, schemas.Equipment)
    @errors(*WRITE_ERRORS)
    def post(self, data: dict[str, Any]) -> Response:
        """Add equipment

        Adds a piece of equipment of the user's own, visible only to them. Its
        name must differ from their other equipment's (409 otherwise).
        """
        return views.create(EQUIPMENT_RESOURCE, EQUIPMENT, data)


@blp.route("/<uuid:equipment_id>", parameters=[EQUIPMENT_ID])
class Equipment(MethodView):
    @authenticated(view_checks_session=True)  # read_in_one_query checks it
    @conditional_read
    @errors(404)
    @blp.response(200, schemas.Equipment)
    def get(self, equipment_id: uuid.UUID) -> Response:
        """Get equipment

        A catalog entry or one of the user's own, with an ETag.
        """
        return views.read_in_one_query(EQUIPMENT_RESOURCE, EQUIPMENT, equipment_id, {})

    @authenticated
    @blp.arguments(schemas.EquipmentUpdate)
    @blp.response(200, schemas.Equipment)
    @errors(404, *WRITE_ERRORS)
    @conditional_write
    def patch(self, changes: dict[str, Any], equipment_id: uuid.UUID) -> Response:
        """Update equipment

        Partial update of the user's own equipment. Catalog entries
        (`system: true`) are read-only: 403.
        """
        return views.update(EQUIPMENT_RESOURCE, EQUIPMENT, equipment_id, changes)

    @authenticated
    @blp.response(204)
    @errors(404, *WRITE_ERRORS)
    @conditional_write
    def delete(self, equipment_id: uuid.UUID) -> Response:
        """Delete equipment

        Removes the user's own equipment; their exercises that used it no
        longer list it. Catalog entries (`system: true`) are read-only: 403.
        """
        return views.delete(EQUIPMENT_RESOURCE, EQUIPMENT, equipment_id)


EXERCISE_RESOURCE = Resource(
    schema=schemas.Exercise(), endpoint=f"{exercises_blp.name}.Exercise", id_arg="exercise_id"
)
EXERCISE_ID = {"in": "path", "name": "exercise_id", "description": "The exercise's id."}


@exercises_blp.route("")
class Exercises(MethodView):
    @authenticated
    @exercises_blp.arguments(schemas.ExerciseQuery, location="query")
    @exercises_blp.response(200, schemas.ExercisePage)
    @conditional_read
    def get(self, args: dict[str, Any]) -> Response:
        """List exercises

        grau's catalog (`system: true`, over 100 exercises for every muscle
        group) and the user's own exercises, by name unless `sort` says
        otherwise. Filter by muscle (`muscle`: primary or secondary;
        `primary_muscle`), equipment, category, difficulty, laterality, name
        (`q`) and `source`; filters combine.
        """
        return views.list_page(EXERCISE_RESOURCE, EXERCISES, args)

    @authenticated
    @idempotent
    @exercises_blp.arguments(schemas.ExerciseCreate)
    @exercises_blp.response(201, schemas.Exercise)
    @errors(*WRITE_ERRORS)
    def post(self, data: dict[str, Any]) -> Response:
        """Add an exercise

        Adds an exercise of the user's own, visible only to them. Its
        `equipment_ids` name grau's or the user's own equipment (another
        user's is a 422); its name must differ from their other exercises'
        (409 otherwise).
        """
        return views.create(EXERCISE_RESOURCE, EXERCISES, data)


@exercises_blp.route("/<uuid:exercise_id>", parameters=[EXERCISE_ID])
class Exercise(MethodView):
    @authenticated
    @conditional_read
    @errors(404)
    @exercises_blp.response(200, schemas.Exercise)
    def get(self, exercise_id: uuid.UUID) -> Response:
        """Get an exercise

        A catalog exercise or one of the user's own, with an ETag.
        """
        return views.read(EXERCISE_RESOURCE, EXERCISES, exercise_id, {})

    @authenticated
    @exercises_blp.arguments(schemas.ExerciseUpdate)
    @exercises_blp.response(200, schemas.Exercise)
    @errors(404, *WRITE_ERRORS)
    @conditional_write
    def patch(self, changes: dict[str, Any], exercise_id: uuid.UUID) -> Response:
        """Update an exercise

        Partial update of the user's own exercise: only the fields sent
        change (a muscle list sent replaces that list). Catalog exercises
        (`system: true`) are read-only: 403.
        """
        return views.update(EXERCISE_RESOURCE, EXERCISES, exercise_id, changes)

    @authenticated
    @exercises_blp.response(204)
    @errors(404, *WRITE_ERRORS)
    @conditional_write
    def delete(self, exercise_id: uuid.UUID) -> Response:
        """Delete an exercise

        Removes the user's own exercise, unless a logged set or a plan still
        uses it (409). Catalog exercises (`system: true`) are read-only: 403.
        """
        return views.delete(EXERCISE_RESOURCE, EXERCISES, exercise_id)
