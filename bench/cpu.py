"""Server-side CPU time, read from /proc: what a request costs, whatever else the machine does.

Throughput on a shared machine swings with its neighbours; the CPU seconds a
server spends per request do not (much). `Meter` sums user + system time of
every process that serves a request:

- the web server's process tree (master, workers, their threads);
- PostgreSQL: every process of the cluster (backends, WAL writer, ...);
- Redis: the server process.

Processes that exit during a measurement are counted through their parent's
`cutime`/`cstime` (the kernel adds a reaped child's time there), so a worker
restart or a closed database connection loses nothing.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

TICKS = os.sysconf("SC_CLK_TCK")


def _stat(pid: int) -> list[str] | None:
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name (field 2) may hold spaces or parentheses: split after its last ')'.
    return raw[raw.rindex(")") + 2 :].split()


def _own_and_reaped(pid: int) -> tuple[float, float] | None:
    """(own user+system seconds, reaped children's user+system seconds)."""
    fields = _stat(pid)
    if fields is None:
        return None
    # After the name: state ppid ... utime(14) stime(15) cutime(16) cstime(17), 1-based
    # in proc(5); here index 0 is field 3 (state).
    utime, stime, cutime, cstime = (int(x) for x in fields[11:15])
    return (utime + stime) / TICKS, (cutime + cstime) / TICKS


def children(pid: int) -> list[int]:
    found: list[int] = []
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return found
    for task in tasks:
        try:
            found += [int(c) for c in Path(f"/proc/{pid}/task/{task}/children").read_text().split()]
        except OSError:
            continue
    return found


def tree(pid: int) -> list[int]:
    """`pid` and all its descendants."""
    pids, todo = [], [pid]
    while todo:
        current = todo.pop()
        pids.append(current)
        todo += children(current)
    return pids


def pids_named(name: str) -> list[int]:
    """Processes whose command name is `name` (e.g. `postgres`, `redis-server`)."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                comm = Path(f"/proc/{entry}/comm").read_text().strip()
            except OSError:
                continue
            if comm == name or comm.startswith(name + ":"):
                found.append(int(entry))
    return found


def cpu_seconds(roots: Iterable[int]) -> float:
    """CPU seconds of each root's tree: the living processes' own time plus what the
    roots have reaped (so children that died are still counted)."""
    total = 0.0
    for root in roots:
        pids = tree(root)
        for pid in pids:
            times = _own_and_reaped(pid)
            if times is None:
                continue
            own, reaped = times
            total += own
            if pid == root:
                total += reaped
    return total


@dataclass
class Meter:
    """CPU seconds of named groups of process trees, between `start()` and `stop()`."""

    groups: dict[str, list[int]]

    def read(self) -> dict[str, float]:
        return {name: cpu_seconds(roots) for name, roots in self.groups.items()}

    def start(self) -> None:
        self._before = self.read()

    def stop(self) -> dict[str, float]:
        after = self.read()
        return {name: after[name] - self._before[name] for name in self.groups}


def postgres_roots() -> list[int]:
    """The postmaster of every PostgreSQL cluster running here (its tree holds the rest)."""
    pids = pids_named("postgres")
    return [p for p in pids if _parent(p) not in pids]


def redis_roots() -> list[int]:
    return pids_named("redis-server")


def _parent(pid: int) -> int | None:
    fields = _stat(pid)
    return int(fields[1]) if fields else None
