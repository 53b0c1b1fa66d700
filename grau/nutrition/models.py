"""A logged amount of water, energy or a nutrient."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from grau.db.model import Base, Entry

# type -> (accepted units, the unit totals are reported in by default)
NUTRITION_TYPES: dict[str, tuple[tuple[str, ...], str]] = {
    "water": (("ml", "l", "fl_oz"), "ml"),
    "calories": (("kcal", "kj"), "kcal"),
    "protein": (("g", "mg", "oz"), "g"),
    "carbohydrates": (("g", "mg", "oz"), "g"),
    "fat": (("g", "mg", "oz"), "g"),
    "fiber": (("g", "mg", "oz"), "g"),
}


class NutritionEntry(Entry, Base):
    __tablename__ = "nutrition_entries"
    __table_args__ = (
        Index("ix_nutrition_entries_user_recorded", "user_id", "recorded_at"),
        Index("ix_nutrition_entries_user_type_recorded", "user_id", "type", "recorded_at"),
    )

    type: Mapped[str] = mapped_column(String(20))
    value: Mapped[float]
    unit: Mapped[str] = mapped_column(String(8))
    # The value in the base unit of its quantity (grau.core.units): ml, kcal or kg.
    canonical_value: Mapped[float]
    recorded_at: Mapped[datetime]
    note: Mapped[str | None] = mapped_column(Text)
