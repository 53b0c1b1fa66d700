"""A reference, not a ceiling: bare Flask plus the one query every authenticated read needs.

grau checks, on every authenticated request, that the token's session is alive
and reads the revisions its cache keys by: one indexed query (grau.accounts.tokens).
This app does exactly that query per request, the cheapest way grau knows to
ask it (as grau does: prepared once per connection and run by libpq, on a
connection its thread keeps), and then returns the 20-item body from memory,
like bench/bare.py. Served under grau's own server, its cost per
request is the floor for any design that asks the database once per request:
the benchmark reports it next to grau, so what remains between the two is
grau's own code.

    BENCH_BODY_FILE=body.json BENCH_DATABASE_URL=... BENCH_SESSION=<sid>:<uid>
"""

from __future__ import annotations

import os
import threading
import time
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson
import psycopg
from flask import Flask, Response, url_for
from psycopg import pq

SQL = (
    "SELECT users.revision, (SELECT revision FROM catalog_revision WHERE id = 1) "
    "FROM users JOIN auth_sessions ON auth_sessions.user_id = users.id "
    "WHERE auth_sessions.id = $1::uuid AND users.id = $2::uuid "
    "AND auth_sessions.revoked_at IS NULL"
)


class Connections(threading.local):
    """Per thread, one autocommit connection with the floors' statements prepared on it."""

    def __init__(self, url: str, statements: dict[bytes, str]) -> None:
        self.connection = psycopg.connect(url, autocommit=True)
        for name, sql in statements.items():
            made = self.connection.pgconn.prepare(name, sql.encode())
            assert made.status == pq.ExecStatus.COMMAND_OK, made.error_message

    def first(self, name: bytes, params: list[Any]) -> tuple[bytes | None, ...] | None:
        """The first row (its values as text), or None."""
        sent = [None if p is None else str(p).encode() for p in params]
        result = self.connection.pgconn.exec_prepared(name, sent)  # type: ignore[arg-type]
        assert result.status == pq.ExecStatus.TUPLES_OK, result.error_message
        if result.ntuples == 0:
            return None
        return tuple(result.get_value(0, i) for i in range(result.nfields))


def create_app() -> Flask:
    body = Path(os.environ["BENCH_BODY_FILE"]).read_bytes()
    connections = Connections(os.environ["BENCH_DATABASE_URL"], {b"session": SQL})
    session_id, user_id = (uuid.UUID(part) for part in os.environ["BENCH_SESSION"].split(":"))
    app = Flask("floor")

    @app.get("/v1/body-stats")
    def body_stats() -> Response:
        if connections.first(b"session", [session_id, user_id]) is None:
            return Response(status=401)
        return Response(body, mimetype="application/json")

    @app.get("/ready")
    def ready() -> Response:
        return Response(b'{"status":"ok"}', mimetype="application/json")

    return app


# ---------------------------------------------------------------- the stack floor
#
# The floor above is bare Flask. grau is also built on what its brief and earlier
# issues require of every request, whatever grau's own logic does: flask-smorest views
# whose marshmallow schemas parse the arguments and make the contract, and the
# envelope (request id, security headers, one access line) and metrics every answer
# gets. `create_stack_app` is that stack, with grau's own Flask tunings (free to any
# design on it), a bearer token's parse and expiry check, and none of grau's other
# logic (no rate limit, no cache lookup, no ownership, no revisions): a read runs the
# one query and answers fixed bytes (or 304); a create validates its body with a
# plain marshmallow schema and inserts it with one autocommit statement that also
# checks the session. What grau costs beyond it is what grau's own code costs.

ITEM_ETAG = '"c0ffee"'
ITEM_BODY = (
    b'{"id":"00000000-0000-4000-8000-000000000000","type":"weight","value":72.4,'
    b'"unit":"kg","recorded_at":"2026-01-01T08:00:00+00:00","note":null,'
    b'"created_at":"2026-01-01T08:00:00+00:00","updated_at":"2026-01-01T08:00:00+00:00"}'
)

# The session check and the insert in one statement (no row: the session is gone), as the
# least any design must do for a create that is refused the moment its session is revoked.
INSERT = (
    "INSERT INTO body_stats (id, user_id, type, value, unit, canonical_value, recorded_at, "
    "note, created_at, updated_at, version) "
    "SELECT $1::uuid, $2::uuid, $3, $4::float8, $5, $6::float8, $7::timestamptz, $8, "
    "now(), now(), 1 "
    "WHERE EXISTS (SELECT FROM auth_sessions WHERE id = $9::uuid AND user_id = $10::uuid "
    "AND revoked_at IS NULL) "
    "RETURNING id, type, value, unit, recorded_at, note, created_at, updated_at, version"
)


RETURNED = (
    "id",
    "type",
    "value",
    "unit",
    "recorded_at",
    "note",
    "created_at",
    "updated_at",
    "version",
)


def create_stack_app() -> Flask:
    import jwt
    import marshmallow as ma
    from flask import request
    from flask_smorest import Api

    from app import GrauFlask
    from grau.http import metrics, observability, security
    from grau.http.extensions import Blueprint, MethodView

    connections = Connections(
        os.environ["BENCH_DATABASE_URL"], {b"session": SQL, b"insert": INSERT}
    )
    session_id, user_id = (uuid.UUID(part) for part in os.environ["BENCH_SESSION"].split(":"))
    # grau's own Flask, Blueprint and MethodView: their savings (no cookie session, the
    # async check once per function, query strings parsed once, the URL adapter's host
    # worked out once, routes matched in a loop, no reads through Flask's proxies) are
    # the stack's, free to any design.
    app = GrauFlask("stack-floor")
    app.config.update(API_TITLE="stack floor", API_VERSION="1", OPENAPI_VERSION="3.1.0")
    api = Api(app)
    blp = Blueprint("body-stats", __name__, url_prefix="/v1/body-stats")

    class ReadQuery(ma.Schema):
        unit = ma.fields.String(load_default=None, validate=ma.validate.OneOf(("kg", "lb")))

    class Create(ma.Schema):
        type = ma.fields.String(required=True, validate=ma.validate.OneOf(("weight", "height")))
        value = ma.fields.Float(required=True, validate=ma.validate.Range(0, 1000))
        unit = ma.fields.String(required=True, validate=ma.validate.OneOf(("kg", "lb", "cm")))
        recorded_at = ma.fields.AwareDateTime(required=True)
        note = ma.fields.String(load_default=None, allow_none=True)

    class ItemSchema(Create):
        id = ma.fields.UUID()
        created_at = ma.fields.AwareDateTime()
        updated_at = ma.fields.AwareDateTime()

    item_schema = ItemSchema()
    expiries: dict[str, int] = {}  # a token's expiry, read once per process

    def token_live() -> bool:
        """The least a bearer check does per request: parse the header, look the token's
        claims up, compare the expiry (the signature is checked once, like grau's)."""
        scheme, _, token = request.environ.get("HTTP_AUTHORIZATION", "").partition(" ")
        if scheme.lower() != "bearer" or not token:
            return False
        expires = expiries.get(token)
        if expires is None:
            claims = jwt.decode(token, options={"verify_signature": False})
            expires = expiries[token] = int(claims["exp"])
        return expires > time.time()

    @blp.route("")
    class Collection(MethodView):
        @blp.arguments(Create)
        @blp.response(201, ItemSchema)
        def post(self, data: dict[str, Any]) -> Response:
            if not token_live():
                return Response(status=401)
            values = [uuid.uuid4(), user_id, data["type"], data["value"], data["unit"]]
            rest = [data["value"], data["recorded_at"].isoformat(), data["note"]]
            inserted = connections.first(b"insert", [*values, *rest, session_id, user_id])
            if inserted is None:
                return Response(status=401)
            # PostgreSQL's text, as the schema's types (grau's driver loads them so too).
            row: dict[str, Any] = {
                name: value.decode() if value is not None else None
                for name, value in zip(RETURNED, inserted, strict=True)
            }
            for name in ("recorded_at", "created_at", "updated_at"):
                row[name] = datetime.fromisoformat(row[name])
            location = url_for("body-stats.Item", stat_id=row["id"])
            return Response(
                orjson.dumps(item_schema.dump(row)),
                status=201,
                headers={"Location": location, "ETag": f'"{row["version"]}"'},
                mimetype="application/json",
            )

    @blp.route("/<uuid:stat_id>")
    class Item(MethodView):
        @blp.arguments(ReadQuery, location="query")
        @blp.response(200, ItemSchema)
        def get(self, args: dict[str, Any], stat_id: uuid.UUID) -> Response:
            if not token_live():
                return Response(status=401)
            if connections.first(b"session", [session_id, user_id]) is None:
                return Response(status=401)
            if request.environ.get("HTTP_IF_NONE_MATCH") == ITEM_ETAG:
                return Response(status=304, headers={"ETag": ITEM_ETAG})
            return Response(ITEM_BODY, headers={"ETag": ITEM_ETAG}, mimetype="application/json")

    api.register_blueprint(blp)

    @app.get("/ready")
    def ready() -> Response:
        return Response(b'{"status":"ok"}', mimetype="application/json")

    metrics.init_app(app)
    observability.init_app(app, security.headers_for, metrics.recorder(app))
    return app
