"""Container start-up: wait for the database, migrate and seed once, then exec the server.

    python scripts/entrypoint.py [--no-exec] [-- COMMAND ARGS...]

1. Connects to DATABASE_URL with bounded retries (exponential backoff with
   jitter, for at most DB_WAIT_TIMEOUT seconds, default 60); exits 1 when the
   database never answers.
2. Runs `alembic upgrade head` and seeds the catalog while holding a
   PostgreSQL advisory lock, so replicas starting together migrate exactly once
   (the others wait on the lock and then find nothing to do). SQLite needs no lock.
3. Replaces itself with COMMAND (default: `python -m grau.server`, granian with
   the settings in grau/server.py) so signals reach the server; `--no-exec`
   stops after step 2.

Redis is not needed to start: it only holds rate-limit counters, and each
process counts alone while it is away.

Every log line is one JSON object on stderr.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import sys
import time
import traceback
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
# Run as `python scripts/entrypoint.py`, sys.path starts at scripts/: make grau importable
# even where it is not pip-installed (a plain copy of the repository in an image).
sys.path.insert(0, str(ROOT))

from alembic import command  # noqa: E402
from alembic.config import Config  # noqa: E402
from alembic.runtime.migration import MigrationContext  # noqa: E402
from sqlalchemy import Connection, Engine, make_url, text  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from grau.catalog.seed import seed_catalog  # noqa: E402
from grau.config import ConfigError, Settings, is_sqlite  # noqa: E402
from grau.db.session import make_engine  # noqa: E402
from grau.sync.service import prune_tombstones  # noqa: E402

DEFAULT_COMMAND = [sys.executable, "-m", "grau.server"]
DEFAULT_WAIT_TIMEOUT = 60.0
FIRST_DELAY = 0.5
MAX_DELAY = 5.0
# pg_advisory_lock takes a signed 64-bit key; derive it from a name so it is stable
# across releases and unlikely to collide with any other application's lock.
MIGRATION_LOCK_KEY = int.from_bytes(
    hashlib.sha256(b"grau-migrations").digest()[:8], "big", signed=True
)


class GiveUp(Exception):
    """Start-up cannot continue; the message says why (and never holds a password)."""


def log(event: str, **fields: Any) -> None:
    print(json.dumps({"event": event, **fields}, default=str), file=sys.stderr, flush=True)


def _error_text(exc: BaseException, password: str | None) -> str:
    # SQLAlchemy wraps the driver error and appends SQL and a docs link: keep the driver's line.
    original = getattr(exc, "orig", None) or exc
    message = (str(original).strip().splitlines() or [type(original).__name__])[0]
    if password:
        message = message.replace(password, "***")
    return message


def _where(url: str) -> str:
    parsed = make_url(url)
    if is_sqlite(url):
        return f"SQLite database {parsed.database or ':memory:'}"
    port = f":{parsed.port}" if parsed.port else ""
    return f"database {parsed.database!r} on {parsed.host or 'localhost'}{port}"


def backoff_delays(first: float = FIRST_DELAY, cap: float = MAX_DELAY) -> Iterator[float]:
    """Exponential delays with 'equal jitter': half fixed, half random, so replicas spread out."""
    attempt = 0
    while True:
        base = min(cap, first * 2**attempt)
        yield base / 2 + random.uniform(0, base / 2)
        attempt += 1


def wait_for_database(engine: Engine, url: str, timeout: float) -> None:
    password = make_url(url).password
    deadline = time.monotonic() + timeout
    delays = backoff_delays()
    attempt = 0
    while True:
        attempt += 1
        try:
            with engine.connect() as conn:
                conn.execute(text("SELECT 1"))
        except Exception as exc:  # any driver error means "not yet"; the deadline bounds it
            error = _error_text(exc, password)
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise GiveUp(
                    f"{_where(url)} did not answer after {attempt} attempts in {timeout:g} s; "
                    f"giving up (last error: {error})"
                ) from None
            delay = round(min(next(delays), remaining), 3)
            log("waiting_for_database", attempt=attempt, delay=delay, error=error)
            time.sleep(delay)
        else:
            log("database_ready", attempt=attempt)
            return


@contextmanager
def migration_lock(engine: Engine, url: str) -> Iterator[Connection | None]:
    """Hold the migrations advisory lock on a dedicated connection (PostgreSQL only)."""
    if is_sqlite(url):
        # One file, one host: replicas cannot share it, and SQLite serialises writers anyway.
        yield None
        return
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        log("acquiring_migration_lock", key=MIGRATION_LOCK_KEY)
        conn.execute(text("SELECT pg_advisory_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
        log("migration_lock_acquired")
        try:
            yield conn
        finally:
            # Closing the session would release it too; unlock explicitly so the pool is clean.
            conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": MIGRATION_LOCK_KEY})


def alembic_config(url: str) -> Config:
    config = Config(str(ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(ROOT / "alembic"))
    config.attributes["database_url"] = url
    # alembic.ini's logging config would print plain-text lines; ours are JSON.
    config.attributes["configure_logger"] = False
    return config


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def prepare(url: str, wait_timeout: float) -> None:
    """Wait for the database, then migrate and seed it under the migrations lock."""
    engine = make_engine(url, pool_size=2)
    try:
        wait_for_database(engine, url, wait_timeout)
        with migration_lock(engine, url):
            before = current_revision(engine)
            command.upgrade(alembic_config(url), "head")
            after = current_revision(engine)
            if before == after:
                log("up_to_date", revision=after)
            else:
                log("migrated", **{"from": before, "to": after})
            with Session(engine) as session:
                report = seed_catalog(session)
            log(
                "catalog_seeded",
                created=report.created,
                updated=report.updated,
                unchanged=report.unchanged,
            )
            with Session(engine) as session:
                pruned = prune_tombstones(session, sync_retention_from_env())
            log("tombstones_pruned", count=pruned)
    finally:
        engine.dispose()


def sync_retention_from_env() -> timedelta:
    """SYNC_RETENTION_DAYS, as the app reads it (grau.config)."""
    return timedelta(days=Settings.from_env().SYNC_RETENTION_DAYS)


def wait_timeout_from_env() -> float:
    raw = os.environ.get("DB_WAIT_TIMEOUT") or str(DEFAULT_WAIT_TIMEOUT)
    try:
        value = float(raw)
    except ValueError:
        raise GiveUp(f"DB_WAIT_TIMEOUT must be a number of seconds, got {raw!r}") from None
    if value <= 0:
        raise GiveUp(f"DB_WAIT_TIMEOUT must be positive, got {raw!r}")
    return value


def split_command(argv: Sequence[str]) -> tuple[list[str], list[str]]:
    """Options before `--`, the server command after it (argparse would mangle its flags)."""
    if "--" in argv:
        at = list(argv).index("--")
        return list(argv[:at]), list(argv[at + 1 :])
    return list(argv), []


def main(argv: Sequence[str] | None = None) -> int:
    options, server = split_command(sys.argv[1:] if argv is None else argv)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--no-exec", action="store_true", help="prepare the database and exit 0 instead of serving"
    )
    args = parser.parse_args(options)
    try:
        url = Settings.from_env().DATABASE_URL
        prepare(url, wait_timeout_from_env())
    except (GiveUp, ConfigError) as exc:
        log("startup_failed", message=str(exc))
        return 1
    except Exception as exc:  # a failed migration or seed: still one JSON line, with the trace
        log("startup_failed", message=_error_text(exc, None), traceback=traceback.format_exc())
        return 1
    if args.no_exec:
        log("prepared")
        return 0
    server = server or DEFAULT_COMMAND
    log("exec", command=server)
    sys.stdout.flush()
    sys.stderr.flush()
    os.execvp(server[0], server)


if __name__ == "__main__":
    sys.exit(main())
