"""/v1/body-stats: the user's body measurements, read in any unit, and summed up per period."""

from __future__ import annotations

from typing import Any

from flask import Response
from flask.views import MethodView

from grau.auth.tokens import authenticated, current_principal
from grau.body_stats import service
from grau.body_stats.schemas import (
    BodyStat,
    BodyStatCreate,
    BodyStatPage,
    BodyStatQuery,
    BodyStatReadQuery,
    BodyStatSummary,
    BodyStatSummaryQuery,
    BodyStatUpdate,
)
from grau.body_stats.service import BODY_STATS
from grau.crud_routes import Docs, Schemas, crud_routes
from grau.db.session import db
from grau.extensions import Blueprint
from grau.openapi import conditional_read

blp = Blueprint(
    "body-stats",
    __name__,
    url_prefix="/v1/body-stats",
    description="Weight, height, body fat and girths, each with the moment it was measured.",
)

RESOURCE = crud_routes(
    blp,
    BODY_STATS,
    name="BodyStat",
    plural="BodyStats",
    noun="body stat",
    item_arg="stat_id",
    schemas=Schemas(
        item=BodyStat,
        create=BodyStatCreate,
        update=BodyStatUpdate,
        page=BodyStatPage,
        query=BodyStatQuery,
        read=BodyStatReadQuery,
    ),
    docs=Docs(
        list="""List body stats

        The user's measurements, newest first by default, filterable by type
        and by when they were recorded. With `unit`, every stat whose type is
        measured in that unit is shown in it; the others keep their own.
        """,
        create="""Record a body stat

        Each type accepts only its units: weight in kg, lb or st; height,
        waist, chest and hips in cm or in; body fat in %.
        """,
        get="""Get a body stat

        One of the user's measurements, with an ETag: send it in If-Match
        when changing or deleting it. With `unit`, the value is shown in that
        unit if the stat's type is measured in it (the stored value is
        unchanged); each unit is its own representation, with its own ETag,
        and any of them works in If-Match.
        """,
        update="""Update a body stat

        Partial update: only the fields sent change; `type`, `value` and
        `unit` are sent together, and the result must still be a valid
        measurement.
        """,
        delete="""Delete a body stat

        Removes the measurement for good. With If-Match, only if it is
        unchanged since it was read.
        """,
    ),
)


SUMMARY = BodyStatSummary()


@blp.route("/summary")
class Summary(MethodView):
    @authenticated
    @blp.arguments(BodyStatSummaryQuery, location="query")
    @blp.response(200, BodyStatSummary)
    @blp.doc(operationId="getBodyStatSummary")
    @conditional_read
    def get(self, args: dict[str, Any]) -> Response:
        """Summarize body stats per day, week or month

        For one type of stat: the lowest, highest and mean value and the
        number of stats per local day, week (Monday to Sunday) or calendar
        month, in the user's time zone, oldest first; periods without stats
        are left out. Values are in the user's preferred unit unless `unit`
        asks for another one of the type's units. `from` and `to` are local
        dates and include whole days; a period that starts before `from` only
        counts the stats from `from` on.
        """
        principal = current_principal()
        user_id = principal.user_id
        # The profile's zone and units shape the result; a change to them is a new revision.
        return RESOURCE.computed(
            principal,
            SUMMARY,
            lambda: service.summary(db(), user_id, service.preferences(db(), user_id), args),
        )
