"""`make bench-export`: how fast and how lean GET /v1/export is for a big account (issue 14).

    python -m bench.export [--days 3650] [--repetitions 3]

1. A fresh PostgreSQL database is migrated and given the catalog, then one user
   is given ten years of history with set-based SQL (bench/seed.py): a weight
   every morning and a body-fat reading every week, water and calories every
   day, a mood every evening, and three workouts a week of 8 catalog exercises
   x 4 sets (a warm-up, then three working sets): about 1,560 workouts and
   50,000 sets.
2. grau starts as production starts it (bench/run.py's `serve`, `grau_command`).
3. For the JSON document and for the ZIP of CSV files, `--repetitions` downloads
   each: seconds to the last byte (and to the first), bytes, and how far the
   server's workers grew in memory while it ran: their RSS sampled every 50 ms,
   and their kernel high-water mark (VmHWM), over each worker's RSS just before.
4. Each download is checked: the JSON parses and holds every seeded item (every
   set, in its workout); the ZIP opens and each CSV file has a row per item.
5. Writes bench/export.md (or `--out`), prints it, and drops the database.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import io
import json
import secrets
import signal
import statistics
import sys
import tempfile
import threading
import time
import urllib.request
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import cpu, seed
from bench.run import (
    ROOT,
    Running,
    call,
    grau_command,
    json_request,
    machine,
    serve,
)
from scripts import live_stack

DAYS = 3650  # ten years
EXERCISES_PER_WORKOUT = 8
SETS_PER_EXERCISE = 4
REPETITIONS = 3
SAMPLE_SECONDS = 0.05
READ_SIZE = 64 * 1024
MIB = 1024 * 1024

# The user, a weight a day with a weekly body fat, water and calories a day and a mood
# a day are bench/seed.py's (one user, `days` long); the workouts are this benchmark's.
WORKOUTS = """
    INSERT INTO workouts (id, user_id, name, started_at, ended_at, note,
                          created_at, updated_at, version)
    SELECT gen_random_uuid(), u.id, (ARRAY['Push', 'Pull', 'Legs'])[1 + w.n %% 3],
           now() - make_interval(days => w.d, hours => 10),
           now() - make_interval(days => w.d, hours => 9),
           CASE WHEN w.n %% 10 = 0 THEN 'Felt strong' END,
           now() - make_interval(days => w.d, hours => 9),
           now() - make_interval(days => w.d, hours => 9), 1
    FROM users u
    CROSS JOIN (
        SELECT d, row_number() OVER (ORDER BY d) AS n
        FROM generate_series(0, %(days)s - 1) AS d
        WHERE d %% 7 IN (0, 2, 4)  -- Monday, Wednesday, Friday, give or take
    ) AS w
"""
WORKOUT_SETS = """
    WITH catalog AS (
        SELECT array_agg(id ORDER BY slug) AS ids FROM exercises WHERE user_id IS NULL
    ), numbered AS (
        SELECT id, user_id, started_at, row_number() OVER (ORDER BY started_at) AS n
        FROM workouts
    )
    INSERT INTO workout_sets (id, user_id, workout_id, exercise_id, sequence, kind, reps,
                              weight, weight_unit, weight_kg, rpe, rir, rest_seconds, tempo,
                              duration_seconds, distance_meters, note,
                              created_at, updated_at, version)
    SELECT gen_random_uuid(), w.user_id, w.id,
           catalog.ids[1 + (w.n * %(exercises)s + (s - 1) / %(per_exercise)s)
                           %% array_length(catalog.ids, 1)],
           s, CASE WHEN (s - 1) %% %(per_exercise)s = 0 THEN 'warmup' ELSE 'normal' END,
           5 + s %% 8, 40 + 2.5 * (s %% 8), 'kg', 40 + 2.5 * (s %% 8),
           7 + (s %% 3) * 0.5, 2, 90, NULL, NULL, NULL, NULL,
           w.started_at + make_interval(mins => s * 2),
           w.started_at + make_interval(mins => s * 2), 1
    FROM numbered w
    CROSS JOIN catalog
    CROSS JOIN generate_series(1, %(exercises)s * %(per_exercise)s) AS s
"""
STATEMENTS = (
    *(s for s in seed.STATEMENTS if s[0] in ("users", "body_stats", "nutrition_entries", "moods")),
    ("workouts", WORKOUTS),
    ("workout_sets", WORKOUT_SETS),
)
FORMATS = {"JSON": "", "CSV (ZIP)": "?format=csv"}


def seed_account(database_url: str, days: int) -> dict[str, int]:
    """One user with `days` of history; the row count per table."""
    return seed.seed(
        database_url,
        users=1,
        days=days,
        statements=STATEMENTS,
        exercises=EXERCISES_PER_WORKOUT,
        per_exercise=SETS_PER_EXERCISE,
    )


# ------------------------------------------------------------------------- memory


def status_kib(pid: int, field_name: str) -> int:
    """A size from /proc/<pid>/status (VmRSS, VmHWM) in KiB; 0 once the process is gone."""
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field_name + ":"):
                return int(line.split()[1])
    return 0


@dataclass
class Workers:
    """The server's worker processes (its tree below the main process), their RSS before
    a download, and the highest RSS sampled while it ran."""

    pids: list[int]
    idle: dict[int, int] = field(default_factory=dict)
    hwm_before: dict[int, int] = field(default_factory=dict)
    peak: dict[int, int] = field(default_factory=dict)

    @contextlib.contextmanager
    def watched(self) -> Iterator[None]:
        self.idle = {pid: status_kib(pid, "VmRSS") for pid in self.pids}
        self.hwm_before = {pid: status_kib(pid, "VmHWM") for pid in self.pids}
        self.peak = dict(self.idle)
        done = threading.Event()

        def sample() -> None:
            while not done.wait(SAMPLE_SECONDS):
                for pid in self.pids:
                    self.peak[pid] = max(self.peak[pid], status_kib(pid, "VmRSS"))

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        try:
            yield
        finally:
            done.set()
            sampler.join()

    def growth_mib(self) -> float:
        """The most any worker grew over its idle RSS. A high-water mark above the one
        before is the exact peak of this download (sampling can miss a short one); one
        that did not move says only that the peak stayed below an earlier one."""
        grown = 0
        for pid in self.pids:
            hwm = status_kib(pid, "VmHWM")
            peak = max(self.peak[pid], hwm if hwm > self.hwm_before[pid] else 0)
            grown = max(grown, peak - self.idle[pid])
        return grown / 1024

    def rss_mib(self) -> float:
        return max(status_kib(pid, "VmRSS") for pid in self.pids) / 1024


# ----------------------------------------------------------------------- download


def download(base_url: str, token: str, query: str, into: Path) -> dict[str, float]:
    """GET /v1/export into a file, read as it streams: seconds to the first and the last
    byte, and bytes."""
    request = urllib.request.Request(
        f"{base_url}/v1/export{query}", headers={"Authorization": f"Bearer {token}"}
    )
    started = time.perf_counter()
    first_byte: float | None = None
    size = 0
    with urllib.request.urlopen(request, timeout=600) as response, into.open("wb") as out:
        while chunk := response.read1(READ_SIZE):
            if first_byte is None:
                first_byte = time.perf_counter() - started
            size += len(chunk)
            out.write(chunk)
    return {
        "seconds": time.perf_counter() - started,
        "first_byte_s": first_byte or 0.0,
        "bytes": size,
    }


def counted(path: Path, zipped: bool) -> dict[str, int]:
    """Items per list of a downloaded export (a workout's sets as `workout_sets`)."""
    if not zipped:
        document = json.loads(path.read_bytes())
        if document.get("format") != "grau-export":
            raise RuntimeError(f"not a grau-export document: {document.get('format')!r}")
        found = {name: len(items) for name, items in document.items() if isinstance(items, list)}
        found["workout_sets"] = sum(len(w["sets"]) for w in document["workouts"])
        return found
    found = {}
    with zipfile.ZipFile(path) as archive:
        for name in archive.namelist():
            with archive.open(name) as member:
                rows = csv.reader(io.TextIOWrapper(member, encoding="utf-8-sig", newline=""))
                found[name.removesuffix(".csv")] = sum(1 for _ in rows) - 1  # the header
    return found


def check(found: dict[str, int], seeded: dict[str, int], label: str) -> None:
    """Every seeded item is in the export, once."""
    for table, count in seeded.items():
        if table != "users" and found.get(table) != count:
            raise RuntimeError(f"{label}: {found.get(table)} {table}, {count} seeded")


def log_in(base_url: str) -> str:
    credentials = {"email": seed.EMAIL.format(n=1), "password": seed.PASSWORD}
    _, tokens, _ = call(base_url, json_request("POST", "/v1/auth/login", None, credentials), 200)
    assert tokens is not None
    return str(tokens["access_token"])


# ------------------------------------------------------------------------- report


def _spread(values: list[float], digits: int = 1) -> str:
    median = statistics.median(values)
    if len(values) == 1:
        return f"{median:.{digits}f}"
    return f"{median:.{digits}f} ({min(values):.{digits}f}-{max(values):.{digits}f})"


def markdown(data: dict[str, Any]) -> str:
    counts = data["dataset"]
    info = data["machine"]
    times = "once" if data["repetitions"] == 1 else f"{data['repetitions']} times"
    lines = [
        "# The export of a big account",
        "",
        f"Generated by `make bench-export` on {data['when']}: one account with "
        f"{data['days']:,} days of history ({counts['workouts']:,} workouts with "
        f"{counts['workout_sets']:,} sets, {counts['body_stats']:,} body stats, "
        f"{counts['nutrition_entries']:,} nutrition entries, {counts['moods']:,} moods), "
        f"exported {times} in each format by one client streaming "
        "`GET /v1/export` to a file, from a server started afresh for each format. Seconds "
        "are to the last byte: the median, with the spread in brackets. Memory is how far "
        "the server's busiest worker grew over its RSS just before the download (RSS "
        f"sampled every {SAMPLE_SECONDS * 1000:.0f} ms, and the kernel's high-water mark): "
        "the most of the runs, with each run's in brackets (a worker keeps what it grew "
        "by, so a second export on the same worker grows it little). Every download was "
        "checked to hold every seeded item: the JSON's lists and each workout's sets, the "
        "ZIP's CSV files row by row.",
        "",
        "| Format | Seconds (spread) | First byte, s | MB | Sets per second "
        "| Peak RSS growth, MB (each run) | Workers' idle RSS, MB |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for row in data["formats"]:
        runs = row["runs"]
        seconds = [r["seconds"] for r in runs]
        growth = [r["rss_growth_mib"] for r in runs]
        lines.append(
            f"| {row['format']} | {_spread(seconds, 2)} "
            f"| {statistics.median(r['first_byte_s'] for r in runs):.2f} "
            f"| {statistics.median(r['bytes'] for r in runs) / 1e6:.1f} "
            f"| {counts['workout_sets'] / statistics.median(seconds):,.0f} "
            f"| {max(growth):.1f} ({', '.join(f'{g:.1f}' for g in growth)}) "
            f"| {row['idle_rss_mib']:.0f} |"
        )
    lines += [
        "",
        f"Machine: {info['CPU']}, {info['Memory']}; {info['OS']}; Python {info['Python']}; "
        f"PostgreSQL {info['PostgreSQL']} on the same host; {info[SERVER]}. "
        f"Load average at the start: {info['Load average at start']}.",
    ]
    return "\n".join(lines) + "\n"


SERVER = "grau's server"


# --------------------------------------------------------------------------- main


def measure(
    server: Running, query: str, label: str, seeded: dict[str, int], repetitions: int
) -> dict[str, Any]:
    """`repetitions` downloads of one format from a server that has served nothing yet."""
    token = log_in(server.url)
    workers = Workers(cpu.tree(server.pid)[1:])
    idle = workers.rss_mib()
    runs = []
    with tempfile.TemporaryDirectory(prefix="grau-bench-export-") as folder:
        for n in range(1, repetitions + 1):
            into = Path(folder) / f"export-{n}"
            with workers.watched():
                run = download(server.url, token, query, into)
            run["rss_growth_mib"] = workers.growth_mib()
            check(counted(into, zipped=bool(query)), seeded, label)
            into.unlink()
            runs.append(run)
            print(
                f"{label} #{n}: {run['seconds']:.2f} s, {run['bytes'] / 1e6:.1f} MB, "
                f"RSS +{run['rss_growth_mib']:.1f} MB",
                flush=True,
            )
    return {"format": label, "runs": runs, "idle_rss_mib": idle, "rss_mib": workers.rss_mib()}


def main(argv: list[str] | None = None) -> int:
    # A kill ends the run as an exception does: the servers stop, the database is dropped.
    signal.signal(signal.SIGTERM, lambda signum, _: sys.exit(128 + signum))
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--days", type=int, default=DAYS, help="history to seed (3650)")
    parser.add_argument("--repetitions", type=int, default=REPETITIONS)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "export.md")
    args = parser.parse_args(argv)
    logs = ROOT / "build" / "bench-logs"
    logs.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    with live_stack.fresh_database("grau_bench_export") as database_url:
        env = live_stack.stack_env(
            database_url,
            {
                "CACHE_KEY_PREFIX": f"grau-bench-export-{secrets.token_hex(4)}",
                "RATELIMIT_EXPORT": "1000 per hour",
                "LOG_LEVEL": "WARNING",
            },
        )
        live_stack.prepare_database(env)
        seeded = seed_account(database_url, args.days)
        print(f"seeded in {time.monotonic() - started:.0f} s: {seeded}", flush=True)
        info = machine(database_url)
        formats = []
        for label, query in FORMATS.items():
            # A fresh server per format: a worker keeps the memory an export grew it by,
            # and the next export would reuse it and seem to need none.
            with serve("grau-export", grau_command(), env, logs) as server:
                formats.append(measure(server, query, label, seeded, args.repetitions))
    data = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "days": args.days,
        "repetitions": args.repetitions,
        "dataset": seeded,
        "machine": info,
        "formats": formats,
    }
    report = markdown(data)
    args.out.write_text(report)
    print(report)
    print(f"wrote {args.out} in {time.monotonic() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
