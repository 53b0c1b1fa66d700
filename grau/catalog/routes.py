"""/v1/equipment and /v1/exercises: the exercise catalog."""

from __future__ import annotations

from grau.extensions import Blueprint

blp = Blueprint(
    "equipment",
    __name__,
    url_prefix="/v1/equipment",
    description="Equipment: grau's catalog (read-only) plus the user's own.",
)

exercises_blp = Blueprint(
    "exercises",
    __name__,
    url_prefix="/v1/exercises",
    description="Exercises: grau's read-only catalog plus the user's own; progress per exercise.",
)
