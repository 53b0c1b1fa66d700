"""Units of measurement: what each accepts, and exact conversion between them.

Every unit belongs to a quantity and converts to that quantity's base unit by
a fixed factor (exact where a definition exists: 1 lb = 0.45359237 kg,
1 in = 2.54 cm, 1 US fl oz = 29.5735295625 ml, 1 kcal = 4.184 kJ). A value
stored "canonically" is stored in the base unit of its quantity.
"""

from __future__ import annotations

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
