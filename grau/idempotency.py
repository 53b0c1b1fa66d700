"""`Idempotency-Key` on POST: a retried create returns the first answer, creates nothing.

Keys live in the database beside the data they protect, so a Redis outage can
never let a retry through twice. The first request with a key inserts a
pending row (a unique constraint lets exactly one of several concurrent
requests win), runs, then stores its response in that row. A retry with the
same key and body replays the stored response; one that arrives while the
first is still running waits briefly for it, then gets 409. The same key with
a different body is a 422. Failed requests (4xx/5xx) release their key so a
corrected retry can use it. Keys expire after 24 hours.
"""

from __future__ import annotations

import hashlib
import json
import random
import re
import time
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from functools import wraps
from typing import Any, TypeVar

from flask import Response, g, request
from sqlalchemy import Index, String, Text, delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column

from grau.db.model import Base, UUIDPrimaryKey, utcnow
from grau.db.session import db
from grau.errors import abort
from grau.openapi import IDEMPOTENCY_KEY_PATTERN, mark

F = TypeVar("F", bound=Callable[..., Any])
KEY_LIFETIME = timedelta(hours=24)
WAIT_FOR_FIRST_S = 5.0
REPLAYED_HEADERS = ("Location", "ETag")
KEY_PATTERN = re.compile(IDEMPOTENCY_KEY_PATTERN)


class IdempotencyKey(UUIDPrimaryKey, Base):
    __tablename__ = "idempotency_keys"
    __table_args__ = (Index("uq_idempotency_keys_scope_key", "scope", "key", unique=True),)

    scope: Mapped[str] = mapped_column(String(64))
    key: Mapped[str] = mapped_column(String(255))
    request_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    status_code: Mapped[int | None]
    response_body: Mapped[str | None] = mapped_column(Text)
    response_headers: Mapped[str | None] = mapped_column(Text)


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
    if record is not None and record.created_at < utcnow() - KEY_LIFETIME:
        session.delete(record)
        session.commit()
        return None
    return record


def _claim(session: Session, scope: str, key: str, request_hash: str) -> IdempotencyKey | Response:
    """Insert the pending row, or return the response owed to a repeat."""
    deadline = time.monotonic() + WAIT_FOR_FIRST_S
    while True:
        record = _find(session, scope, key)
        if record is None:
            record = IdempotencyKey(scope=scope, key=key, request_hash=request_hash)
            session.add(record)
            try:
                session.commit()
                return record
            except IntegrityError:
                session.rollback()  # a concurrent request claimed it first
                continue
        if record.request_hash != request_hash:
            abort(
                422,
                "This Idempotency-Key was used for a different request body.",
                errors={"Idempotency-Key": ["Already used with a different request."]},
            )
        if record.status_code is not None:
            return _replay(record)
        if time.monotonic() >= deadline:
            abort(
                409,
                "A request with this Idempotency-Key is still being processed.",
                headers={"Retry-After": "1"},
            )
        session.rollback()
        time.sleep(0.05)


def _purge_expired(session: Session) -> None:
    if random.random() < 0.01:
        cutoff = utcnow() - KEY_LIFETIME
        session.execute(delete(IdempotencyKey).where(IdempotencyKey.created_at < cutoff))
        session.commit()


def idempotent(func: F) -> F:
    """Honour `Idempotency-Key` on a POST view (place it below `@authenticated`)."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        key = request.headers.get("Idempotency-Key")
        if key is None:
            return func(*args, **kwargs)
        if not 1 <= len(key) <= 255 or not KEY_PATTERN.match(key):
            abort(
                422,
                "Idempotency-Key must be 1 to 255 visible ASCII characters.",
                errors={"Idempotency-Key": ["1 to 255 visible ASCII characters."]},
            )
        user_id: uuid.UUID | None = g.get("user_id")
        scope = str(user_id) if user_id else "public"
        session = db()
        claimed = _claim(session, scope, key, _request_hash())
        if isinstance(claimed, Response):
            return claimed
        record_id = claimed.id
        try:
            response = func(*args, **kwargs)
        except BaseException:
            _release(session, record_id)
            raise
        if isinstance(response, Response) and 200 <= response.status_code < 300:
            record = session.get(IdempotencyKey, record_id)
            if record is not None:
                record.status_code = response.status_code
                record.response_body = response.get_data(as_text=True)
                record.response_headers = json.dumps(
                    {h: response.headers[h] for h in REPLAYED_HEADERS if h in response.headers}
                )
                session.commit()
        else:
            _release(session, record_id)
        _purge_expired(session)
        return response

    mark(wrapper, idempotent=True)
    return wrapper  # type: ignore[return-value]


def _release(session: Session, record_id: uuid.UUID) -> None:
    session.rollback()
    session.execute(delete(IdempotencyKey).where(IdempotencyKey.id == record_id))
    session.commit()
