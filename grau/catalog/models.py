"""Equipment and exercises: system rows (user_id NULL) shared by all, plus private ones."""

from __future__ import annotations

import uuid

from sqlalchemy import JSON, Column, ForeignKey, Index, String, Table, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from grau.db.model import Base, SharedOrOwned, Synced, Timestamps, UUIDPrimaryKey, Versioned

# A catalog item seeded on a fresh server gets the id its kind and slug name (UUID v5), so
# every such server shares it: documentation examples can name real items. (Servers seeded
# before kept the ids they had; an export names catalog items by slug either way.)
CATALOG_IDS = uuid.UUID("5f0c2a8e-91b4-4d6a-8c3e-7a1b2d4e6f80")


def catalog_id(kind: str, slug: str) -> uuid.UUID:
    """The id a fresh server seeds the catalog item `slug` of `kind` ("equipment",
    "exercise") with."""
    return uuid.uuid5(CATALOG_IDS, f"{kind}:{slug}")


MUSCLES = (
    "chest",
    "upper_back",
    "lats",
    "lower_back",
    "traps",
    "front_delts",
    "side_delts",
    "rear_delts",
    "biceps",
    "triceps",
    "forearms",
    "abs",
    "obliques",
    "hip_flexors",
    "glutes",
    "quads",
    "hamstrings",
    "adductors",
    "abductors",
    "calves",
    "neck",
)
EXERCISE_CATEGORIES = ("strength", "cardio", "stretching", "plyometrics", "mobility", "balance")
LATERALITIES = ("bilateral", "unilateral")
DIFFICULTIES = ("beginner", "intermediate", "advanced")
EQUIPMENT_CATEGORIES = (
    "free_weights",
    "machines",
    "cables",
    "bodyweight",
    "cardio_machines",
    "accessories",
)

exercise_equipment = Table(
    "exercise_equipment",
    Base.metadata,
    Column("exercise_id", ForeignKey("exercises.id", ondelete="CASCADE"), primary_key=True),
    Column(
        "equipment_id",
        ForeignKey("equipment.id", ondelete="CASCADE"),
        primary_key=True,
        index=True,
    ),
)


class Equipment(UUIDPrimaryKey, SharedOrOwned, Timestamps, Versioned, Synced, Base):
    __tablename__ = "equipment"
    __table_args__ = (Index("ix_equipment_user_name", "user_id", "name", unique=True),)

    # Stable handle of a system row (e.g. "barbell"); NULL for a user's own.
    slug: Mapped[str | None] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(80))
    category: Mapped[str] = mapped_column(String(20), index=True)
    description: Mapped[str | None] = mapped_column(Text)


class ExerciseMuscle(Base):
    """A muscle an exercise works, primary or secondary: one row each, for filtering."""

    __tablename__ = "exercise_muscles"
    __table_args__ = (Index("ix_exercise_muscles_muscle", "muscle", "exercise_id"),)

    exercise_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("exercises.id", ondelete="CASCADE"), primary_key=True
    )
    muscle: Mapped[str] = mapped_column(String(20), primary_key=True)
    is_primary: Mapped[bool]


class Exercise(UUIDPrimaryKey, SharedOrOwned, Timestamps, Versioned, Synced, Base):
    __tablename__ = "exercises"
    __table_args__ = (Index("ix_exercises_user_name", "user_id", "name", unique=True),)

    slug: Mapped[str | None] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(80), index=True)
    category: Mapped[str] = mapped_column(String(20), index=True)
    laterality: Mapped[str] = mapped_column(String(12))
    difficulty: Mapped[str] = mapped_column(String(12))
    # Ordered steps, as a JSON list of strings.
    instructions: Mapped[list[str]] = mapped_column(JSON, default=list)
    muscles: Mapped[list[ExerciseMuscle]] = relationship(
        cascade="all, delete-orphan", order_by=ExerciseMuscle.muscle
    )
    equipment: Mapped[list[Equipment]] = relationship(
        secondary=exercise_equipment, order_by=Equipment.name
    )

    @property
    def primary_muscles(self) -> list[str]:
        return [m.muscle for m in self.muscles if m.is_primary]

    @property
    def secondary_muscles(self) -> list[str]:
        return [m.muscle for m in self.muscles if not m.is_primary]

    @property
    def equipment_ids(self) -> list[uuid.UUID]:
        return [e.id for e in self.equipment]

    @property
    def system(self) -> bool:
        return self.user_id is None
