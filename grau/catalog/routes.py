"""/v1/equipment and /v1/exercises: the exercise catalog, and progress per exercise."""

from __future__ import annotations

import hashlib
import json
import uuid
from typing import Any

from flask import Response, request
from flask.views import MethodView

from grau.auth.tokens import authenticated, current_user_id
from grau.catalog import schemas
from grau.catalog.service import EQUIPMENT, EXERCISES, exercise_progress
from grau.crud import json_response
from grau.crud_routes import Docs, Schemas, crud_routes
from grau.db.session import db
from grau.extensions import Blueprint
from grau.openapi import conditional_read, errors

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

crud_routes(
    blp,
    EQUIPMENT,
    name="Equipment",
    plural="EquipmentList",
    noun="equipment",
    item_arg="equipment_id",
    schemas=Schemas(
        item=schemas.Equipment,
        create=schemas.EquipmentCreate,
        update=schemas.EquipmentUpdate,
        page=schemas.EquipmentPage,
        query=schemas.EquipmentQuery,
    ),
    write_errors=WRITE_ERRORS,
    docs=Docs(
        list="""List equipment

        grau's catalog (`system: true`, the same for everyone) and the user's
        own equipment, by name unless `sort` says otherwise; filter by
        category, name (`q`) and `source`.
        """,
        create="""Add equipment

        Adds a piece of equipment of the user's own, visible only to them. Its
        name must differ from their other equipment's (409 otherwise).
        """,
        get="""Get equipment

        A catalog entry or one of the user's own, with an ETag.
        """,
        update="""Update equipment

        Partial update of the user's own equipment. Catalog entries
        (`system: true`) are read-only: 403.
        """,
        delete="""Delete equipment

        Removes the user's own equipment; their exercises that used it no
        longer list it. Catalog entries (`system: true`) are read-only: 403.
        """,
    ),
)

crud_routes(
    exercises_blp,
    EXERCISES,
    name="Exercise",
    plural="Exercises",
    noun="exercise",
    item_arg="exercise_id",
    schemas=Schemas(
        item=schemas.Exercise,
        create=schemas.ExerciseCreate,
        update=schemas.ExerciseUpdate,
        page=schemas.ExercisePage,
        query=schemas.ExerciseQuery,
    ),
    write_errors=WRITE_ERRORS,
    docs=Docs(
        list="""List exercises

        grau's catalog (`system: true`, over 100 exercises for every muscle
        group) and the user's own exercises, by name unless `sort` says
        otherwise. Filter by muscle (`muscle`: primary or secondary;
        `primary_muscle`), equipment, category, difficulty, laterality, name
        (`q`) and `source`; filters combine.
        """,
        create="""Add an exercise

        Adds an exercise of the user's own, visible only to them. Its
        `equipment_ids` name grau's or the user's own equipment (another
        user's is a 422); its name must differ from their other exercises'
        (409 otherwise).
        """,
        get="""Get an exercise

        A catalog exercise or one of the user's own, with an ETag.
        """,
        update="""Update an exercise

        Partial update of the user's own exercise: only the fields sent
        change (a muscle list sent replaces that list). Catalog exercises
        (`system: true`) are read-only: 403.
        """,
        delete="""Delete an exercise

        Removes the user's own exercise, unless a logged set or a plan still
        uses it (409). Catalog exercises (`system: true`) are read-only: 403.
        """,
    ),
)


def _fresh_read(body: bytes) -> Response:
    """An uncached read whose ETag is its body's hash, honouring If-None-Match.

    Progress changes with every logged set, and those writes belong to the
    workouts package, so a cached copy could outlive them: computing it is one
    indexed aggregate.
    """
    etag = f'"{hashlib.blake2b(body, digest_size=10).hexdigest()}"'
    if_none_match = request.headers.get("If-None-Match", "")
    tags = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
    if "*" in tags or etag in tags:
        return Response(status=304, headers={"ETag": etag})
    return json_response(body, etag=etag)


@exercises_blp.route(
    "/<uuid:exercise_id>/progress",
    parameters=[{"in": "path", "name": "exercise_id", "description": "The exercise's id."}],
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
        return _fresh_read(json.dumps(dumped, separators=(",", ":")).encode())
