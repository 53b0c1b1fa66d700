"""The triggers that number every change to a synced row, on PostgreSQL and on SQLite.

Triggers, not application code, because every write must count, whichever way
it is made: an ORM flush, a create that is one statement on the driver's
cursor, an UPDATE of many rows, a cascade the database runs (a workout's sets
deleted with it). The migration that adds the feed installs them
(`install_statements`), and each is plain SQL a reader can check here:

- an INSERT, or an UPDATE that moves the row's `version` (every change to what
  a row's GET shows moves it: grau's ETags rely on that), sets the row's `seq`
  to the next value of the counter;
- a DELETE writes a `tombstones` row (replacing an older one for the same id)
  with the next value, unless the owner is being deleted with it.

On PostgreSQL the counter is the `sync_seq` sequence, read after the trigger
has taken the owner's row lock (the user's row; for the catalog, the
`catalog_revision` row): a write of that owner that commits later waits for
that lock before it takes a number, so one owner's numbers follow commit
order. Every user write holds that lock already (grau.core.revisions), so
taking it again costs no wait. SQLite runs one writer at a time; its counter
is the one-row `sync_counter` table.
"""

from __future__ import annotations

from grau.sync.models import SYNCED, SyncedTable

# ---------------------------------------------------------------------- PostgreSQL

_PG_FUNCTIONS = (
    # The owner's lock (NULL owner: the catalog's); false when the owner is gone (the
    # account is being deleted in this transaction, and its rows with it).
    """
CREATE FUNCTION grau_sync_lock(owner uuid) RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
    IF owner IS NULL THEN
        PERFORM 1 FROM catalog_revision WHERE id = 1 FOR NO KEY UPDATE;
        RETURN true;
    END IF;
    PERFORM 1 FROM users WHERE id = owner FOR NO KEY UPDATE;
    RETURN FOUND;
END $$
""",
    """
CREATE FUNCTION grau_sync_owned_row() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM grau_sync_lock(NEW.user_id);
    NEW.seq := nextval('sync_seq');
    RETURN NEW;
END $$
""",
    # The user's own row: the UPDATE being made already holds its lock.
    """
CREATE FUNCTION grau_sync_user_row() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.seq := nextval('sync_seq');
    RETURN NEW;
END $$
""",
    # TG_ARGV[0]: the feed's name for the table's rows.
    """
CREATE FUNCTION grau_sync_tombstone() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF grau_sync_lock(OLD.user_id) THEN
        INSERT INTO tombstones (resource, item_id, user_id, seq, deleted_at)
        VALUES (TG_ARGV[0], OLD.id, OLD.user_id, nextval('sync_seq'), now())
        ON CONFLICT (resource, item_id)
        DO UPDATE SET seq = EXCLUDED.seq, deleted_at = EXCLUDED.deleted_at;
    END IF;
    RETURN NULL;
END $$
""",
)

_PG_DROP_FUNCTIONS = tuple(
    f"DROP FUNCTION {name}"
    for name in (
        "grau_sync_tombstone()",
        "grau_sync_user_row()",
        "grau_sync_owned_row()",
        "grau_sync_lock(uuid)",
    )
)


def _pg_triggers(synced: SyncedTable) -> tuple[str, ...]:
    table = synced.table.name
    numbered = "grau_sync_user_row" if synced.owner == "id" else "grau_sync_owned_row"
    statements = (
        f"CREATE TRIGGER sync_{table}_insert BEFORE INSERT ON {table} "
        f"FOR EACH ROW EXECUTE FUNCTION {numbered}()",
        f"CREATE TRIGGER sync_{table}_update BEFORE UPDATE ON {table} FOR EACH ROW "
        f"WHEN (NEW.version IS DISTINCT FROM OLD.version) EXECUTE FUNCTION {numbered}()",
    )
    if synced.owner == "id":  # an account's deletion leaves nothing to sync
        return statements
    return (
        *statements,
        f"CREATE TRIGGER sync_{table}_delete AFTER DELETE ON {table} FOR EACH ROW "
        f"EXECUTE FUNCTION grau_sync_tombstone('{synced.resource}')",
    )


# -------------------------------------------------------------------------- SQLite

_SQLITE_NEXT = "UPDATE sync_counter SET value = value + 1 WHERE id = 1;"
_SQLITE_VALUE = "(SELECT value FROM sync_counter WHERE id = 1)"
# UTCDateTime's stored form on SQLite (naive UTC, microseconds).
_SQLITE_NOW = "strftime('%Y-%m-%d %H:%M:%f', 'now') || '000'"


def _sqlite_triggers(synced: SyncedTable) -> tuple[str, ...]:
    table = synced.table.name
    number = f"{_SQLITE_NEXT} UPDATE {table} SET seq = {_SQLITE_VALUE} WHERE id = NEW.id;"
    statements = (
        f"CREATE TRIGGER sync_{table}_insert AFTER INSERT ON {table} BEGIN {number} END",
        f"CREATE TRIGGER sync_{table}_update AFTER UPDATE OF version ON {table} "
        f"WHEN NEW.version IS NOT OLD.version BEGIN {number} END",
    )
    if synced.owner == "id":
        return statements
    owner_alive = "OLD.user_id IS NULL OR EXISTS (SELECT 1 FROM users WHERE id = OLD.user_id)"
    tombstone = (
        "INSERT OR REPLACE INTO tombstones (resource, item_id, user_id, seq, deleted_at) "
        f"VALUES ('{synced.resource}', OLD.id, OLD.user_id, {_SQLITE_VALUE}, {_SQLITE_NOW});"
    )
    return (
        *statements,
        f"CREATE TRIGGER sync_{table}_delete AFTER DELETE ON {table} WHEN {owner_alive} "
        f"BEGIN {_SQLITE_NEXT} {tombstone} END",
    )


# --------------------------------------------------------------------------- both


def install_statements(dialect: str) -> list[str]:
    """The DDL that installs the triggers (after the tables and the counter exist)."""
    if dialect == "postgresql":
        triggers = [s for synced in SYNCED for s in _pg_triggers(synced)]
        return [*(f.strip() for f in _PG_FUNCTIONS), *triggers]
    if dialect == "sqlite":
        return [s for synced in SYNCED for s in _sqlite_triggers(synced)]
    raise ValueError(f"no sync triggers for {dialect}")


def trigger_names() -> list[tuple[str, str]]:
    """(table, trigger) for every trigger `install_statements` makes."""
    return [
        (synced.table.name, f"sync_{synced.table.name}_{event}")
        for synced in SYNCED
        for event in ("insert", "update", "delete")
        if event != "delete" or synced.owner != "id"
    ]


def uninstall_statements(dialect: str) -> list[str]:
    """The DDL that removes them again."""
    on = dialect == "postgresql"
    drops = [
        f"DROP TRIGGER {name}" + (f" ON {table}" if on else "") for table, name in trigger_names()
    ]
    return drops + (list(_PG_DROP_FUNCTIONS) if on else [])
