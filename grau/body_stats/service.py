"""Body stat rules (units and plausible values per type: `models.STATS`), reads in other
units, and the per-period summary.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from grau.accounts.models import User
from grau.body_stats.models import STATS, BodyStat
from grau.core import crud
from grau.core.domain_errors import Unauthenticated
from grau.core.measurements import SORT_BY_QUANTITY, SOURCE_KEY
from grau.core.units import from_canonical, tidy
from grau.db.buckets import local_bucket

BODY_STATS = crud.OwnedService(
    BodyStat,
    filter=STATS.filter(BodyStat),
    check=STATS.check,
    present=STATS.present,
    sort_columns=SORT_BY_QUANTITY,
    natural_key=SOURCE_KEY,
)


# ------------------------------------------------------------------------ summary


@dataclass(frozen=True)
class Preferences:
    """What of the user's profile a summary depends on (so also its cache key)."""

    timezone: str
    weight_unit: str
    height_unit: str

    def unit_for(self, stat_type: str) -> str:
        canonical = STATS.types[stat_type].unit
        if canonical == "kg":
            return self.weight_unit
        if canonical == "cm":
            return self.height_unit
        return canonical


def preferences(session: Session, user_id: uuid.UUID) -> Preferences:
    user = session.get(User, user_id)
    if user is None:  # deleted since the token was checked
        raise Unauthenticated("This account no longer exists.")
    return Preferences(user.timezone, user.weight_unit, user.height_unit)


def _local_midnight(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time(), tzinfo=zone).astimezone(UTC)


def summary(
    session: Session, user_id: uuid.UUID, prefs: Preferences, args: Mapping[str, Any]
) -> dict[str, Any]:
    """Min, max, average and count of one type of stat per local day, week or month.

    Aggregated in SQL over the canonical values (kg, cm, %), then converted:
    the conversion is linear, so min, max and average convert exactly.
    """
    stat_type, bucket = args["type"], args["bucket"]
    unit = args.get("unit") or prefs.unit_for(stat_type)
    zone = ZoneInfo(prefs.timezone)
    stats = select(
        local_bucket(BodyStat.recorded_at, prefs.timezone, bucket).label("period_start"),
        BodyStat.canonical_value.label("value"),
    ).where(BodyStat.user_id == user_id, BodyStat.type == stat_type)
    # Whole local days: from its midnight up to (not including) the midnight after `to`.
    if "date_from" in args:
        stats = stats.where(BodyStat.recorded_at >= _local_midnight(args["date_from"], zone))
    if "date_to" in args:
        end = _local_midnight(args["date_to"] + timedelta(days=1), zone)
        stats = stats.where(BodyStat.recorded_at < end)
    rows = stats.subquery()
    per_period = (
        select(
            rows.c.period_start,
            func.min(rows.c.value),
            func.max(rows.c.value),
            func.avg(rows.c.value),
            func.count(),
        )
        .group_by(rows.c.period_start)
        .order_by(rows.c.period_start)
    )
    buckets = [
        {
            "period_start": period_start,
            "min": tidy(from_canonical(low, unit)),
            "max": tidy(from_canonical(high, unit)),
            "average": tidy(from_canonical(mean, unit)),
            "count": count,
        }
        for period_start, low, high, mean, count in session.execute(per_period)
    ]
    return {
        "type": stat_type,
        "bucket": bucket,
        "unit": unit,
        "timezone": prefs.timezone,
        "buckets": buckets,
    }
