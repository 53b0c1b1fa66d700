"""Registration and profile changes; the business rules behind /v1/users."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from grau import crud
from grau.auth.models import AuthSession
from grau.auth.passwords import hash_password, verify_password
from grau.db.model import utcnow
from grau.domain_errors import Conflict, Forbidden, Invalid, NotFound
from grau.users.models import User


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
