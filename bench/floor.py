"""A reference, not a ceiling: bare Flask plus the one query every authenticated read needs.

grau checks, on every authenticated request, that the token's session is alive
and reads the revisions its cache keys by: one indexed query (grau.auth.tokens).
This app does exactly that query per request (on a pooled connection, through
the driver's cursor, as grau does) and then returns the 20-item body from
memory, like bench/bare.py. Served under grau's own server, its cost per
request is the floor for any design that asks the database once per request:
the benchmark reports it next to grau, so what remains between the two is
grau's own code.

    BENCH_BODY_FILE=body.json BENCH_DATABASE_URL=... BENCH_SESSION=<sid>:<uid>
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

from flask import Flask, Response
from sqlalchemy import create_engine

SQL = (
    "SELECT users.revision, (SELECT revision FROM catalog_revision WHERE id = 1) "
    "FROM users JOIN auth_sessions ON auth_sessions.user_id = users.id "
    "WHERE auth_sessions.id = %s AND users.id = %s AND auth_sessions.revoked_at IS NULL"
)


def create_app() -> Flask:
    body = Path(os.environ["BENCH_BODY_FILE"]).read_bytes()
    url = os.environ["BENCH_DATABASE_URL"].replace("postgresql://", "postgresql+psycopg://", 1)
    engine = create_engine(url, isolation_level="AUTOCOMMIT", pool_size=5)
    session_id, user_id = (uuid.UUID(part) for part in os.environ["BENCH_SESSION"].split(":"))
    app = Flask("floor")

    @app.get("/v1/body-stats")
    def body_stats() -> Response:
        connection = engine.raw_connection()
        try:
            cursor = connection.cursor()
            cursor.execute(SQL, (session_id, user_id))
            if cursor.fetchone() is None:
                return Response(status=401)
            cursor.close()
        finally:
            connection.close()
        return Response(body, mimetype="application/json")

    @app.get("/ready")
    def ready() -> Response:
        return Response(b'{"status":"ok"}', mimetype="application/json")

    return app
