"""/v1/nutrition-entries: water, energy and macronutrients, read in any unit, and daily totals."""

from __future__ import annotations

from typing import Any

from flask import Response
from flask.views import MethodView

from grau.auth.tokens import authenticated, current_principal
from grau.crud_routes import Docs, Schemas, crud_routes
from grau.db.session import db
from grau.extensions import Blueprint
from grau.nutrition.schemas import (
    NutritionDailyTotals,
    NutritionDailyTotalsQuery,
    NutritionEntry,
    NutritionEntryCreate,
    NutritionEntryPage,
    NutritionEntryQuery,
    NutritionEntryReadQuery,
    NutritionEntryUpdate,
)
from grau.nutrition.service import NUTRITION, daily_totals, user_timezone
from grau.openapi import conditional_read

blp = Blueprint(
    "nutrition-entries",
    __name__,
    url_prefix="/v1/nutrition-entries",
    description="Water, energy and macronutrients the user logged, with daily totals.",
)


RESOURCE = crud_routes(
    blp,
    NUTRITION,
    name="Entry",
    plural="Entries",
    noun="nutrition entry",
    item_arg="entry_id",
    schemas=Schemas(
        item=NutritionEntry,
        create=NutritionEntryCreate,
        update=NutritionEntryUpdate,
        page=NutritionEntryPage,
        query=NutritionEntryQuery,
        read=NutritionEntryReadQuery,
    ),
    docs=Docs(
        list="""List nutrition entries

        The user's entries, newest first by default, filterable by type and by
        when they were recorded. Each comes in the unit it was recorded in,
        unless `unit` asks for another one of its quantity. Sorting by `value`
        orders by amount across units (1 l after 500 ml); combine it with
        `type` to compare like with like.
        """,
        create="""Log a nutrition entry

        Each type accepts only its units: water in ml, l or fl_oz; calories in
        kcal or kj; protein, carbohydrates, fat and fiber in g, mg or oz. One
        entry holds at most 20 l of water, 20000 kcal, or 2 kg of a nutrient.
        """,
        get="""Get a nutrition entry

        One of the user's entries, in the unit it was recorded in or the
        `unit` asked for. The ETag differs per unit shown; any of them works
        in If-Match when changing or deleting the entry.
        """,
        update="""Update a nutrition entry

        Partial update: only the fields sent change; `type`, `value` and
        `unit` are sent together, and the result must still be a valid entry.
        """,
        delete="""Delete a nutrition entry

        Removes the entry for good. With If-Match, only if it is unchanged
        since it was read.
        """,
    ),
)
TOTALS = NutritionDailyTotals()


@blp.route("/daily-totals")
class DailyTotals(MethodView):
    @authenticated
    @blp.arguments(NutritionDailyTotalsQuery, location="query")
    @blp.response(200, NutritionDailyTotals)
    @conditional_read
    @blp.doc(operationId="getNutritionDailyTotals")
    def get(self, args: dict[str, Any]) -> Response:
        """Get daily nutrition totals

        Per local day from `from` to `to` (both included, at most
        366 days apart) and per type: the sum of the user's entries and
        how many there were. Days are the user's own, in the profile's
        `timezone` (an entry at 23:30 local time counts for that day, across
        daylight saving changes too). Totals are in each type's reporting
        unit, whatever the entries were recorded in: water in ml, calories in
        kcal, nutrients in g. Every day of the range is listed, empty ones
        with no totals.
        """
        principal = current_principal()
        user_id = principal.user_id

        def totals() -> Any:
            # The zone shapes the days; a profile change is a new revision.
            tz = user_timezone(db(), user_id)
            return daily_totals(db(), user_id, tz, args["start"], args["end"], args.get("type"))

        return RESOURCE.computed(principal, TOTALS, totals)
