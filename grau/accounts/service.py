"""The rules behind /v1/users and /v1/auth.

Registration and profile changes; login, refresh-token rotation and logout.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy import update as update_rows
from sqlalchemy.orm import Session

from grau.accounts.models import AuthSession, RefreshToken, User
from grau.accounts.passwords import hash_password, needs_rehash, verify_password
from grau.accounts.tokens import issue_access_token
from grau.core import crud, revisions
from grau.core.domain_errors import Conflict, Forbidden, Invalid, NotFound, Unauthenticated
from grau.db.model import utcnow


def _email_taken(session: Session, email: str, except_id: uuid.UUID | None = None) -> bool:
    found = session.scalar(select(User.id).where(User.email == email))
    return found is not None and found != except_id


def _username_taken(session: Session, username: str, except_id: uuid.UUID | None = None) -> bool:
    found = session.scalar(select(User.id).where(User.username == username))
    return found is not None and found != except_id


def _check_unique(session: Session, values: dict[str, Any], user_id: uuid.UUID | None) -> None:
    if "email" in values and _email_taken(session, values["email"], user_id):
        raise Conflict("An account with this email already exists.")
    if values.get("username") and _username_taken(session, values["username"], user_id):
        raise Conflict("This username is taken.")


def register(session: Session, data: dict[str, Any]) -> User:
    values = dict(data)
    values["email"] = values["email"].strip().lower()
    _check_unique(session, values, None)
    values["password_hash"] = hash_password(values.pop("password"))
    user = User(id=uuid.uuid4(), **values)
    crud.save(
        session, user, user.id, conflict="An account with this email or username already exists."
    )
    return user


def get(session: Session, user_id: uuid.UUID, *, lock: bool = False) -> User:
    user = crud.load(session, User, user_id, lock=lock)
    if user is None:
        raise NotFound("This account no longer exists.")
    return user


def update(
    session: Session, user_id: uuid.UUID, changes: dict[str, Any], *, if_match: str | None
) -> User:
    user = get(session, user_id, lock=True)
    crud.check_if_match(user, if_match)
    changes = dict(changes)
    current_password = changes.pop("current_password", None)
    if "email" in changes:
        changes["email"] = changes["email"].strip().lower()
        if changes["email"] == user.email:
            del changes["email"]
    sensitive = [name for name in ("email", "password") if name in changes]
    if sensitive:
        if current_password is None:
            raise Invalid("current_password", f"Required to change {sensitive[0]}.")
        if not verify_password(user.password_hash, current_password):
            # Well-formed but the wrong credential: refused (403), not invalid (422).
            raise Forbidden(
                "current_password is not this account's password.",
                errors={"current_password": ["Incorrect password."]},
            )
    _check_unique(session, changes, user.id)
    if "password" in changes:
        user.password_hash = hash_password(changes.pop("password"))
        user.password_changed_at = utcnow()
        _revoke_all_sessions(session, user.id)
    crud.apply_changes(user, changes)
    crud.save(session, user, user.id, conflict="This email or username is taken.")
    return user


def delete(session: Session, user_id: uuid.UUID, *, if_match: str | None) -> None:
    user = get(session, user_id, lock=True)
    crud.check_if_match(user, if_match)
    # Its login sessions go with it (ON DELETE CASCADE): its tokens stop working at once.
    crud.remove(session, user, user.id)


def _revoke_all_sessions(session: Session, user_id: uuid.UUID) -> None:
    sessions = list(
        session.scalars(
            select(AuthSession).where(
                AuthSession.user_id == user_id, AuthSession.revoked_at.is_(None)
            )
        )
    )
    now = utcnow()
    for auth_session in sessions:
        auth_session.revoked_at = now


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
    # The user's row lock first, as every write takes it (grau.core.revisions): deleting the
    # account locks the user, then its sessions and tokens, so a refresh locking the
    # token first could deadlock with it.
    locked = select(User.id).where(User.id == auth_session.user_id).with_for_update(key_share=True)
    if session.execute(locked).first() is None:
        raise Unauthenticated("This account no longer exists.")
    now = utcnow()
    # Spend the token atomically, so two concurrent refreshes cannot both win.
    spent = session.execute(
        update_rows(RefreshToken)
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
