"""Reads the CSV workout export of the Hevy app (one row per set).

The header (every name quoted) is
`"title","start_time","end_time","description","exercise_title","superset_id",
"exercise_notes","set_index","set_type","weight_kg","reps","distance_km",
"duration_seconds","rpe"`; accounts set to imperial units get `weight_lbs` and
`distance_miles` instead ("hevy-lb"; "hevy-kg" otherwise). Seen in
DaKheera47/strong-statistics (data_sample/sample_hevy.csv, a real 7,211-row export),
Jake-Leicht/Hevy-Dashboard-App (src/assets/HevyData_20240912.csv, lb) and
adrianbb05/training_charts (src/utils/entities/WorkoutData.ts).

What the real exports show: times are local with no offset, "15 Sep 2025, 07:48" (day
without a leading zero: "9 Sep 2025, 06:46"); `set_type` is normal, warmup, failure or
dropset; `duration_seconds` is 0 on sets that are not timed and `distance_km` empty;
`rpe` has halves ("9.5"); a line break in a note is written as the two characters `\\n`
inside the quoted cell, which this reader turns back into a line break. Apps set to another
language write month names in it ("25 Juli 2026"); only English ones are read, and a row
with another is an error that says so.
"""

from __future__ import annotations

import re
from datetime import datetime
from zoneinfo import ZoneInfo

import grau.portability.records as records
from grau.portability.records import CellError, FormatError, check

REQUIRED = ("title", "start_time", "exercise_title", "set_type", "reps")
KINDS = {"normal": "normal", "warmup": "warmup", "dropset": "dropset", "failure": "failure"}
MONTHS = {
    name: number
    for number, names in enumerate(
        (
            ("jan", "january"),
            ("feb", "february"),
            ("mar", "march"),
            ("apr", "april"),
            ("may",),
            ("jun", "june"),
            ("jul", "july"),
            ("aug", "august"),
            ("sep", "sept", "september"),
            ("oct", "october"),
            ("nov", "november"),
            ("dec", "december"),
        ),
        start=1,
    )
    for name in names
}
_TIME = re.compile(r"^(\d{1,2}) ([^\W\d_]+)\.? (\d{4}),? (\d{1,2}):(\d{2})$")


def parse_hevy(text: str, tz: ZoneInfo) -> records.Parsed:
    """Workouts from a Hevy CSV export, its local times read in `tz`."""
    if records.sniff(text) == "strong":
        raise FormatError("This is a Strong export, not a Hevy one.")
    header, rows = records.read_rows(text, ",")
    names = {name.casefold(): name for name in header}
    missing = [name for name in REQUIRED if name not in names]
    weight_column = "weight_kg" if "weight_kg" in names else "weight_lbs"
    if weight_column not in names:
        missing.append("weight_kg or weight_lbs")
    if missing:
        raise FormatError(
            "Expected a Hevy export, whose first line names the columns title, start_time, "
            "end_time, exercise_title, set_type, weight_kg (or weight_lbs), reps and more; "
            f"this one has no {', '.join(missing)}."
        )
    weight_unit = "kg" if weight_column == "weight_kg" else "lb"
    distance_column, distance_unit = (
        ("distance_miles", "mi") if "distance_miles" in names else ("distance_km", "km")
    )
    collector = records.Collector()
    for row in rows:
        if row.count != len(header):
            message = f"The row has {row.count} fields; the header names {len(header)}."
            collector.error(row.line, [message])
            continue

        def cell(key: str, cells: dict[str, str] = row.cells) -> str:
            return cells.get(names.get(key, ""), "")

        problems: list[str] = []
        workout = _workout(cell, tz, problems)
        title = cell("exercise_title")
        exercise = check(problems, records.name, "exercise_title", title, records.MAX_EXERCISE_NAME)
        kind = KINDS.get(cell("set_type").casefold())
        if kind is None:
            problems.append(
                f"set_type: {cell('set_type')!r} is not normal, warmup, dropset or failure."
            )
        weight = check(problems, records.weight, weight_column, cell(weight_column))
        reps = check(problems, records.whole, "reps", cell("reps"), records.MAX_REPS)
        distance = check(
            problems, records.distance, distance_column, cell(distance_column), distance_unit
        )
        secs = check(problems, records.seconds, "duration_seconds", cell("duration_seconds"))
        rpe = check(problems, records.rpe, "rpe", cell("rpe"))
        note = check(problems, records.note, "exercise_notes", _unescape(cell("exercise_notes")))
        if problems or workout is None or exercise is None or kind is None:
            collector.error(row.line, problems)
            continue
        one = records.SetFields(
            exercise, reps, weight, weight_unit, distance, secs, rpe, kind, note
        )
        collector.add((cell("start_time"), cell("title")), row.line, workout, one)
    return collector.parsed(f"hevy-{weight_unit}")


def _workout(cell: records.Cell, tz: ZoneInfo, problems: list[str]) -> records.WorkoutFields | None:
    name = check(problems, records.name, "title", cell("title"), records.MAX_WORKOUT_NAME)
    started = check(problems, _local_time, "start_time", cell("start_time"), tz)
    ended = None
    if cell("end_time"):
        ended = check(problems, _local_time, "end_time", cell("end_time"), tz)
    if started and ended and ended < started:
        problems.append(f"end_time: {cell('end_time')!r} is before start_time.")
    note = check(problems, records.note, "description", _unescape(cell("description")))
    if name is None or started is None:
        return None
    return records.WorkoutFields(name, started, ended, note)


def _unescape(text: str) -> str:
    return text.replace("\\n", "\n")


def _local_time(column: str, text: str, tz: ZoneInfo) -> datetime:
    found = _TIME.match(text)
    month = MONTHS.get(found[2].casefold()) if found else None
    if found is None or month is None:
        raise CellError(
            f"{column}: {text!r} is not a date like '28 Jul 2023, 18:05' "
            "(English month names only)."
        )
    day, year, hour, minute = (int(found[i]) for i in (1, 3, 4, 5))
    try:
        return datetime(year, month, day, hour, minute, tzinfo=tz)
    except ValueError:
        raise CellError(f"{column}: {text!r} is not a real date and time.") from None
