"""What the changes feed reads: each synced row's `seq`, and a tombstone per deleted row.

Every table an app keeps a copy of (`SYNCED`) has a `seq` column
(`grau.db.model.Synced`) that the database sets whenever a row is inserted or
its version moves (grau.sync.triggers), and a deleted row leaves a
`Tombstone` with a `seq` of its own. All come from one counter, taken while
the transaction holds its owner's row lock (the catalog's: the
`catalog_revision` row), which every write of that owner takes anyway: so one
owner's changes are numbered in the order they commit, and a reader that has
seen everything up to some `seq` can never later find a smaller one.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, Sequence, String, Table
from sqlalchemy.orm import Mapped, mapped_column

from grau.accounts.models import User
from grau.body_stats.models import BodyStat
from grau.catalog.models import Equipment, Exercise
from grau.db.model import Base, Bookkeeping
from grau.moods.models import Mood, MoodTag
from grau.nutrition.models import NutritionEntry
from grau.plans.models import Plan
from grau.workouts.models import Workout, WorkoutSet

# PostgreSQL's counter (SQLite has no sequences: `SyncCounter` stands in there).
SYNC_SEQ = Sequence("sync_seq", metadata=Base.metadata)


@dataclass(frozen=True)
class SyncedTable:
    resource: str  # the feed's name for it
    table: Table
    owner: str  # the column naming its owner: "user_id", or "id" for the user itself


SYNCED = tuple(
    SyncedTable(resource, model.__table__, owner)  # type: ignore[arg-type]
    for resource, model, owner in (
        ("profile", User, "id"),
        ("body_stat", BodyStat, "user_id"),
        ("nutrition_entry", NutritionEntry, "user_id"),
        ("mood_tag", MoodTag, "user_id"),
        ("mood", Mood, "user_id"),
        ("equipment", Equipment, "user_id"),
        ("exercise", Exercise, "user_id"),
        ("workout", Workout, "user_id"),
        ("workout_set", WorkoutSet, "user_id"),
        ("plan", Plan, "user_id"),
    )
)

# One owner's rows in feed order (the profile is one row, found by its key).
for synced in SYNCED:
    if synced.owner == "user_id":
        columns = synced.table.c
        Index(f"ix_{synced.table.name}_user_seq", columns.user_id, columns.seq, columns.id)


class Tombstone(Bookkeeping, Base):
    """A deleted row of a synced table, as the feed reports it. Kept at least the
    retention window (`SYNC_RETENTION_DAYS`); a cursor older than the oldest one
    pruned must start over. An account's deletion leaves none: nothing can read them."""

    __tablename__ = "tombstones"
    __table_args__ = (Index("ix_tombstones_user_seq", "user_id", "seq", "item_id"),)

    resource: Mapped[str] = mapped_column(String(20), primary_key=True)
    item_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    # NULL: a catalog row's (grau's own exercises and equipment).
    user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    seq: Mapped[int] = mapped_column(BigInteger)
    deleted_at: Mapped[datetime]


class SyncCounter(Bookkeeping, Base):
    """SQLite's stand-in for `sync_seq`: one row, counted up by the triggers (SQLite runs
    one writer at a time). Unused on PostgreSQL."""

    __tablename__ = "sync_counter"

    id: Mapped[int] = mapped_column(primary_key=True)
    value: Mapped[int] = mapped_column(BigInteger)
