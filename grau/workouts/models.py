"""A workout session and its sets, in order."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from grau.db.model import Base, Entry

WEIGHT_UNITS = ("kg", "lb")
# What a set was for: a working set, a warm-up, a drop set, or one taken to failure.
SET_KINDS = ("normal", "warmup", "dropset", "failure")


class Workout(Entry, Base):
    __tablename__ = "workouts"
    __table_args__ = (Index("ix_workouts_user_started", "user_id", "started_at"),)

    name: Mapped[str] = mapped_column(String(120))
    started_at: Mapped[datetime]
    ended_at: Mapped[datetime | None]
    note: Mapped[str | None] = mapped_column(Text)
    sets: Mapped[list[WorkoutSet]] = relationship(
        back_populates="workout",
        order_by="WorkoutSet.sequence",
        cascade="all, delete-orphan",
        passive_deletes=True,
    )


class WorkoutSet(Entry, Base):
    """One set. `user_id` repeats the workout's owner, so ownership and progress
    queries need no join."""

    __tablename__ = "workout_sets"
    __table_args__ = (
        UniqueConstraint("workout_id", "sequence"),
        Index("ix_workout_sets_user_exercise", "user_id", "exercise_id"),
    )

    workout_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("workouts.id", ondelete="CASCADE"))
    # RESTRICT: an exercise still used in a logged set cannot be deleted (409).
    exercise_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("exercises.id", ondelete="RESTRICT"), index=True
    )
    sequence: Mapped[int]
    reps: Mapped[int | None]
    weight: Mapped[float | None]
    weight_unit: Mapped[str | None] = mapped_column(String(2))
    # `weight` in kg, for progress and volume across units.
    weight_kg: Mapped[float | None]
    rpe: Mapped[float | None]
    rir: Mapped[int | None]
    rest_seconds: Mapped[int | None]
    tempo: Mapped[str | None] = mapped_column(String(16))
    duration_seconds: Mapped[int | None]
    # How far, for a set that covers a distance (a run, a row, a carry), in metres.
    distance_meters: Mapped[float | None]
    kind: Mapped[str] = mapped_column(String(10), default="normal", server_default="normal")
    note: Mapped[str | None] = mapped_column(Text)
    workout: Mapped[Workout] = relationship(back_populates="sets")
