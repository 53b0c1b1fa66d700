"""/v1/body-stats: the user's body measurements."""

from __future__ import annotations

from grau.body_stats.schemas import (
    BodyStat,
    BodyStatCreate,
    BodyStatPage,
    BodyStatQuery,
    BodyStatUpdate,
)
from grau.body_stats.service import BODY_STATS
from grau.crud_routes import Docs, Schemas, crud_routes
from grau.extensions import Blueprint

blp = Blueprint(
    "body-stats",
    __name__,
    url_prefix="/v1/body-stats",
    description="Weight, height, body fat and girths, each with the moment it was measured.",
)

crud_routes(
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
    ),
    docs=Docs(
        list="""List body stats

        The user's measurements, newest first by default, filterable by type
        and by when they were recorded.
        """,
        create="""Record a body stat

        Each type accepts only its units: weight in kg, lb or st; height,
        waist, chest and hips in cm or in; body fat in %.
        """,
        get="""Get a body stat

        One of the user's measurements, with an ETag: send it in If-Match
        when changing or deleting it.
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
