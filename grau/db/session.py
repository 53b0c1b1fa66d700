"""Engines and request-scoped sessions.

Each request gets one `Session` from the app's session factory, opened lazily
and closed when the app context ends. Tests replace the factory with one bound
to a connection inside a transaction they roll back.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, current_app, g
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

from grau.config import ensure_sqlite_dir, is_sqlite


def make_engine(url: str, *, pool_size: int = 5) -> Engine:
    url = url.replace("postgresql://", "postgresql+psycopg://", 1).replace(
        "postgres://", "postgresql+psycopg://", 1
    )
    options: dict[str, Any] = {"pool_pre_ping": True}
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
    engine = create_engine(url, **options)
    if is_sqlite(url):
        _sqlite_pragmas(engine)
    return engine


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
    engine = make_engine(app.config["DATABASE_URL"], pool_size=app.config["DB_POOL_SIZE"])
    app.extensions["grau.engine"] = engine
    app.extensions["grau.session_factory"] = sessionmaker(bind=engine, expire_on_commit=False)
    app.teardown_appcontext(_close_session)


def db() -> Session:
    """The current request's session."""
    session: Session | None = g.get("_grau_db")
    if session is None:
        session = current_app.extensions["grau.session_factory"]()
        g._grau_db = session
    return session


def _close_session(_exc: BaseException | None) -> None:
    session: Session | None = g.pop("_grau_db", None)
    if session is not None:
        session.close()
