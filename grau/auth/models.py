"""Login sessions and the refresh tokens that rotate within them."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from grau.db.model import Base, Bookkeeping, OwnedBy, UUIDPrimaryKey, utcnow


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
