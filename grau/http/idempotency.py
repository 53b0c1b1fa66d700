"""`Idempotency-Key` on POST: a retried create returns the first answer, creates nothing.

Keys live in the database beside the data they protect, and a key is stored in
the same transaction as what its request created, with the response: both
are committed, or neither. The request runs inside one outer transaction (the
view's own commits become savepoints); the key's row is inserted first, so a
concurrent request with the same key waits until the first one ends (at its
token check's lock on the user, or for a signed-out request on the unique
index), then replays its response (or, if the first failed and left nothing,
runs itself). A process killed mid-request therefore leaves either
nothing (the retry runs) or the resource with its stored response (the retry
replays it): never a resource whose retry creates a second one, and never a
key stuck "in progress". A Redis outage changes nothing here. The same key
with a different body is a 422; failed requests (4xx/5xx) leave no key, so a
corrected retry can use it. Keys expire after 24 hours.

A signed-in user's keys are theirs alone. A signed-out request (registering)
has nobody to own its key, so its key is scoped by the request itself (method,
path and body): the same key and body replay, while two people who happen to
send the same key (a value copied from documentation) never meet, and neither
gets the other's answer or a 422 for the other's body.

A create whose body chooses its item's `id` (an app working offline names
what it makes) is keyed by that id when it sends no key of its own: the same
id with the same body replays the first answer, for as long as the sync feed
remembers deletions (`SYNC_RETENTION_DAYS`); with another body it is a 409,
as is an id another user's item has (the answer cannot tell the two apart).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import random
import re
import uuid
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from functools import wraps
from typing import Any, TypeVar

from flask import Response, current_app, g, request
from sqlalchemy import Index, String, Text, and_, delete, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column

from grau.context import current_request
from grau.core import revisions
from grau.core.crud import ID_TAKEN
from grau.db.model import Base, Bookkeeping, UUIDPrimaryKey, utcnow
from grau.db.session import client_chosen_id, db, serving
from grau.http.errors import abort
from grau.http.openapi import IDEMPOTENCY_KEY_PATTERN, mark

F = TypeVar("F", bound=Callable[..., Any])
KEY_LIFETIME = timedelta(hours=24)
REPLAYED_HEADERS = ("Location", "ETag")
KEY_PATTERN = re.compile(IDEMPOTENCY_KEY_PATTERN)


class IdempotencyKey(UUIDPrimaryKey, Bookkeeping, Base):
    __tablename__ = "idempotency_keys"
    __table_args__ = (Index("uq_idempotency_keys_scope_key", "scope", "key", unique=True),)

    scope: Mapped[str] = mapped_column(String(64))
    key: Mapped[str] = mapped_column(String(255))
    request_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    status_code: Mapped[int | None]
    response_body: Mapped[str | None] = mapped_column(Text)
    response_headers: Mapped[str | None] = mapped_column(Text)


# A create whose body chooses its item's `id` is keyed by that id when it sends no key of
# its own: an app that lost the answer to an offline create can send it again.
CLIENT_ID_PREFIX = "id:"


def _client_id_key() -> str | None:
    chosen = client_chosen_id()
    try:
        return CLIENT_ID_PREFIX + str(uuid.UUID(chosen)) if chosen is not None else None
    except ValueError:  # not a UUID: the view's arguments refuse it (422)
        return None


def _lifetime(key: str) -> timedelta:
    """How long a key replays: a day, or for a client-chosen id as long as the sync feed
    remembers deletions (an app offline longer starts its copy over anyway)."""
    if key.startswith(CLIENT_ID_PREFIX):
        return timedelta(days=current_app.config["SYNC_RETENTION_DAYS"])
    return KEY_LIFETIME


def _request_hash() -> str:
    digest = hashlib.sha256()
    digest.update(f"{request.method} {request.path}\n".encode())
    digest.update(request.get_data(cache=True))
    return digest.hexdigest()


def _replay(record: IdempotencyKey) -> Response:
    response = Response(
        record.response_body or "", status=record.status_code, mimetype="application/json"
    )
    for name, value in json.loads(record.response_headers or "{}").items():
        response.headers[name] = value
    response.headers["Idempotent-Replayed"] = "true"
    return response


def _find(session: Session, scope: str, key: str) -> IdempotencyKey | None:
    record = session.scalar(
        select(IdempotencyKey)
        .where(IdempotencyKey.scope == scope, IdempotencyKey.key == key)
        .execution_options(populate_existing=True)
    )
    if record is not None and record.created_at < utcnow() - _lifetime(key):
        session.delete(record)
        session.commit()
        return None
    return record


def _claim(session: Session, scope: str, key: str, request_hash: str) -> IdempotencyKey | Response:
    """Insert the key's row (uncommitted), or return the response owed to a repeat."""
    for _ in range(3):
        record = _find(session, scope, key)
        if record is None:
            record = IdempotencyKey(scope=scope, key=key, request_hash=request_hash)
            session.add(record)
            try:
                # Waits while a concurrent request holds the same key uncommitted.
                session.flush()
                return record
            except IntegrityError:
                session.rollback()  # that request committed first: replay it
                continue
        if record.request_hash != request_hash and key.startswith(CLIENT_ID_PREFIX):
            abort(409, ID_TAKEN, errors={"id": ["Already used by another item."]})
        if record.request_hash != request_hash:
            abort(
                422,
                "This Idempotency-Key was used for a different request body.",
                errors={"Idempotency-Key": ["Already used with a different request."]},
            )
        return _replay(record)
    abort(
        409, "A request with this Idempotency-Key is being processed.", headers={"Retry-After": "1"}
    )


def _purge_expired(session: Session) -> None:
    if random.random() < 0.01:
        now, chosen = utcnow(), IdempotencyKey.key.startswith(CLIENT_ID_PREFIX)
        expired = or_(
            and_(~chosen, IdempotencyKey.created_at < now - KEY_LIFETIME),
            IdempotencyKey.created_at < now - _lifetime(CLIENT_ID_PREFIX),
        )
        session.execute(delete(IdempotencyKey).where(expired))


@contextlib.contextmanager
def _one_transaction() -> Iterator[tuple[Session, Callable[[], None]]]:
    """The request's transaction, with a session of its own inside; yields (session, commit).

    The transaction is the one the request's session began: for an authenticated
    write, its token check's, which holds the user's row lock (grau.accounts.tokens), so
    the key and the change run under that lock with no second check. Commits made
    by the view release savepoints; only `commit()` makes the whole request
    durable. Leaving without it rolls everything back.
    """
    factory = current_app.extensions["grau.session_factory"]
    outer = db()
    connection = outer.connection()  # begins its transaction, if the check did not
    session: Session = factory(bind=connection, join_transaction_mode="create_savepoint")
    revisions.guard(session)
    done = False

    def commit() -> None:
        nonlocal done
        session.commit()
        outer.commit()
        done = True

    try:
        with serving(session):  # what the view's db() returns
            yield session, commit
    finally:
        session.close()
        if not done:
            with contextlib.suppress(Exception):  # a lost connection already rolled back
                outer.rollback()


def idempotent(func: F) -> F:
    """Honour `Idempotency-Key` on a POST view (place it below `@authenticated`)."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        key = current_request().environ.get("HTTP_IDEMPOTENCY_KEY")  # request.headers' lookup
        if key is None:
            key = _client_id_key()
            if key is None:
                return func(*args, **kwargs)
        elif not 1 <= len(key) <= 255 or not KEY_PATTERN.match(key):
            abort(
                422,
                "Idempotency-Key must be 1 to 255 visible ASCII characters.",
                errors={"Idempotency-Key": ["1 to 255 visible ASCII characters."]},
            )
        principal = g.get("principal")  # set by @authenticated above, if the view has it
        request_hash = _request_hash()
        # Signed out: the request's own hash (64 hex digits; a user id has dashes).
        scope = str(principal.user_id) if principal else request_hash
        with _one_transaction() as (session, commit):
            claimed = _claim(session, scope, key, request_hash)
            if isinstance(claimed, Response):
                return claimed
            response = func(*args, **kwargs)
            if not (isinstance(response, Response) and 200 <= response.status_code < 300):
                return response  # nothing is committed: the key stays free
            claimed.status_code = response.status_code
            claimed.response_body = response.get_data(as_text=True)
            claimed.response_headers = json.dumps(
                {h: response.headers[h] for h in REPLAYED_HEADERS if h in response.headers}
            )
            _purge_expired(session)
            commit()
        return response

    mark(wrapper, idempotent=True)
    return wrapper  # type: ignore[return-value]
