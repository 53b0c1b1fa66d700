"""Fixtures: a throwaway database migrated with alembic, the app, and per-test rollback.

Which services the suite runs against:
- `TEST_DATABASE_URL` (a PostgreSQL server URL): a fresh database named
  `grau_test_<random>` is created on that server, migrated, and dropped at the
  end; the developer's own database is never touched. Unset: a SQLite file in
  a temporary folder (the embedded default).
- `TEST_REDIS_URL`: Redis for the cache, token revocations and rate limits,
  with a random key prefix per run. Unset: the in-process cache.
Under `CI=true` both must be set and reachable, or the run fails, unless
`TEST_EMBEDDED=1` says this run is the deliberate embedded-default pass.

Each test runs inside one outer transaction that is rolled back afterwards;
the app's commits become SAVEPOINT releases within it.
"""

from __future__ import annotations

import os
import secrets
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import marshmallow as ma
import pytest
import redis
from alembic import command
from alembic.config import Config
from flask import Flask
from flask.testing import FlaskClient
from marshmallow.error_store import ErrorStore
from sqlalchemy import Connection, Engine, event, make_url, text
from sqlalchemy.orm import Session, sessionmaker

from app import create_app
from grau.catalog.seed import seed_catalog
from grau.db.session import make_engine, use_sessions
from grau.http.schemas import Schema

ROOT = Path(__file__).resolve().parent.parent
IN_CI = os.environ.get("CI", "").lower() == "true"
TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL", "")
TEST_REDIS_URL = os.environ.get("TEST_REDIS_URL", "")
EMBEDDED_PASS = os.environ.get("TEST_EMBEDDED") == "1"
RUN_ID = secrets.token_hex(4)

# Cheap hashes in tests; the production parameters are tested on their own.
FAST_ARGON2 = {"ARGON2_TIME_COST": 1, "ARGON2_MEMORY_KIB": 1024, "ARGON2_PARALLELISM": 1}


def pytest_sessionstart(session: pytest.Session) -> None:
    if IN_CI and not EMBEDDED_PASS and not (TEST_DATABASE_URL and TEST_REDIS_URL):
        pytest.exit(
            "CI=true needs TEST_DATABASE_URL and TEST_REDIS_URL (PostgreSQL and Redis); "
            "the production stack is never skipped in CI",
            returncode=3,
        )


# marshmallow's own loop over a schema's fields, which grau's Schema skips where it can.
MARSHMALLOW_DESERIALIZE = ma.Schema._deserialize


@pytest.fixture(scope="session", autouse=True)
def flat_loads_checked() -> Iterator[None]:
    """Every body the suite loads goes through marshmallow's own loop too, and must come
    out the same, with the same errors (grau.http.schemas.Schema._deserialize)."""
    flat = Schema._deserialize

    def checked(self: Schema, data: Any, **kwargs: Any) -> Any:
        # (A `many` load's items share one store: the errors compare when it starts empty.)
        fresh = not kwargs["error_store"].errors
        loaded = flat(self, data, **kwargs)
        if not kwargs.get("many"):
            errors = ErrorStore()
            reference = MARSHMALLOW_DESERIALIZE(self, data, **{**kwargs, "error_store": errors})
            assert repr(loaded) == repr(reference), (type(self).__name__, data)
            if fresh:
                assert kwargs["error_store"].errors == errors.errors, (type(self).__name__, data)
        return loaded

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(Schema, "_deserialize", checked)
        yield


def pytest_report_header() -> list[str]:
    database = make_url(TEST_DATABASE_URL).render_as_string() if TEST_DATABASE_URL else "sqlite"
    return [f"grau: database={database} redis={TEST_REDIS_URL or 'in-process cache'}"]


def alembic_config(database_url: str) -> Config:
    config = Config(str(ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(ROOT / "alembic"))
    config.attributes["database_url"] = database_url
    config.attributes["configure_logger"] = False
    return config


@dataclass
class Database:
    url: str
    is_postgres: bool


def _create_postgres_database(server_url: str, name: str) -> str:
    admin = make_engine(server_url)
    try:
        with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:
        pytest.fail(f"PostgreSQL at TEST_DATABASE_URL is not usable: {exc}", pytrace=False)
    finally:
        admin.dispose()
    return make_url(server_url).set(database=name).render_as_string(hide_password=False)


def _drop_postgres_database(server_url: str, name: str) -> None:
    admin = make_engine(server_url)
    with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="session")
def new_database(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[[], Database]]:
    """A factory of fresh, empty databases of the configured kind (dropped at the end)."""
    created: list[str] = []

    def make() -> Database:
        if TEST_DATABASE_URL:
            name = f"grau_test_{RUN_ID}_{len(created)}"
            created.append(name)
            return Database(_create_postgres_database(TEST_DATABASE_URL, name), True)
        path = tmp_path_factory.mktemp("db") / "grau.db"
        return Database(f"sqlite:///{path}", False)

    yield make
    for name in created:
        _drop_postgres_database(TEST_DATABASE_URL, name)


@pytest.fixture(scope="session")
def database(new_database: Callable[[], Database]) -> Database:
    """The suite's database, migrated to head with alembic and seeded (as production is)."""
    db = new_database()
    command.upgrade(alembic_config(db.url), "head")
    engine = make_engine(db.url)
    with Session(engine) as session:
        seed_catalog(session)
    engine.dispose()
    return db


@pytest.fixture(scope="session")
def engine(database: Database) -> Iterator[Engine]:
    engine = make_engine(database.url)
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def redis_url() -> str:
    if TEST_REDIS_URL:
        try:
            redis.Redis.from_url(TEST_REDIS_URL, socket_timeout=2).ping()
        except redis.RedisError as exc:
            pytest.fail(f"Redis at TEST_REDIS_URL is not usable: {exc}", pytrace=False)
    return TEST_REDIS_URL


@pytest.fixture(scope="session")
def app_config(database: Database, redis_url: str) -> dict[str, Any]:
    return {
        "GRAU_ENV": "test",
        "DATABASE_URL": database.url,
        "REDIS_URL": redis_url,
        "CACHE_KEY_PREFIX": f"grau-test-{RUN_ID}",
        "RATELIMIT_ENABLED": False,
        "ACCESS_LOG": False,  # test_access_log.py reads a live server's
        **FAST_ARGON2,
    }


@pytest.fixture(scope="session")
def make_app(app_config: dict[str, Any]) -> Callable[..., Flask]:
    """Build another app on the suite's services, with config overrides."""

    def make(overrides: dict[str, Any] | None = None, **kwargs: Any) -> Flask:
        return create_app({**app_config, **(overrides or {})}, **kwargs)

    return make


@pytest.fixture(scope="session")
def app(make_app: Callable[..., Flask]) -> Flask:
    return make_app()


@pytest.fixture
def connection(engine: Engine) -> Iterator[Connection]:
    conn = engine.connect()
    outer = conn.begin()
    yield conn
    outer.rollback()
    conn.close()


@pytest.fixture
def session_factory(app: Flask, connection: Connection) -> Iterator[sessionmaker[Session]]:
    """Sessions on the test's connection: their commits end in the test's rollback."""
    factory = sessionmaker(
        bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
    )
    original = dict(app.extensions)
    use_sessions(app, factory)
    yield factory
    app.extensions.clear()
    app.extensions.update(original)


@pytest.fixture
def db_session(session_factory: sessionmaker[Session]) -> Iterator[Session]:
    with session_factory() as session:
        yield session


@pytest.fixture
def client(app: Flask, session_factory: sessionmaker[Session]) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def build_app(
    make_app: Callable[..., Flask], session_factory: sessionmaker[Session]
) -> Callable[[dict[str, Any]], Flask]:
    """Another app on the suite's services whose writes end in this test's rollback."""

    def build(overrides: dict[str, Any]) -> Flask:
        new_app = make_app(overrides)
        use_sessions(new_app, session_factory)
        return new_app

    return build


@contextmanager
def sql_sent(engine: Engine) -> Iterator[list[str]]:
    """The SQL statements sent on `engine` while inside (the tests' sessions use it too)."""
    sent: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        sent.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield sent
    finally:
        event.remove(engine, "before_cursor_execute", record)


def selects(statements: list[str]) -> list[str]:
    """The queries among `statements` (the tests' transaction adds SAVEPOINTs)."""
    return [s for s in statements if s.lstrip().upper().startswith("SELECT")]


# ----------------------------------------------------------------------- factories


@dataclass
class Account:
    """A registered, logged-in user as a client sees it."""

    id: str
    email: str
    password: str
    tokens: dict[str, Any]

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens['access_token']}"}


@pytest.fixture
def register(client: FlaskClient) -> Callable[..., Account]:
    """Register a fresh user through the API and log in."""

    def make(**profile: Any) -> Account:
        email = f"user-{uuid.uuid4().hex[:12]}@example.com"
        password = "correct horse battery"
        response = client.post("/v1/users", json={"email": email, "password": password, **profile})
        assert response.status_code == 201, response.json
        login = client.post("/v1/auth/login", json={"email": email, "password": password})
        assert login.status_code == 200, login.json
        return Account(response.json["id"], email, password, login.json)

    return make


@pytest.fixture
def user(register: Callable[..., Account]) -> Account:
    return register()


@pytest.fixture
def other_user(register: Callable[..., Account]) -> Account:
    return register()


WEIGHT = {"type": "weight", "value": 72.5, "unit": "kg", "recorded_at": "2026-11-20T07:30:00+01:00"}


@pytest.fixture
def create_stat(client: FlaskClient) -> Callable[..., dict[str, Any]]:
    def make(account: Account, **fields: Any) -> dict[str, Any]:
        response = client.post("/v1/body-stats", json={**WEIGHT, **fields}, headers=account.headers)
        assert response.status_code == 201, response.json
        return {**response.json, "_etag": response.headers["ETag"]}

    return make


# ------------------------------------------------------------------------- helpers


def ids(response: Any) -> list[str]:
    return [item["id"] for item in response.json["items"]]


def public(item: dict[str, Any]) -> dict[str, Any]:
    """An item as the API returns it (without the factories' `_etag`)."""
    return {k: v for k, v in item.items() if k != "_etag"}


def at(day: int, hour: int = 8) -> str:
    return f"2025-03-{day:02d}T{hour:02d}:00:00+00:00"
