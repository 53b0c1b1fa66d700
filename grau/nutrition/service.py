"""Nutrition entry rules: units per type, plausible amounts, reads in another unit, daily totals."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from grau.accounts.models import User
from grau.core import crud
from grau.core.measurements import SORT_BY_QUANTITY, SOURCE_KEY
from grau.core.units import from_canonical, tidy
from grau.db.buckets import local_bucket
from grau.nutrition.models import AMOUNTS, NutritionEntry

MAX_SPAN_DAYS = 366

NUTRITION = crud.OwnedService(
    NutritionEntry,
    filter=AMOUNTS.filter(NutritionEntry),
    check=AMOUNTS.check,
    present=AMOUNTS.present,
    sort_columns=SORT_BY_QUANTITY,
    natural_key=SOURCE_KEY,
)


# ---------------------------------------------------------------------- daily totals


@dataclass
class Total:
    type: str
    total: float
    unit: str
    count: int


@dataclass
class Day:
    date: date
    totals: list[Total] = field(default_factory=list)


@dataclass
class DailyTotals:
    start: date
    end: date
    timezone: str
    days: list[Day]


def user_timezone(session: Session, user_id: uuid.UUID) -> str:
    """The user's IANA time zone (profile `timezone`), which their days are local to."""
    return session.scalar(select(User.timezone).where(User.id == user_id)) or "UTC"


def _utc_midnight(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


def daily_totals(
    session: Session,
    user_id: uuid.UUID,
    tz: str,
    start: date,
    end: date,
    entry_type: str | None = None,
) -> DailyTotals:
    """Totals per local day in `tz` and type, summed in SQL, each in its type's reporting unit.

    Every day from `start` to `end` is in the result, with no totals when
    nothing was logged; a day's totals follow the order of the types in `AMOUNTS`.
    """
    # One expression object for SELECT, WHERE and GROUP BY: PostgreSQL matches
    # GROUP BY expressions textually, the time zone's bound parameter included.
    local_day = local_bucket(NutritionEntry.recorded_at, tz, "day")
    query = (
        select(
            local_day,
            NutritionEntry.type,
            func.sum(NutritionEntry.canonical_value),
            func.count(),
        )
        .where(
            NutritionEntry.user_id == user_id,
            # A UTC window a day wider than the local days on each side (no zone is
            # 24 h off UTC), so the (user, recorded_at) index narrows the rows first.
            NutritionEntry.recorded_at >= _utc_midnight(start - timedelta(days=1)),
            NutritionEntry.recorded_at < _utc_midnight(end + timedelta(days=2)),
            local_day.between(start, end),
        )
        .group_by(local_day, NutritionEntry.type)
    )
    if entry_type is not None:
        query = query.where(NutritionEntry.type == entry_type)

    days = {day: Day(day) for day in _days(start, end)}
    order = list(AMOUNTS.types)
    rows = sorted(session.execute(query).all(), key=lambda row: (row[0], order.index(row[1])))
    for row_day, kind, canonical_sum, count in rows:
        unit = AMOUNTS.types[kind].reported
        days[row_day].totals.append(
            Total(kind, tidy(from_canonical(canonical_sum, unit)), unit, count)
        )
    return DailyTotals(start, end, tz, list(days.values()))


def _days(start: date, end: date) -> list[date]:
    return [start + timedelta(days=n) for n in range((end - start).days + 1)]
