"""A body measurement taken at a moment."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from grau.db.model import Base, OwnedBy, Timestamps, UUIDPrimaryKey, Versioned

# type -> (accepted units, canonical range [min, max] in the canonical unit)
STAT_TYPES: dict[str, tuple[tuple[str, ...], tuple[float, float]]] = {
    "weight": (("kg", "lb", "st"), (0.5, 650.0)),
    "height": (("cm", "in"), (20.0, 300.0)),
    "body_fat": (("%",), (1.0, 80.0)),
    "waist": (("cm", "in"), (10.0, 300.0)),
    "chest": (("cm", "in"), (10.0, 300.0)),
    "hips": (("cm", "in"), (10.0, 300.0)),
}
CANONICAL_UNIT = {
    "weight": "kg",
    "height": "cm",
    "body_fat": "%",
    "waist": "cm",
    "chest": "cm",
    "hips": "cm",
}


class BodyStat(UUIDPrimaryKey, OwnedBy, Timestamps, Versioned, Base):
    __tablename__ = "body_stats"
    __table_args__ = (
        # The default list: one user's stats, newest first, optionally of one type.
        Index("ix_body_stats_user_recorded", "user_id", "recorded_at"),
        Index("ix_body_stats_user_type_recorded", "user_id", "type", "recorded_at"),
    )

    type: Mapped[str] = mapped_column(String(20))
    value: Mapped[float]
    unit: Mapped[str] = mapped_column(String(4))
    # The value in the type's canonical unit (kg, cm, %), for ranges and summaries.
    canonical_value: Mapped[float]
    recorded_at: Mapped[datetime]
    note: Mapped[str | None] = mapped_column(Text)
