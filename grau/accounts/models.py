"""The user account and profile, its login sessions and their refresh tokens."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import BigInteger, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from grau.db.model import (
    Base,
    Bookkeeping,
    OwnedBy,
    Synced,
    Timestamps,
    UUIDPrimaryKey,
    Versioned,
    utcnow,
)

GENDERS = ("female", "male", "non_binary", "other", "unspecified")
WEIGHT_UNITS = ("kg", "lb", "st")
HEIGHT_UNITS = ("cm", "in")
DATE_FORMATS = ("YYYY-MM-DD", "DD.MM.YYYY", "DD/MM/YYYY", "MM/DD/YYYY")
STATUSES = ("active", "suspended")


class User(UUIDPrimaryKey, Timestamps, Versioned, Synced, Base):
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
    # Bumped by every commit that changes what this user can read (see grau.core.revisions).
    revision: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")


class AuthSession(UUIDPrimaryKey, OwnedBy, Bookkeeping, Base):
    """One login: every access and refresh token issued from it carries its id.

    Revoking the session (logout, password change, refresh-token reuse)
    revokes all of them at once.
    """

    __tablename__ = "auth_sessions"

    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None]


class RefreshToken(Bookkeeping, Base):
    """A refresh token, stored only as its SHA-256; used at most once."""

    __tablename__ = "refresh_tokens"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    session_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("auth_sessions.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
