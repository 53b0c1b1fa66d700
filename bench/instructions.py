"""`make bench-instructions`: instructions per request of grau's app, counted by callgrind.

CPU time per request moves with the machine: a busy neighbour, or another CPU
model, changes it by a third, and it changes the ceiling's (mostly the
kernel's work) and grau's (mostly Python's) differently. The instructions the
app executes do not: valgrind's callgrind counts them exactly, so two runs of
the same code agree to 0.1% and a change of a few hundred instructions shows.
That makes it the measure to judge a change to the request path by, beside
`make bench`, whose ratios are what the issue's targets are set in.

Each scenario runs in its own process under `valgrind --tool=callgrind`, with
counting off while it starts (imports, the app, the user it reads as, a
warm-up), then on for `--requests` requests sent straight to the WSGI app (no
server, no client: the app's own work and the driver's side of its query, not
PostgreSQL's). The apps are grau's (its production settings, on PostgreSQL and
Redis), the stack floor and the floor (bench/floor.py) and the ceiling's bare
Flask (bench/bare.py). It needs valgrind (`apt-get install valgrind`) and runs
for about a minute and a half. `--keep DIR` keeps each scenario's callgrind
file (for `callgrind_annotate`); `python -m bench.opcodes` says which Python
functions a scenario's request runs, and how much of each.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import io
import json
import os
import re
import select
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script by valgrind's python
    sys.path.insert(0, str(ROOT))

from scripts import live_stack  # noqa: E402

PASSWORD = "correct horse battery staple"
# name -> (what it is, the app, the path asked for; `{stat}` is a body stat's id)
SCENARIOS: dict[str, tuple[str, str, str]] = {
    "item": ("grau: one body stat (cached)", "grau", "/v1/body-stats/{stat}"),
    "item-uncached": (
        "grau: one body stat (response cache off)",
        "grau-uncached",
        "/v1/body-stats/{stat}",
    ),
    "list": ("grau: body stats list (20)", "grau", "/v1/body-stats"),
    "catalog": ("grau: exercise catalog list (20)", "grau", "/v1/exercises"),
    "create": ("grau: create a body stat", "grau", "/v1/body-stats"),
    "health": ("grau: GET /health", "grau", "/health"),
    "stack": ("stack floor: one body stat", "stack", "/v1/body-stats/{stat}"),
    "stack-create": ("stack floor: create a body stat", "stack", "/v1/body-stats"),
    "floor": ("floor: bare Flask + the one query", "floor", "/v1/body-stats"),
    "bare": ("ceiling's app: bare Flask, the list's bytes", "bare", "/v1/body-stats"),
}
# The scenarios that POST, and what: the body `make bench` creates (bench/run.py).
POSTED = {
    name: {"type": "weight", "value": 72.5, "unit": "kg", "recorded_at": "2026-11-30T07:00:00Z"}
    for name in ("create", "stack-create")
}
COLLECTED = re.compile(r"Collected\s*:\s*(\d+)")
# grau's settings beyond production's, for every scenario (bench.opcodes's too).
SETTINGS = {
    "RATELIMIT_USER": "10000000 per minute",  # counted, never refusing
    "RATELIMIT_REGISTER": "1000 per minute",
    "RATELIMIT_LOGIN": "1000 per minute",
    "LOG_LEVEL": "WARNING",
}


# ------------------------------------------------------------- in the counted process


def _call(app: Callable[..., Any], environ: dict[str, Any], body: bytes = b"") -> str:
    """One request straight to the WSGI app (with `body`, if any); its status line."""
    started: list[str] = []
    environ = dict(environ, **{"wsgi.input": io.BytesIO(body)}) if body else dict(environ)

    def start_response(status: str, headers: Any, exc_info: Any = None) -> None:
        started.append(status)

    answer = app(environ, start_response)
    try:
        for _ in answer:
            pass
    finally:
        close = getattr(answer, "close", None)
        if close is not None:
            close()
    return started[0]


def _signed_in(grau: Any) -> tuple[str, str]:
    """A new user of `grau` with 25 body stats: (access token, one stat's id)."""
    client = grau.test_client()
    email = f"instructions-{os.getpid()}@example.com"
    assert client.post("/v1/users", json={"email": email, "password": PASSWORD}).status_code == 201
    login = client.post("/v1/auth/login", json={"email": email, "password": PASSWORD})
    token = login.get_json()["access_token"]
    stat_id = ""
    for day in range(1, 26):
        created = client.post(
            "/v1/body-stats",
            json={
                "type": "weight",
                "value": 70 + day / 10,
                "unit": "kg",
                "recorded_at": f"2026-11-{day:02d}T07:00:00Z",
            },
            headers={"Authorization": f"Bearer {token}"},
        )
        assert created.status_code == 201, created.get_json()
        stat_id = created.get_json()["id"]
    return token, stat_id


def _app_of(kind: str, grau: Any, token: str) -> Any:
    if kind.startswith("grau"):
        return grau
    import jwt

    claims = jwt.decode(token, options={"verify_signature": False})
    os.environ["BENCH_DATABASE_URL"] = os.environ["DATABASE_URL"]
    os.environ["BENCH_SESSION"] = f"{claims['sid']}:{claims['sub']}"
    from bench import floor

    if kind == "stack":
        return floor.create_stack_app()
    # The floor and the ceiling's app send the list's bytes, read from BENCH_BODY_FILE as
    # they are made.
    body = grau.test_client().get("/v1/body-stats", headers={"Authorization": f"Bearer {token}"})
    with tempfile.TemporaryDirectory() as scratch:
        path = Path(scratch) / "body.json"
        path.write_bytes(body.data)
        os.environ["BENCH_BODY_FILE"] = str(path)
        if kind == "floor":
            return floor.create_app()
        from bench import bare

        return bare.app


@dataclass
class Prepared:
    """A scenario's app, warmed, and the request it is sent."""

    app: Callable[..., Any]
    environ: dict[str, Any]
    body: bytes  # what a POST sends, else empty

    def call(self) -> str:
        return _call(self.app, self.environ, self.body)


def prepared(scenario: str) -> Prepared:
    """Scenario `scenario`'s app with its user signed in, warmed by 300 of its requests."""
    from werkzeug.test import EnvironBuilder

    from app import create_app

    _, kind, path = SCENARIOS[scenario]
    grau = create_app({"CACHE_MAX_MB": 0} if kind == "grau-uncached" else None)
    token, stat_id = _signed_in(grau)
    posted = POSTED.get(scenario)
    body = json.dumps(posted).encode() if posted else b""
    environ = EnvironBuilder(
        path=path.format(stat=stat_id),
        method="POST" if posted else "GET",
        headers=[("Authorization", f"Bearer {token}"), ("Accept", "application/json")],
        content_type="application/json" if posted else None,
        data=body or None,
        environ_base={"REMOTE_ADDR": "127.0.0.1"},
    ).get_environ()
    ready = Prepared(_app_of(kind, grau, token), environ, body)
    for _ in range(300):  # warm: the statement prepared, the answer cached, the caches filled
        status = ready.call()
    if not status.startswith("201" if posted else "200"):
        raise SystemExit(f"{scenario}: {path} answered {status}")
    return ready


def child(scenario: str, requests: int) -> None:
    """Run in the counted process: set up, say READY, and on a line from the parent send
    `requests` requests, say DONE and wait for the parent's last line (the parent turns
    counting on and off in between)."""
    from grau.server import GC_THRESHOLDS

    ready = prepared(scenario)
    gc.collect()  # as grau.server.load_app sets a worker up
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)
    _say("READY")
    _wait_for_parent()
    for _ in range(requests):
        ready.call()
    _say("DONE")
    _wait_for_parent()


def _say(word: str) -> None:
    """A line for the parent, in one write. The app's access lines share stdout, written
    whole by a thread of their own; `print` writes a line's text and its newline apart
    where Python's output is unbuffered (PYTHONUNBUFFERED, as CI runs), and valgrind
    switches threads at a system call, so their lines could land between the two and
    the parent would never see the word."""
    sys.stdout.flush()
    os.write(1, f"{word}\n".encode())


def _wait_for_parent() -> None:
    """Read the parent's next line, polling: valgrind answers `callgrind_control` only
    while the program runs, never while it blocks in a read."""
    while not select.select([sys.stdin], [], [], 0.02)[0]:
        pass
    sys.stdin.readline()


# ------------------------------------------------------------------------ the parent


def _line(process: subprocess.Popen[str], expected: str) -> None:
    assert process.stdout is not None
    for line in process.stdout:
        if line.strip() == expected:
            return
    raise RuntimeError(f"the counted process ended before {expected}")


def _counting(pid: int, on_or_off: str) -> None:
    """Switch callgrind's counting in process `pid` on or off."""
    subprocess.run(
        ["callgrind_control", "-i", on_or_off, str(pid)], check=True, capture_output=True
    )


def count(scenario: str, requests: int, env: dict[str, str], keep: Path | None = None) -> float:
    """Instructions per request of `scenario`; with `keep`, its callgrind file is kept
    there (`<scenario>.callgrind`, for `callgrind_annotate`)."""
    with tempfile.TemporaryDirectory() as scratch, open(f"{scratch}/stderr", "w+") as stderr:
        process = subprocess.Popen(
            [
                "valgrind",
                "--tool=callgrind",
                "--instr-atstart=no",
                f"--callgrind-out-file={scratch}/callgrind.out",
                sys.executable,
                __file__,
                "--child",
                scenario,
                "--requests",
                str(requests),
            ],
            cwd=ROOT,
            env=env,  # (the access lines share stdout with READY and DONE: whole lines)
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=stderr,  # (a file: a pipe read only at the end could fill and stall it)
            text=True,
        )
        assert process.stdin is not None
        try:
            _line(process, "READY")
            _counting(process.pid, "on")
            process.stdin.write("go\n")
            process.stdin.flush()
            _line(process, "DONE")
            _counting(process.pid, "off")
            process.stdin.write("end\n")
            process.stdin.flush()
            process.communicate(timeout=120)
        finally:
            if process.poll() is None:
                process.kill()
        stderr.seek(0)
        errors = stderr.read()
        if keep is not None and process.returncode == 0:
            shutil.copy(f"{scratch}/callgrind.out", keep / f"{scenario}.callgrind")
    found = COLLECTED.search(errors)
    if process.returncode != 0 or found is None:
        raise RuntimeError(f"{scenario}: callgrind failed:\n{errors[-2000:]}")
    return int(found.group(1)) / requests


def table(counts: dict[str, float]) -> str:
    bare = counts.get("bare")
    lines = [
        "| Scenario | instructions per request | x the ceiling's app |",
        "| --- | ---: | ---: |",
    ]
    for name, value in counts.items():
        times = f"{value / bare:.2f}" if bare else ""
        lines.append(f"| {SCENARIOS[name][0]} | {value / 1000:,.0f}k | {times} |")
    return "\n".join(lines)


def parse_args(argv: Iterable[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Instructions per request, by callgrind.")
    parser.add_argument("--requests", type=int, default=1000, help="counted per scenario")
    parser.add_argument("--only", help=f"comma-separated, of: {', '.join(SCENARIOS)}")
    parser.add_argument("--out", type=Path, help="also write the counts here, as JSON")
    parser.add_argument(
        "--keep", type=Path, help="keep each scenario's callgrind file in this folder"
    )
    parser.add_argument("--child", help=argparse.SUPPRESS)
    return parser.parse_args(None if argv is None else list(argv))


def main(argv: Iterable[str] | None = None) -> int:
    args = parse_args(argv)
    if args.child:
        child(args.child, args.requests)
        return 0
    if shutil.which("valgrind") is None or shutil.which("callgrind_control") is None:
        print("valgrind is not installed (apt-get install valgrind)", file=sys.stderr)
        return 2
    wanted = args.only.split(",") if args.only else list(SCENARIOS)
    unknown = set(wanted) - SCENARIOS.keys()
    if unknown:
        print(f"unknown scenarios: {', '.join(sorted(unknown))}", file=sys.stderr)
        return 2
    counts: dict[str, float] = {}
    if args.keep:
        args.keep.mkdir(parents=True, exist_ok=True)
    with live_stack.fresh_database("grau_instructions") as database_url:
        env = live_stack.stack_env(database_url, SETTINGS)
        live_stack.prepare_database(env)
        for name in wanted:
            counts[name] = count(name, args.requests, env, args.keep)
            print(f"{name}: {counts[name] / 1000:,.1f}k instructions per request", flush=True)
    print()
    print(table(counts))
    if args.out:
        args.out.write_text(json.dumps(counts, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        sys.exit(main())
