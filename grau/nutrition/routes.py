"""/v1/nutrition-entries: water, energy and macronutrients, read in any unit, and daily totals."""

from __future__ import annotations

import uuid
from typing import Any

from flask import Response

from grau.db.session import db, one_statement, single_statement
from grau.http import views
from grau.http.extensions import Blueprint, MethodView
from grau.http.idempotency import idempotent
from grau.http.openapi import UPDATED_AT_SOURCE, conditional_read, conditional_write, errors
from grau.http.views import Resource, authenticated, current_principal
from grau.nutrition import schemas
from grau.nutrition.service import NUTRITION, daily_totals, user_timezone

blp = Blueprint(
    "nutrition-entries",
    __name__,
    url_prefix="/v1/nutrition-entries",
    description="Water, energy and macronutrients the user logged, with daily totals.",
)


RESOURCE = Resource(
    schema=schemas.NutritionEntry(), endpoint=f"{blp.name}.Entry", id_arg="entry_id"
)
ENTRY_ID = {"in": "path", "name": "entry_id", "description": "The nutrition entry's id."}


@blp.route("")
class Entries(MethodView):
    @authenticated
    @blp.arguments(schemas.NutritionEntryQuery, location="query")
    @blp.response(200, schemas.NutritionEntryPage)
    @conditional_read
    def get(self, args: dict[str, Any]) -> Response:
        """List nutrition entries

        The user's entries, newest first by default, filterable by type and by
        when they were recorded. Each comes in the unit it was recorded in,
        unless `unit` asks for another one of its quantity. Sorting by `value`
        orders by amount across units (1 l after 500 ml); combine it with
        `type` to compare like with like.
        """
        return views.list_page(RESOURCE, NUTRITION, args)

    @single_statement  # one INSERT, which checks the session too
    @authenticated(view_checks_session=one_statement)
    @idempotent
    @blp.arguments(schemas.NutritionEntryCreate)
    @blp.response(201, schemas.NutritionEntry)
    @blp.alt_response(200, schema=schemas.NutritionEntry, description=UPDATED_AT_SOURCE)
    def post(self, data: dict[str, Any]) -> Response:
        """Log a nutrition entry

        Each type accepts only its units: water in ml, l or fl_oz; calories in
        kcal or kj; protein, carbohydrates, fat and fiber in g, mg or oz. One
        entry holds at most 20 l of water, 20000 kcal, or 2 kg of a nutrient.
        """
        return views.create(RESOURCE, NUTRITION, data)


@blp.route("/<uuid:entry_id>", parameters=[ENTRY_ID])
class Entry(MethodView):
    @authenticated(view_checks_session=True)  # read_in_one_query checks it
    @blp.arguments(schemas.NutritionEntryReadQuery, location="query")
    @conditional_read
    @errors(404)
    @blp.response(200, schemas.NutritionEntry)
    def get(self, args: dict[str, Any], entry_id: uuid.UUID) -> Response:
        """Get a nutrition entry

        One of the user's entries, in the unit it was recorded in or the
        `unit` asked for. The ETag differs per unit shown; any of them works
        in If-Match when changing or deleting the entry.
        """
        return views.read_in_one_query(RESOURCE, NUTRITION, entry_id, args)

    @authenticated
    @blp.arguments(schemas.NutritionEntryUpdate)
    @blp.response(200, schemas.NutritionEntry)
    @errors(404)
    @conditional_write
    def patch(self, changes: dict[str, Any], entry_id: uuid.UUID) -> Response:
        """Update a nutrition entry

        Partial update: only the fields sent change; `type`, `value` and
        `unit` are sent together, and the result must still be a valid entry.
        """
        return views.update(RESOURCE, NUTRITION, entry_id, changes)

    @authenticated
    @blp.response(204)
    @errors(404)
    @conditional_write
    def delete(self, entry_id: uuid.UUID) -> Response:
        """Delete a nutrition entry

        Removes the entry for good. With If-Match, only if it is unchanged
        since it was read.
        """
        return views.delete(RESOURCE, NUTRITION, entry_id)


TOTALS = schemas.NutritionDailyTotals()


@blp.route("/daily-totals")
class DailyTotals(MethodView):
    @authenticated
    @blp.arguments(schemas.NutritionDailyTotalsQuery, location="query")
    @blp.response(200, schemas.NutritionDailyTotals)
    @conditional_read
    @blp.doc(operationId="getNutritionDailyTotals")
    def get(self, args: dict[str, Any]) -> Response:
        """Get daily nutrition totals

        Per local day from `date_from` to `date_to` (both included, at most
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
            return daily_totals(
                db(), user_id, tz, args["date_from"], args["date_to"], args.get("type")
            )

        return RESOURCE.computed(principal, TOTALS, totals)
