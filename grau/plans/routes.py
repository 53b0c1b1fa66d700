"""/v1/plans: training plans with days and planned exercises."""

from __future__ import annotations

import uuid
from typing import Any

from flask import Response

from grau.http import views
from grau.http.extensions import Blueprint, MethodView
from grau.http.idempotency import idempotent
from grau.http.openapi import conditional_read, conditional_write, errors
from grau.http.views import Resource, authenticated
from grau.plans import schemas
from grau.plans.service import PLANS

blp = Blueprint(
    "plans",
    __name__,
    url_prefix="/v1/plans",
    description="Training plans: days and the exercises planned on each; one active at a time.",
)

PLAN_RESOURCE = Resource(schema=schemas.Plan(), endpoint=f"{blp.name}.Plan", id_arg="plan_id")
PLAN_ID = {"in": "path", "name": "plan_id", "description": "The plan's id."}


@blp.route("")
class Plans(MethodView):
    @authenticated
    @blp.arguments(schemas.PlanQuery, location="query")
    @blp.response(200, schemas.PlanPage)
    @conditional_read
    def get(self, args: dict[str, Any]) -> Response:
        """List plans

        The user's plans, each with all its days and planned exercises, sorted
        by name by default; `is_active=true` finds the active one.
        """
        return views.list_page(PLAN_RESOURCE, PLANS, args)

    @authenticated
    @idempotent
    @blp.arguments(schemas.PlanCreate)
    @blp.response(201, schemas.Plan)
    @errors(*(409,))
    def post(self, data: dict[str, Any]) -> Response:
        """Create a plan

        The whole plan in one document: up to 14 days, each with up to 30
        planned exercises, in order. Every `exercise_id` must be an exercise
        from grau's catalog or one of the user's own (422 naming the field
        otherwise). With `is_active: true` the new plan becomes the active one
        and the previously active plan is deactivated in the same transaction;
        a concurrent activation makes one of the two requests fail with 409.
        """
        return views.create(PLAN_RESOURCE, PLANS, data)


@blp.route("/<uuid:plan_id>", parameters=[PLAN_ID])
class Plan(MethodView):
    @authenticated
    @conditional_read
    @errors(404)
    @blp.response(200, schemas.Plan)
    def get(self, plan_id: uuid.UUID) -> Response:
        """Get a plan

        One of the user's plans with every day and planned exercise, with an
        ETag: send it in If-Match when changing or deleting it.
        """
        return views.read(PLAN_RESOURCE, PLANS, plan_id, {})

    @authenticated
    @blp.arguments(schemas.PlanUpdate)
    @blp.response(200, schemas.Plan)
    @errors(404, *(409,))
    @conditional_write
    def patch(self, changes: dict[str, Any], plan_id: uuid.UUID) -> Response:
        """Update a plan

        Partial update: only the fields sent change. `days`, when sent,
        replaces every day and planned exercise of the plan with the list
        sent. `is_active: true` deactivates the previously active plan in the
        same transaction (409 if another plan is activated concurrently).
        """
        return views.update(PLAN_RESOURCE, PLANS, plan_id, changes)

    @authenticated
    @blp.response(204)
    @errors(404, *(409,))
    @conditional_write
    def delete(self, plan_id: uuid.UUID) -> Response:
        """Delete a plan

        Removes the plan with its days and planned exercises. With If-Match,
        only if it is unchanged since it was read.
        """
        return views.delete(PLAN_RESOURCE, PLANS, plan_id)
