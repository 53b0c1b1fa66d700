"""The changes feed: what changed in a user's data, or in grau's catalog, since a cursor.

A page lists changes in feed order, `(seq, resource, id)`: rows of the synced
tables whose `seq` is past the reader's position (an upsert: the row as it is
now) and tombstones past it (a delete), read with one query over all of them.
Because one owner's numbers follow commit order (grau.sync.models), a reader
that pages on from a position never misses a change committed meanwhile: it
comes later, in this pass or the next. A row changed twice while a reader pages
is listed once, at its last number.

A cursor is the position of a page's last change, signed with `SECRET_KEY` so
it cannot be forged or used by another user, and stamped with when it was
issued. Tombstones are kept `SYNC_RETENTION_DAYS` and a day more
(`prune_tombstones`); a cursor older than the retention is refused (`Gone`):
the deletions it would need may be gone. The reader starts over without one.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import ColumnElement, Select, String, and_, delete, literal, or_, select, tuple_
from sqlalchemy.orm import Session

from grau.core.domain_errors import Gone
from grau.db.model import utcnow
from grau.sync.models import SYNCED, SyncedTable, Tombstone

# A query of the feed's columns: seq, resource, id, op, changed_at.
Listed = Select[*tuple[Any, ...]]

CATALOG = "catalog"  # the scope of grau's own exercises and equipment
SCOPES = ("user", CATALOG)
CATALOG_RESOURCES = ("equipment", "exercise")
RESOURCES = tuple(synced.resource for synced in SYNCED)


@dataclass(frozen=True)
class Position:
    """Where a reader has got to, in feed order."""

    seq: int
    resource: str
    item_id: uuid.UUID


START = Position(-1, "", uuid.UUID(int=0))  # before every change


@dataclass
class Change:
    resource: str
    id: uuid.UUID
    op: str  # "upsert" | "delete"
    version: int | None
    changed_at: datetime
    data: Any = None  # the item as its GET shows it; None for a delete


@dataclass
class ChangesPage:
    changes: list[Change]
    next_cursor: str
    has_more: bool


# Loads the items of one resource by id, as their GETs show them (missing ids: deleted
# since the feed was read; their tombstones come later).
Loader = Callable[[Session, list[uuid.UUID]], Mapping[uuid.UUID, Any]]


class Cursors:
    """Signed, opaque cursors for one secret."""

    def __init__(self, secret: str, retention: timedelta) -> None:
        self._serializer = URLSafeSerializer(secret, salt="grau.sync.cursor")
        self.retention = retention

    def issue(self, owner: str, position: Position) -> str:
        payload = [owner, position.seq, position.resource, position.item_id.hex, int(time.time())]
        return self._serializer.dumps(payload)

    def read(self, owner: str, cursor: str) -> Position:
        try:
            payload = self._serializer.loads(cursor)
            cursor_owner, seq, resource, item_hex, issued = payload
            position = Position(int(seq), str(resource), uuid.UUID(hex=item_hex))
        except (BadSignature, ValueError, TypeError):
            raise Gone("This cursor is not one grau issued; sync again without a cursor.") from None
        if cursor_owner != owner:
            raise Gone("This cursor belongs to another feed; sync again without a cursor.")
        if time.time() - issued > self.retention.total_seconds():
            raise Gone(
                f"This cursor is older than {self.retention.days} days, and deletions that "
                "old are forgotten; sync again without a cursor."
            )
        return position


def _after(synced_resource: str, seq: Any, item_id: Any, position: Position) -> ColumnElement[bool]:
    """Rows of one resource past `position` in feed order (the resource is a constant)."""
    if synced_resource > position.resource:
        return seq >= position.seq
    if synced_resource < position.resource:
        return seq > position.seq
    return or_(seq > position.seq, and_(seq == position.seq, item_id > position.item_id))


def _rows(synced: SyncedTable, owner: uuid.UUID | None, position: Position) -> Listed:
    table = synced.table
    owned = table.c[synced.owner] == owner if owner else table.c.user_id.is_(None)
    return select(
        table.c.seq,
        literal(synced.resource, String).label("resource"),
        table.c.id,
        literal("upsert", String).label("op"),
        table.c.updated_at.label("changed_at"),
    ).where(owned, _after(synced.resource, table.c.seq, table.c.id, position))


def _tombstones(owner: uuid.UUID | None, position: Position) -> Listed:
    key = tuple_(Tombstone.seq, Tombstone.resource, Tombstone.item_id)
    owned = Tombstone.user_id == owner if owner else Tombstone.user_id.is_(None)
    past = key > tuple_(position.seq, position.resource, position.item_id)
    return select(
        Tombstone.seq,
        Tombstone.resource,
        Tombstone.item_id,
        literal("delete", String).label("op"),
        Tombstone.deleted_at,
    ).where(owned, Tombstone.seq >= position.seq, past)


def listing(owner: uuid.UUID | None, position: Position, with_deletes: bool, limit: int) -> Listed:
    """The feed's one query: the changes of `owner` (None: the catalog's) past `position`,
    in feed order, every synced table's and (`with_deletes`) the tombstones."""
    resources = RESOURCES if owner else CATALOG_RESOURCES
    parts = [_rows(s, owner, position) for s in SYNCED if s.resource in resources]
    if with_deletes:
        parts.append(_tombstones(owner, position))
    listed = parts[0].union_all(*parts[1:]).subquery()
    return select(listed).order_by(listed.c.seq, listed.c.resource, listed.c.id).limit(limit)


def changes_page(
    session: Session,
    cursors: Cursors,
    loaders: Mapping[str, Loader],
    owner: uuid.UUID | None,
    cursor: str | None,
    limit: int,
) -> ChangesPage:
    """One page of the feed of `owner` (None: the catalog's) from `cursor` (None: from the
    start, which lists what there is and no deletions)."""
    feed = str(owner) if owner else CATALOG
    position = cursors.read(feed, cursor) if cursor else START
    rows = session.execute(listing(owner, position, bool(cursor), limit + 1)).all()
    has_more = len(rows) > limit
    rows = rows[:limit]

    upserts: dict[str, list[uuid.UUID]] = {}
    for row in rows:
        if row.op == "upsert":
            upserts.setdefault(row.resource, []).append(row.id)
    shown = {resource: loaders[resource](session, ids) for resource, ids in upserts.items()}
    changes = []
    for row in rows:
        if row.op == "delete":
            changes.append(Change(row.resource, row.id, "delete", None, row.changed_at))
            continue
        item = shown[row.resource].get(row.id)
        if item is not None:  # else deleted since the list was read: its tombstone follows
            changes.append(
                Change(row.resource, row.id, "upsert", item.version, item.updated_at, item)
            )
    last = Position(rows[-1].seq, rows[-1].resource, rows[-1].id) if rows else position
    return ChangesPage(changes, cursors.issue(feed, last), has_more)


def prune_tombstones(session: Session, retention: timedelta) -> int:
    """Forget deletions older than the retention and a day (a cursor lives as long as the
    retention: the day covers a write that began before its reader's page). Commits."""
    cutoff = utcnow() - retention - timedelta(days=1)
    pruned = session.execute(delete(Tombstone).where(Tombstone.deleted_at < cutoff))
    session.commit()
    return int(pruned.rowcount)  # type: ignore[attr-defined]
