"""`make bench`: what a request costs in grau, against a fixed bare-Flask ceiling, in one run.

The headline figure is a cost ratio: the server-side CPU time a request of the
ceiling costs, divided by what the same kind of request costs in grau. CPU
time per request (bench/cpu.py: every process of the web server, PostgreSQL
and Redis, from /proc) barely moves when a shared machine gets busier, unlike
requests per second, which swings by 2x here from one minute to the next. The
throughput ratio is reported beside it, from the same runs.

1. A fresh PostgreSQL database (scripts/live_stack.py's helpers) is migrated,
   given the catalog and seeded with set-based SQL (bench/seed.py).
2. grau starts as production starts it: scripts/entrypoint.py, which execs
   `python -m grau.server` (granian, grau/server.py's defaults: one worker per
   core). A second grau with its response cache off (`CACHE_MAX_MB=0`) serves
   the uncached scenario.
3. The ceiling is fixed: bench/bare.py (bare Flask returning grau's own 20-item
   list body from memory) under plain gunicorn, sync workers, the same worker
   count, no access log, no configuration file. A faster server in grau shows
   up as a gain, not as a higher ceiling.
4. Reference rows, bench/floor.py, under grau's server: the floor (bare Flask
   plus the one query every authenticated grau request makes) and the stack
   floor (the same on the stack every grau request must run on: a flask-smorest
   view with marshmallow schemas, grau's envelope with its access line, and
   metrics; for a create, one INSERT of a validated body). What grau costs
   beyond the stack floor is grau's own code.
5. Rounds (3 by default): in each, every scenario is measured in turns with
   the ceiling (`measure_pair`): a warm-up of each, then one-second runs of
   wrk (bench/load.py) at 16 connections, six of each, in the order ceiling,
   scenario, scenario, ceiling, ... (the ceiling charged its server's CPU,
   the scenario its server's, PostgreSQL's and Redis's). Each round gives
   each scenario a cost ratio and a throughput ratio; the report shows the
   median, the spread and the lowest round.
6. Sequential keep-alive latency: one connection, one request at a time, a
   cached item (and each floor) in turns with the ceiling, as in 5; each round
   gives a ratio of p50s, and the report shows the median and the spread.
7. py-spy samples the grau workers under each scenario (a separate pass, so it
   never slows the measured runs).
8. Writes results.md, results.png and results.json (bench/ for a full run,
   build/bench/ for `--smoke`) and, for a full run, the README's numbers.

`--smoke` (CI) runs everything briefly with few users and asserts only that
every request succeeded, never a speed.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import re
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench import cpu, seed, snapshots
from bench.load import Request, run, wrk_version
from scripts import live_stack

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent

CONNECTIONS = 16
BENCH_USERS = 4  # users whose requests the load cycles through
NO_WRK = (
    "wrk is not installed (apt-get install wrk): the Python load generator drives the load, "
    "which cannot saturate the servers, so its req/s ratios say more about it than about them"
)
LATENCY_TARGET = 1.5  # sequential p50 of a cached item, at most this times the ceiling's


@dataclass
class Scenario:
    key: str
    label: str
    requests: list[Request]
    status: int
    target: float | None  # cost ratio to reach (ceiling CPU per request / grau's)
    server: str = "grau"  # which server runs it: grau, grau-uncached, floor, stack
    runs: list[dict[str, Any]] = field(default_factory=list)  # one per round
    ceilings: list[dict[str, Any]] = field(default_factory=list)  # the ceiling run before each


def cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


# ------------------------------------------------------------------------ servers


@dataclass
class Running:
    name: str
    url: str
    pid: int


@contextlib.contextmanager
def serve(name: str, command: list[str], env: dict[str, str], logs: Path) -> Iterator[Running]:
    """Start `command` with PORT/HOST set, wait for /ready, stop it afterwards."""
    port = live_stack.free_port()
    env = {**env, "PORT": str(port), "HOST": "127.0.0.1"}
    command = [part.replace("{port}", str(port)) for part in command]
    process = live_stack.start_server(command, env, logs / f"{name}.log")
    url = f"http://127.0.0.1:{port}"
    try:
        live_stack.wait_ready(url, process, timeout=90)
        yield Running(name, url, process.pid)
    finally:
        live_stack.stop_server(process, timeout=20)


def ceiling_command() -> list[str]:
    """Plain gunicorn: sync workers, one per core like grau, no access log, no config file."""
    workers = str(cores())
    return [str(BIN / "gunicorn"), "-w", workers, "-b", "127.0.0.1:{port}", "bench.bare:app"]


def grau_command() -> list[str]:
    """Production's start: the entrypoint (nothing to migrate by now), then grau.server
    (`live_stack.grau_command()`, as the container runs it)."""
    return [str(BIN / "python"), "scripts/entrypoint.py"]


def floor_command(factory: str = "create_app") -> list[str]:
    """A reference app of bench/floor.py under grau's own server."""
    code = f"import sys; from grau import server; sys.exit(server.main('bench.floor:{factory}'))"
    return [str(BIN / "python"), "-c", code]


def call(
    base_url: str, req: Request, expect: int | None = None
) -> tuple[int, dict[str, Any] | None, bytes]:
    data = req.body.encode() if req.body is not None else None
    request = urllib.request.Request(
        base_url + req.path, data=data, method=req.method, headers=req.headers
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        body = response.read()
        status = response.status
    if expect is not None and status != expect:
        raise RuntimeError(f"{req.method} {req.path}: {status}, expected {expect}")
    parsed = json.loads(body) if body else None
    return status, parsed, body


def json_request(method: str, path: str, token: str | None, body: Any = None) -> Request:
    headers = {"Content-Type": "application/json"} if body is not None else {}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    return Request(method, path, headers, json.dumps(body) if body is not None else None)


# ---------------------------------------------------------------------- scenarios


@dataclass
class BenchUser:
    token: str
    stat_id: str
    workout_id: str


def log_in(base_url: str, count: int) -> tuple[list[BenchUser], list[float]]:
    """Log in as seeded users (timing each: login is argon2, deliberately slow)."""
    users, timings = [], []
    for n in range(1, count + 1):
        login = json_request(
            "POST",
            "/v1/auth/login",
            None,
            {"email": seed.EMAIL.format(n=n), "password": seed.PASSWORD},
        )
        started = time.perf_counter()
        _, tokens, _ = call(base_url, login, 200)
        timings.append(time.perf_counter() - started)
        assert tokens is not None
        token = tokens["access_token"]
        _, stats, _ = call(base_url, json_request("GET", "/v1/body-stats?page_size=1", token), 200)
        _, workouts, _ = call(base_url, json_request("GET", "/v1/workouts?page_size=1", token), 200)
        assert stats is not None and workouts is not None
        workout = workouts["items"][0]
        if len(workout["sets"]) != seed.SETS_IN_LAST_WORKOUT:
            raise RuntimeError(f"the newest workout has {len(workout['sets'])} sets")
        users.append(BenchUser(token, stats["items"][0]["id"], workout["id"]))
    return users, timings


TARGETS = {
    "item": 0.7,
    "item-uncached": 0.7,
    "list": 0.6,
    "catalog": 0.7,
    "workout": 0.45,
    "summary": 0.4,
    "create": 0.3,
}


def scenarios(users: list[BenchUser]) -> list[Scenario]:
    def each(method: str, path: str, body: Any = None) -> list[Request]:
        return [
            json_request(method, path.format(u=u), u.token, body(i) if body else None)
            for i, u in enumerate(users)
        ]

    now = datetime.now(UTC)

    def new_stat(i: int) -> dict[str, Any]:
        at = (now - timedelta(minutes=i)).isoformat()
        return {"type": "weight", "value": 72.5, "unit": "kg", "recorded_at": at}

    item = each("GET", "/v1/body-stats/{u.stat_id}")
    return [
        Scenario("item", "One body stat (cached)", item, 200, TARGETS["item"]),
        Scenario(
            "item-uncached",
            "One body stat (response cache off)",
            item,
            200,
            TARGETS["item-uncached"],
            server="grau-uncached",
        ),
        Scenario(
            "list", "Body stats list (20)", each("GET", "/v1/body-stats"), 200, TARGETS["list"]
        ),
        Scenario(
            "catalog",
            "Exercise catalog list (20)",
            each("GET", "/v1/exercises"),
            200,
            TARGETS["catalog"],
        ),
        Scenario(
            "workout",
            "Workout with 20 sets",
            each("GET", "/v1/workouts/{u.workout_id}"),
            200,
            TARGETS["workout"],
        ),
        Scenario(
            "summary",
            "Weekly weight summary (a year)",
            each("GET", "/v1/body-stats/summary?type=weight&bucket=week"),
            200,
            TARGETS["summary"],
        ),
        Scenario(
            "create",
            "Create a body stat",
            each("POST", "/v1/body-stats", new_stat),
            201,
            TARGETS["create"],
        ),
        Scenario(
            "health", "GET /health (no auth, no database)", [Request("GET", "/health")], 200, None
        ),
        Scenario(
            "floor",
            "Floor: bare Flask + grau's one query per request",
            [Request("GET", "/v1/body-stats")],
            200,
            None,
            server="floor",
        ),
        Scenario(
            "stack-item",
            "Stack floor: one body stat (flask-smorest view, envelope, metrics, the one query)",
            item,
            200,
            None,
            server="stack",
        ),
        Scenario(
            "stack-create",
            "Stack floor: create a body stat (the same, one INSERT)",
            each("POST", "/v1/body-stats", new_stat),
            201,
            None,
            server="stack",
        ),
    ]


# grau's scenario and the floor that does the least any design on the required stack must
# do for it (bench/floor.py): grau's cost over the floor's is what grau's own code costs.
AGAINST_FLOORS = (
    *((read, "stack-item") for read in ("item", "item-uncached", "list", "catalog", "workout")),
    ("summary", "stack-item"),
    ("create", "stack-create"),
    ("item", "floor"),
)


def check(base_url: str, scenario: Scenario) -> None:
    """One request of each kind before the load: right status, right shape."""
    for req in scenario.requests:
        _, body, _ = call(base_url, req, scenario.status)
        if scenario.key in ("list", "catalog") and body and len(body["items"]) != 20:
            raise RuntimeError(f"{scenario.key}: {len(body['items'])} items, expected 20")


# -------------------------------------------------------------------- measurement


def _measured(
    server: Running, requests: list[Request], seconds: float, connections: int
) -> dict[str, Any]:
    """One measured run of wrk (no warm-up): its summary, and the server side's CPU
    seconds per group (`cpu_s`): the server's processes, PostgreSQL's and Redis's."""
    meter = cpu.Meter(
        {"server": [server.pid], "postgres": cpu.postgres_roots(), "redis": cpu.redis_roots()}
    )
    meter.start()
    result = run(server.url, requests, duration=seconds, connections=connections)
    result["cpu_s"] = meter.stop()
    if result["status_errors"] or result["socket_errors"] or not result["requests"]:
        raise RuntimeError(f"{server.name}: failed requests under load: {result}")
    return result


def _per_request(
    result: dict[str, Any], charged: tuple[str, ...] = ("server", "postgres", "redis")
) -> dict[str, Any]:
    """`result` with its CPU time per request: per group (`cpu_us`), and in all of the
    `charged` groups (`cpu_us_total`)."""
    n = result["requests"]
    result["cpu_us"] = {group: seconds / n * 1e6 for group, seconds in result["cpu_s"].items()}
    result["cpu_us_total"] = sum(v for g, v in result["cpu_us"].items() if g in charged)
    return result


def measure(
    server: Running, requests: list[Request], args: argparse.Namespace, connections: int
) -> dict[str, Any]:
    """A warm-up, then a measured run: req/s, latency and server-side CPU per request."""
    run(server.url, requests, duration=args.warmup, connections=connections)
    return _per_request(_measured(server, requests, args.duration, connections))


# Seconds per turn when the ceiling and a scenario are measured in turns (wrk's least).
SLICE_S = 1


def _summed(
    slices: list[dict[str, Any]], charged: tuple[str, ...] = ("server", "postgres", "redis")
) -> dict[str, Any]:
    """Slices of one server's load as one run: their requests, time and CPU added up
    (so req/s and CPU per request are over all of them); the p50 latency is the slices'
    median p50, the p99 the highest slice's p99 (a bound: wrk reports no histogram)."""
    duration_us = sum(s["duration_us"] for s in slices)
    requests = sum(s["requests"] for s in slices)
    groups = slices[0]["cpu_s"]
    return _per_request(
        {
            "requests": requests,
            "duration_us": duration_us,
            "rps": requests / (duration_us / 1e6),
            "p50_us": statistics.median(s["p50_us"] for s in slices),
            "p99_us": max(s["p99_us"] for s in slices),
            "status_errors": 0,
            "socket_errors": 0,
            "cpu_s": {group: sum(s["cpu_s"][group] for s in slices) for group in groups},
            "slices": len(slices),
        },
        charged,
    )


def measure_pair(
    ceiling: Running,
    bare: list[Request],
    server: Running,
    requests: list[Request],
    args: argparse.Namespace,
    connections: int = CONNECTIONS,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The ceiling and a scenario, measured in turns: a warm-up of each, then one-second
    runs of each, `args.duration` of them, in the order ceiling, scenario, scenario,
    ceiling, ... A shared machine's speed moves from one second to the next (a
    neighbour's burst); in turns, both sides of a ratio see neighbouring seconds of it,
    where two runs of six seconds each saw different ones, and the order's swing cancels
    a steady drift and whatever one side leaves behind for the next. The ceiling's CPU is
    its server's alone: it asks neither PostgreSQL nor Redis, so what they do during its
    turns is what the scenario's turns left them (its commits' writes, a vacuum its
    inserts started) and is charged to the scenario (and recorded, in the ceiling's
    `cpu_us`). (ceiling's run, the scenario's run)"""
    run(ceiling.url, bare, duration=args.warmup, connections=connections)
    run(server.url, requests, duration=args.warmup, connections=connections)
    ceilings: list[dict[str, Any]] = []
    runs: list[dict[str, Any]] = []

    def ceiling_turn() -> None:
        ceilings.append(_measured(ceiling, bare, SLICE_S, connections))

    def scenario_turn() -> None:
        runs.append(_measured(server, requests, SLICE_S, connections))

    for turn in range(args.duration // SLICE_S):
        for take in (
            (ceiling_turn, scenario_turn) if turn % 2 == 0 else (scenario_turn, ceiling_turn)
        ):
            take()
    ceiling_run, scenario_run = _summed(ceilings, charged=("server",)), _summed(runs)
    for group in ("postgres", "redis"):
        scenario_run["cpu_s"][group] += ceiling_run["cpu_s"][group]
    return ceiling_run, _per_request(scenario_run)


# ------------------------------------------------------------------------ profile


def _frame(frame: str) -> str:
    """`dispatch_request (/x/site-packages/flask/app.py)` -> `flask/app.py:dispatch_request`."""
    match = re.match(r"(.*) \((.*)\)$", frame)
    if not match:
        return frame
    function, path = match.groups()
    for marker in ("site-packages/", str(ROOT) + "/", "/lib/python3"):
        if marker in path:
            path = path.split(marker, 1)[1]
    return f"{path}:{function}"


def _package(frame: str) -> str:
    path = frame.split(":", 1)[0]
    if path.startswith(("grau/", "app.py")):
        return "grau"
    if "/" not in path:
        return path
    head = path.split("/")[0]
    return "python stdlib" if re.fullmatch(r"\.\d+", head) else head


def profile(server: Running, requests: list[Request], seconds: float, out: Path, key: str) -> dict:
    """Sample every grau worker with py-spy under load; self time per function and package."""
    py_spy = shutil.which("py-spy") or str(BIN / "py-spy")
    if not Path(py_spy).exists():
        return {"error": "py-spy is not installed"}
    outputs, samplers = [], []
    for pid in cpu.children(server.pid):
        raw = out / f"profile-{key}-{pid}.txt"
        # --gil: only the thread holding the GIL counts (Python's CPU time), so threads
        # waiting on PostgreSQL, or granian's idle ones, do not drown the profile.
        command = [py_spy, "record", "--pid", str(pid), "--format", "raw", "--nolineno", "--gil"]
        command += ["--rate", "250", "--duration", str(max(1, round(seconds))), "-o", str(raw)]
        samplers.append(
            subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        )
        outputs.append(raw)
    time.sleep(0.5)  # py-spy attaches
    run(server.url, requests, duration=seconds, connections=CONNECTIONS)
    errors = [p.communicate(timeout=60)[1].decode(errors="replace") for p in samplers]
    by_function: Counter[str] = Counter()
    by_package: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()  # grau's own frames, by samples under them
    total = 0
    for raw in outputs:
        if not raw.exists():
            continue
        for line in raw.read_text().splitlines():
            stack, _, count = line.rpartition(" ")
            if not stack or not count.isdigit():
                continue
            frames = [_frame(f) for f in stack.split(";")]
            leaf = frames[-1]
            for frame in set(frames):
                if _package(frame) == "grau":
                    inclusive[frame] += int(count)
            by_function[leaf] += int(count)
            by_package[_package(leaf)] += int(count)
            total += int(count)
    if not total:
        return {"error": "py-spy recorded nothing: " + " ".join(e[-200:] for e in errors)}
    return {
        "samples": total,
        "functions": [(name, n / total) for name, n in by_function.most_common(8)],
        "packages": [(name, n / total) for name, n in by_package.most_common(8)],
        "grau": [(name, n / total) for name, n in inclusive.most_common(10)],
    }


# ------------------------------------------------------------------------ machine


def machine(database_url: str) -> dict[str, str]:
    import granian
    import gunicorn as gunicorn_pkg
    import psycopg
    import redis
    import sqlalchemy

    cpu_name = "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu_name = line.split(":", 1)[1].strip()
                break
    memory = "unknown"
    with contextlib.suppress(OSError, ValueError):
        kib = int(Path("/proc/meminfo").read_text().split()[1])
        memory = f"{kib / 1024 / 1024:.0f} GiB"
    with psycopg.connect(database_url) as conn:
        row = conn.execute("SHOW server_version").fetchone()
        postgres = str(row[0]) if row else "?"
    info = redis.Redis.from_url(live_stack.REDIS_URL).info("server")
    from grau.server import DEFAULT_THREADS

    return {
        "CPU": f"{cpu_name}, {cores()} cores available ({os.cpu_count()} online)",
        "Memory": memory,
        "OS": f"{platform.system()} {platform.release()}",
        "Python": platform.python_version(),
        "PostgreSQL": postgres,
        "Redis": str(info.get("redis_version", "?")),
        "grau's server": f"granian {granian.__version__} (grau/server.py: {cores()} workers, "
        f"{DEFAULT_THREADS} threads each)",
        "Ceiling's server": f"gunicorn {gunicorn_pkg.__version__}, {cores()} sync workers, "
        "no access log",
        "Flask / SQLAlchemy / psycopg": (
            f"{_dist('flask')} / {sqlalchemy.__version__} / {psycopg.__version__}"
        ),
        "Load generator": (wrk_version() or "Python (bench/load.py)")
        + f", {CONNECTIONS} connections, loopback, on the same cores",
        "Load average at start": " ".join(f"{x:.2f}" for x in os.getloadavg()),
    }


def _dist(name: str) -> str:
    from importlib.metadata import version

    return version(name)


# ------------------------------------------------------------------------- report


def _spread(values: list[float]) -> dict[str, float]:
    return {"median": statistics.median(values), "min": min(values), "max": max(values)}


def summarize(scenario: Scenario) -> dict[str, Any]:
    """Per round: the ceiling's CPU per request over grau's (cost), and the same for req/s."""
    cost = [
        c["cpu_us_total"] / r["cpu_us_total"]
        for r, c in zip(scenario.runs, scenario.ceilings, strict=True)
    ]
    rps = [r["rps"] / c["rps"] for r, c in zip(scenario.runs, scenario.ceilings, strict=True)]
    groups = ("server", "postgres", "redis")
    return {
        "key": scenario.key,
        "label": scenario.label,
        "target": scenario.target,
        "cost_ratio": _spread(cost),
        "cost_ratio_runs": cost,
        "rps_ratio": _spread(rps),
        "cpu_us": {g: statistics.median(r["cpu_us"][g] for r in scenario.runs) for g in groups},
        "cpu_us_total": statistics.median(r["cpu_us_total"] for r in scenario.runs),
        "ceiling_cpu_us": statistics.median(c["cpu_us_total"] for c in scenario.ceilings),
        "ceiling_cpu_us_runs": [c["cpu_us_total"] for c in scenario.ceilings],
        # PostgreSQL's and Redis's CPU during the ceiling's turns, per ceiling request: what
        # the scenario's turns left them to do, charged to the scenario.
        "ceiling_databases_us": statistics.median(
            c["cpu_us"].get("postgres", 0.0) + c["cpu_us"].get("redis", 0.0)
            for c in scenario.ceilings
        ),
        "rps": statistics.median(r["rps"] for r in scenario.runs),
        "ceiling_rps": statistics.median(c["rps"] for c in scenario.ceilings),
        "p50_ms": statistics.median(r["p50_us"] for r in scenario.runs) / 1000,
        "p99_ms": statistics.median(r["p99_us"] for r in scenario.runs) / 1000,
        "rounds": len(scenario.runs),
    }


def met(row: dict[str, Any]) -> str:
    if row["target"] is None:
        return "-"
    return "yes" if row["cost_ratio"]["median"] >= row["target"] else "**no**"


# How far apart a scenario's cost ratios may be over the rounds (highest minus lowest, over
# their median) for the run to count as steady. Until 2026-12-07 the line was on the
# ceiling's own cost, run by run (the same app before every scenario: 5% apart on a quiet
# host, 72% on one whose neighbours came and went), when the ceiling and a scenario ran six
# seconds each, one after the other, and a ratio took in the machine's change between the
# two. Measured in turns (`measure_pair`) both sides see neighbouring seconds: in the first
# full run so, on a host whose ceiling drifted from 213 to 344 µs, no scenario's ratios
# were more than 17% of their median apart (one had been 38% apart on that host before).
# So the line is now on what the targets are judged on, the ratios themselves; the
# ceiling's drift is still reported, as the machine's.
STEADY_APART = 0.25
MIN_ROUNDS = 3  # fewer, and a spread says nothing (one round is never apart)


def _apart(values: list[float]) -> float:
    return (max(values) - min(values)) / statistics.median(values)


def steadiness(data: dict[str, Any]) -> str:
    """Whether the run's ratios held still over its rounds (what they are worth), with the
    verdict of the rule before it (the ceiling's drift) beside it."""
    rows = [row for row in data["scenarios"] if row.get("cost_ratio_runs")]
    if not rows:
        return ""  # (a run from before each round's ratios were kept)
    rounds = min(len(row["cost_ratio_runs"]) for row in rows)
    runs = [cost for row in rows for cost in row.get("ceiling_cpu_us_runs", ())]
    drift = ""
    if runs:
        moved = _apart(runs)
        verdict = "within" if moved <= STEADY_APART else "past"
        drift = (
            f"The ceiling, the same app in turns with every scenario, cost {min(runs):.0f} to "
            f"{max(runs):.0f} µs per request over this run's {len(runs)} measurements of it "
            f"({moved:.0%} of their median apart: the machine's drift, {verdict} the "
            f"{STEADY_APART:.0%} that the rule before 2026-12-07 allowed). "
        )
    if rounds < MIN_ROUNDS:
        return (
            f"{drift}With {rounds} round{'s' if rounds != 1 else ''}, the run cannot say "
            f"whether its ratios hold still (it takes {MIN_ROUNDS})."
        )
    worst = max(rows, key=lambda row: _apart(row["cost_ratio_runs"]))
    apart = _apart(worst["cost_ratio_runs"])
    said = (
        f"{drift}Each scenario's cost ratios were at most {apart:.0%} of their median apart "
        f"(highest minus lowest round) over the rounds (the most: {worst['label']})"
    )
    if apart <= STEADY_APART:
        return f"{said}: a steady run."
    return (
        f"{said}: **an unsteady run** (more than {STEADY_APART:.0%}): its ratios move with "
        "the machine as much as with the code; judge the targets on a run whose ratios "
        "hold still."
    )


def left_over(data: dict[str, Any]) -> str:
    """What PostgreSQL and Redis did during the ceiling's turns (charged to the scenario)."""
    rows = [row for row in data["scenarios"] if "ceiling_databases_us" in row]
    if not rows:
        return ""  # (a run from before it was recorded)
    most = max(rows, key=lambda row: row["ceiling_databases_us"])
    return (
        "PostgreSQL and Redis during the ceiling's turns (what the scenario's turns left "
        "them, charged to the scenario): at most "
        f"{most['ceiling_databases_us']:.1f} µs per ceiling request, median of the rounds "
        f"({most['label']})."
    )


def _lowest(row: dict[str, Any]) -> float | None:
    """A scenario's lowest cost ratio over the rounds (None: a run that kept no rounds)."""
    runs = row.get("cost_ratio_runs")
    return min(runs) if runs else None


def _below_in_a_round(row: dict[str, Any]) -> bool:
    lowest = _lowest(row)
    return row["target"] is not None and lowest is not None and lowest < row["target"]


def lowest_rounds(data: dict[str, Any]) -> str:
    """Each target against its scenario's lowest round, not only the median."""
    rows = [r for r in data["scenarios"] if r["target"] is not None and _lowest(r) is not None]
    if not rows:
        return ""
    below = [r for r in rows if _below_in_a_round(r)]
    each = "; ".join(
        f"{r['label']} {_lowest(r):.3f}, target {r['target']}"
        + (": below" if _below_in_a_round(r) else "")
        for r in rows
    )
    verdict = (
        "every round met its target"
        if not below
        else "not met in every round: " + ", ".join(r["label"] for r in below)
    )
    return f"The lowest round of each cost ratio: {each}. So {verdict}."


def _ratio(spread: dict[str, float]) -> str:
    return f"{spread['median']:.2f} ({spread['min']:.2f}-{spread['max']:.2f})"


def cost_table(data: dict[str, Any]) -> str:
    lines = [
        "| Endpoint | CPU µs/request: grau (server + PostgreSQL + Redis) | ceiling µs "
        "| cost ratio (spread) | target | met | req/s ratio (spread) | grau req/s | p50 / p99 ms |",
        "| --- | ---: | ---: | ---: | ---: | :---: | ---: | ---: | ---: |",
    ]
    for row in data["scenarios"]:
        parts = row["cpu_us"]
        split = f"{parts['server']:.0f} + {parts['postgres']:.0f} + {parts['redis']:.0f}"
        target = f">= {row['target']}" if row["target"] is not None else ""
        lines.append(
            f"| {row['label']} | {row['cpu_us_total']:.0f} ({split}) | {row['ceiling_cpu_us']:.0f} "
            f"| {_ratio(row['cost_ratio'])} | {target} | {met(row)} | {_ratio(row['rps_ratio'])} "
            f"| {row['rps']:.0f} | {row['p50_ms']:.1f} / {row['p99_ms']:.1f} |"
        )
    lines += ["", latency_line(data["latency"])]
    held = data.get("longest_snapshot_s")  # (None: a run from before it was watched)
    held_back = snapshots.verdict(held) if held is not None else ""
    for said in (steadiness(data), lowest_rounds(data), left_over(data), held_back):
        if said:
            lines += ["", said]
    against = against_floors(data)
    if against:
        lines += [
            "",
            "grau's CPU per request against the floors' (the floor's cost ratio over grau's, "
            "round by round: median and spread):",
            "",
        ]
        lines += against
    return "\n".join(lines)


def latency_line(latency: dict[str, Any]) -> str:
    """The sequential latency's sentence: grau's p50 against the ceiling's in the median
    round, with the rounds' spread when they were measured in turns (runs from before
    2026-12-07's evening: one run per side per round, and each side's median p50)."""
    runs = latency.get("ratio_runs")
    spread = f", {min(runs):.2f}x to {max(runs):.2f}x over the rounds" if runs else ""
    said = (
        f"Sequential keep-alive latency (one connection), cached item: p50 "
        f"{latency['grau_p50_ms']:.2f} ms against the ceiling's "
        f"{latency['ceiling_p50_ms']:.2f} ms: {latency['ratio']:.2f}x{spread} (target at most "
        f"{LATENCY_TARGET}x: {'met' if latency['ratio'] <= LATENCY_TARGET else '**not met**'})."
    )
    floors = (("floor", "The floor (bare Flask and the one query)"), ("stack", "The stack floor"))
    for name, label in floors:
        if f"{name}_p50_ms" not in latency:
            continue
        if f"{name}_ratio" in latency:  # measured in its own turns with the ceiling
            said += (
                f" {label}: {latency[f'{name}_p50_ms']:.2f} ms, {latency[f'{name}_ratio']:.2f}x "
                "the ceiling's in its own turns."
            )
        else:
            ratio = latency[f"{name}_p50_ms"] / latency["ceiling_p50_ms"]
            said += f" {label}: {latency[f'{name}_p50_ms']:.2f} ms, {ratio:.2f}x."
    return said


def against_floors(data: dict[str, Any]) -> list[str]:
    """grau against each floor, round by round through their cost ratios (the floor's
    ratio over grau's: each against the ceiling of its own turns), so two scenarios
    measured minutes apart are not compared by their raw µs."""
    rows = {row["key"]: row for row in data["scenarios"]}
    lines = []
    for mine, floor in AGAINST_FLOORS:
        if mine not in rows or floor not in rows:
            continue
        ours, theirs = rows[mine], rows[floor]
        if ours.get("cost_ratio_runs") and theirs.get("cost_ratio_runs"):
            rounds = [
                f / g
                for g, f in zip(ours["cost_ratio_runs"], theirs["cost_ratio_runs"], strict=True)
            ]
            times = f"{_ratio(_spread(rounds))}x"
        else:  # (a run from before each round's ratios were kept: raw µs)
            times = f"{ours['cpu_us_total'] / theirs['cpu_us_total']:.2f}x"
        lines.append(
            f'- {ours["label"]}: {times} "{theirs["label"]}" (cost ratios '
            f"{ours['cost_ratio']['median']:.2f} and {theirs['cost_ratio']['median']:.2f})"
        )
    return lines


def misses(data: dict[str, Any]) -> list[str]:
    lines = []
    for row in data["scenarios"]:
        if row["target"] is not None and row["cost_ratio"]["median"] < row["target"]:
            short = row["target"] - row["cost_ratio"]["median"]
            lines.append(
                f"- {row['label']}: cost ratio {row['cost_ratio']['median']:.2f}, target "
                f"{row['target']} (short by {short:.2f})"
            )
        elif _below_in_a_round(row):
            lines.append(
                f"- {row['label']}: met by the median ({row['cost_ratio']['median']:.2f}), not "
                f"in every round (the lowest {_lowest(row):.3f}, target {row['target']})"
            )
    latency = data["latency"]
    if latency["ratio"] > LATENCY_TARGET:
        lines.append(
            f"- Sequential latency of a cached item: {latency['ratio']:.2f}x the "
            f"ceiling's, target at most {LATENCY_TARGET}x"
        )
    elif max(latency.get("ratio_runs") or [0.0]) > LATENCY_TARGET:
        lines.append(
            f"- Sequential latency of a cached item: met by the median ({latency['ratio']:.2f}x), "
            f"not in every round (the highest {max(latency['ratio_runs']):.3f}x, target at most "
            f"{LATENCY_TARGET}x)"
        )
    return lines


def markdown(data: dict[str, Any]) -> str:
    machine_lines = "\n".join(f"- {k}: {v}" for k, v in data["machine"].items())
    dataset = ", ".join(f"{n} {table}" for table, n in data["dataset"].items())
    logins = data["login_ms"]
    parts = [
        "# grau benchmark results",
        "",
        f"Generated by `make bench` on {data['when']}"
        + (" (**smoke run: too short to mean anything**)" if data["smoke"] else "")
        + (f" (**{NO_WRK}**)" if not data["machine"]["Load generator"].startswith("wrk") else "")
        + f". {data['rounds']} rounds; in each, every endpoint was measured in turns with "
        "the ceiling (bare Flask returning grau's 20-item list body from memory, under plain "
        "gunicorn with sync workers): a warm-up of each, then one-second runs of one and the "
        f"other (ceiling, endpoint, endpoint, ceiling, ...), {data['duration_s']:g} s of each "
        f"at {data['connections']} connections; the CPU of the ceiling is its server's, that "
        "of grau its server's, PostgreSQL's and Redis's. Per round, p50 is the median of the "
        "one-second runs' p50 and p99 the highest of their p99; the table gives the median "
        "of the rounds. "
        "The cost ratio is "
        "the ceiling's server-side CPU time per request divided by grau's (grau's includes "
        "its PostgreSQL and Redis time); it is the figure the targets are set on. Ratios are "
        "the median of the rounds, with their spread in brackets.",
        "",
        "![cost and throughput ratios](results.png)",
        "",
        cost_table(data),
        "",
        "Login (argon2id with the default parameters, measured separately, one at a "
        f"time): median {statistics.median(logins):.0f} ms over {len(logins)} logins.",
        "",
        "## Missed targets",
        "",
        *(misses(data) or ["None: every target is met by its median."]),
        "",
        "## Machine",
        "",
        machine_lines,
        "",
        f"Dataset: {dataset}.",
        "",
        "## Where the time goes",
        "",
        "py-spy samples of the grau workers under each scenario's load, taken while a "
        "thread holds the GIL (Python's CPU time: waiting on PostgreSQL or Redis is not "
        "counted). Self time per package, the functions with the most self time, and "
        "grau's own functions by inclusive time (the rest is granian, Werkzeug and Flask, "
        "which the bare app pays too).",
        "",
    ]
    labels = {row["key"]: row["label"] for row in data["scenarios"]}
    for key, prof in data["profiles"].items():
        parts += [f"### {labels.get(key, key)}", ""]
        if "error" in prof:
            parts += [f"Not profiled: {prof['error']}", ""]
            continue
        packages = ", ".join(f"{name} {share:.0%}" for name, share in prof["packages"])
        parts += [f"{prof['samples']} samples. By package: {packages}.", ""]
        parts += ["Most self time:", ""]
        parts += [f"- {share:.1%} `{name}`" for name, share in prof["functions"]]
        parts += ["", "grau's own code, with what it calls (inclusive):", ""]
        parts += [f"- {share:.1%} `{name}`" for name, share in prof.get("grau", [])]
        parts.append("")
    return "\n".join(parts)


def chart(data: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = data["scenarios"]
    labels = [row["label"] for row in rows]
    fig, (left, right) = plt.subplots(1, 2, figsize=(14, 5.2), constrained_layout=True)
    y = list(range(len(rows)))

    def bars(axis: Any, key: str, title: str, with_targets: bool) -> None:
        medians = [row[key]["median"] for row in rows]
        low = [row[key]["median"] - row[key]["min"] for row in rows]
        high = [row[key]["max"] - row[key]["median"] for row in rows]
        colors = [
            "#8d99ae"
            if row["target"] is None or not with_targets
            else "#2a9d8f"
            if row[key]["median"] >= row["target"]
            else "#e76f51"
            for row in rows
        ]
        axis.barh(y, medians, xerr=[low, high], color=colors, capsize=3)
        for i, value in enumerate(medians):
            axis.text(value + 0.02, i + 0.3, f"{value:.2f}", va="center", fontsize=8)
            if with_targets and rows[i]["target"] is not None:
                target = rows[i]["target"]
                axis.plot([target] * 2, [i - 0.4, i + 0.4], color="black", linewidth=2)
        axis.set_yticks(y, labels if with_targets else [""] * len(rows))
        axis.invert_yaxis()
        axis.axvline(1.0, color="grey", linestyle=":")
        axis.set_xlim(0, max(1.15, max(row[key]["max"] for row in rows) + 0.15))
        axis.set_title(title)

    bars(left, "cost_ratio", "Cost ratio: ceiling CPU per request / grau's (| = target)", True)
    left.set_xlabel("higher is cheaper; 1.0 = as cheap as bare Flask on plain gunicorn")
    bars(right, "rps_ratio", f"Throughput ratio at {data['connections']} connections", False)
    right.set_xlabel("grau req/s / ceiling req/s, same round")
    fig.suptitle(
        f"grau vs a bare-Flask ceiling: median of {data['rounds']} rounds, bars show the spread "
        f"- {data['machine']['CPU']}",
        fontsize=10,
    )
    fig.savefig(path, dpi=110)
    plt.close(fig)


# --------------------------------------------------------------------------- README

README_START = "<!-- bench:start -->"
README_END = "<!-- bench:end -->"


def write_report(out: Path, data: dict[str, Any]) -> None:
    """results.md in `out`, and the README's numbers for a full run's in bench/ (the data
    must be `out`'s results.json)."""
    (out / "results.md").write_text(markdown(data))
    if not data["smoke"] and not data.get("only") and out == (ROOT / "bench").resolve():
        update_readme(out / "results.json")


def update_readme(data_path: Path) -> None:
    """Replace the numbers between the README's bench markers with this run's."""
    readme = ROOT / "README.md"
    text = readme.read_text()
    if README_START not in text:
        return
    data = json.loads(data_path.read_text())
    missed = "\n".join(misses(data)) or "None: every target is met by its median."
    block = (
        f"{README_START}\n"
        f"Measured {data['when'][:10]} on {data['machine']['CPU']} ({data['rounds']} rounds; "
        f"load average at the start: {data['machine']['Load average at start']}).\n\n"
        f"{cost_table(data)}\n\nMissed on this run (by the median of the rounds; the "
        f"lowest rounds are above):\n\n{missed}\n{README_END}"
    )
    start, end = text.index(README_START), text.index(README_END) + len(README_END)
    readme.write_text(text[:start] + block + text[end:])


# --------------------------------------------------------------------------- main


def _exit_on_sigterm(signum: int, _frame: object) -> None:
    raise SystemExit(128 + signum)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--smoke", action="store_true", help="a short run for CI (no timings)")
    parser.add_argument("--users", type=int, help="seeded users (default 200, smoke 10)")
    parser.add_argument("--rounds", type=int, help="rounds of every scenario (default 3)")
    parser.add_argument(
        "--duration", type=int, help="measured seconds of each side of a pair (default 6)"
    )
    parser.add_argument("--warmup", type=float, help="seconds of warm-up per run (default 2)")
    parser.add_argument("--profile-seconds", type=float, help="py-spy seconds per scenario")
    parser.add_argument("--no-profile", action="store_true")
    parser.add_argument("--only", help="comma-separated scenario keys (e.g. item,list)")
    parser.add_argument("--out", type=Path, help="folder for the results")
    parser.add_argument(
        "--render",
        action="store_true",
        help="measure nothing: write results.md (and, for bench/, the README's numbers) "
        "again from the folder's results.json, after a change to the report",
    )
    args = parser.parse_args(argv)
    defaults = (10, 1, 1, 1, 1, "build/bench") if args.smoke else (200, 3, 6, 2, 5, "bench")
    args.users = args.users or defaults[0]
    args.rounds = args.rounds or defaults[1]
    args.duration = args.duration or defaults[2]
    if args.duration < 1:
        parser.error("--duration must be at least 1 (whole seconds)")
    args.warmup = args.warmup or defaults[3]
    args.profile_seconds = args.profile_seconds or defaults[4]
    args.out = (args.out or ROOT / defaults[5]).resolve()
    return args


def start_servers(
    stack: contextlib.ExitStack,
    env: dict[str, str],
    database_url: str,
    scenarios_run: list[Scenario],
    users: list[BenchUser],
    servers: dict[str, Running],
    logs: Path,
) -> Running:
    """Start the servers the scenarios need beside grau's (its copy without the response
    cache, the floors) and the ceiling, which is returned."""
    first_page = json_request("GET", "/v1/body-stats", users[0].token)
    _, _, list_body = call(servers["grau"].url, first_page, 200)
    body_file = Path(tempfile.mkstemp(suffix=".json")[1])
    stack.callback(body_file.unlink)
    body_file.write_bytes(list_body)
    ceiling_env = {**os.environ, "BENCH_BODY_FILE": str(body_file)}
    floor_env = {
        **env,
        "BENCH_BODY_FILE": str(body_file),
        "BENCH_DATABASE_URL": database_url,
        "BENCH_SESSION": _session_of(database_url),
    }
    needed = {s.server for s in scenarios_run}
    started = {
        "grau-uncached": (grau_command(), {**env, "CACHE_MAX_MB": "0"}),
        "floor": (floor_command(), floor_env),
        "stack": (floor_command("create_stack_app"), floor_env),
    }
    for name, (command, server_env) in started.items():
        if name in needed:
            servers[name] = stack.enter_context(serve(name, command, server_env, logs))
    return stack.enter_context(serve("ceiling", ceiling_command(), ceiling_env, logs))


def measure_rounds(
    scenarios_run: list[Scenario],
    servers: dict[str, Running],
    ceiling: Running,
    args: argparse.Namespace,
    say: Callable[[str], None],
) -> None:
    """Every scenario in turns with the ceiling, round after round."""
    bare = [Request("GET", "/v1/body-stats")]
    for round_number in range(1, args.rounds + 1):
        for scenario in scenarios_run:
            ceiling_run, result = measure_pair(
                ceiling, bare, servers[scenario.server], scenario.requests, args
            )
            scenario.ceilings.append(ceiling_run)
            scenario.runs.append(result)
            ratio = scenario.ceilings[-1]["cpu_us_total"] / result["cpu_us_total"]
            say(
                f"round {round_number} {scenario.key}: {result['cpu_us_total']:.0f} µs/req "
                f"(ceiling {scenario.ceilings[-1]['cpu_us_total']:.0f}), cost ratio "
                f"{ratio:.2f}, {result['rps']:.0f} req/s"
            )


def profiles_of(
    scenarios_run: list[Scenario],
    servers: dict[str, Running],
    args: argparse.Namespace,
    logs: Path,
) -> dict[str, dict[str, Any]]:
    """py-spy profiles of grau's servers under each scenario (the floors are not grau)."""
    if args.no_profile:
        return {}
    profiled = scenarios_run if not args.smoke else scenarios_run[:1]
    return {
        scenario.key: profile(
            servers[scenario.server], scenario.requests, args.profile_seconds, logs, scenario.key
        )
        for scenario in profiled
        if scenario.server not in ("floor", "stack")
    }


def main(argv: list[str] | None = None) -> int:
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    args = parse_args(argv)
    out: Path = args.out
    if args.render:
        write_report(out, json.loads((out / "results.json").read_text()))
        return 0
    out.mkdir(parents=True, exist_ok=True)
    logs = ROOT / "build" / "bench-logs"
    logs.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()

    def say(message: str) -> None:
        print(f"[bench {time.monotonic() - started:5.0f}s] {message}", flush=True)

    with live_stack.fresh_database() as database_url, contextlib.ExitStack() as stack:
        env = live_stack.stack_env(
            database_url,
            {
                "CACHE_KEY_PREFIX": f"grau-bench-{secrets.token_hex(4)}",
                # The per-user limit stays on (its counting is part of every request's
                # cost) but above what a few users at full speed send.
                "RATELIMIT_USER": "10000000 per minute",
                "LOG_LEVEL": "WARNING",
            },
        )
        live_stack.prepare_database(env)
        if wrk_version() is None:
            say(f"warning: {NO_WRK}")
        say(f"seeding {args.users} users with {seed.DAYS} days of entries each")
        counts = seed.seed(database_url, users=args.users)
        say(f"seeded: {counts}")
        info = machine(database_url)
        servers = {"grau": stack.enter_context(serve("grau", grau_command(), env, logs))}
        users, logins = log_in(servers["grau"].url, BENCH_USERS)
        say(f"logged in {len(users)} users, median login {statistics.median(logins):.3f} s")
        scenarios_run = scenarios(users)
        if args.only:
            wanted = set(args.only.split(","))
            scenarios_run = [s for s in scenarios_run if s.key in wanted]
        ceiling = start_servers(stack, env, database_url, scenarios_run, users, servers, logs)
        for scenario in scenarios_run:
            check(servers[scenario.server].url, scenario)
        floors: dict[str, Running] = {n: servers[n] for n in ("floor", "stack") if n in servers}
        with snapshots.SnapshotWatch(database_url) as watch:
            measure_rounds(scenarios_run, servers, ceiling, args, say)
            latency = sequential_latency(servers["grau"], ceiling, floors, users, args)
        say(f"sequential latency: {latency}")
        profiles = profiles_of(scenarios_run, servers, args, logs)
        say("profiled")

    data = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": info,
        "smoke": args.smoke,
        "only": args.only,
        "rounds": args.rounds,
        "duration_s": args.duration,
        "connections": CONNECTIONS,
        "scenarios": [summarize(s) for s in scenarios_run],
        "latency": latency,
        "longest_snapshot_s": watch.longest_s,
        "login_ms": [t * 1000 for t in logins],
        "dataset": counts,
        "profiles": profiles,
    }
    (out / "results.json").write_text(json.dumps(data, indent=2) + "\n")
    chart(data, out / "results.png")
    write_report(out, data)
    say(f"wrote {out / 'results.md'} and {out / 'results.png'}")
    print(cost_table(data))
    return 0


def _session_of(database_url: str) -> str:
    """A live login session of a seeded user (`<sid>:<uid>`), for the floor app's query."""
    import psycopg

    with psycopg.connect(database_url) as conn:
        row = conn.execute(
            "SELECT id, user_id FROM auth_sessions WHERE revoked_at IS NULL LIMIT 1"
        ).fetchone()
    assert row is not None, "no login session to check"
    return f"{row[0]}:{row[1]}"


def sequential_latency(
    grau: Running,
    ceiling: Running,
    floors: dict[str, Running],
    users: list[BenchUser],
    args: argparse.Namespace,
) -> dict[str, Any]:
    """p50 of one client sending one request at a time, keep-alive: a cached item against
    the ceiling (and the floors, whose one query is the wait no design with it can avoid).
    Each is measured in turns with the ceiling (`measure_pair` at one connection), so a
    round's ratio is its p50 over the ceiling's in the same turns. For grau: `ratio_runs`
    (every round's), `ratio` and the two p50s of its median round (`grau_p50_ms`,
    `ceiling_p50_ms`); for a floor, `<floor>_p50_ms` and `<floor>_ratio` of its own median
    round, and `<floor>_ratio_runs`."""
    item = [json_request("GET", f"/v1/body-stats/{users[0].stat_id}", users[0].token)]
    bare = [Request("GET", "/v1/body-stats")]
    sides = {"grau": (grau, item)}
    sides.update(
        {name: (server, bare if name == "floor" else item) for name, server in floors.items()}
    )
    pairs: dict[str, list[tuple[float, float]]] = {name: [] for name in sides}
    for _ in range(args.rounds):
        for name, (server, requests) in sides.items():
            ceiling_run, side_run = measure_pair(ceiling, bare, server, requests, args, 1)
            pairs[name].append((side_run["p50_us"] / 1000, ceiling_run["p50_us"] / 1000))
    found: dict[str, Any] = {}
    for name, rounds in pairs.items():
        ratios = [side / top for side, top in rounds]
        # The median round itself (the lower of the middle two for an even count), so the
        # p50s shown are one round's pair and their quotient is the ratio shown.
        middle = ratios.index(statistics.median_low(ratios))
        side_ms, ceiling_ms = rounds[middle]
        prefix = "" if name == "grau" else f"{name}_"
        found[f"{prefix}ratio"] = ratios[middle]
        found[f"{prefix}ratio_runs"] = ratios
        found[f"{name}_p50_ms"] = side_ms
        if name == "grau":
            found["ceiling_p50_ms"] = ceiling_ms
    return found


if __name__ == "__main__":
    sys.exit(main())
