"""Login, refresh-token rotation and logout."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from datetime import timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from grau import revisions
from grau.auth.models import AuthSession, RefreshToken
from grau.auth.passwords import hash_password, needs_rehash, verify_password
from grau.auth.tokens import issue_access_token
from grau.db.model import utcnow
from grau.domain_errors import Unauthenticated
from grau.users.models import User


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _token_pair(session: Session, auth_session: AuthSession, ttl: timedelta) -> dict[str, Any]:
    refresh = secrets.token_urlsafe(32)
    session.add(
        RefreshToken(
            token_hash=_hash(refresh), session_id=auth_session.id, expires_at=utcnow() + ttl
        )
    )
    access, expires_in = issue_access_token(auth_session.user_id, auth_session.id)
    return {
        "access_token": access,
        "token_type": "bearer",
        "expires_in": expires_in,
        "refresh_token": refresh,
    }


def login(session: Session, email: str, password: str, refresh_ttl: timedelta) -> dict[str, Any]:
    """A new session and its first token pair; the refresh token lives `refresh_ttl`."""
    user = session.scalar(select(User).where(User.email == email.strip().lower()))
    if not verify_password(user.password_hash if user else None, password) or user is None:
        raise Unauthenticated("The email or password is wrong.", reason=None)
    if user.status != "active":
        raise Unauthenticated("This account is suspended.", reason=None)
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
        revisions.bump_user(session, user.id)  # the users row changes: a new revision
    auth_session = AuthSession(id=uuid.uuid4(), user_id=user.id)
    session.add(auth_session)
    pair = _token_pair(session, auth_session, refresh_ttl)
    session.commit()
    return pair


def refresh(session: Session, refresh_token: str, refresh_ttl: timedelta) -> dict[str, Any]:
    """Rotate: the presented token is spent, a new pair is issued.

    Presenting a spent token means it leaked (or a client retried after
    losing the answer): the whole session is revoked, as RFC 9700 advises.
    """
    token_hash = _hash(refresh_token)
    token = session.get(RefreshToken, token_hash)
    if token is None or token.expires_at <= utcnow():
        raise Unauthenticated("The refresh token is invalid or expired; log in again.")
    auth_session = session.get(AuthSession, token.session_id)
    if auth_session is None or auth_session.revoked_at is not None:
        raise Unauthenticated("This session has been revoked; log in again.")
    # The user's row lock first, as every write takes it (grau.revisions): deleting the
    # account locks the user, then its sessions and tokens, so a refresh locking the
    # token first could deadlock with it.
    locked = select(User.id).where(User.id == auth_session.user_id).with_for_update(key_share=True)
    if session.execute(locked).first() is None:
        raise Unauthenticated("This account no longer exists.")
    now = utcnow()
    # Spend the token atomically, so two concurrent refreshes cannot both win.
    spent = session.execute(
        update(RefreshToken)
        .where(RefreshToken.token_hash == token_hash, RefreshToken.used_at.is_(None))
        .values(used_at=now)
    )
    if spent.rowcount != 1:  # type: ignore[attr-defined]
        auth_session.revoked_at = now
        session.commit()
        raise Unauthenticated("This refresh token was already used; the session is revoked.")
    auth_session.last_used_at = now
    pair = _token_pair(session, auth_session, refresh_ttl)
    session.commit()
    return pair


def logout(session: Session, session_id: uuid.UUID) -> None:
    """Revoke the session: every instance refuses its tokens from the commit on."""
    auth_session = session.get(AuthSession, session_id)
    if auth_session is not None and auth_session.revoked_at is None:
        auth_session.revoked_at = utcnow()
        session.commit()
