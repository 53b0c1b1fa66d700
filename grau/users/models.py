"""The user account and profile."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, String
from sqlalchemy.orm import Mapped, mapped_column

from grau.db.model import Base, Timestamps, UUIDPrimaryKey, Versioned, utcnow

GENDERS = ("female", "male", "non_binary", "other", "unspecified")
WEIGHT_UNITS = ("kg", "lb", "st")
HEIGHT_UNITS = ("cm", "in")
DATE_FORMATS = ("YYYY-MM-DD", "DD.MM.YYYY", "DD/MM/YYYY", "MM/DD/YYYY")
STATUSES = ("active", "suspended")


class User(UUIDPrimaryKey, Timestamps, Versioned, Base):
    __tablename__ = "users"

    email: Mapped[str] = mapped_column(String(320), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    password_changed_at: Mapped[datetime] = mapped_column(default=utcnow)
    username: Mapped[str | None] = mapped_column(String(40), unique=True)
    first_name: Mapped[str | None] = mapped_column(String(100))
    last_name: Mapped[str | None] = mapped_column(String(100))
    birthday: Mapped[date | None]
    gender: Mapped[str] = mapped_column(String(20), default="unspecified")
    weight_unit: Mapped[str] = mapped_column(String(2), default="kg")
    height_unit: Mapped[str] = mapped_column(String(2), default="cm")
    date_format: Mapped[str] = mapped_column(String(10), default="YYYY-MM-DD")
    language: Mapped[str] = mapped_column(String(35), default="en")
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    premium: Mapped[bool] = mapped_column(default=False)
    status: Mapped[str] = mapped_column(String(20), default="active")
    # Bumped by every commit that changes what this user can read (see grau.revisions).
    revision: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
