"""Nutrition entry rules: units per type, plausible amounts, reads in another unit, daily totals."""

from __future__ import annotations

import math
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from grau.accounts.models import User
from grau.core import crud
from grau.core.domain_errors import Invalid
from grau.core.units import convert, from_canonical, tidy, to_canonical, unit_view
from grau.db.buckets import local_bucket
from grau.nutrition.models import NUTRITION_TYPES, NutritionEntry

# Each unit once, in the order NUTRITION_TYPES lists them.
NUTRITION_UNITS = tuple(dict.fromkeys(u for units, _ in NUTRITION_TYPES.values() for u in units))
NUTRIENTS = ("protein", "carbohydrates", "fat", "fiber")
# The most one entry may hold: more is a typo (or a fuzzer), not a meal.
LIMITS: dict[str, tuple[float, str]] = {
    "water": (20.0, "l"),
    "calories": (20_000.0, "kcal"),
    **dict.fromkeys(NUTRIENTS, (2.0, "kg")),
}
MAX_SPAN_DAYS = 366


def max_value(entry_type: str, unit: str) -> float:
    """The largest value an entry of `entry_type` accepts in `unit`, rounded down to 4 decimals.

    Rounded down, so the documented bound converts back inside the limit; the
    rounding to 6 decimals first drops float noise (2 kg is 2000 g, not 1999.9999 g).
    """
    amount, limit_unit = LIMITS[entry_type]
    exact = convert(amount, limit_unit, unit)
    return math.floor(round(exact * 10_000, 6)) / 10_000


def _validate_amount(entry: NutritionEntry) -> None:
    """The type/unit/value combination must make sense; sets `canonical_value`."""
    units, _ = NUTRITION_TYPES[entry.type]
    if entry.unit not in units:
        raise Invalid("unit", f"{entry.type.capitalize()} is logged in {', '.join(units)}.")
    highest = max_value(entry.type, entry.unit)
    if not 0 <= entry.value <= highest:
        amount, limit_unit = LIMITS[entry.type]
        raise Invalid(
            "value",
            f"One {entry.type} entry is between 0 and {highest:g} {entry.unit}"
            + (f" ({amount:g} {limit_unit})." if entry.unit != limit_unit else "."),
        )
    entry.canonical_value = to_canonical(entry.value, entry.unit)


def _filter(query: Select[Any], args: Mapping[str, Any]) -> Select[Any]:
    if "type" in args:
        query = query.where(NutritionEntry.type == args["type"])
    if "recorded_from" in args:
        query = query.where(NutritionEntry.recorded_at >= args["recorded_from"])
    if "recorded_to" in args:
        query = query.where(NutritionEntry.recorded_at <= args["recorded_to"])
    return query


NUTRITION = crud.OwnedService(
    NutritionEntry,
    filter=_filter,
    check=_validate_amount,
    # A read's `unit` shows entries whose type accepts it in that unit.
    present=unit_view(lambda entry: NUTRITION_TYPES[entry.type][0]),
    # `value` orders by amount, so 1 l comes after 500 ml whatever units were typed in.
    sort_columns={"value": "canonical_value"},
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
    nothing was logged; a day's totals follow NUTRITION_TYPES' order.
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
    order = list(NUTRITION_TYPES)
    rows = sorted(session.execute(query).all(), key=lambda row: (row[0], order.index(row[1])))
    for row_day, kind, canonical_sum, count in rows:
        unit = NUTRITION_TYPES[kind][1]
        days[row_day].totals.append(
            Total(kind, tidy(from_canonical(canonical_sum, unit)), unit, count)
        )
    return DailyTotals(start, end, tz, list(days.values()))


def _days(start: date, end: date) -> list[date]:
    return [start + timedelta(days=n) for n in range((end - start).days + 1)]
