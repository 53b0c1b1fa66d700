"""A training plan, its days and their planned exercises (one active plan per user)."""

from __future__ import annotations

import uuid

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from grau.db.model import Base, Entry, UUIDPrimaryKey


class Plan(Entry, Base):
    __tablename__ = "plans"
    __table_args__ = (
        # One active plan per user, enforced by the database on both backends.
        Index(
            "uq_plans_one_active_per_user",
            "user_id",
            unique=True,
            postgresql_where=text("is_active"),
            sqlite_where=text("is_active"),
        ),
    )

    name: Mapped[str] = mapped_column(String(120))
    description: Mapped[str | None] = mapped_column(Text)
    is_active: Mapped[bool] = mapped_column(default=False)
    days: Mapped[list[PlanDay]] = relationship(
        order_by="PlanDay.position", cascade="all, delete-orphan", passive_deletes=True
    )


class PlanDay(UUIDPrimaryKey, Base):
    __tablename__ = "plan_days"
    __table_args__ = (UniqueConstraint("plan_id", "position"),)

    plan_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("plans.id", ondelete="CASCADE"))
    position: Mapped[int]
    name: Mapped[str] = mapped_column(String(80))
    note: Mapped[str | None] = mapped_column(Text)
    exercises: Mapped[list[PlannedExercise]] = relationship(
        order_by="PlannedExercise.position", cascade="all, delete-orphan", passive_deletes=True
    )


class PlannedExercise(UUIDPrimaryKey, Base):
    __tablename__ = "planned_exercises"
    __table_args__ = (UniqueConstraint("day_id", "position"),)

    day_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("plan_days.id", ondelete="CASCADE"))
    exercise_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("exercises.id", ondelete="RESTRICT"), index=True
    )
    position: Mapped[int]
    target_sets: Mapped[int | None]
    target_reps: Mapped[int | None]
    target_weight: Mapped[float | None]
    weight_unit: Mapped[str | None] = mapped_column(String(2))
    target_rpe: Mapped[float | None]
    note: Mapped[str | None] = mapped_column(Text)
