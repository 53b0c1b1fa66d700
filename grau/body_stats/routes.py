"""/v1/body-stats: the user's body measurements."""

from __future__ import annotations

import uuid
from typing import Any

from flask import Response
from flask.views import MethodView

from grau import crud
from grau.auth.tokens import authenticated, current_user_id
from grau.body_stats import service
from grau.body_stats.schemas import (
    BodyStat,
    BodyStatCreate,
    BodyStatPage,
    BodyStatQuery,
    BodyStatUpdate,
)
from grau.db.session import db
from grau.extensions import Blueprint
from grau.idempotency import idempotent
from grau.openapi import conditional_read, conditional_write, errors

blp = Blueprint(
    "body-stats",
    __name__,
    url_prefix="/v1/body-stats",
    description="Weight, height, body fat and girths, each with the moment it was measured.",
)

BODY_STATS = crud.Resource(
    name=service.SCOPE, schema=BodyStat(), endpoint="body-stats.BodyStatItem", id_arg="stat_id"
)


@blp.route("")
class BodyStats(MethodView):
    @authenticated
    @blp.arguments(BodyStatQuery, location="query")
    @blp.response(200, BodyStatPage)
    @conditional_read
    def get(self, args: dict[str, Any]) -> Response:
        """List body stats

        The user's measurements, newest first by default, filterable by type
        and by when they were recorded.
        """
        user_id = current_user_id()
        return BODY_STATS.page(user_id, lambda: service.list_page(db(), user_id, args))

    @authenticated
    @idempotent
    @blp.arguments(BodyStatCreate)
    @blp.response(201, BodyStat)
    def post(self, data: dict[str, Any]) -> Response:
        """Record a body stat

        Each type accepts only its units: weight in kg, lb or st; height,
        waist, chest and hips in cm or in; body fat in %.
        """
        return BODY_STATS.created(service.create(db(), current_user_id(), data))


@blp.route(
    "/<uuid:stat_id>",
    parameters=[{"in": "path", "name": "stat_id", "description": "The body stat's id."}],
)
class BodyStatItem(MethodView):
    @authenticated
    @blp.response(200, BodyStat)
    @errors(404)
    @conditional_read
    def get(self, stat_id: uuid.UUID) -> Response:
        """Get a body stat

        One of the user's measurements, with an ETag: send it in If-Match
        when changing or deleting it.
        """
        user_id = current_user_id()
        return BODY_STATS.item(user_id, stat_id, lambda: service.get(db(), user_id, stat_id))

    @authenticated
    @blp.arguments(BodyStatUpdate)
    @blp.response(200, BodyStat)
    @errors(404)
    @conditional_write
    def patch(self, changes: dict[str, Any], stat_id: uuid.UUID) -> Response:
        """Update a body stat

        Partial update: only the fields sent change; the result must still be
        a valid measurement.
        """
        return BODY_STATS.updated(service.update(db(), current_user_id(), stat_id, changes))

    @authenticated
    @blp.response(204)
    @errors(404)
    @conditional_write
    def delete(self, stat_id: uuid.UUID) -> Response:
        """Delete a body stat

        Removes the measurement for good. With If-Match, only if it is
        unchanged since it was read.
        """
        service.delete(db(), current_user_id(), stat_id)
        return BODY_STATS.deleted()
