"""Access tokens and the `authenticated` decorator.

An access token is a short-lived JWT (HS256, `SECRET_KEY`) naming the user
(`sub`) and the login session (`sid`). Its signature and expiry are checked in
process; whether its session is still alive is checked in the shared cache
(`<prefix>:sess:<epoch>:<sid>` = `ok` or `revoked`) and, on a miss, in the
database. A revocation writes the database first and then a `revoked` flag
that a stale `ok` can never overwrite (`ok` is only ever set if absent), so
logout takes effect at once on every instance. A revocation that cannot reach
Redis is covered by the new epoch drawn when Redis returns (see grau.cache).
"""

from __future__ import annotations

import secrets
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import wraps
from typing import Any, TypeVar

import jwt
from flask import current_app, g, request

from grau.auth.models import AuthSession
from grau.cache import PREFETCHED_READS, request_key
from grau.db.session import db
from grau.errors import unauthorized
from grau.extensions import cache
from grau.openapi import mark_authenticated
from grau.ratelimit import rate_limited

F = TypeVar("F", bound=Callable[..., Any])
ALGORITHM = "HS256"
SESSION_FLAG_TTL = 60  # seconds a live session is trusted from the cache
VERIFIED_TOKENS_MAX = 10_000


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


def revoke_sessions(session_ids: list[uuid.UUID]) -> None:
    """Tell every instance these sessions are dead (after the database says so)."""
    ttl = int(current_app.config["ACCESS_TOKEN_TTL"])
    for sid in session_ids:
        cache().set_flag("sess", str(sid), "revoked", ttl)


def _session_alive(session_id: uuid.UUID, user_id: uuid.UUID, expires: int) -> bool:
    scope_name = PREFETCHED_READS.get(request.endpoint or "") if request.method == "GET" else None
    if scope_name is None:
        flag = cache().get_flag("sess", str(session_id))
    else:  # a cached read: its body comes in the same round trip as the flag
        scope = f"{scope_name}:{user_id}"
        flag = cache().flag_and_entry("sess", str(session_id), scope, request_key())
    if flag == b"ok":
        return True
    if flag == b"revoked":
        return False
    session = db().get(AuthSession, session_id)
    alive = session is not None and session.revoked_at is None and session.user_id == user_id
    if alive:
        remaining = expires - int(datetime.now(UTC).timestamp())
        ttl = min(SESSION_FLAG_TTL, remaining)
        cache().set_flag("sess", str(session_id), "ok", ttl, only_if_new=True)
    return alive


def _verify(token: str) -> tuple[uuid.UUID, uuid.UUID, int]:
    """(user id, session id, expiry) of a well-formed, correctly signed access token, or 401.

    A token's signature and claims never change, so each process checks them once
    (per app: the key is the app's) and remembers the result; its expiry is checked
    on every use, and whether its session is alive is `_session_alive`'s job.
    """
    verified: dict[str, tuple[uuid.UUID, uuid.UUID, int]] = current_app.extensions.setdefault(
        "grau.verified_tokens", {}
    )
    known = verified.get(token)
    if known is not None:
        if known[2] <= time.time():
            unauthorized("The access token has expired; refresh it.")
        return known
    try:
        claims = jwt.decode(
            token,
            current_app.config["SECRET_KEY"],
            algorithms=[ALGORITHM],
            options={"require": ["sub", "sid", "exp", "typ"]},
        )
        if claims["typ"] != "access":
            raise jwt.InvalidTokenError("not an access token")
        result = (uuid.UUID(claims["sub"]), uuid.UUID(claims["sid"]), int(claims["exp"]))
    except jwt.ExpiredSignatureError:
        unauthorized("The access token has expired; refresh it.")
    except (jwt.InvalidTokenError, ValueError, TypeError):
        unauthorized("The access token is invalid.")
    if len(verified) >= VERIFIED_TOKENS_MAX:
        verified.clear()  # tokens live 15 minutes: forgetting them all only costs a re-check
    verified[token] = result
    return result


def authenticate() -> tuple[uuid.UUID, uuid.UUID]:
    """Return (user id, session id) for the request's bearer token, or raise 401."""
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if not header:
        unauthorized("An access token is required.", error=None)
    if scheme.lower() != "bearer" or not token.strip():
        unauthorized("Use 'Authorization: Bearer <access token>'.", error="invalid_request")
    user_id, session_id, expires = _verify(token.strip())
    if not _session_alive(session_id, user_id, expires):
        unauthorized("The access token has been revoked.")
    return user_id, session_id


def authenticated(func: F) -> F:
    """Require a valid access token; documents 401 on the operation.

    Every authenticated operation also counts against the user's general rate
    limit (`RATELIMIT_USER`), which documents 429 on it.
    """

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        g.user_id, g.session_id = authenticate()
        return func(*args, **kwargs)

    mark_authenticated(wrapper)
    return rate_limited("RATELIMIT_USER", per="user")(wrapper)  # type: ignore[return-value]


def current_user_id() -> uuid.UUID:
    user_id: uuid.UUID = g.user_id
    return user_id


def current_session_id() -> uuid.UUID:
    session_id: uuid.UUID = g.session_id
    return session_id
