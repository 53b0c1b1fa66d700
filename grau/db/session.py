"""Engines and request-scoped sessions.

Each request gets one connection (`connection()`) and, if it needs the ORM,
one `Session` on it (`db()`), both opened lazily and closed when the app
context ends. Which kind depends on the HTTP method:

- a safe request (GET, HEAD, OPTIONS) reads. On PostgreSQL its connection is in
  autocommit mode: each statement sees the latest committed data, and the
  request pays no BEGIN and ROLLBACK round trips (two of the three a one-query
  read would otherwise cost). A read served from the cache needs no Session
  at all, only the token check's query on the connection;
- any other request writes, in one transaction per `commit()`, on its
  session's connection.

A connection that sat idle in the pool is pinged before use (the database may
have restarted meanwhile); one in steady use is not, so a busy server pays no
extra round trip per request.

Tests replace both factories with one bound to a connection inside a
transaction they roll back (`use_sessions`); every request then runs on it.
"""

from __future__ import annotations

import time
from typing import Any

from flask import Flask, current_app, g, has_request_context, request
from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.orm import Session, sessionmaker

from grau import revisions
from grau.config import ensure_sqlite_dir, is_sqlite

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# A pooled connection unused for longer than this is pinged before it is handed out.
IDLE_PING_S = 1.0


def make_engine(url: str, *, pool_size: int = 5, autocommit: bool = False) -> Engine:
    """An engine for `url`; `autocommit` (PostgreSQL only) makes it the app's read engine."""
    url = url.replace("postgresql://", "postgresql+psycopg://", 1).replace(
        "postgres://", "postgresql+psycopg://", 1
    )
    options: dict[str, Any] = {}
    if is_sqlite(url):
        ensure_sqlite_dir(url)
        options["connect_args"] = {"check_same_thread": False, "timeout": 30}
    else:
        options.update(
            pool_size=pool_size,
            max_overflow=pool_size,
            pool_timeout=10,
            connect_args={"connect_timeout": 5},
        )
        if autocommit:
            options["isolation_level"] = "AUTOCOMMIT"
    engine = create_engine(url, **options)
    _ping_when_idle(engine)
    if is_sqlite(url):
        _sqlite_pragmas(engine)
    return engine


def _ping_when_idle(engine: Engine) -> None:
    """Ping a connection that waited in the pool: after a database restart it is dead.

    (SQLAlchemy's `pool_pre_ping` pings on every checkout: a round trip per request.)
    """

    @event.listens_for(engine, "checkin")
    def on_checkin(_dbapi_connection: Any, record: Any) -> None:
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def on_checkout(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        idle_since = record.info.get("idle_since")
        if idle_since is None or time.monotonic() - idle_since < IDLE_PING_S:
            return
        try:
            engine.dialect.do_ping(dbapi_connection)
        except Exception as exc:
            # The pool discards this connection and hands out a new one.
            raise DisconnectionError("stale pooled connection") from exc


def _sqlite_pragmas(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not pysqlite, decide where transactions start, so that
        # SAVEPOINTs work (tests nest them) and foreign keys cascade as on PostgreSQL.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def on_begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN")


def init_app(app: Flask) -> None:
    url = app.config["DATABASE_URL"]
    engine = make_engine(url, pool_size=app.config["DB_POOL_SIZE"], autocommit=not is_sqlite(url))
    app.extensions["grau.engine"] = engine
    # Writes run in a transaction: the same pool, switched out of autocommit while checked out.
    writes = (
        engine if is_sqlite(url) else engine.execution_options(isolation_level="READ COMMITTED")
    )
    app.extensions["grau.session_factory"] = sessionmaker(bind=writes, expire_on_commit=False)
    app.extensions["grau.read_engine"] = engine
    app.teardown_appcontext(_close)


def use_sessions(app: Flask, factory: sessionmaker[Session]) -> None:
    """Make every request of `app`, reading or writing, use sessions from `factory`."""
    app.extensions["grau.session_factory"] = factory
    app.extensions.pop("grau.read_engine", None)


def connection() -> Connection:
    """The current request's connection: a read's own (see above), else its session's."""
    conn: Connection | None = g.get("_grau_connection")
    if conn is None:
        engine: Engine | None = current_app.extensions.get("grau.read_engine")
        if engine is not None and _reading():
            conn = g._grau_own_connection = engine.connect()
        else:
            conn = db().connection()
        g._grau_connection = conn
    return conn


def db() -> Session:
    """The current request's session: on a read, bound to the read's connection."""
    session: Session | None = g.get("_grau_db")
    if session is None:
        factory = current_app.extensions["grau.session_factory"]
        reads_alone = "grau.read_engine" in current_app.extensions and _reading()
        session = factory(bind=connection()) if reads_alone else factory()
        revisions.guard(session)
        g._grau_db = session
    return session


def _reading() -> bool:
    return has_request_context() and request.method in SAFE_METHODS


def _close(_exc: BaseException | None) -> None:
    session: Session | None = g.pop("_grau_db", None)
    if session is not None:
        session.close()
    g.pop("_grau_connection", None)
    own: Connection | None = g.pop("_grau_own_connection", None)
    if own is not None:
        own.close()
