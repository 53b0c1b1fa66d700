"""Typed amounts: what each type is measured in, and what is plausible, stated once.

A body stat and a nutrition entry are each a `type`, a `value` and a `unit`.
Each resource states its types in one `Measures` table, and everything else
comes from it: the schemas' choices and the cases (one per type and unit) that
document each unit's bounds (`grau.http.measurements.MeasurementFields`), the service's
check, a read's conversion to another unit, and the list's filter and order
(`sort=value` orders by the quantity, so 160 lb comes before 72.6 kg). The
documented bounds and the checked ones are the same numbers.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select

from grau.core.domain_errors import Invalid
from grau.core.units import convert, to_canonical, unit_view

# `sort=value` orders by the stored value in its quantity's base unit.
SORT_BY_QUANTITY = {"value": "canonical_value"}
# What names a reading among its owner's: where it came from, and its id there.
SOURCE_KEY = ("source", "external_id")


def _rounded(value: float, up: bool) -> float:
    """A bound rounded to 4 decimals, up or down: a low bound up and a high one down
    (inward) so the rounded bound converts back inside, or the other way (outward).

    Rounded to 6 decimals first, so float noise does not cost a step: 2 kg is
    2000 g, not 1999.9999 g.
    """
    scaled = round(value * 10_000, 6)
    return (math.ceil(scaled) if up else math.floor(scaled)) / 10_000


def _number(value: float) -> str:
    """A bound as people write it: 0.5, 650, 1.1024, 2000000."""
    return f"{value:.4f}".rstrip("0").rstrip(".")


@dataclass(frozen=True)
class Measure:
    """One type: the units it is logged in, and its plausible range stated in `unit`."""

    units: tuple[str, ...]
    low: float
    high: float
    unit: str  # the unit `low` and `high` are stated in
    reported_in: str = ""  # the unit totals are reported in (default: `unit`)

    def bounds(self, unit: str, *, outward: bool = False) -> tuple[float, float]:
        """The range in `unit`: the documented bounds, and the ones checked; `outward`:
        rounded to hold every value of the range (what it may read as in `unit`)."""
        low, high = convert(self.low, self.unit, unit), convert(self.high, self.unit, unit)
        return _rounded(low, up=not outward), _rounded(high, up=outward)

    @property
    def reported(self) -> str:
        """The unit totals are reported in."""
        return self.reported_in or self.unit

    def stated(self) -> str:
        """The range as the table states it: "0.5-650 kg", or "20 l" for one from 0."""
        low = f"{_number(self.low)}-" if self.low else ""
        return f"{low}{_number(self.high)} {self.unit}"


class Measures:
    """One resource's types: their units and ranges, and the checks and views made from them.

    `wrong_unit` and `out_of_range` word the resource's 422 details; they may
    name `{type}`, `{Type}`, `{units}`, `{low}`, `{high}`, `{unit}` and
    `{stated}` (the table's own range, said when the value came in another
    unit).
    """

    def __init__(self, types: Mapping[str, Measure], *, wrong_unit: str, out_of_range: str):
        self.types = dict(types)
        self.wrong_unit = wrong_unit
        self.out_of_range = out_of_range
        # Each unit once, in the table's order.
        self.units = tuple(dict.fromkeys(u for m in self.types.values() for u in m.units))
        self.doc = "; ".join(f"{t}: {', '.join(m.units)}" for t, m in self.types.items())
        # type -> unit -> (low, high) in that unit: worked out once, checked on every write.
        self.limits = {t: {u: m.bounds(u) for u in m.units} for t, m in self.types.items()}
        # The widest bounds a value has in any unit, shown or sent: rounded outward, as
        # a value valid in one unit, read in another, may convert to just beyond that
        # unit's own bounds (0.5 kg is 0.07874 st; a stone's own low is 0.0788).
        widest = [m.bounds(u, outward=True) for m in self.types.values() for u in m.units]
        self.floor = min(low for low, _ in widest)
        self.cap = max(high for _, high in widest)
        # A read's `unit` shows each entry whose type is logged in it in that unit.
        self.present = unit_view(lambda entry: self.types[entry.type].units)

    def check(self, entry: Any) -> None:
        """The type, unit and value must fit the table; sets `canonical_value`."""
        measure = self.types[entry.type]
        words = {"type": entry.type, "Type": entry.type.capitalize(), "unit": entry.unit}
        if entry.unit not in measure.units:
            raise Invalid("unit", self.wrong_unit.format(units=", ".join(measure.units), **words))
        low, high = self.limits[entry.type][entry.unit]
        if not low <= entry.value <= high:
            stated = "" if entry.unit == measure.unit else f" ({measure.stated()})"
            detail = self.out_of_range.format(
                low=_number(low), high=_number(high), stated=stated, **words
            )
            raise Invalid("value", detail)
        entry.canonical_value = to_canonical(entry.value, entry.unit)

    @staticmethod
    def filter(model: Any) -> Any:
        """A list's filters: `type`, `source`, and `recorded_from`/`recorded_to` (both included)."""

        def where(query: Select[Any], args: Mapping[str, Any]) -> Select[Any]:
            if "type" in args:
                query = query.where(model.type == args["type"])
            if "source" in args:
                query = query.where(model.source == args["source"])
            if "recorded_from" in args:
                query = query.where(model.recorded_at >= args["recorded_from"])
            if "recorded_to" in args:
                query = query.where(model.recorded_at <= args["recorded_to"])
            return query

        return where
