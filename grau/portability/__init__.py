"""Your data in and out: the export (`export`), and workout history from other apps read
from their files (`strong`, `hevy`: plain records, no database) with its exercise names
matched to grau's catalog (`matching`)."""

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
