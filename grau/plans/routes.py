"""/v1/plans: training plans with days and planned exercises."""

from __future__ import annotations

from grau.extensions import Blueprint

blp = Blueprint(
    "plans",
    __name__,
    url_prefix="/v1/plans",
    description="Training plans: days and the exercises planned on each; one active at a time.",
)
