"""The oldest snapshot another connection holds in the bench's database, watched while
the rounds run.

A write bumps its user's revision (grau.core.revisions), an UPDATE that leaves the
row's old version behind; PostgreSQL prunes old versions as soon as no snapshot can
still see them. A transaction that holds a snapshot (a backup's, a forgotten
REPEATABLE READ session's, a replica's through hot_standby_feedback) keeps every
version made since, and each later write of that user, and each lock of its row,
walks them. Held through a create-only run here (2026-12-07), one took grau's create
from 1.4 to 2.1 ms of CPU per request over three rounds, and the stack floor's create
from 1.0 to 1.7 ms with it (it locks the same users' rows): such a run measures the
snapshot, not the code, and the report says so.
"""

from __future__ import annotations

import threading
from types import TracebackType

import psycopg

# Longer than this, and the report warns that the run's writes measured a held snapshot.
HELD_S = 10.0

OLDEST = """
SELECT coalesce(max(extract(epoch FROM now() - xact_start)), 0)::float
FROM pg_stat_activity
WHERE datname = current_database() AND pid <> pg_backend_pid()
  AND backend_type = 'client backend' AND backend_xmin IS NOT NULL
"""


class SnapshotWatch:
    """Samples, once a second until the block ends, how long the oldest transaction
    that holds a snapshot in the database has been open (`longest_s`: the most seen)."""

    def __init__(self, database_url: str, every_s: float = 1.0) -> None:
        self.longest_s = 0.0
        self._database_url = database_url
        self._every_s = every_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="snapshot-watch", daemon=True)

    def __enter__(self) -> SnapshotWatch:
        self._thread.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self._stop.set()
        self._thread.join()

    def _watch(self) -> None:
        with psycopg.connect(self._database_url, autocommit=True) as conn:
            while True:
                row = conn.execute(OLDEST).fetchone()
                self.longest_s = max(self.longest_s, row[0] if row else 0.0)
                if self._stop.is_set():
                    return  # (a last look as the block ends)
                self._stop.wait(self._every_s)


def verdict(longest_s: float) -> str:
    """The report's sentence on the longest snapshot seen."""
    said = (
        "The longest any connection to the bench's database held a snapshot, sampled each "
        f"second through the measured runs: {longest_s:.1f} s"
    )
    if longest_s <= HELD_S:
        return f"{said}, so nothing held back PostgreSQL's pruning of old row versions."
    return (
        f"{said}: **a snapshot was held** (more than {HELD_S:.0f} s). The row versions "
        "each write's revision bump left behind could not be pruned meanwhile, and every "
        "later write of the same users walked them: this run's writes measured the held "
        "snapshot, not the code (bench/snapshots.py)."
    )
