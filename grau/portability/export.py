"""Everything a user owns in one document: JSON (`grau-export`), or a ZIP of CSV files.

Both are streamed: items are read in batches of `BATCH` from one snapshot of the
database and written out as they come, so an account with years of data never
sits in memory whole. Each item is exactly what its own GET shows
(`grau.owned.KINDS`); the profile has no secrets (its GET shows none).

The CSV files, one per kind of item, have one column per field of that item,
in the order its GET shows them (`columns`). A list of ids is one cell, the ids
joined by `;`; a list of objects (a plan's days) is one cell of JSON. A workout's
sets are a file of their own, `workout_sets.csv`, each row naming its `workout_id`.
Cells that a spreadsheet would run as a formula (starting with `=`, `+`, `-`,
`@`, a tab or a carriage return) start with a `'`. The files are UTF-8 with a
byte order mark, which spreadsheets read as UTF-8.
"""

from __future__ import annotations

import csv
import io
import uuid
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import marshmallow as ma
import orjson
from sqlalchemy import false, select
from sqlalchemy.orm import Session, selectinload

from grau.catalog.models import Equipment, Exercise
from grau.owned import KINDS, Kind
from grau.workouts.models import Workout

FORMAT = "grau-export"
VERSION = 1
# Items read per round trip, and so in memory at once, with what they bring along: 50
# workouts of 32 sets are 1,650 ORM objects, a 10 MB peak. 500 (16,500 objects) made
# an export of a 50,000-set account peak at 80 MB over the worker's idle RSS, for no
# speed gained (`make bench-export`, bench/export.md).
BATCH = 50
CHUNK = 64 * 1024  # bytes written out at a time

# The document's lists, in an order an import can follow: what an item refers to
# comes before it (tags before moods, equipment before exercises before workouts).
PARTS = (
    ("body_stats", "body_stat"),
    ("nutrition_entries", "nutrition_entry"),
    ("mood_tags", "mood_tag"),
    ("moods", "mood"),
    ("equipment", "equipment"),
    ("exercises", "exercise"),
    ("workouts", "workout"),
    ("plans", "plan"),
)
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class Export:
    """One user's export, read from `session` (which should see one snapshot)."""

    session: Session
    user_id: uuid.UUID
    exported_at: datetime

    def items(self, kind: Kind, options: tuple[Any, ...] | None = None) -> Iterator[dict[str, Any]]:
        """The user's items of one kind, as their GETs show them, oldest first; `options`
        replace the kind's loader options."""
        model = kind.model
        query = (
            select(model)
            .where(model.user_id == self.user_id)
            .order_by(model.created_at, model.id)
            .options(*(kind.options if options is None else options))
            .execution_options(yield_per=BATCH)
        )
        for batch in self.session.scalars(query).partitions():
            for item in batch:
                yield kind.resource.dump(kind.shown(item))

    def catalog(self) -> dict[str, dict[str, str]]:
        """grau's catalog, id -> slug: what the items refer to there, for an import on
        another server, whose catalog has the same slugs under other ids."""
        return {
            name: {
                str(item_id): slug
                for item_id, slug in self.session.execute(
                    select(model.id, model.slug).where(model.user_id.is_(None))
                )
                if slug
            }
            for name, model in (("exercises", Exercise), ("equipment", Equipment))
        }

    def profile(self) -> dict[str, Any]:
        kind = KINDS["profile"]
        user = self.session.get(kind.model, self.user_id)
        return kind.resource.dump(kind.shown(user))

    # ------------------------------------------------------------------------- JSON

    def json_chunks(self) -> Iterator[bytes]:
        """The `grau-export` document, in chunks of about `CHUNK` bytes."""
        head = {
            "format": FORMAT,
            "version": VERSION,
            "exported_at": self.exported_at.isoformat(),
            "profile": self.profile(),
            "catalog": self.catalog(),
        }
        out = _Chunks()
        out.write(orjson.dumps(head)[:-1])  # the object stays open for the lists
        for name, kind in PARTS:
            out.write(b',"' + name.encode() + b'":[')
            separator = b""
            for item in self.items(KINDS[kind]):
                out.write(separator + orjson.dumps(item))
                separator = b","
                yield from out.full()
            out.write(b"]")
        out.write(b"}")
        yield from out.rest()

    # -------------------------------------------------------------------------- CSV

    def zip_chunks(self) -> Iterator[bytes]:
        """A ZIP of one CSV file per kind of item (`CSV_FILES`, `columns`), in chunks."""
        out = _Chunks()
        with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            yield from self._csv(archive, out, "profile", iter([self.profile()]))
            for name, kind in CSV_PARTS:
                items = self.items(KINDS[kind], CSV_OPTIONS.get(name))
                yield from self._csv(archive, out, name, items)
        yield from out.rest()

    def _csv(
        self, archive: zipfile.ZipFile, out: _Chunks, name: str, items: Iterator[dict[str, Any]]
    ) -> Iterator[bytes]:
        header = columns(name)
        with archive.open(f"{name}.csv", "w") as member:
            text = io.TextIOWrapper(member, encoding="utf-8-sig", newline="")
            writer = csv.writer(text)
            writer.writerow(header)
            for item in items:
                writer.writerow([cell(item.get(column)) for column in header])
                text.flush()
                yield from out.full()
            text.flush()
            text.detach()
        yield from out.full()


# The CSV files after profile.csv: a workout's sets are a file of their own.
CSV_PARTS = (*PARTS[:-1], ("workout_sets", "workout_set"), PARTS[-1])
CSV_FILES = ("profile", *(name for name, _ in CSV_PARTS))
# workouts.csv has no column for a workout's sets, which workout_sets.csv reads anyway:
# loaded as none (a query of nothing per batch; noload() is deprecated, and a lazy load
# would be a query per workout), the ZIP reads and dumps each set once, not twice.
CSV_OPTIONS = {"workouts": (selectinload(Workout.sets.and_(false())),)}


def columns(name: str) -> list[str]:
    """The columns of one CSV file: the fields its items' GET shows, in that order."""
    kind = "profile" if name == "profile" else dict(CSV_PARTS)[name]
    schema: ma.Schema = KINDS[kind].resource.schema
    shown = [field.data_key or key for key, field in schema.dump_fields.items()]
    return [column for column in shown if column != "sets"]  # a workout's: their own file


def cell(value: Any) -> str:
    """One CSV cell: lists of ids joined by `;`, objects as JSON, formulas defused."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        text = ";".join(value)
    elif isinstance(value, list | dict):
        text = orjson.dumps(value).decode()
    else:
        text = str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


class _Chunks(io.RawIOBase):
    """Bytes written (by the exporter, or by `zipfile` as a stream it cannot seek),
    handed on in chunks of about `CHUNK` bytes."""

    def __init__(self) -> None:
        super().__init__()
        self._buffer = bytearray()

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        self._buffer += data
        return len(data)

    def full(self) -> Iterator[bytes]:
        if len(self._buffer) >= CHUNK:
            yield from self.rest()

    def rest(self) -> Iterator[bytes]:
        if self._buffer:
            yield bytes(self._buffer)
            self._buffer.clear()
