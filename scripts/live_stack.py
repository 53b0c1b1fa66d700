"""Run grau as production runs it, on a fresh database, for contract checks.

    python scripts/live_stack.py -- CMD ARGS...   # start, run CMD with GRAU_BASE_URL set, stop
    python scripts/live_stack.py --serve          # start and wait for Ctrl-C

Creates a PostgreSQL database `grau_live_<random>` on `LIVE_DATABASE_SERVER`
(default: the local server), migrates it with `alembic upgrade head`, starts
grau's production server (`python -m grau.server`, GRAU_ENV=production) on a
free loopback port with Redis at `LIVE_REDIS_URL` under a fresh key prefix,
waits for /ready, and drops everything afterwards. The command's exit status
is returned.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import os
import random
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
DATABASE_SERVER = os.environ.get(
    "LIVE_DATABASE_SERVER", "postgresql://postgres@127.0.0.1:5432/postgres"
)
REDIS_URL = os.environ.get("LIVE_REDIS_URL", "redis://127.0.0.1:6379/0")


def _ephemeral_ports() -> range:
    try:
        low, high = Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()
        return range(int(low), int(high) + 1)
    except (OSError, ValueError):
        return range(32768, 61000)


def free_port() -> int:
    """A loopback port nothing listens on, from below the ephemeral range: a port
    the kernel hands out for bind(0) is also one it hands to outgoing connections,
    and the thousands a fault test makes can take it (or hold it in TIME_WAIT)
    before the server binds it."""
    top = min(_ephemeral_ports().start, 32768)
    for _ in range(200):
        port = random.randrange(20000, max(top, 21000))
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free loopback port below the ephemeral range")


# ------------------------------------------------------------------ the one launcher


def grau_command() -> list[str]:
    """grau's production server (grau/server.py: granian, the production settings)."""
    return [str(BIN / "python"), "-m", "grau.server"]


def start_server(command: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    """Start a server (grau's, or a benchmark's reference app) from the project root,
    its output appended to `log`, in a process group of its own so that `stop_server`
    can end its workers too. The live stack, the live tests and the benchmark all
    start their servers here."""
    with log.open("ab") as out:
        return subprocess.Popen(
            command,
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def stop_server(process: subprocess.Popen[bytes], timeout: float = 15) -> None:
    """Graceful shutdown; else kill the server's own process group (main and workers)."""
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=5)


def _admin(sql: str) -> None:
    import psycopg

    with psycopg.connect(DATABASE_SERVER, autocommit=True) as conn:
        conn.execute(sql)


@contextlib.contextmanager
def fresh_database(prefix: str = "grau_live") -> Iterator[str]:
    """A new, empty database `<prefix>_<random>` (its URL), dropped afterwards."""
    from sqlalchemy import make_url

    name = f"{prefix}_{secrets.token_hex(4)}"
    _admin(f'CREATE DATABASE "{name}"')
    try:
        yield make_url(DATABASE_SERVER).set(database=name).render_as_string(hide_password=False)
    finally:
        _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def wait_ready(base_url: str, process: subprocess.Popen[bytes], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited with {process.returncode}")
        try:
            with urllib.request.urlopen(f"{base_url}/ready", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"grau did not become ready at {base_url} within {timeout}s")


LOG = ROOT / "build" / "live-stack.log"


@dataclasses.dataclass(frozen=True)
class Stack:
    base_url: str
    database_url: str


def stack_env(
    database_url: str, extra_env: dict[str, str] | None = None, secret_key: str = ""
) -> dict[str, str]:
    """The environment grau runs with on the live stack: production, fresh secrets and prefix."""
    return {
        **os.environ,
        "GRAU_ENV": "production",
        "SECRET_KEY": secret_key or secrets.token_urlsafe(48),
        "DATABASE_URL": database_url,
        "REDIS_URL": REDIS_URL,
        "CACHE_KEY_PREFIX": f"grau-live-{secrets.token_hex(4)}",
        # Rate limits stay on (the fuzzer must see its 429s), with room for
        # the few accounts each contract check signs up from 127.0.0.1.
        "RATELIMIT_REGISTER": "20 per minute",
        "RATELIMIT_LOGIN": "30 per minute",
        # The general per-user limit stays on too, above what the fuzzer's one
        # account sends, so its cases reach the API instead of a 429.
        "RATELIMIT_USER": "20000 per minute",
        **(extra_env or {}),
    }


def prepare_database(env: dict[str, str]) -> None:
    """Migrate the database at env's DATABASE_URL and load the exercise catalog."""
    subprocess.run([str(BIN / "alembic"), "upgrade", "head"], cwd=ROOT, env=env, check=True)
    subprocess.run(
        [str(BIN / "flask"), "--app", "app:create_app", "grau", "seed-catalog"],
        cwd=ROOT,
        env=env,
        check=True,
    )


@contextlib.contextmanager
def live_stack(
    workers: int | None = 2, extra_env: dict[str, str] | None = None, secret_key: str = ""
) -> Iterator[str]:
    """Yield the base URL of a migrated grau under its production server on PostgreSQL + Redis."""
    with running_stack(workers, extra_env, secret_key) as stack:
        yield stack.base_url


@contextlib.contextmanager
def running_stack(
    workers: int | None = 2, extra_env: dict[str, str] | None = None, secret_key: str = ""
) -> Iterator[Stack]:
    """`live_stack`, also naming its database. `workers=None` keeps the server's own
    process and thread counts (WEB_CONCURRENCY, WEB_THREADS: see grau/server.py)."""
    with fresh_database() as database_url:
        env = stack_env(database_url, extra_env, secret_key)
        prepare_database(env)
        port = free_port()
        base_url = f"http://127.0.0.1:{port}"
        env = {**env, "HOST": "127.0.0.1", "PORT": str(port), "GRACEFUL_TIMEOUT": "5"}
        if workers is not None:
            env.update(WEB_CONCURRENCY=str(workers), WEB_THREADS="4")
        process = start_server(grau_command(), env, LOG)
        try:
            wait_ready(base_url, process)
            yield Stack(base_url, database_url)
        finally:
            stop_server(process)


def _exit_on_sigterm(signum: int, _frame: object) -> None:
    # SIGTERM (kill, CI timeouts) must tear down the server and drop the database too.
    raise SystemExit(128 + signum)


def main() -> int:
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--serve", action="store_true", help="start and wait for Ctrl-C")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("command", nargs=argparse.REMAINDER, help="-- CMD ARGS...")
    args = parser.parse_args()
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    (ROOT / "build").mkdir(exist_ok=True)
    # The security suite forges expired tokens with the stack's throwaway key and
    # reads the server log for tracebacks.
    secret_key = secrets.token_urlsafe(48)
    with live_stack(args.workers, secret_key=secret_key) as base_url:
        print(f"grau is live at {base_url}", flush=True)
        if args.serve or not command:
            with contextlib.suppress(KeyboardInterrupt):
                while True:
                    time.sleep(3600)
            return 0
        env = {
            **os.environ,
            "GRAU_BASE_URL": base_url,
            "GRAU_LIVE_LOG": str(LOG),
            "GRAU_LIVE_SECRET_KEY": secret_key,
        }
        return subprocess.run(command, env=env).returncode


if __name__ == "__main__":
    sys.exit(main())
