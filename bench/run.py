"""`make bench`: grau under gunicorn against the bare-Flask ceiling, on one machine, in one run.

1. A fresh PostgreSQL database (scripts/live_stack.py's helpers) is migrated,
   given the catalog and seeded with set-based SQL (bench/seed.py).
2. grau starts under gunicorn with `gunicorn.conf.py` and one worker per core
   (PostgreSQL + Redis under a fresh key prefix); the benchmark logs in as a
   few seeded users (timing each login) and finds their ids.
3. The bare-Flask app (bench/bare.py) starts under the same gunicorn settings
   and serves the 20-item list body grau just answered.
4. The load generator (bench/load.py: wrk, else Python) drives each scenario
   from its own process: a warm-up, then a measured run, each right after a
   run of the ceiling, so each ratio compares two runs seconds apart (a shared
   machine's load drifts; the report shows every ceiling run).
5. py-spy samples the grau workers under each scenario (a separate pass, so
   it never slows the measured runs) and the top items go to the report.
6. Writes results.md, results.png and results.json (bench/ for a full run,
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
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench import seed
from bench.load import Request, run, wrk_version

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
sys.path.insert(0, str(ROOT / "scripts"))
import live_stack  # noqa: E402

CONNECTIONS = 16
BENCH_USERS = 4  # users whose requests the load cycles through
P99_TARGET_MS = 25.0


@dataclass
class Scenario:
    key: str
    label: str
    requests: list[Request]
    status: int
    target: float | None  # ratio to the ceiling
    read: bool = True
    result: dict[str, Any] = field(default_factory=dict)
    ceiling: dict[str, Any] = field(default_factory=dict)  # the bare run just before


def cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


# ------------------------------------------------------------------------ servers


@contextlib.contextmanager
def gunicorn(name: str, app: str, env: dict[str, str], out: Path) -> Iterator[tuple[str, int]]:
    """`app` under gunicorn with gunicorn.conf.py, one worker per core, on a loopback port."""
    port = live_stack.free_port()
    base_url = f"http://127.0.0.1:{port}"
    env = {**env, "WEB_CONCURRENCY": str(cores())}
    log = open(out / f"{name}.log", "wb")  # noqa: SIM115
    process = subprocess.Popen(
        [str(BIN / "gunicorn"), "-c", "gunicorn.conf.py", "--bind", f"127.0.0.1:{port}", app],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        live_stack.wait_ready(base_url, process, timeout=60)
        yield base_url, process.pid
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


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

    return [
        Scenario("list", "Body stats list (20, warm)", each("GET", "/v1/body-stats"), 200, 0.6),
        Scenario("item", "One body stat", each("GET", "/v1/body-stats/{u.stat_id}"), 200, 0.7),
        Scenario("catalog", "Exercise catalog list (20)", each("GET", "/v1/exercises"), 200, 0.7),
        Scenario(
            "workout", "Workout with 20 sets", each("GET", "/v1/workouts/{u.workout_id}"), 200, 0.4
        ),
        Scenario(
            "summary",
            "Weekly weight summary (a year)",
            each("GET", "/v1/body-stats/summary?type=weight&bucket=week"),
            200,
            None,
        ),
        Scenario(
            "create",
            "Create a body stat",
            each("POST", "/v1/body-stats", new_stat),
            201,
            0.3,
            read=False,
        ),
    ]


def check(base_url: str, scenario: Scenario) -> None:
    """One request of each kind before the load: right status, right shape."""
    for req in scenario.requests:
        _, body, _ = call(base_url, req, scenario.status)
        if scenario.key in ("list", "catalog") and body and len(body["items"]) != 20:
            raise RuntimeError(f"{scenario.key}: {len(body['items'])} items, expected 20")


def measure(base_url: str, requests: list[Request], args: argparse.Namespace) -> dict[str, Any]:
    run(base_url, requests, duration=args.warmup, connections=CONNECTIONS)
    result = run(base_url, requests, duration=args.duration, connections=CONNECTIONS)
    if result["status_errors"] or result["socket_errors"] or not result["requests"]:
        raise RuntimeError(f"failed requests under load: {result}")
    return result


# ------------------------------------------------------------------------ profile


def _worker_pids(master: int) -> list[int]:
    children = Path(f"/proc/{master}/task/{master}/children")
    return [int(pid) for pid in children.read_text().split()] if children.exists() else []


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


def profile(
    base_url: str, master: int, requests: list[Request], seconds: float, out: Path, key: str
) -> dict[str, Any]:
    """Sample every grau worker with py-spy under load; self time per function and package."""
    py_spy = shutil.which("py-spy") or str(BIN / "py-spy")
    if not Path(py_spy).exists():
        return {"error": "py-spy is not installed"}
    outputs, samplers = [], []
    for pid in _worker_pids(master):
        raw = out / f"profile-{key}-{pid}.txt"
        # --gil: only the thread running Python counts, so threads parked on a socket
        # or a queue (gthread's idle pool, the Redis probe) do not drown the profile.
        command = [py_spy, "record", "--pid", str(pid), "--format", "raw", "--nolineno", "--gil"]
        command += ["--rate", "250", "--duration", str(max(1, round(seconds))), "-o", str(raw)]
        sampler = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        samplers.append(sampler)
        outputs.append(raw)
    time.sleep(0.5)  # py-spy attaches
    run(base_url, requests, duration=seconds, connections=CONNECTIONS)
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
        "grau": [(name, n / total) for name, n in inclusive.most_common(8)],
    }


# ------------------------------------------------------------------------ machine


def _first_line(command: list[str]) -> str:
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=10)
    except OSError:
        return "unknown"
    return (done.stdout or done.stderr).strip().splitlines()[0] if done.returncode == 0 else "?"


def machine(database_url: str) -> dict[str, str]:
    import flask
    import gunicorn as gunicorn_pkg
    import psycopg
    import redis
    import sqlalchemy

    cpu = "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    memory = "unknown"
    with contextlib.suppress(OSError, ValueError):
        kib = int(Path("/proc/meminfo").read_text().split()[1])
        memory = f"{kib / 1024 / 1024:.0f} GiB"
    with psycopg.connect(database_url) as conn:
        row = conn.execute("SHOW server_version").fetchone()
        postgres = str(row[0]) if row else "?"
    info = redis.Redis.from_url(live_stack.REDIS_URL).info("server")
    return {
        "CPU": f"{cpu}, {cores()} cores available ({os.cpu_count()} online)",
        "Memory": memory,
        "OS": f"{platform.system()} {platform.release()}",
        "Python": platform.python_version(),
        "PostgreSQL": postgres,
        "Redis": str(info.get("redis_version", "?")),
        "gunicorn": f"{gunicorn_pkg.__version__} (gunicorn.conf.py: gthread, "
        f"{cores()} workers, {os.environ.get('GUNICORN_THREADS', '4')} threads)",
        "Flask / SQLAlchemy / psycopg": (
            f"{flask.__version__ if hasattr(flask, '__version__') else _dist('flask')} / "
            f"{sqlalchemy.__version__} / {psycopg.__version__}"
        ),
        "Load generator": (wrk_version() or "Python (bench/load.py)")
        + f", {CONNECTIONS} connections, loopback",
        "Load average at start": " ".join(f"{x:.2f}" for x in os.getloadavg()),
    }


def _dist(name: str) -> str:
    from importlib.metadata import version

    return version(name)


# ------------------------------------------------------------------------- report


def report(
    out: Path,
    *,
    ceiling: list[dict[str, Any]],
    all_scenarios: list[Scenario],
    logins: list[float],
    profiles: dict[str, dict[str, Any]],
    info: dict[str, str],
    args: argparse.Namespace,
    counts: dict[str, int],
) -> None:
    ceiling_rps = statistics.fmean(r["rps"] for r in ceiling)
    ceiling_p50 = statistics.fmean(r["p50_us"] for r in ceiling) / 1000
    ceiling_p99 = statistics.fmean(r["p99_us"] for r in ceiling) / 1000
    rows = []
    for s in all_scenarios:
        r = s.result
        rows.append(
            {
                "key": s.key,
                "label": s.label,
                "rps": r["rps"],
                "p50_ms": r["p50_us"] / 1000,
                "p99_ms": r["p99_us"] / 1000,
                "ceiling_rps": s.ceiling["rps"],
                "ratio": r["rps"] / s.ceiling["rps"],
                "target": s.target,
                "read": s.read,
            }
        )
    data = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": info,
        "smoke": args.smoke,
        "duration_s": args.duration,
        "connections": CONNECTIONS,
        "ceiling": {
            "runs": [r["rps"] for r in ceiling],
            "rps": ceiling_rps,
            "p50_ms": ceiling_p50,
            "p99_ms": ceiling_p99,
        },
        "scenarios": rows,
        "login_ms": [t * 1000 for t in logins],
        "dataset": counts,
        "profiles": profiles,
    }
    (out / "results.json").write_text(json.dumps(data, indent=2) + "\n")
    chart(data, out / "results.png")
    (out / "results.md").write_text(markdown(data))


def _met(row: dict[str, Any]) -> str:
    checks = []
    if row["target"] is not None:
        checks.append(row["ratio"] >= row["target"])
    if row["read"]:
        checks.append(row["p99_ms"] < P99_TARGET_MS)
    if not checks:
        return "-"
    return "yes" if all(checks) else "**no**"


def misses(data: dict[str, Any]) -> list[str]:
    """Each missed target, with how far off it is."""
    lines = []
    for row in data["scenarios"]:
        if row["target"] is not None and row["ratio"] < row["target"]:
            short = row["target"] - row["ratio"]
            lines.append(
                f"- {row['label']}: ratio {row['ratio']:.2f}, target {row['target']} "
                f"(short by {short:.2f}, {short / row['target']:.0%} of the target)"
            )
        if row["read"] and row["p99_ms"] >= P99_TARGET_MS:
            lines.append(
                f"- {row['label']}: p99 {row['p99_ms']:.1f} ms, target under {P99_TARGET_MS:.0f} ms"
            )
    return lines


def ratio_table(data: dict[str, Any]) -> str:
    c = data["ceiling"]
    lines = [
        "| Endpoint | req/s | p50 ms | p99 ms | bare Flask req/s, same minute "
        "| ratio | target | met |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | :---: |",
        f"| Bare Flask, same 20-item body (ceiling; mean of {len(c['runs'])} runs) "
        f"| {c['rps']:.0f} | {c['p50_ms']:.1f} | {c['p99_ms']:.1f} | | 1.00 | | |",
    ]
    for row in data["scenarios"]:
        target = f">= {row['target']}" if row["target"] is not None else ""
        if row["read"]:
            target += (", " if target else "") + f"p99 < {P99_TARGET_MS:.0f} ms"
        lines.append(
            f"| {row['label']} | {row['rps']:.0f} | {row['p50_ms']:.1f} | {row['p99_ms']:.1f} "
            f"| {row['ceiling_rps']:.0f} | {row['ratio']:.2f} | {target} | {_met(row)} |"
        )
    return "\n".join(lines)


def markdown(data: dict[str, Any]) -> str:
    machine_lines = "\n".join(f"- {k}: {v}" for k, v in data["machine"].items())
    dataset = ", ".join(f"{n} {table}" for table, n in data["dataset"].items())
    logins = data["login_ms"]
    parts = [
        "# grau benchmark results",
        "",
        f"Generated by `make bench` on {data['when']}"
        + (" (**smoke run: too short to mean anything**)" if data["smoke"] else "")
        + ". Each endpoint: a warm-up, then "
        f"{data['duration_s']:g} s at {data['connections']} connections, right after a "
        "run of the ceiling (bare Flask returning grau's 20-item list body from memory, "
        "same gunicorn settings), and its ratio is to that run "
        f"(all ceiling runs: {', '.join(f'{r:.0f}' for r in data['ceiling']['runs'])} "
        "req/s). Absolute numbers are this machine's; the ratios are what we track.",
        "",
        "![ratios and latencies](results.png)",
        "",
        ratio_table(data),
        "",
        f"Login (argon2id with the default parameters, measured separately, one at a "
        f"time): median {statistics.median(logins):.0f} ms over {len(logins)} logins.",
        "",
        "## Missed targets",
        "",
        *(misses(data) or ["None: every target is met."]),
        "",
        "## Machine",
        "",
        machine_lines,
        "",
        f"Dataset: {dataset}.",
        "",
        "## Where the time goes",
        "",
        "py-spy samples of the grau workers under each scenario's load, taken "
        "while a thread holds the GIL (Python's CPU time: waiting on PostgreSQL or "
        "Redis is not counted). Self time per package, the functions with the most "
        "self time, and grau's own functions by inclusive time (the rest is gunicorn, "
        "Werkzeug and Flask, which the bare app pays too).",
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
    fig, (left, right) = plt.subplots(1, 2, figsize=(13, 4.8), constrained_layout=True)
    y = list(range(len(rows)))
    colors = [
        "#8d99ae"
        if row["target"] is None  # no target: grey
        else "#2a9d8f"
        if row["ratio"] >= row["target"]
        else "#e76f51"
        for row in rows
    ]
    left.barh(y, [row["ratio"] for row in rows], color=colors)
    for i, row in enumerate(rows):
        left.text(row["ratio"] + 0.01, i, f"{row['ratio']:.2f}", va="center", fontsize=9)
        if row["target"] is not None:
            left.plot([row["target"]] * 2, [i - 0.4, i + 0.4], color="black", linewidth=2)
    left.set_yticks(y, labels)
    left.invert_yaxis()
    left.axvline(1.0, color="grey", linestyle=":")
    left.set_xlim(0, max(1.1, max(row["ratio"] for row in rows) + 0.15))
    left.set_xlabel(
        f"throughput / bare Flask run just before (mean {data['ceiling']['rps']:.0f} req/s); "
        "| = target"
    )
    left.set_title("Throughput relative to the bare-Flask ceiling")

    height = 0.38
    right.barh([i - height / 2 for i in y], [r["p50_ms"] for r in rows], height, label="p50")
    right.barh([i + height / 2 for i in y], [r["p99_ms"] for r in rows], height, label="p99")
    right.axvline(P99_TARGET_MS, color="#e76f51", linestyle="--", label="p99 target (reads)")
    right.set_yticks(y, [""] * len(rows))
    right.invert_yaxis()
    right.set_xlabel(f"latency, ms ({data['connections']} connections)")
    right.set_title("Latency")
    right.legend(loc="upper center", bbox_to_anchor=(0.5, -0.14), ncol=3, fontsize=8)
    cpu = data["machine"]["CPU"]
    fig.suptitle(f"grau vs bare Flask, same gunicorn settings - {cpu}", fontsize=10)
    fig.savefig(path, dpi=110)
    plt.close(fig)


# --------------------------------------------------------------------------- README

README_START = "<!-- bench:start -->"
README_END = "<!-- bench:end -->"


def update_readme(data_path: Path) -> None:
    """Replace the numbers between the README's bench markers with this run's."""
    readme = ROOT / "README.md"
    text = readme.read_text()
    if README_START not in text:
        return
    data = json.loads(data_path.read_text())
    missed = "\n".join(misses(data)) or "Every target is met."
    block = (
        f"{README_START}\n"
        f"Measured {data['when'][:10]} on {data['machine']['CPU']} (load average at the "
        f"start: {data['machine']['Load average at start']}); ceiling "
        f"{data['ceiling']['rps']:.0f} req/s.\n\n{ratio_table(data)}\n\n"
        f"Missed on this run:\n\n{missed}\n{README_END}"
    )
    start, end = text.index(README_START), text.index(README_END) + len(README_END)
    readme.write_text(text[:start] + block + text[end:])


# --------------------------------------------------------------------------- main


def _exit_on_sigterm(signum: int, _frame: object) -> None:
    raise SystemExit(128 + signum)


def main(argv: list[str] | None = None) -> int:
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--smoke", action="store_true", help="a short run for CI (no timings)")
    parser.add_argument("--users", type=int, help="seeded users (default 200, smoke 10)")
    parser.add_argument("--duration", type=float, help="seconds per measured run (default 10)")
    parser.add_argument("--warmup", type=float, help="seconds of warm-up per run (default 2)")
    parser.add_argument("--profile-seconds", type=float, help="py-spy seconds per scenario")
    parser.add_argument("--no-profile", action="store_true")
    parser.add_argument("--out", type=Path, help="folder for the results")
    args = parser.parse_args(argv)
    defaults = (10, 2, 1, 1, "build/bench") if args.smoke else (200, 10, 2, 5, "bench")
    args.users = args.users or defaults[0]
    args.duration = args.duration or defaults[1]
    args.warmup = args.warmup or defaults[2]
    args.profile_seconds = args.profile_seconds or defaults[3]
    out = (args.out or ROOT / defaults[4]).resolve()
    out.mkdir(parents=True, exist_ok=True)
    (ROOT / "build").mkdir(exist_ok=True)
    logs = ROOT / "build" / "bench-logs"
    logs.mkdir(exist_ok=True)
    started = time.monotonic()

    def say(message: str) -> None:
        print(f"[bench {time.monotonic() - started:5.0f}s] {message}", flush=True)

    with live_stack.fresh_database() as database_url:
        env = live_stack.stack_env(
            database_url,
            {
                "CACHE_KEY_PREFIX": f"grau-bench-{secrets.token_hex(4)}",
                # The per-user limit stays on (its check is part of every request's
                # cost) but above what a few users at full speed send.
                "RATELIMIT_USER": "10000000 per minute",
            },
        )
        live_stack.prepare_database(env)
        say(f"seeding {args.users} users with {seed.DAYS} days of entries each")
        counts = seed.seed(database_url, users=args.users)
        say(f"seeded: {counts}")
        info = machine(database_url)
        with gunicorn("grau", "app:create_app()", env, logs) as (grau_url, grau_pid):
            users, logins = log_in(grau_url, BENCH_USERS)
            say(f"logged in {len(users)} users, median login {statistics.median(logins):.3f} s")
            all_scenarios = scenarios(users)
            for scenario in all_scenarios:
                check(grau_url, scenario)
            _, _, list_body = call(grau_url, all_scenarios[0].requests[0], 200)
            with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as body_file:
                body_file.write(list_body)
            bare_env = {**os.environ, "BENCH_BODY_FILE": body_file.name}
            try:
                with gunicorn("bare", "bench.bare:app", bare_env, logs) as (bare_url, _):
                    bare = [Request("GET", "/v1/body-stats")]
                    ceiling = []
                    for scenario in all_scenarios:
                        scenario.ceiling = measure(bare_url, bare, args)
                        ceiling.append(scenario.ceiling)
                        say(f"bare Flask: {scenario.ceiling['rps']:.0f} req/s")
                        scenario.result = measure(grau_url, scenario.requests, args)
                        r = scenario.result
                        say(
                            f"{scenario.key}: {r['rps']:.0f} req/s, p50 {r['p50_us'] / 1000:.1f} "
                            f"ms, p99 {r['p99_us'] / 1000:.1f} ms"
                        )
            finally:
                os.unlink(body_file.name)
            profiles: dict[str, dict[str, Any]] = {}
            if not args.no_profile:
                for scenario in all_scenarios if not args.smoke else all_scenarios[:1]:
                    seconds = args.profile_seconds
                    profiles[scenario.key] = profile(
                        grau_url, grau_pid, scenario.requests, seconds, logs, scenario.key
                    )
                say("profiled")
    report(
        out,
        ceiling=ceiling,
        all_scenarios=all_scenarios,
        logins=logins,
        profiles=profiles,
        info=info,
        args=args,
        counts=counts,
    )
    if not args.smoke and out == (ROOT / "bench").resolve():
        update_readme(out / "results.json")
    say(f"wrote {out / 'results.md'} and {out / 'results.png'}")
    print(ratio_table(json.loads((out / "results.json").read_text())))
    return 0


if __name__ == "__main__":
    sys.exit(main())
