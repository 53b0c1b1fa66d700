"""Body stat rules: units valid per type, plausible values, ownership."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import Select

from grau import crud
from grau.body_stats.models import CANONICAL_UNIT, STAT_TYPES, BodyStat
from grau.errors import abort
from grau.units import from_canonical, to_canonical


def _validate_measurement(stat: BodyStat) -> None:
    """The type/unit/value combination must make sense; sets `canonical_value`."""
    units, (low, high) = STAT_TYPES[stat.type]
    if stat.unit not in units:
        abort(422, errors={"unit": [f"A {stat.type} is measured in {', '.join(units)}."]})
    canonical = to_canonical(stat.value, stat.unit)
    if not low <= canonical <= high:
        unit = stat.unit
        lo, hi = from_canonical(low, unit), from_canonical(high, unit)
        canonical_unit = CANONICAL_UNIT[stat.type]
        abort(
            422,
            errors={
                "value": [
                    f"A {stat.type} must be between {lo:g} and {hi:g} {unit}"
                    + (f" ({low:g}-{high:g} {canonical_unit})." if unit != canonical_unit else ".")
                ]
            },
        )
    stat.canonical_value = canonical


def _filter(query: Select[Any], args: Mapping[str, Any]) -> Select[Any]:
    if "type" in args:
        query = query.where(BodyStat.type == args["type"])
    if "recorded_from" in args:
        query = query.where(BodyStat.recorded_at >= args["recorded_from"])
    if "recorded_to" in args:
        query = query.where(BodyStat.recorded_at <= args["recorded_to"])
    return query


BODY_STATS = crud.OwnedService(BodyStat, "body-stats", filter=_filter, check=_validate_measurement)
