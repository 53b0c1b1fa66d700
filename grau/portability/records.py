"""What a parsed workout export holds, and the reading that every vendor's format shares.

The parsers (`strong`, `hevy`) turn a file's text into `Parsed`: workouts with their
sets, plus one `RowError` per problem in a row they had to leave out. Nothing here
knows about the database or HTTP; the importer builds on these records.
"""

from __future__ import annotations

import csv
import io
import math
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, TypeVar

T = TypeVar("T")
Cell = Callable[[str], str]  # a row's cell by field name, "" when absent

MAX_ROWS = 50_000

MAX_REPS = 10_000
MAX_WEIGHT = 2000.0  # in the file's own unit, kg or lb
MAX_DISTANCE_M = 1_000_000.0
MAX_DURATION_S = 86_400 * 7
MIN_RPE, MAX_RPE = 1.0, 10.0
MAX_WORKOUT_NAME = 120
MAX_EXERCISE_NAME = 80
MAX_NOTE = 2000
ROW_ERROR_TEXT_MAX = 500  # a row error's message (it may quote a cell) is cut to this

KINDS = ("normal", "warmup", "dropset", "failure")

# Exact definitions (international yard and pound agreement, 1959).
METRES_PER = {"m": 1.0, "km": 1000.0, "mi": 1609.344, "ft": 0.3048, "yd": 0.9144}
DISTANCE_UNITS = {
    "m": "m",
    "meter": "m",
    "meters": "m",
    "metre": "m",
    "metres": "m",
    "km": "km",
    "kms": "km",
    "kilometers": "km",
    "kilometres": "km",
    "mi": "mi",
    "mile": "mi",
    "miles": "mi",
    "ft": "ft",
    "feet": "ft",
    "yd": "yd",
    "yds": "yd",
    "yards": "yd",
}
WEIGHT_UNITS = {"kg": "kg", "kgs": "kg", "lb": "lb", "lbs": "lb"}


@dataclass(frozen=True)
class SetRecord:
    line: int  # the row's first line in the file; the header is line 1
    exercise: str  # as the file spells it, stripped
    position: int  # 1-based, across the workout's exercises, in file order
    reps: int | None
    weight: float | None  # in weight_unit; 0.0 when the file says 0, None when empty
    weight_unit: str | None  # "kg" or "lb"; None when weight is None
    distance_m: float | None
    duration_seconds: int | None
    rpe: float | None
    kind: str  # one of KINDS
    note: str | None


@dataclass(frozen=True)
class WorkoutRecord:
    line: int  # the line of its first row
    name: str
    started_at: datetime  # aware, read in the time zone the caller gave
    ended_at: datetime | None
    note: str | None
    sets: tuple[SetRecord, ...]


@dataclass(frozen=True)
class RowError:
    line: int | None  # None: the file has no lines to speak of (a grau export: see `item`)
    message: str  # names the column and says why, e.g. "Reps: 'abc' is not a whole number."
    item: str | None = None  # where in a grau export, e.g. "workouts[3].sets[2]"

    def __post_init__(self) -> None:
        if len(self.message) > ROW_ERROR_TEXT_MAX:
            object.__setattr__(self, "message", self.message[: ROW_ERROR_TEXT_MAX - 1] + "…")


@dataclass(frozen=True)
class Parsed:
    workouts: tuple[WorkoutRecord, ...]
    errors: tuple[RowError, ...]
    variant: str  # which layout was read, e.g. "strong-comma", "hevy-kg"


class FormatError(ValueError):
    """The file as a whole is not the format asked for; the message says what was expected."""


class TooManyRows(FormatError):
    """The file has more rows than an import reads (`MAX_ROWS`)."""


# ------------------------------------------------------------------ sniffing


def first_line(text: str) -> str:
    return text.lstrip("\ufeff").split("\n", 1)[0].strip("\r")


def _header_names(line: str) -> set[str]:
    delimiter = ";" if line.count(";") > line.count(",") else ","
    cells = next(csv.reader([line], delimiter=delimiter), [])
    return {cell.strip().casefold() for cell in cells}


def sniff(text: str) -> str | None:
    """Which app wrote an export, from its header alone: "strong", "hevy", or None."""
    names = _header_names(first_line(text))
    if {"exercise_title", "start_time", "set_type"} <= names:
        return "hevy"
    if {"date", "exercise name", "set order"} <= names:
        return "strong"
    return None


# ------------------------------------------------------------------ rows


@dataclass(frozen=True)
class Row:
    line: int
    cells: dict[str, str]  # header name (as in the file) -> stripped cell text
    count: int  # how many cells the row had


def read_rows(text: str, delimiter: str) -> tuple[list[str], Iterator[Row]]:
    """The header and the data rows of a CSV text, each row with the line it starts on.

    Blank lines are skipped. More than MAX_ROWS data rows, or text the csv module
    cannot read at all, is a FormatError.
    """
    if "\x00" in text:
        raise FormatError("This is not a text file (it contains NUL bytes).")
    reader = csv.reader(io.StringIO(text.removeprefix("\ufeff"), newline=""), delimiter=delimiter)
    try:
        header = [name.strip() for name in next(reader, [])]
    except csv.Error as error:
        raise FormatError(f"Line 1 is not readable CSV: {error}.") from None

    def rows() -> Iterator[Row]:
        seen = 0
        line = reader.line_num + 1
        try:
            for cells in reader:
                first, line = line, reader.line_num + 1
                if not any(cell.strip() for cell in cells):
                    continue
                seen += 1
                if seen > MAX_ROWS:
                    raise TooManyRows(f"The file has more than {MAX_ROWS:,} rows.")
                # A note written on Windows keeps "\r\n" inside its quotes; one line end is "\n".
                by_name = {
                    name: cell.strip().replace("\r\n", "\n")
                    for name, cell in zip(header, cells, strict=False)
                }
                yield Row(first, by_name, len(cells))
        except csv.Error as error:
            raise FormatError(f"Line {line} is not readable CSV: {error}.") from None

    return header, rows()


# ------------------------------------------------------------------ cells


class CellError(ValueError):
    """One cell's problem; the parser turns it into a RowError for the row's line."""


def check(problems: list[str], read: Callable[..., T], *args: Any) -> T | None:
    """Runs one cell reader; its CellError becomes one of the row's problems instead."""
    try:
        return read(*args)
    except CellError as error:
        problems.append(str(error))
        return None


def number(column: str, text: str, decimal_comma: bool = False) -> float | None:
    """A decimal number, or None for an empty cell."""
    if not text:
        return None
    candidate = text.replace(",", ".") if decimal_comma and text.count(",") == 1 else text
    try:
        value = float(candidate)
    except ValueError:
        raise CellError(f"{column}: {text!r} is not a number.") from None
    if not math.isfinite(value):
        raise CellError(f"{column}: {text!r} is not a number.")
    return value


def bounded(column: str, text: str, value: float, low: float, high: float, unit: str = "") -> None:
    if not low <= value <= high:
        suffix = f" {unit}" if unit else ""
        raise CellError(f"{column}: {text!r} is outside {low:g} to {high:g}{suffix}.")


def whole(column: str, text: str, high: int, decimal_comma: bool = False) -> int | None:
    """A whole number from 0 to high; Strong writes them as "5.0", which is accepted."""
    try:
        value = number(column, text, decimal_comma)
    except CellError:
        raise CellError(f"{column}: {text!r} is not a whole number.") from None
    if value is None:
        return None
    if not value.is_integer():
        raise CellError(f"{column}: {text!r} is not a whole number.")
    bounded(column, text, value, 0, high)
    return int(value)


def weight(column: str, text: str, decimal_comma: bool = False) -> float | None:
    value = number(column, text, decimal_comma)
    if value is None:
        return None
    bounded(column, text, value, 0, MAX_WEIGHT)
    # Strong stores some weights as float sums ("12.900000000000034"); a gram is plenty.
    return round(value, 3)


def distance(column: str, text: str, unit: str, decimal_comma: bool = False) -> float | None:
    """Metres from a distance in `unit`; 0 is None, since both apps write 0 for "not measured"."""
    value = number(column, text, decimal_comma)
    if value is None or value == 0:
        return None
    metres = round(value * METRES_PER[unit], 3)
    bounded(column, text, metres, 0, MAX_DISTANCE_M, "m")
    return metres


def seconds(column: str, text: str, decimal_comma: bool = False) -> int | None:
    """Whole seconds; 0 is None, since both apps write 0 on every set that is not timed."""
    value = number(column, text, decimal_comma)
    if value is None or value == 0:
        return None
    bounded(column, text, value, 0, MAX_DURATION_S, "s")
    return round(value)


def rpe(column: str, text: str, decimal_comma: bool = False) -> float | None:
    """RPE from 1 to 10; Strong writes 0 for "none given"."""
    value = number(column, text, decimal_comma)
    if value is None or value == 0:
        return None
    bounded(column, text, value, MIN_RPE, MAX_RPE)
    return value


def name(column: str, text: str, longest: int) -> str:
    if not text:
        raise CellError(f"{column}: is empty.")
    if len(text) > longest:
        raise CellError(f"{column}: is longer than {longest} characters ({len(text)}).")
    return text


def note(column: str, text: str) -> str | None:
    if len(text) > MAX_NOTE:
        raise CellError(f"{column}: is longer than {MAX_NOTE} characters ({len(text)}).")
    return text or None


_DURATION = re.compile(r"^(?:(\d+)\s*h)?\s*(?:(\d+)\s*m(?:in)?)?\s*(?:(\d+)\s*s)?$")


def span(column: str, text: str) -> timedelta | None:
    """A workout's length as Strong writes it: "1h 5m", "45m", "2h", "30s"."""
    if not text:
        return None
    found = _DURATION.match(text.strip().casefold())
    if not found or not any(found.groups()):
        raise CellError(f"{column}: {text!r} is not a duration like '1h 5m'.")
    hours, minutes, secs = (int(part or 0) for part in found.groups())
    total = hours * 3600 + minutes * 60 + secs
    bounded(column, text, total, 0, MAX_DURATION_S, "s")
    return timedelta(seconds=total)


# ------------------------------------------------------------------ grouping


@dataclass
class _Workout:
    line: int
    name: str
    started_at: datetime
    ended_at: datetime | None
    note: str | None
    sets: list[SetRecord] = field(default_factory=list)


@dataclass(frozen=True)
class SetFields:
    """One row's set, before it has its position in the workout."""

    exercise: str
    reps: int | None
    weight: float | None
    weight_unit: str | None
    distance_m: float | None
    duration_seconds: int | None
    rpe: float | None
    kind: str
    note: str | None


@dataclass(frozen=True)
class WorkoutFields:
    name: str
    started_at: datetime
    ended_at: datetime | None
    note: str | None


class Collector:
    """Groups good rows into workouts by their (start, name) key, in file order."""

    def __init__(self) -> None:
        self._workouts: dict[tuple[str, str], _Workout] = {}
        self._errors: list[RowError] = []

    def error(self, line: int, messages: Sequence[str]) -> None:
        self._errors.extend(RowError(line, message) for message in messages)

    def add(self, key: tuple[str, str], line: int, workout: WorkoutFields, one: SetFields) -> None:
        into = self._workouts.get(key)
        if into is None:
            into = _Workout(line, workout.name, workout.started_at, workout.ended_at, workout.note)
            self._workouts[key] = into
        # The workout note repeats on every row; a row of the workout that has one wins.
        into.note = into.note or workout.note
        into.ended_at = into.ended_at or workout.ended_at
        position = len(into.sets) + 1
        into.sets.append(
            SetRecord(
                line=line,
                exercise=one.exercise,
                position=position,
                reps=one.reps,
                weight=one.weight,
                weight_unit=one.weight_unit if one.weight is not None else None,
                distance_m=one.distance_m,
                duration_seconds=one.duration_seconds,
                rpe=one.rpe,
                kind=one.kind,
                note=one.note,
            )
        )

    def parsed(self, variant: str) -> Parsed:
        workouts = tuple(
            WorkoutRecord(w.line, w.name, w.started_at, w.ended_at, w.note, tuple(w.sets))
            for w in self._workouts.values()
        )
        return Parsed(workouts, tuple(self._errors), variant)
