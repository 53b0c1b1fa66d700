"""create_app: serving a subset of the API, refusing unsafe settings, reading the environment."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from unittest.mock import ANY

import pytest
from conftest import TEST_REDIS_URL
from flask import Flask
from redis.sentinel import SentinelConnectionPool
from sqlalchemy.orm import Session, sessionmaker

from grau.accounts.routes import users_blp
from grau.config import DEFAULT_SECRET_KEY, ConfigError, Settings
from grau.db.session import use_sessions
from grau.ops.routes import blp as ops_blp

STRONG_SECRET = "k" * 48


@pytest.fixture
def users_only_app(make_app: Callable[..., Flask], session_factory: sessionmaker[Session]) -> Flask:
    """What a second entry file serving only ops and users would build."""
    subset = make_app(blueprints=[ops_blp, users_blp])
    use_sessions(subset, session_factory)
    return subset


# ------------------------------------------------------------------------- readiness


def test_ready_reports_the_database_and_redis(client):
    """The live fault tests take each one down; this is the answer when both are up,
    or when no Redis is configured (the embedded default counts rate limits alone)."""
    response = client.get("/ready")

    assert response.status_code == 200
    redis = {"status": "ok"} if TEST_REDIS_URL else {"status": "disabled", "detail": ANY}
    assert response.json == {
        "status": "ok",
        "database": {"status": "ok"},
        "redis": redis,
        "replicas": [],  # none configured (test_replicas_live.py has one)
    }


# ------------------------------------------------------------------ blueprint subsets


def test_subset_app_serves_only_its_blueprints(users_only_app):
    client = users_only_app.test_client()
    email = f"user-{uuid.uuid4().hex[:12]}@example.com"

    created = client.post("/v1/users", json={"email": email, "password": "long enough pw"})
    other = client.get("/v1/body-stats")

    assert (created.status_code, other.status_code) == (201, 404)


def test_subset_app_documents_only_its_own_paths(users_only_app):
    response = users_only_app.test_client().get("/openapi.json")

    paths = set(response.json["paths"])
    assert {"/health", "/ready", "/v1/users", "/v1/users/me"} <= paths
    assert [p for p in paths if not p.startswith(("/v1/users", "/health", "/ready"))] == []


def test_subset_app_leaves_the_full_app_whole(users_only_app, client):
    response = client.get("/openapi.json")

    assert {"/v1/auth/login", "/v1/body-stats", "/v1/users/me"} <= set(response.json["paths"])


# ------------------------------------------------------------------ config validation


@pytest.mark.parametrize(
    "secret", [DEFAULT_SECRET_KEY, "short", "x" * 31], ids=["default", "short", "31 chars"]
)
def test_production_refuses_a_weak_secret_key(make_app, secret):
    with pytest.raises(ConfigError):
        make_app({"GRAU_ENV": "production", "SECRET_KEY": secret})


def test_production_starts_with_a_48_character_secret_key(make_app):
    app = make_app({"GRAU_ENV": "production", "SECRET_KEY": STRONG_SECRET})

    assert app.config["GRAU_ENV"] == "production"


@pytest.mark.parametrize("env", ["development", "test"])
def test_non_production_environments_accept_the_default_secret(make_app, env):
    app = make_app({"GRAU_ENV": env, "SECRET_KEY": DEFAULT_SECRET_KEY})

    assert app.config["SECRET_KEY"] == DEFAULT_SECRET_KEY


@pytest.mark.parametrize("env", ["staging", "prod", "", "Production"])
def test_unknown_environment_is_refused(make_app, env):
    with pytest.raises(ConfigError):
        make_app({"GRAU_ENV": env})


@pytest.mark.parametrize(
    "overrides",
    [
        {"ACCESS_TOKEN_TTL": 0},
        {"REFRESH_TOKEN_TTL": -1},
        {"CACHE_MAX_MB": -1},
        {"MAX_CONTENT_LENGTH": 0},
        {"ACCESS_TOKEN_TTL": 3600, "REFRESH_TOKEN_TTL": 3600},
    ],
    ids=[
        "access ttl 0",
        "refresh ttl negative",
        "negative response cache",
        "no body size",
        "access not shorter",
    ],
)
def test_meaningless_settings_are_refused(make_app, overrides):
    with pytest.raises(ConfigError):
        make_app(overrides)


PRIMARY = "postgresql://grau@db-rw:5432/grau"
REPLICA = "postgresql://grau@db-ro:5432/grau"


@pytest.mark.parametrize(
    "markers_url", ["redis://cache:6379/0", "redis+sentinel://:pw@s1:26379,s2:26379/grau?db=2"]
)
def test_replicas_keep_their_markers_in_redis_or_behind_sentinel(make_app, markers_url):
    """Made at start-up without connecting: PostgreSQL and Redis are asked on first use."""
    app = make_app(
        {"DATABASE_URL": PRIMARY, "DATABASE_REPLICA_URLS": REPLICA, "REDIS_URL": markers_url}
    )

    replicas = app.extensions["grau.replicas"]
    pool = replicas.redis.connection_pool
    assert replicas.names == ["db-ro:5432/grau"]
    assert pool.connection_kwargs["socket_timeout"] == 0.25  # REDIS_SOCKET_TIMEOUT_MS
    if "sentinel" in markers_url:
        assert isinstance(pool, SentinelConnectionPool)
        assert (pool.service_name, pool.connection_kwargs["db"]) == ("grau", 2)


@pytest.mark.parametrize(
    ("overrides", "refusal"),
    [
        ({"REPLICA_MAX_LAG": 0}, "REPLICA_MAX_LAG"),
        ({"DATABASE_REPLICA_URLS": "sqlite:///replica.db"}, "postgresql:// URLs"),
        ({"DATABASE_REPLICA_URLS": f"{REPLICA},{REPLICA}"}, "twice"),
        ({"DATABASE_REPLICA_URLS": PRIMARY}, "twice, or the primary"),
        ({"DATABASE_REPLICA_URLS": REPLICA, "REDIS_URL": ""}, "needs REDIS_URL"),
        ({"DATABASE_URL": "sqlite:///grau.db", "DATABASE_REPLICA_URLS": REPLICA}, "PostgreSQL"),
    ],
    ids=["no lag allowed", "not postgres", "named twice", "the primary", "no redis", "sqlite"],
)
def test_replica_settings_that_cannot_work_are_refused(make_app, overrides, refusal):
    settings = {"DATABASE_URL": PRIMARY, "REDIS_URL": "redis://cache:6379/0", **overrides}
    with pytest.raises(ConfigError, match=refusal):
        make_app(settings)


# ---------------------------------------------------------------- Settings.from_env


def test_from_env_without_variables_uses_the_defaults(monkeypatch):
    for name in Settings.__dataclass_fields__:
        monkeypatch.delenv(name, raising=False)

    settings = Settings.from_env()

    assert (settings.GRAU_ENV, settings.ACCESS_TOKEN_TTL, settings.RATELIMIT_ENABLED) == (
        "development",
        900,
        True,
    )


def test_from_env_defaults_to_a_sqlite_database_under_instance(monkeypatch):
    monkeypatch.delenv("DATABASE_URL", raising=False)

    settings = Settings.from_env()

    assert settings.DATABASE_URL.startswith("sqlite:///")
    assert settings.DATABASE_URL.endswith("/instance/grau.db")


def test_from_env_reads_strings_and_parses_integers(monkeypatch):
    monkeypatch.setenv("SECRET_KEY", STRONG_SECRET)
    monkeypatch.setenv("GRAU_ENV", "production")
    monkeypatch.setenv("RATELIMIT_LOGIN", "7 per minute")
    monkeypatch.setenv("ACCESS_TOKEN_TTL", "60")
    monkeypatch.setenv("MAX_CONTENT_LENGTH", "2048")

    settings = Settings.from_env()

    assert (settings.SECRET_KEY, settings.GRAU_ENV, settings.RATELIMIT_LOGIN) == (
        STRONG_SECRET,
        "production",
        "7 per minute",
    )
    assert (settings.ACCESS_TOKEN_TTL, settings.MAX_CONTENT_LENGTH) == (60, 2048)


@pytest.mark.parametrize(
    ("raw", "parsed"),
    [
        ("true", True),
        ("1", True),
        ("YES", True),
        ("on", True),
        ("false", False),
        ("0", False),
        ("No", False),
        ("off", False),
    ],
)
def test_from_env_parses_booleans(monkeypatch, raw, parsed):
    monkeypatch.setenv("RATELIMIT_ENABLED", raw)

    settings = Settings.from_env()

    assert settings.RATELIMIT_ENABLED is parsed


@pytest.mark.parametrize("name", ["ACCESS_TOKEN_TTL", "CACHE_MAX_MB", "DB_POOL_SIZE"])
def test_from_env_treats_an_empty_integer_as_unset(monkeypatch, name):
    monkeypatch.setenv(name, "")

    settings = Settings.from_env()

    assert getattr(settings, name) == Settings.__dataclass_fields__[name].default


@pytest.mark.parametrize(
    ("name", "raw"),
    [("ACCESS_TOKEN_TTL", "abc"), ("CACHE_MAX_MB", "1.5"), ("RATELIMIT_ENABLED", "maybe")],
)
def test_from_env_refuses_values_of_the_wrong_kind(monkeypatch, name, raw):
    monkeypatch.setenv(name, raw)

    with pytest.raises(ConfigError, match=name):
        Settings.from_env()


def test_create_app_reads_the_environment_and_its_overrides_win(monkeypatch, make_app):
    monkeypatch.setenv("ACCESS_TOKEN_TTL", "120")
    monkeypatch.setenv("REFRESH_TOKEN_TTL", "7200")

    app = make_app({"ACCESS_TOKEN_TTL": 60})

    assert (app.config["ACCESS_TOKEN_TTL"], app.config["REFRESH_TOKEN_TTL"]) == (60, 7200)
