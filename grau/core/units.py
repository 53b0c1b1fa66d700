"""Units of measurement: what each accepts, and exact conversion between them.

Every unit belongs to a quantity and converts to that quantity's base unit by
a fixed factor (exact where a definition exists: 1 lb = 0.45359237 kg,
1 in = 2.54 cm, 1 US fl oz = 29.5735295625 ml, 1 kcal = 4.184 kJ). A value
stored "canonically" is stored in the base unit of its quantity.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

# unit -> (quantity, factor to the quantity's base unit)
UNITS: dict[str, tuple[str, float]] = {
    # mass, base kg
    "kg": ("mass", 1.0),
    "g": ("mass", 0.001),
    "mg": ("mass", 0.000001),
    "lb": ("mass", 0.45359237),
    "oz": ("mass", 0.028349523125),
    "st": ("mass", 6.35029318),
    # length, base cm
    "cm": ("length", 1.0),
    "in": ("length", 2.54),
    # ratio, base %
    "%": ("ratio", 1.0),
    # volume, base ml
    "ml": ("volume", 1.0),
    "l": ("volume", 1000.0),
    "fl_oz": ("volume", 29.5735295625),
    # energy, base kcal
    "kcal": ("energy", 1.0),
    "kj": ("energy", 1 / 4.184),
}


def to_canonical(value: float, unit: str) -> float:
    return value * UNITS[unit][1]


def from_canonical(value: float, unit: str) -> float:
    return value / UNITS[unit][1]


def same_quantity(a: str, b: str) -> bool:
    return UNITS[a][0] == UNITS[b][0]


def convert(value: float, from_unit: str, to_unit: str) -> float:
    if not same_quantity(from_unit, to_unit):
        raise ValueError(f"cannot convert {from_unit} to {to_unit}")
    return from_canonical(to_canonical(value, from_unit), to_unit)


def tidy(value: float) -> float:
    """Round a converted value to 12 significant digits: far below any scale's
    precision, and enough that 1 kcal reads as 4.184 kJ, not 4.183999999999999."""
    return float(f"{value:.12g}")


class InUnit:
    """An entry shown in another unit: its own attributes but `value` and `unit`.

    A view, not a change: the stored row keeps the unit it was recorded in.
    """

    def __init__(self, entry: Any, unit: str) -> None:
        self._entry = entry
        self.unit = unit
        self.value = tidy(convert(entry.value, entry.unit, unit))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._entry, name)


def unit_view(
    accepts: Callable[[Any], tuple[str, ...]],
) -> Callable[[Any, Mapping[str, Any]], tuple[Any, str]]:
    """A read's `unit` query parameter as a presenter for grau.core.crud.OwnedService.

    An entry whose type accepts the unit is shown in it; any other (another
    quantity, or no unit asked) as stored. The second value is the ETag variant:
    the unit when converted, "" when shown as stored.
    """

    def present(entry: Any, args: Mapping[str, Any]) -> tuple[Any, str]:
        unit = args.get("unit")
        if unit is None or unit == entry.unit or unit not in accepts(entry):
            return entry, ""
        return InUnit(entry, unit), unit

    return present
