"""/v1/nutrition-entries: water, energy and macronutrients."""

from __future__ import annotations

from grau.extensions import Blueprint

blp = Blueprint(
    "nutrition-entries",
    __name__,
    url_prefix="/v1/nutrition-entries",
    description="Water, energy and macronutrients the user logged, with daily totals.",
)
