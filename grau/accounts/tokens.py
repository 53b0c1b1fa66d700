"""Access tokens: issuing them, and the query that checks their session.

An access token is a short-lived JWT (HS256, `SECRET_KEY`) naming the user
(`sub`) and the login session (`sid`). Login and refresh issue them here;
every signed-in request's `grau.http.views.authenticated` verifies them.

Whether its session is still alive is asked of the database on every
request: a logout or password change committed on any instance is refused by
every instance from that moment on, whatever Redis is doing. The same query
returns the revisions of what the user can read (`grau.core.revisions`), which
the response cache keys bodies by, so the check and the cache lookup cost
one round trip together. A write's check also takes its user's row lock, in
its transaction: one user's writes run one at a time, and every write locks
its user before any item, so writers cannot deadlock on each other's locks.
Two kinds of view check the session in their own query instead, and the token
check asks nothing (`authenticated(view_checks_session=...)`): an item read,
whose row is joined to this query (`with_session_check`), and a create that is
one statement, which checks the session and takes the lock in that statement
(`grau.db.session.single_statement`).
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple

import jwt
from flask import current_app
from sqlalchemy import Select, bindparam, select

from grau.accounts.models import AuthSession, User
from grau.core.revisions import CatalogRevision, Revision
from grau.db.driver import DriverQuery
from grau.db.session import NOT_SENT, autocommit, driver_connection, early_answer

ALGORITHM = "HS256"


class Principal(NamedTuple):
    """Who a request acts for, and the revision of what they can read.

    `revision` is None until a view's own query has checked the session
    (`authenticated(view_checks_session=...)`): a read's then reads the revisions
    (`OwnedService.read_row` returns the principal with them); a write's one
    statement bumps the revision and reads none.
    """

    user_id: uuid.UUID
    session_id: uuid.UUID
    revision: Revision | None


def issue_access_token(user_id: uuid.UUID, session_id: uuid.UUID) -> tuple[str, int]:
    ttl = int(current_app.config["ACCESS_TOKEN_TTL"])
    now = datetime.now(UTC)
    claims = {
        "sub": str(user_id),
        "sid": str(session_id),
        "iat": now,
        "exp": now + timedelta(seconds=ttl),
        "typ": "access",
        "jti": secrets.token_hex(8),
    }
    return jwt.encode(claims, current_app.config["SECRET_KEY"], algorithm=ALGORITHM), ttl


# The user's revision and the catalog's, if the session is alive and the user's.
_SESSION_REVISIONS = (
    select(
        User.revision,
        select(CatalogRevision.revision).where(CatalogRevision.id == 1).scalar_subquery(),
    )
    .join(AuthSession, AuthSession.user_id == User.id)
    .where(
        AuthSession.id == bindparam("session_id"),
        User.id == bindparam("user_id"),
        AuthSession.revoked_at.is_(None),
    )
)
SESSION_REVISIONS = DriverQuery(_SESSION_REVISIONS)


# The columns of the token check's query, before those `with_session_check` adds.
SESSION_COLUMNS = 2


def with_session_check(columns: Iterable[Any], table: Any, onclause: Any) -> Select[Any]:
    """The token check's query with `columns` of `table` (outer-joined on `onclause`)
    after its `SESSION_COLUMNS`: one round trip for the session and what a view reads
    (`authenticated(view_checks_session=True)`). No row: the session is revoked or gone."""
    return _SESSION_REVISIONS.add_columns(*columns).outerjoin(table, onclause)


def revision_of(row: Sequence[Any]) -> Revision:
    """The revisions in the first two columns of the token check's query. Both are
    integers, which every driver returns as they are: a row need not be converted."""
    return Revision(row[0], row[1] or 0)


# For a write: the same, holding the user's row until the transaction ends (FOR NO KEY
# UPDATE: what the revision's UPDATE takes anyway; inserts referencing the user still pass).
SESSION_REVISIONS_FOR_WRITE = DriverQuery(
    _SESSION_REVISIONS.with_for_update(key_share=True, of=User)
)


def live_session_revision(user_id: uuid.UUID, session_id: uuid.UUID) -> Revision | None:
    """The revisions the user can read as of now, or None if the session is revoked or gone.

    A write in a transaction also takes its user's row lock here (a write that is one
    statement takes it in that statement, see `grau.db.session.single_statement`).
    """
    if not autocommit():
        query = SESSION_REVISIONS_FOR_WRITE
    else:  # a read's: perhaps sent as the request came in (grau.http.views.check_session_ahead)
        row = early_answer(SESSION_REVISIONS, session_id=session_id, user_id=user_id)
        if row is not NOT_SENT:
            return revision_of(row) if row is not None else None
        query = SESSION_REVISIONS
    row = query.first(driver_connection(), session_id=session_id, user_id=user_id)
    return revision_of(row) if row is not None else None
