"""Whether anything held back PostgreSQL's pruning of old row versions while the
benchmark measured: watched once a second through the measured runs.

A write bumps its user's revision (grau.core.revisions), an UPDATE that leaves the
row's old version behind; PostgreSQL prunes old versions as soon as no snapshot can
still see them. A transaction that holds a snapshot (a backup's, a forgotten
REPEATABLE READ session's, a replica's through hot_standby_feedback), or an open
transaction that has written, keeps every version made since, and each later write
of that user, and each lock of its row, walks them. Held through a create-only run
here (2026-12-07), one snapshot took grau's create from 1.4 to 2.1 ms of CPU per
request over three rounds, and the stack floor's create from 1.0 to 1.7 ms with it
(it locks one of the same users' rows): such a run measures the snapshot, not the
code, and the report says so.
"""

from __future__ import annotations

import threading
import time
from types import TracebackType

import psycopg

# Longer than this, and the report warns that the run's writes measured a held snapshot.
HELD_S = 10.0

# What holds the database's horizon back, each with a key that stays the same while it
# holds the same horizon, and the age of what holds it where PostgreSQL knows one (s):
# a client of this database, or a walsender (a replica's hot_standby_feedback), with a
# transaction id (held until its transaction ends) or else a snapshot; a prepared
# transaction; a replication slot's xmin.
HOLDERS = """
SELECT 'backend ' || pid || ' ' || coalesce(backend_xid, backend_xmin)::text,
       extract(epoch FROM now() - xact_start)::float
FROM pg_stat_activity
WHERE pid <> pg_backend_pid() AND (backend_xmin IS NOT NULL OR backend_xid IS NOT NULL)
  AND ((datname = current_database() AND backend_type = 'client backend')
       OR backend_type = 'walsender')
UNION ALL
SELECT 'prepared ' || gid, extract(epoch FROM now() - prepared)::float
FROM pg_prepared_xacts WHERE database = current_database()
UNION ALL
SELECT 'slot ' || slot_name || ' ' || xmin::text, NULL
FROM pg_replication_slots WHERE xmin IS NOT NULL
"""


class SnapshotWatch:
    """Samples, once a second until the block ends (and once more as it ends), what
    holds back pruning; `longest_s` is the longest anything held the same horizon, as
    far as the samples show: from the first sample that saw it (or its transaction's
    start, if later) to the last. A READ COMMITTED transaction's statements each take a
    new snapshot, so only one statement's counts, however old the transaction."""

    def __init__(self, database_url: str, every_s: float = 1.0) -> None:
        self.longest_s = 0.0
        self._database_url = database_url
        self._every_s = every_s
        self._first_seen: dict[str, float] = {}
        self._error: BaseException | None = None
        self._watching = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="snapshot-watch", daemon=True)

    def __enter__(self) -> SnapshotWatch:
        self._thread.start()
        self._watching.wait(timeout=30)  # the first sample taken (or the watch failed)
        self._raise_failure()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self._stop.set()
        self._thread.join(timeout=30)
        if kind is None:
            self._raise_failure()

    def _raise_failure(self) -> None:
        if self._error is not None:
            raise RuntimeError("the snapshot watch failed: the run's report cannot say") from (
                self._error
            )
        if not self._watching.is_set():
            raise RuntimeError("the snapshot watch took no sample in 30 s")

    def _watch(self) -> None:
        try:
            with psycopg.connect(self._database_url, autocommit=True, connect_timeout=10) as conn:
                conn.execute("SET statement_timeout = '10s'")
                while True:
                    stopping = self._stop.is_set()  # then this sample is the last
                    self._sample(conn.execute(HOLDERS).fetchall())
                    self._watching.set()
                    if stopping:
                        return
                    self._stop.wait(self._every_s)
        except BaseException as error:  # re-raised in the benchmark's thread
            self._error = error
            self._watching.set()

    def _sample(self, holders: list[tuple[str, float | None]]) -> None:
        now = time.monotonic()
        for key, age in holders:
            since_seen = now - self._first_seen.setdefault(key, now)
            held = since_seen if age is None else min(age, since_seen)
            self.longest_s = max(self.longest_s, held)


def verdict(longest_s: float) -> str:
    """The report's sentence on the longest hold seen."""
    said = (
        "The longest anything held back PostgreSQL's pruning of old row versions in the "
        "bench's database (a snapshot, an open transaction that wrote, a replica's "
        f"feedback, a slot), sampled each second through the measured runs: {longest_s:.1f} s"
    )
    if longest_s <= HELD_S:
        return f"{said}, so nothing did."
    return (
        f"{said}: **pruning was held back** (more than {HELD_S:.0f} s). The row versions "
        "each write's revision bump left behind could not be pruned meanwhile, and every "
        "later write of the same users walked them: this run's writes measured that, not "
        "the code (bench/snapshots.py)."
    )
