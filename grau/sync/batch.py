"""POST /v1/batch: many writes in one request, each run exactly as its own request would be.

An app back from offline pushes its queue in one round trip. Each operation
is dispatched through the app as the request it stands for, with the batch's
bearer token and its own `If-Match` and `Idempotency-Key`: the same
validation, ownership, 412, idempotent replay and rate limit as if it had
been sent alone, and the same answer. Operations run in order, so one may
name an item an earlier one created by the id the app chose for it.

Without `atomic`, each operation commits on its own, and a failed one does
not stop the rest. With `atomic`, all run in one database transaction: their
commits are savepoints of it (`grau.db.session.SHARED_TRANSACTION`), and the
first failure rolls everything back and stops the batch.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, MutableMapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from flask import Flask
from sqlalchemy import Connection, Transaction
from werkzeug.test import EnvironBuilder

from grau.db.session import SHARED_TRANSACTION
from grau.http.observability import EXTRA_HEADERS

METHODS = ("POST", "PATCH", "DELETE")
MAX_OPERATIONS = 100
# What an operation's result repeats of its answer's headers.
HEADERS = (
    "ETag",
    "Location",
    "Idempotent-Replayed",
    "Retry-After",
    "X-RateLimit-Limit",
    "X-RateLimit-Remaining",
    "X-RateLimit-Reset",
    "RateLimit-Policy",
    "RateLimit",
)
NOT_RUN = 424  # Failed Dependency: an atomic batch's operation undone or never run


@dataclass(frozen=True)
class Result:
    status: int
    headers: dict[str, str]
    body: Any


def not_batchable(method: str, path: str) -> str | None:
    """Why an operation cannot be part of a batch (None: it can)."""
    if not path.startswith("/v1/"):
        return "Must be a path of the API, starting with /v1/."
    if path.startswith(("/v1/batch", "/v1/auth")) or (method == "POST" and path == "/v1/users"):
        return "Batches hold the signed-in user's writes: not sign-in, sign-up or batches."
    return None


def run(
    app: Flask, environ: MutableMapping[str, Any], operations: list[dict[str, Any]], atomic: bool
) -> tuple[bool, list[Result]]:
    """Run the operations of a batch request (`environ`: its WSGI environ); returns whether
    their changes were kept (an atomic batch that failed keeps none), and their results."""
    if not atomic:
        return True, [_dispatch(app, environ, operation, None) for operation in operations]
    with _transaction(app) as (connection, transaction):
        results = []
        for index, operation in enumerate(operations):
            result = _dispatch(app, environ, operation, connection)
            results.append(result)
            if result.status >= 400:
                transaction.rollback()
                return False, _undone(results, index, len(operations))
        transaction.commit()
    return True, results


def _undone(results: list[Result], failed: int, count: int) -> list[Result]:
    """An atomic batch's results after operation `failed` failed: its own answer, and 424
    for every other (undone, or never run)."""
    detail = f"Not applied: operation {failed} failed, and the batch is atomic."
    problem = {"type": "about:blank", "title": "Failed Dependency", "status": NOT_RUN}
    undone = Result(NOT_RUN, {}, {**problem, "detail": detail})
    return [results[failed] if index == failed else undone for index in range(count)]


@contextmanager
def _transaction(app: Flask) -> Iterator[tuple[Connection, Transaction]]:
    """One transaction for a whole atomic batch: on a connection of its own from the pool
    writes use, or inside the one connection every request shares where the tests set
    that up (`grau.db.session.use_sessions`)."""
    bind = app.extensions["grau.session_factory"].kw["bind"]
    if isinstance(bind, Connection):
        yield bind, bind.begin_nested()
        return
    with bind.connect() as connection:
        transaction = connection.begin()
        try:
            yield connection, transaction
        finally:
            if transaction.is_active:
                transaction.rollback()


def _dispatch(
    app: Flask,
    batch: MutableMapping[str, Any],
    operation: Mapping[str, Any],
    connection: Connection | None,
) -> Result:
    headers = [("Authorization", str(batch.get("HTTP_AUTHORIZATION", "")))]
    if operation.get("if_match"):
        headers.append(("If-Match", operation["if_match"]))
    if operation.get("idempotency_key"):
        headers.append(("Idempotency-Key", operation["idempotency_key"]))
    body = operation.get("body")
    builder = EnvironBuilder(
        path=operation["path"],
        method=operation["method"],
        headers=headers,
        data=json.dumps(body) if body is not None else None,
        content_type="application/json" if body is not None else None,
        environ_base={"REMOTE_ADDR": batch.get("REMOTE_ADDR", "")},
    )
    environ = builder.get_environ()
    if connection is not None:
        environ[SHARED_TRANSACTION] = connection
    # An application context of its own: the operation's `g` is its own, as a request's is.
    with app.app_context(), app.request_context(environ):
        response = app.full_dispatch_request()
        data = response.get_data()
    # Headers the envelope would add (the operation's RateLimit): on its result, and on the
    # batch's answer, which then says what is left after its last operation.
    left = environ.get(EXTRA_HEADERS)
    if left is not None:
        response.headers.extend(left)
        batch[EXTRA_HEADERS] = left
    shown = {name: response.headers[name] for name in HEADERS if name in response.headers}
    return Result(response.status_code, shown, json.loads(data) if data else None)
