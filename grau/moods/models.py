"""Mood tags and mood entries, linked many-to-many."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Column, ForeignKey, Index, String, Table, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from grau.db.model import Base, Entry

TAG_CATEGORIES = (
    "sleep",
    "work",
    "school",
    "productivity",
    "exercise",
    "hobbies",
    "chores",
    "emotions",
    "health",
    "social",
    "relationships",
    "weather",
    "places",
    "other",
)
# A mood's value is its index here: 0 awful ... 6 amazing.
MOOD_LABELS = ("awful", "bad", "meh", "okay", "good", "great", "amazing")

mood_tag_links = Table(
    "mood_tag_links",
    Base.metadata,
    Column("mood_id", ForeignKey("moods.id", ondelete="CASCADE"), primary_key=True),
    Column("tag_id", ForeignKey("mood_tags.id", ondelete="CASCADE"), primary_key=True, index=True),
)


class MoodTag(Entry, Base):
    __tablename__ = "mood_tags"
    __table_args__ = (UniqueConstraint("user_id", "label"),)

    category: Mapped[str] = mapped_column(String(20))
    label: Mapped[str] = mapped_column(String(50))
    icon: Mapped[str | None] = mapped_column(String(64))


class Mood(Entry, Base):
    __tablename__ = "moods"
    __table_args__ = (Index("ix_moods_user_recorded", "user_id", "recorded_at"),)

    value: Mapped[int]
    note: Mapped[str | None] = mapped_column(Text)
    recorded_at: Mapped[datetime]
    tags: Mapped[list[MoodTag]] = relationship(secondary=mood_tag_links, order_by=MoodTag.label)

    @property
    def label(self) -> str:
        return MOOD_LABELS[self.value]

    @property
    def tag_ids(self) -> list[uuid.UUID]:
        return [tag.id for tag in self.tags]
