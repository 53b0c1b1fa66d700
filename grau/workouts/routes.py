"""/v1/workouts and their sets."""

from __future__ import annotations

from grau.extensions import Blueprint

blp = Blueprint(
    "workouts",
    __name__,
    url_prefix="/v1/workouts",
    description="Workout sessions and the sets performed in them, in order.",
)
