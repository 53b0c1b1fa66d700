"""/v1/plans: training plans with days and planned exercises."""

from __future__ import annotations

from grau.crud_routes import Docs, Schemas, crud_routes
from grau.extensions import Blueprint
from grau.plans.schemas import Plan, PlanCreate, PlanPage, PlanQuery, PlanUpdate
from grau.plans.service import PLANS

blp = Blueprint(
    "plans",
    __name__,
    url_prefix="/v1/plans",
    description="Training plans: days and the exercises planned on each; one active at a time.",
)

crud_routes(
    blp,
    PLANS,
    name="Plan",
    plural="Plans",
    noun="plan",
    item_arg="plan_id",
    schemas=Schemas(
        item=Plan,
        create=PlanCreate,
        update=PlanUpdate,
        page=PlanPage,
        query=PlanQuery,
    ),
    docs=Docs(
        list="""List plans

        The user's plans, each with all its days and planned exercises, sorted
        by name by default; `is_active=true` finds the active one.
        """,
        create="""Create a plan

        The whole plan in one document: up to 14 days, each with up to 30
        planned exercises, in order. Every `exercise_id` must be an exercise
        from grau's catalog or one of the user's own (422 naming the field
        otherwise). With `is_active: true` the new plan becomes the active one
        and the previously active plan is deactivated in the same transaction;
        a concurrent activation makes one of the two requests fail with 409.
        """,
        get="""Get a plan

        One of the user's plans with every day and planned exercise, with an
        ETag: send it in If-Match when changing or deleting it.
        """,
        update="""Update a plan

        Partial update: only the fields sent change. `days`, when sent,
        replaces every day and planned exercise of the plan with the list
        sent. `is_active: true` deactivates the previously active plan in the
        same transaction (409 if another plan is activated concurrently).
        """,
        delete="""Delete a plan

        Removes the plan with its days and planned exercises. With If-Match,
        only if it is unchanged since it was read.
        """,
    ),
    write_errors=(409,),
)
