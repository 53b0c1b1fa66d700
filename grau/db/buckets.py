"""Local calendar buckets in SQL: the day, week (from Monday) or month a UTC timestamp falls in.

`local_bucket(column, tz_name, bucket)` is one Date-typed SQL expression, to
select and GROUP BY, compiled per dialect:

- PostgreSQL: `CAST(date_trunc(bucket, column AT TIME ZONE tz) AS DATE)`;
  `column` is a timestamptz, so `AT TIME ZONE` gives the local wall-clock
  time, and `date_trunc('week', ...)` starts weeks on Monday (ISO 8601).
- SQLite has no time zones: the expression calls `grau_bucket_start(column,
  tz, bucket)`, a deterministic Python function (zoneinfo, so DST is exact)
  registered on every new SQLite connection.

The zone and the bucket are bound parameters, so compiled statements cache
safely. PostgreSQL matches GROUP BY expressions textually, bound parameters
included: group on one expression object used in SELECT too, or through a
subquery, never on a second call of `local_bucket`.

Used by the body-stats summary and the nutrition daily totals.
"""

from __future__ import annotations

import sqlite3
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnExpressionArgument, Date, String, event, literal
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.pool import Pool
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

BUCKETS = ("day", "week", "month")
SQLITE_FUNCTION = "grau_bucket_start"


class LocalBucket(FunctionElement[date]):
    """The SQL construct behind `local_bucket`: arguments (column, zone, bucket)."""

    type = Date()
    name = "local_bucket"
    inherit_cache = True


def local_bucket(
    column: ColumnExpressionArgument[datetime], tz_name: str, bucket: str
) -> LocalBucket:
    """The local date on which the `bucket` containing `column` starts, in zone `tz_name`.

    `column` holds UTC timestamps (grau's UTCDateTime); `tz_name` is an IANA
    zone name; `bucket` is day, week or month.
    """
    if bucket not in BUCKETS:
        raise ValueError(f"bucket must be one of {BUCKETS}, not {bucket!r}")
    ZoneInfo(tz_name)  # an unknown zone fails here, not inside the database
    return LocalBucket(column, literal(tz_name, String()), literal(bucket, String()))


def bucket_start(moment: datetime, tz_name: str, bucket: str) -> date:
    """`local_bucket` in Python: what SQLite runs (and what a test can compare with)."""
    day = moment.astimezone(ZoneInfo(tz_name)).date()
    if bucket == "week":
        return day - timedelta(days=day.weekday())
    if bucket == "month":
        return day.replace(day=1)
    return day


@compiles(LocalBucket, "postgresql")
def _postgresql(element: LocalBucket, compiler: SQLCompiler, **kw: Any) -> str:
    column, tz_name, bucket = (compiler.process(arg, **kw) for arg in element.clauses)
    return f"CAST(date_trunc({bucket}, {column} AT TIME ZONE {tz_name}) AS DATE)"


# SQLite, and any other dialect (`str(statement)` when debugging): grau runs on
# PostgreSQL and SQLite only.
@compiles(LocalBucket)
def _sqlite(element: LocalBucket, compiler: SQLCompiler, **kw: Any) -> str:
    return f"{SQLITE_FUNCTION}({compiler.process(element.clauses, **kw)})"


def _sqlite_bucket_start(stored: str | None, tz_name: str, bucket: str) -> str | None:
    # UTCDateTime stores naive UTC text on SQLite; SQLite's Date type reads ISO dates back.
    if stored is None:
        return None
    moment = datetime.fromisoformat(stored).replace(tzinfo=UTC)
    return bucket_start(moment, tz_name, bucket).isoformat()


@event.listens_for(Pool, "connect")
def _register_sqlite_function(dbapi_connection: Any, _record: Any) -> None:
    # Every pool, so the app's engine and the tests' engine both get it.
    if isinstance(dbapi_connection, sqlite3.Connection):
        dbapi_connection.create_function(
            SQLITE_FUNCTION, 3, _sqlite_bucket_start, deterministic=True
        )
