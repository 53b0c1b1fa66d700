"""Access tokens and the `authenticated` decorator.

An access token is a short-lived JWT (HS256, `SECRET_KEY`) naming the user
(`sub`) and the login session (`sid`). A token's signature and claims never
change, so each process checks them once and remembers the result; its
expiry is checked on every use.

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
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import wraps
from typing import Any, TypeVar

import jwt
from flask import current_app, g, request
from sqlalchemy import Select, bindparam, select

from grau.accounts.models import AuthSession, User
from grau.core.revisions import CatalogRevision, Revision
from grau.db.driver import DriverQuery
from grau.db.session import autocommit, driver_connection
from grau.http.errors import unauthorized
from grau.http.openapi import add_responses, mark_authenticated
from grau.http.ratelimit import client_address, count_user

F = TypeVar("F", bound=Callable[..., Any])
ALGORITHM = "HS256"
VERIFIED_TOKENS_MAX = 10_000


@dataclass(frozen=True)
class Principal:
    """Who a request acts for, and the revision of what they can read.

    `revision` is None until a view's own query has checked the session
    (`authenticated(view_checks_session=...)`): a read's then reads the revisions
    (`OwnedService.read_row` returns the principal with them); a write's one
    statement bumps the revision and reads none.
    """

    user_id: uuid.UUID
    session_id: uuid.UUID
    revision: Revision | None


@dataclass(frozen=True)
class Claims:
    user_id: uuid.UUID
    session_id: uuid.UUID
    expires: int


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


def _signed_claims(token: str) -> Claims | None:
    """The claims of a token grau signed (expired or not), or None.

    Remembered per process (per app: the key is the app's) once checked.
    """
    verified: dict[str, Claims] = current_app.extensions.setdefault("grau.verified_tokens", {})
    known = verified.get(token)
    if known is not None:
        return known
    try:
        raw = jwt.decode(
            token,
            current_app.config["SECRET_KEY"],
            algorithms=[ALGORITHM],
            options={"require": ["sub", "sid", "exp", "typ"], "verify_exp": False},
        )
        if raw["typ"] != "access":
            return None
        claims = Claims(uuid.UUID(raw["sub"]), uuid.UUID(raw["sid"]), int(raw["exp"]))
    except (jwt.InvalidTokenError, ValueError, TypeError):
        return None
    if len(verified) >= VERIFIED_TOKENS_MAX:
        verified.clear()  # tokens live 15 minutes: forgetting them all only costs a re-check
    verified[token] = claims
    return claims


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


def live_session_revision(claims: Claims) -> Revision | None:
    """The revisions the user can read as of now, or None if the session is revoked or gone.

    A write in a transaction also takes its user's row lock here (a write that is one
    statement takes it in that statement, see `grau.db.session.single_statement`).
    """
    query = SESSION_REVISIONS if autocommit() else SESSION_REVISIONS_FOR_WRITE
    row = query.first(driver_connection(), session_id=claims.session_id, user_id=claims.user_id)
    return revision_of(row) if row is not None else None


def authenticate(check_session: bool = True) -> Principal:
    """The principal of the request's bearer token; 401 if there is none, 429 if over the limit.

    `check_session`: ask the database whether the token's session is alive (and read
    the revisions); without it the principal has no revision, and the caller's own
    query must check the session.

    The request counts against the user's rate limit if the token is one grau
    signed and not expired (even if revoked), else against the client's
    address, so forged tokens cannot spread one client over many counters.
    """
    header = request.environ.get("HTTP_AUTHORIZATION", "")
    scheme, _, token = header.partition(" ")
    token = token.strip()
    claims = _signed_claims(token) if scheme.lower() == "bearer" and token else None
    # An expired token counts against the address: a leaked old token must not be able
    # to spend its user's budget.
    live = claims is not None and claims.expires > time.time()
    count_user(f"user:{claims.user_id}" if live and claims else f"address:{client_address()}")
    if not header:
        unauthorized("An access token is required.", error=None)
    if scheme.lower() != "bearer" or not token:
        unauthorized("Use 'Authorization: Bearer <access token>'.", error="invalid_request")
    if claims is None:
        unauthorized("The access token is invalid.")
    if claims.expires <= time.time():
        unauthorized("The access token has expired; refresh it.")
    if not check_session:  # the view's own query checks it (see `authenticated`)
        return Principal(claims.user_id, claims.session_id, None)
    revision = live_session_revision(claims)
    if revision is None:
        unauthorized("The access token has been revoked.")
    return Principal(claims.user_id, claims.session_id, revision)


def authenticated(
    func: F | None = None, *, view_checks_session: bool | Callable[[], bool] = False
) -> Any:
    """Require a valid access token; documents 401, and 429 for the per-user rate limit.

    `@authenticated` checks the token's claims and asks the database whether its
    session is alive. `@authenticated(view_checks_session=...)` (True, or a function
    asked per request) is for a view whose own query checks the session as it reads
    or writes (`with_session_check`, a write's one statement): the token check then
    asks the database nothing, the principal has no revision, and the view answers
    401 when its query finds no live session, after its arguments were validated.
    """

    def decorate(func: F) -> F:
        @wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            ask = view_checks_session
            g.principal = authenticate(check_session=not (ask() if callable(ask) else ask))
            return func(*args, **kwargs)

        mark_authenticated(wrapper)
        add_responses(wrapper, (429,))
        return wrapper  # type: ignore[return-value]

    return decorate(func) if func is not None else decorate


def current_principal() -> Principal:
    principal: Principal = g.principal
    return principal


def current_user_id() -> uuid.UUID:
    return current_principal().user_id


def current_session_id() -> uuid.UUID:
    return current_principal().session_id
