"""Reads the CSV workout export of the Strong app (one row per set).

Strong has written three layouts; the header tells them apart and all three are read:

- "strong-semicolon" (Android, at least 2019-2023): `;`-separated, a unit on every row:
  `Date;Workout Name;Exercise Name;Set Order;Weight;Weight Unit;Reps;RPE;Distance;
  Distance Unit;Seconds;Notes;Workout Notes;Workout Duration` (`Workout Duration` is
  missing from older files). Decimals may use a comma ("102,5").
  Seen in mtanzim/vis-strong-go (README), mwcaisse/strong-data-viz
  (src/services/WorkoutImporter.ts), rgdotplot/simple-workout-log-to-hevy (data/strong.go),
  which names it the Android header beside the iOS one below.
- "strong-comma" (iOS, and every platform 2021-2025): `,`-separated, no unit anywhere:
  `Date,Workout Name,Duration,Exercise Name,Set Order,Weight,Reps,Distance,Seconds,Notes,
  Workout Notes,RPE`; some exports (DaKheera47/strong-statistics data_sample/sample_strong.csv,
  October 2025) have no `Notes` and `Workout Notes`. Weights are in the unit set in the app,
  which the file does not say: the caller passes it as `weight_unit`, and distances are
  taken as km with kg and miles with lb (the app's metric or imperial setting; an
  assumption, the file does not say that either). `Duration` reads "1h 5m" or "45m".
- "strong-numbered" (Strong 6, seen September 2025 in DaKheera47/strong-statistics
  data_sample/sample_strong.csv at 4f4b683): `;`-separated, every cell quoted, units in
  the header: `"Workout #";"Date";"Workout Name";"Duration (sec)";"Exercise Name";
  "Set Order";"Weight (kg)";"Reps";"RPE";"Distance (meters)";"Seconds";"Notes";
  "Workout Notes"` (`Weight (lbs)` for imperial accounts).

In all three, `Date` is the workout's local start ("2023-01-15 18:30:00", no offset) and
repeats on each of its rows; `Set Order` is the set's number, "W" for a warm-up, "D" for a
drop set, "F" for a set to failure, or "Rest Timer" / "Note" for rows that carry the rest
timer's seconds or the exercise's note and are not sets: those are skipped. Strong writes
0 in Distance and Seconds of sets that are not timed, and 0 or nothing in RPE for none.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import grau.portability.records as records
from grau.portability.records import (
    Cell,
    CellError,
    Collector,
    FormatError,
    Parsed,
    SetFields,
    T,
    WorkoutFields,
    check,
)

SKIPPED_SET_ORDERS = {"rest timer", "note"}
SET_KINDS = {"w": "warmup", "d": "dropset", "f": "failure"}
_UNIT_IN_HEADER = re.compile(r"^(?P<column>[^(]+?)\s*\((?P<unit>[^)]+)\)$")
REQUIRED = ("Date", "Workout Name", "Exercise Name", "Set Order", "Weight", "Reps")


def parse_strong(text: str, tz: ZoneInfo, weight_unit: str = "kg") -> Parsed:
    """Workouts from a Strong CSV export; `weight_unit` is the app's unit ("kg" or "lb"),
    used where the file does not say."""
    if weight_unit not in ("kg", "lb"):
        raise ValueError(f"weight_unit must be 'kg' or 'lb', not {weight_unit!r}")
    line = records.first_line(text)
    if records.sniff(text) == "hevy":
        raise FormatError("This is a Hevy export, not a Strong one.")
    delimiter = ";" if line.count(";") > line.count(",") else ","
    header, rows = records.read_rows(text, delimiter)
    columns = _Columns(header, weight_unit)
    collector = Collector()
    for row in rows:
        cell = columns.cell(row.cells)
        if row.count != len(header):
            message = f"The row has {row.count} fields; the header names {len(header)}."
            collector.error(row.line, [message])
            continue
        order = cell("set order")
        if order.casefold() in SKIPPED_SET_ORDERS:
            continue
        read = _Row(columns, cell, decimal_comma=delimiter == ";")
        workout, one = read.workout(tz), read.set(order)
        if read.problems or workout is None or one is None:
            collector.error(row.line, read.problems)
            continue
        collector.add((cell("date"), cell("workout name")), row.line, workout, one)
    return collector.parsed(columns.variant)


class _Columns:
    """Where each of Strong's fields sits in this file's header, and the units it implies."""

    def __init__(self, header: list[str], weight_unit: str) -> None:
        self.names: dict[str, str] = {}  # casefolded field, units stripped -> header name
        self.header_units: dict[str, str] = {}  # "weight"/"distance"/"duration" -> unit
        for name in header:
            found = _UNIT_IN_HEADER.match(name)
            key = (found["column"] if found else name).strip().casefold()
            if found:
                self.header_units[key] = found["unit"].strip().casefold()
            self.names.setdefault(key, name)
        missing = [name for name in REQUIRED if name.casefold() not in self.names]
        if missing:
            raise FormatError(
                "Expected a Strong export, whose first line names the columns "
                + ", ".join(REQUIRED)
                + f" (and more); this one has no {', '.join(missing)}."
            )
        if "weight unit" in self.names:
            self.variant = "strong-semicolon"
        elif "weight" in self.header_units:
            self.variant = "strong-numbered"
        else:
            self.variant = "strong-comma"
        in_header = self.header_units.get("weight", "")
        self.weight_unit = records.WEIGHT_UNITS.get(in_header, weight_unit)
        in_header = self.header_units.get("distance", "")
        metric = weight_unit == "kg"
        self.distance_unit = records.DISTANCE_UNITS.get(in_header, "km" if metric else "mi")

    def label(self, key: str) -> str:
        return self.names.get(key, key)

    def cell(self, cells: dict[str, str]) -> Cell:
        def get(key: str) -> str:
            name = self.names.get(key)
            return cells.get(name, "") if name else ""

        return get


@dataclass
class _Row:
    """One row being read: its cells, the problems found so far, and how numbers are written."""

    columns: _Columns
    cell: Cell
    decimal_comma: bool
    problems: list[str] = field(default_factory=list)

    def read(self, reader: Callable[..., T], key: str, *extra: Any) -> T | None:
        """The cell of field `key` through `reader`; a problem noted and None if it fails."""
        return check(self.problems, reader, self.columns.label(key), self.cell(key), *extra)

    def problem(self, key: str, why: str) -> None:
        self.problems.append(f"{self.columns.label(key)}: {self.cell(key)!r} {why}")

    def workout(self, tz: ZoneInfo) -> WorkoutFields | None:
        name = self.read(records.name, "workout name", records.MAX_WORKOUT_NAME)
        started = self.read(_local_time, "date", tz)
        if "duration" in self.columns.header_units:  # "Duration (sec)": a number of seconds
            secs = self.read(records.seconds, "duration", self.decimal_comma)
            length = None if secs is None else timedelta(seconds=secs)
        else:
            key = "duration" if "duration" in self.columns.names else "workout duration"
            length = self.read(records.span, key)
        note = self.read(records.note, "workout notes")
        if name is None or started is None:
            return None
        return WorkoutFields(name, started, started + length if length else None, note)

    def set(self, order: str) -> SetFields | None:
        comma = self.decimal_comma
        exercise = self.read(records.name, "exercise name", records.MAX_EXERCISE_NAME)
        kind = SET_KINDS.get(order.casefold())
        if kind is None and re.fullmatch(r"\d+(\.0+)?", order):
            kind = "normal"
        elif kind is None:
            self.problem("set order", "is not a set number, W, D, F, Rest Timer or Note.")
        weight_unit = self.columns.weight_unit
        if self.cell("weight unit"):
            weight_unit = records.WEIGHT_UNITS.get(self.cell("weight unit").casefold(), "")
            if not weight_unit:
                self.problem("weight unit", "is not kg or lbs.")
        distance_unit = self.columns.distance_unit
        if self.cell("distance unit"):
            distance_unit = records.DISTANCE_UNITS.get(self.cell("distance unit").casefold(), "")
            if not distance_unit:
                self.problem("distance unit", "is not km, m, mi, ft or yd.")
        weight = self.read(records.weight, "weight", comma)
        reps = self.read(records.whole, "reps", records.MAX_REPS, comma)
        distance = None
        if distance_unit:  # an unknown unit is already a problem; its number means nothing
            distance = self.read(records.distance, "distance", distance_unit, comma)
        secs = self.read(records.seconds, "seconds", comma)
        rpe = self.read(records.rpe, "rpe", comma)
        note = self.read(records.note, "notes")
        if exercise is None or kind is None or not weight_unit or not distance_unit:
            return None
        return SetFields(exercise, reps, weight, weight_unit, distance, secs, rpe, kind, note)


def _local_time(column: str, text: str, tz: ZoneInfo) -> datetime:
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise CellError(f"{column}: {text!r} is not a date like '2023-01-15 18:30:00'.") from None
    return value.astimezone(tz) if value.tzinfo else value.replace(tzinfo=tz)
