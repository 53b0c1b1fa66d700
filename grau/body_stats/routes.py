"""/v1/body-stats: the user's body measurements, read in any unit, and summed up per period."""

from __future__ import annotations

import uuid
from typing import Any

from flask import Response

from grau.body_stats import schemas, service
from grau.body_stats.service import BODY_STATS
from grau.db.session import db, one_statement, single_statement
from grau.http import views
from grau.http.extensions import Blueprint, MethodView
from grau.http.idempotency import idempotent
from grau.http.openapi import UPDATED_AT_SOURCE, conditional_read, conditional_write, errors
from grau.http.views import Resource, authenticated, current_principal

blp = Blueprint(
    "body-stats",
    __name__,
    url_prefix="/v1/body-stats",
    description="Weight, height, body fat and girths, each with the moment it was measured.",
)

RESOURCE = Resource(schema=schemas.BodyStat(), endpoint=f"{blp.name}.BodyStat", id_arg="stat_id")
STAT_ID = {"in": "path", "name": "stat_id", "description": "The body stat's id."}


@blp.route("")
class BodyStats(MethodView):
    @authenticated
    @blp.arguments(schemas.BodyStatQuery, location="query")
    @blp.response(200, schemas.BodyStatPage)
    @conditional_read
    def get(self, args: dict[str, Any]) -> Response:
        """List body stats

        The user's measurements, newest first by default, filterable by type
        and by when they were recorded. With `unit`, every stat whose type is
        measured in that unit is shown in it; the others keep their own.
        """
        return views.list_page(RESOURCE, BODY_STATS, args)

    @single_statement  # one INSERT, which checks the session too
    @authenticated(view_checks_session=one_statement)
    @idempotent
    @blp.arguments(schemas.BodyStatCreate)
    @blp.response(201, schemas.BodyStat)
    @blp.alt_response(200, schema=schemas.BodyStat, description=UPDATED_AT_SOURCE)
    def post(self, data: dict[str, Any]) -> Response:
        """Record a body stat

        Each type accepts only its units: weight in kg, lb or st; height,
        waist, chest and hips in cm or in; body fat in %.
        """
        return views.create(RESOURCE, BODY_STATS, data)


@blp.route("/<uuid:stat_id>", parameters=[STAT_ID])
class BodyStat(MethodView):
    @authenticated(view_checks_session=True)  # read_in_one_query checks it
    @blp.arguments(schemas.BodyStatReadQuery, location="query")
    @conditional_read
    @errors(404)
    @blp.response(200, schemas.BodyStat)
    def get(self, args: dict[str, Any], stat_id: uuid.UUID) -> Response:
        """Get a body stat

        One of the user's measurements, with an ETag: send it in If-Match
        when changing or deleting it. With `unit`, the value is shown in that
        unit if the stat's type is measured in it (the stored value is
        unchanged); each unit is its own representation, with its own ETag,
        and any of them works in If-Match.
        """
        return views.read_in_one_query(RESOURCE, BODY_STATS, stat_id, args)

    @authenticated
    @blp.arguments(schemas.BodyStatUpdate)
    @blp.response(200, schemas.BodyStat)
    @errors(404)
    @conditional_write
    def patch(self, changes: dict[str, Any], stat_id: uuid.UUID) -> Response:
        """Update a body stat

        Partial update: only the fields sent change; `type`, `value` and
        `unit` are sent together, and the result must still be a valid
        measurement.
        """
        return views.update(RESOURCE, BODY_STATS, stat_id, changes)

    @authenticated
    @blp.response(204)
    @errors(404)
    @conditional_write
    def delete(self, stat_id: uuid.UUID) -> Response:
        """Delete a body stat

        Removes the measurement for good. With If-Match, only if it is
        unchanged since it was read.
        """
        return views.delete(RESOURCE, BODY_STATS, stat_id)


SUMMARY = schemas.BodyStatSummary()


@blp.route("/summary")
class Summary(MethodView):
    @authenticated
    @blp.arguments(schemas.BodyStatSummaryQuery, location="query")
    @blp.response(200, schemas.BodyStatSummary)
    @blp.doc(operationId="getBodyStatSummary")
    @conditional_read
    def get(self, args: dict[str, Any]) -> Response:
        """Summarize body stats per day, week or month

        For one type of stat: the lowest, highest and mean value and the
        number of stats per local day, week (Monday to Sunday) or calendar
        month, in the user's time zone, oldest first; periods without stats
        are left out. Values are in the user's preferred unit unless `unit`
        asks for another one of the type's units. `date_from` and `date_to` are
        local dates and include whole days; a period that starts before
        `date_from` only counts the stats from `date_from` on.
        """
        principal = current_principal()
        user_id = principal.user_id
        # The profile's zone and units shape the result; a change to them is a new revision.
        return RESOURCE.computed(
            principal,
            SUMMARY,
            lambda: service.summary(db(), user_id, service.preferences(db(), user_id), args),
        )
