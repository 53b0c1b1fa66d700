"""Local calendar buckets in SQL: the day, week or month a UTC timestamp falls in, in a time zone.

`local_bucket(column, tz, bucket)` is a Date-typed SQL expression for GROUP BY
and WHERE, compiled per dialect:

- PostgreSQL: `(column AT TIME ZONE tz)` truncated (`date_trunc('week', ...)`
  starts weeks on Monday, as ISO 8601 does), cast to `date`.
- SQLite has no time zones: the expression calls `grau_local_bucket(column, tz,
  bucket)`, a deterministic Python function registered on every SQLite
  connection (zoneinfo, so DST shifts are exact there too).

Written for the nutrition daily totals and the body-stats summary alike; it
belongs in shared code (grau/db) once both use it.
"""

from __future__ import annotations

import sqlite3
from datetime import UTC, date, datetime, timedelta
from typing import Any, ClassVar, Literal
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, ColumnExpressionArgument, Date, event, literal
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.pool import Pool
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

Bucket = Literal["day", "week", "month"]
BUCKETS: tuple[Bucket, ...] = ("day", "week", "month")
SQLITE_FUNCTION = "grau_local_bucket"


def local_bucket(
    column: ColumnExpressionArgument[datetime], tz: str, bucket: Bucket
) -> ColumnElement[date]:
    """The first local day of the day, week (from Monday) or month `column` falls in, in `tz`.

    `column` holds UTC timestamps (grau's UTCDateTime); `tz` is an IANA zone
    name, sent as a bound parameter. Build the expression once and use that
    object in SELECT and GROUP BY: PostgreSQL matches GROUP BY expressions
    textually, and two calls would bind the zone as two parameters.
    """
    ZoneInfo(tz)  # an unknown zone fails here, in Python, not inside the database
    return _BY_NAME[bucket](column, literal(tz))


def bucket_start(moment: datetime, tz: str, bucket: Bucket) -> date:
    """The same as `local_bucket`, in Python: what SQLite runs, and what tests can compare with."""
    day = moment.astimezone(ZoneInfo(tz)).date()
    if bucket == "week":
        return day - timedelta(days=day.weekday())
    if bucket == "month":
        return day.replace(day=1)
    return day


# One construct per bucket, so the bucket is part of the statement's cache key
# (only the column and the zone are SQL arguments).
class _LocalBucket(FunctionElement[date]):
    type = Date()
    inherit_cache = True
    bucket: ClassVar[Bucket]


class _LocalDay(_LocalBucket):
    name = "local_day"
    inherit_cache = True
    bucket = "day"


class _LocalWeek(_LocalBucket):
    name = "local_week"
    inherit_cache = True
    bucket = "week"


class _LocalMonth(_LocalBucket):
    name = "local_month"
    inherit_cache = True
    bucket = "month"


_BY_NAME: dict[str, type[_LocalBucket]] = {
    cls.bucket: cls for cls in (_LocalDay, _LocalWeek, _LocalMonth)
}


def _arguments(element: _LocalBucket, compiler: SQLCompiler, **kw: Any) -> tuple[str, str]:
    column, tz = element.clauses
    return compiler.process(column, **kw), compiler.process(tz, **kw)


@compiles(_LocalBucket, "postgresql")
def _postgresql(element: _LocalBucket, compiler: SQLCompiler, **kw: Any) -> str:
    column, tz = _arguments(element, compiler, **kw)
    local = f"({column} AT TIME ZONE {tz})"
    if element.bucket == "day":
        return f"CAST({local} AS DATE)"
    return f"CAST(date_trunc('{element.bucket}', {local}) AS DATE)"


# SQLite, and `str(statement)` when debugging (grau runs on SQLite and PostgreSQL only).
@compiles(_LocalBucket)
def _sqlite(element: _LocalBucket, compiler: SQLCompiler, **kw: Any) -> str:
    column, tz = _arguments(element, compiler, **kw)
    return f"{SQLITE_FUNCTION}({column}, {tz}, '{element.bucket}')"


def _sqlite_local_bucket(stored: str | None, tz: str, bucket: Bucket) -> str | None:
    """SQLite's side: from the naive UTC text UTCDateTime stores to an ISO date, as Date reads."""
    if stored is None:
        return None
    moment = datetime.fromisoformat(stored).replace(tzinfo=UTC)
    return bucket_start(moment, tz, bucket).isoformat()


@event.listens_for(Pool, "connect")
def _register_sqlite_function(dbapi_connection: Any, _record: Any) -> None:
    # Every pool, so the app's engine and the tests' engine both get it.
    if isinstance(dbapi_connection, sqlite3.Connection):
        dbapi_connection.create_function(
            SQLITE_FUNCTION, 3, _sqlite_local_bucket, deterministic=True
        )
