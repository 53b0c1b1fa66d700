"""Workout history in other apps' file formats: Strong's and Hevy's CSV exports read into
plain records, and their exercise names matched to grau's catalog. No database, no Flask."""

from grau.portability.hevy import parse_hevy
from grau.portability.records import (
    MAX_ROWS,
    FormatError,
    Parsed,
    RowError,
    SetRecord,
    WorkoutRecord,
    sniff,
)
from grau.portability.strong import parse_strong

__all__ = [
    "MAX_ROWS",
    "FormatError",
    "Parsed",
    "RowError",
    "SetRecord",
    "WorkoutRecord",
    "parse_hevy",
    "parse_strong",
    "sniff",
]
