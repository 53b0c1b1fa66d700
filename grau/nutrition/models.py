"""A logged amount of water, energy or a nutrient, and what each type may be."""

from __future__ import annotations

from grau.core.measurements import Measure, Measures
from grau.db.model import Base, Measured

# The most one entry may hold: more is a typo (or a fuzzer), not a meal.
NUTRIENT = Measure(("g", "mg", "oz"), 0.0, 2.0, "kg", reported_in="g")

# Each type's units, the most one entry may hold, and the unit totals are reported in.
AMOUNTS = Measures(
    {
        "water": Measure(("ml", "l", "fl_oz"), 0.0, 20.0, "l", reported_in="ml"),
        "calories": Measure(("kcal", "kj"), 0.0, 20_000.0, "kcal"),
        "protein": NUTRIENT,
        "carbohydrates": NUTRIENT,
        "fat": NUTRIENT,
        "fiber": NUTRIENT,
    },
    wrong_unit="{Type} is logged in {units}.",
    out_of_range="One {type} entry is between {low} and {high} {unit}{stated}.",
)


class NutritionEntry(Measured, Base):
    __tablename__ = "nutrition_entries"
