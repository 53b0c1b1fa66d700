"""Body stat rules: units valid per type, plausible values, ownership."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from grau import crud
from grau.body_stats.models import CANONICAL_UNIT, STAT_TYPES, BodyStat
from grau.errors import abort
from grau.units import from_canonical, to_canonical

SCOPE = "body-stats"


def scope(user_id: uuid.UUID) -> str:
    return f"{SCOPE}:{user_id}"


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


def list_page(session: Session, user_id: uuid.UUID, args: dict[str, Any]) -> crud.PageResult:
    query = select(BodyStat).where(BodyStat.user_id == user_id)
    if "type" in args:
        query = query.where(BodyStat.type == args["type"])
    if "recorded_from" in args:
        query = query.where(BodyStat.recorded_at >= args["recorded_from"])
    if "recorded_to" in args:
        query = query.where(BodyStat.recorded_at <= args["recorded_to"])
    query = query.order_by(*crud.sort_clause(BodyStat, args["sort"]))
    return crud.page_of(session, query, args["page"], args["page_size"])


def get(session: Session, user_id: uuid.UUID, stat_id: uuid.UUID) -> BodyStat:
    return crud.get_owned(session, BodyStat, user_id, stat_id)


def create(session: Session, user_id: uuid.UUID, data: dict[str, Any]) -> BodyStat:
    stat = BodyStat(user_id=user_id, **data)
    _validate_measurement(stat)
    crud.save(session, stat, [scope(user_id)])
    return stat


def update(
    session: Session, user_id: uuid.UUID, stat_id: uuid.UUID, changes: dict[str, Any]
) -> BodyStat:
    stat = get(session, user_id, stat_id)
    crud.check_if_match(stat)
    crud.apply_changes(stat, changes)
    _validate_measurement(stat)
    crud.save(session, stat, [scope(user_id)])
    return stat


def delete(session: Session, user_id: uuid.UUID, stat_id: uuid.UUID) -> None:
    stat = get(session, user_id, stat_id)
    crud.check_if_match(stat)
    crud.remove(session, stat, [scope(user_id)])
