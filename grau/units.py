"""Units of measurement: which units each measurement accepts and how to convert.

Every quantity has one canonical unit (kg, cm, %); a value in any accepted
unit converts to it exactly by a factor.
"""

from __future__ import annotations

# unit -> (quantity, factor to the canonical unit)
UNITS: dict[str, tuple[str, float]] = {
    "kg": ("mass", 1.0),
    "lb": ("mass", 0.45359237),
    "st": ("mass", 6.35029318),
    "cm": ("length", 1.0),
    "in": ("length", 2.54),
    "%": ("ratio", 1.0),
}


def to_canonical(value: float, unit: str) -> float:
    return value * UNITS[unit][1]


def from_canonical(value: float, unit: str) -> float:
    return value / UNITS[unit][1]


def convert(value: float, from_unit: str, to_unit: str) -> float:
    if UNITS[from_unit][0] != UNITS[to_unit][0]:
        raise ValueError(f"cannot convert {from_unit} to {to_unit}")
    return from_canonical(to_canonical(value, from_unit), to_unit)
