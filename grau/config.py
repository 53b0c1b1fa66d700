"""Every grau setting, read from environment variables, with the embedded defaults.

`Settings.from_env()` is the only place that reads `os.environ`; `create_app`
turns a `Settings` into Flask config, and `alembic/env.py` reads the database
URL from here too, so the two can never disagree.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from redis.backoff import NoBackoff
from redis.retry import Retry

DEFAULT_SECRET_KEY = "grau-development-secret-change-me"
ENVIRONMENTS = ("development", "production", "test")
MAX_REPLICAS = 32  # DATABASE_REPLICA_URLS: more is a mistake (and /ready lists each)


class ConfigError(RuntimeError):
    """The configuration is unusable (raised at start-up, never per request)."""


def default_database_url() -> str:
    """A SQLite file under ./instance, so one command starts grau anywhere."""
    instance = Path.cwd() / "instance"
    return f"sqlite:///{instance / 'grau.db'}"


def _int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ConfigError(f"{name} must be an integer, got {raw!r}") from exc


def _bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    if raw.lower() in ("1", "true", "yes", "on"):
        return True
    if raw.lower() in ("0", "false", "no", "off"):
        return False
    raise ConfigError(f"{name} must be true or false, got {raw!r}")


@dataclass(frozen=True)
class Settings:
    """grau's settings; field names are the environment variable names."""

    GRAU_ENV: str = "development"
    SECRET_KEY: str = DEFAULT_SECRET_KEY
    DATABASE_URL: str = ""
    # One Redis (redis://, rediss://, redis+unix://) or the primary that Sentinel names
    # (redis+sentinel://host:port,host:port/service): see `redis_sentinel`.
    REDIS_URL: str = ""
    # Redis keys (rate-limit counters) start with it: instances sharing one Redis share it.
    CACHE_KEY_PREFIX: str = "grau"
    # Response bodies each process keeps (see grau/http/cache.py), in MiB; 0 caches nothing.
    CACHE_MAX_MB: int = 64
    REDIS_SOCKET_TIMEOUT_MS: int = 250
    # Deletions the changes feed remembers (grau.sync); an older cursor starts over.
    SYNC_RETENTION_DAYS: int = 30
    ACCESS_TOKEN_TTL: int = 900
    REFRESH_TOKEN_TTL: int = 30 * 24 * 3600
    ARGON2_TIME_COST: int = 3
    ARGON2_MEMORY_KIB: int = 65536
    ARGON2_PARALLELISM: int = 4
    RATELIMIT_ENABLED: bool = True
    RATELIMIT_LOGIN: str = "10 per minute"
    RATELIMIT_REGISTER: str = "5 per minute"
    # Every authenticated operation, per user: generous for an app, a wall for a script.
    RATELIMIT_USER: str = "600 per minute"
    # Exports per user: each reads everything the user owns.
    RATELIMIT_EXPORT: str = "30 per hour"
    # Imports per user, and the largest file one reads, in MiB (a Strong or Hevy export
    # of ten years is a few MiB).
    RATELIMIT_IMPORT: str = "30 per hour"
    IMPORT_MAX_MB: int = 20
    # Origins (scheme://host[:port], comma-separated) whose browser apps may call the
    # API (CORS); empty: none, "*": any (tokens are bearer headers, never cookies).
    CORS_ORIGINS: str = ""
    MAX_CONTENT_LENGTH: int = 1024 * 1024
    DB_POOL_SIZE: int = 5
    # PostgreSQL streaming replicas (comma-separated URLs, e.g. CloudNativePG's -ro
    # service) that reads may use (grau/db/replicas.py); empty: every query goes to
    # DATABASE_URL. Needs REDIS_URL: it carries each user's last write to every instance.
    DATABASE_REPLICA_URLS: str = ""
    # A replica further behind the primary than this many seconds is skipped.
    REPLICA_MAX_LAG: int = 5
    # Reverse proxies in front of grau whose X-Forwarded-For/-Proto to trust
    # (1 behind the compose file's nginx); 0 trusts none. Rate limits key on it.
    TRUSTED_PROXIES: int = 0
    LOG_LEVEL: str = "INFO"
    # One JSON line per request on stdout (see grau/http/observability.py).
    ACCESS_LOG: bool = True
    # GET /metrics for Prometheus (request count and latency by route and status).
    METRICS_ENABLED: bool = True

    @classmethod
    def from_env(cls) -> Settings:
        values: dict[str, Any] = {}
        for f in fields(cls):
            default = f.default
            if isinstance(default, bool):
                values[f.name] = _bool(f.name, default)
            elif isinstance(default, int):
                values[f.name] = _int(f.name, default)
            else:
                values[f.name] = os.environ.get(f.name) or default
        settings = cls(**values)
        if not settings.DATABASE_URL:
            settings = cls(**{**values, "DATABASE_URL": default_database_url()})
        return settings

    def as_flask_config(self) -> dict[str, Any]:
        return asdict(self)


def validate(config: dict[str, Any]) -> None:
    """Refuse to start on settings that would be unsafe or meaningless."""
    env = config["GRAU_ENV"]
    if env not in ENVIRONMENTS:
        raise ConfigError(f"GRAU_ENV must be one of {', '.join(ENVIRONMENTS)}, got {env!r}")
    if env == "production":
        secret = config["SECRET_KEY"]
        if secret == DEFAULT_SECRET_KEY or len(secret) < 32:
            raise ConfigError(
                "GRAU_ENV=production needs SECRET_KEY set to a random value of at least "
                "32 characters (for example: python -c 'import secrets; "
                "print(secrets.token_urlsafe(48))')"
            )
    for name in ("ACCESS_TOKEN_TTL", "REFRESH_TOKEN_TTL", "MAX_CONTENT_LENGTH"):
        if config[name] <= 0:
            raise ConfigError(f"{name} must be positive")
    if config["SYNC_RETENTION_DAYS"] < 1:
        raise ConfigError("SYNC_RETENTION_DAYS must be 1 or more")
    if config["CACHE_MAX_MB"] < 0:
        raise ConfigError("CACHE_MAX_MB must be 0 (no response cache) or more")
    if config["ACCESS_TOKEN_TTL"] >= config["REFRESH_TOKEN_TTL"]:
        raise ConfigError("ACCESS_TOKEN_TTL must be shorter than REFRESH_TOKEN_TTL")
    if config["REDIS_URL"]:
        redis_sentinel(config["REDIS_URL"])
    _validate_replicas(config)


def replica_urls(config: dict[str, Any]) -> list[str]:
    """DATABASE_REPLICA_URLS as a list (empty: no replicas)."""
    return [url.strip() for url in config["DATABASE_REPLICA_URLS"].split(",") if url.strip()]


def _validate_replicas(config: dict[str, Any]) -> None:
    if config["REPLICA_MAX_LAG"] < 1:
        raise ConfigError("REPLICA_MAX_LAG must be 1 (second) or more")
    urls = replica_urls(config)
    if not urls:
        return
    postgres = ("postgresql://", "postgres://", "postgresql+psycopg://")
    if not config["DATABASE_URL"].startswith(postgres):
        raise ConfigError("DATABASE_REPLICA_URLS needs DATABASE_URL to be PostgreSQL")
    for url in urls:
        if not url.startswith(postgres):
            raise ConfigError(
                "DATABASE_REPLICA_URLS must be comma-separated postgresql:// URLs, got "
                f"{url.split('@')[-1]!r}"
            )
    if len(urls) > MAX_REPLICAS:
        raise ConfigError(f"DATABASE_REPLICA_URLS names more than {MAX_REPLICAS} replicas")
    if len(set(urls)) != len(urls) or config["DATABASE_URL"] in urls:
        raise ConfigError("DATABASE_REPLICA_URLS names a server twice, or the primary")
    if not config["REDIS_URL"]:
        # Without a shared store, a write on one instance cannot send another's reads
        # of that user to the primary: read-your-writes would not hold.
        raise ConfigError("DATABASE_REPLICA_URLS needs REDIS_URL (read-your-writes markers)")


REDIS_SCHEMES = ("redis", "rediss", "redis+unix")
SENTINEL_SCHEME = "redis+sentinel"
SENTINEL_FORM = "redis+sentinel://[[user]:password@]host:port[,host:port...]/service[?db=N]"


@dataclass(frozen=True)
class Sentinel:
    """A `redis+sentinel://` REDIS_URL: which sentinels to ask for the primary of `service`."""

    sentinels: tuple[tuple[str, int], ...]
    service: str
    db: int = 0
    username: str | None = None
    password: str | None = None

    @property
    def auth(self) -> dict[str, str]:
        """The credentials given, as redis-py takes them (sent to the sentinels and to
        Redis alike, as limits sends them)."""
        given = {"username": self.username, "password": self.password}
        return {name: value for name, value in given.items() if value}


def redis_fail_fast(timeout_s: float) -> dict[str, Any]:
    """redis-py options for calls that fail fast: `timeout_s` to connect and to answer, no
    retries (a caller that cannot reach Redis does without it, at once)."""
    return {
        "socket_timeout": timeout_s,
        "socket_connect_timeout": timeout_s,
        "retry": Retry(NoBackoff(), 0),
    }


def redis_sentinel(url: str) -> Sentinel | None:
    """The parts of a Sentinel REDIS_URL; None for a URL of one Redis (redis-py reads that
    one). A URL that is neither, or a malformed one, is a ConfigError naming the problem.

    `limits` reads the sentinels and the service from the URL itself; this reads them
    first so that a bad URL stops start-up with a clear message, not with a trace on
    the first request. It reads `?db=` and decodes the password, which limits does not.
    The password is sent to the sentinels and to Redis alike (limits' rule).
    """
    try:
        parts = urlsplit(url)
        username, password = parts.username, parts.password
        if parts.scheme in ("redis", "rediss"):
            parts.port  # noqa: B018 (raises ValueError on a port that is not a number)
    except ValueError as exc:
        raise ConfigError(f"REDIS_URL is not a valid URL ({exc})") from None
    if parts.scheme in REDIS_SCHEMES:
        db = parts.path.strip("/")
        if parts.scheme != "redis+unix" and db and not db.isdigit():
            raise ConfigError(
                f"REDIS_URL's database must be a number (redis://host:port/0), got {db!r}"
            )
        return None
    if parts.scheme != SENTINEL_SCHEME:
        # The scheme only: the URL may hold a password, and this goes to the logs.
        got = f"{parts.scheme}://" if "://" in url else "no scheme"
        raise ConfigError(
            "REDIS_URL must start with redis://, rediss://, redis+unix:// or redis+sentinel://, "
            f"got {got}"
        )
    if parts.netloc.count("@") > 1:
        raise ConfigError("REDIS_URL: percent-encode an @ in the user name or password as %40")
    hosts = parts.netloc.rpartition("@")[2]
    sentinels: list[tuple[str, int]] = []
    for location in hosts.split(","):
        try:
            where = urlsplit(f"//{location.strip()}")
            host, port = where.hostname, where.port
        except ValueError:
            host = port = None
        if not host or port is None:
            raise ConfigError(
                f"REDIS_URL: each sentinel needs host:port, got {location!r} ({SENTINEL_FORM})"
            )
        sentinels.append((host, port))
    service = parts.path.removeprefix("/")
    if not service or "/" in service:
        raise ConfigError(
            f"REDIS_URL must name the service Sentinel monitors, one path segment ({SENTINEL_FORM})"
        )
    query = parse_qs(parts.query, keep_blank_values=True)
    if set(query) - {"db"}:
        raise ConfigError(
            f"REDIS_URL: a Sentinel URL takes only ?db=N, got {', '.join(sorted(query))}"
        )
    databases = query.get("db", ["0"])
    if len(databases) != 1 or not databases[0].isdigit():
        raise ConfigError(f"REDIS_URL's ?db= must be one number, got {', '.join(databases)}")
    return Sentinel(
        tuple(sentinels),
        service,
        int(databases[0]),
        unquote(username) if username else None,
        unquote(password) if password else None,
    )


def is_sqlite(url: str) -> bool:
    return url.startswith("sqlite")


def ensure_sqlite_dir(url: str) -> None:
    """Create the folder of a SQLite file URL, so a fresh clone needs no mkdir."""
    if is_sqlite(url) and url.startswith("sqlite:///") and ":memory:" not in url:
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
