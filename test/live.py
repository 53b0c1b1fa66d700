"""Real services for the live tests: grau's server as production runs it, and private
Redis and PostgreSQL servers that a test may stop, kill and restart.

`Server` starts `python -m grau.server` (granian with the production settings)
on a free loopback port with the environment a test gives it; `call` sends one
HTTP request on a fresh connection, so successive requests spread over the
workers.
`RedisServer`, `RedisSentinel` and `PostgresCluster` are private to a test (their
own port and directory): the shared servers on the standard ports are never stopped.
`Client` and `drive` send a user's mixed traffic from threads and record what it saw.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import pwd
import random
import secrets
import shutil
import signal
import subprocess
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import redis
from alembic import command
from conftest import FAST_ARGON2, IN_CI, TEST_DATABASE_URL, TEST_REDIS_URL, WEIGHT, alembic_config
from sqlalchemy.orm import Session

from grau.catalog.seed import seed_catalog
from grau.db.session import make_engine
from scripts.live_stack import free_port, grau_command, start_server, stop_server

ROOT = Path(__file__).resolve().parent.parent
PYTHON = ROOT / ".venv" / "bin" / "python"
REDIS_SERVER = shutil.which("redis-server")
PG_BIN = Path(os.environ.get("PG_BIN", "/usr/lib/postgresql/15/bin"))
PASSWORD = "correct horse battery"

# Every live test module's marks (`pytestmark = LIVE`): it starts servers, and is skipped
# without PostgreSQL and Redis (under CI=true, conftest fails the run instead).
LIVE = [
    pytest.mark.live,
    pytest.mark.skipif(
        not (TEST_DATABASE_URL and TEST_REDIS_URL),
        reason="needs TEST_DATABASE_URL and TEST_REDIS_URL (PostgreSQL and Redis)",
    ),
]


# ---------------------------------------------------------------------------- HTTP


@dataclass
class Reply:
    status: int
    headers: http.client.HTTPMessage  # case-insensitive; .get() is None when absent
    body: bytes
    elapsed: float = 0.0

    @property
    def json(self) -> Any:
        return json.loads(self.body) if self.body else None

    @property
    def content_type(self) -> str:
        return str(self.headers.get("Content-Type", "")).split(";")[0].strip()

    def header(self, name: str) -> str | None:
        return self.headers.get(name)


def call(
    port: int,
    method: str,
    path: str,
    body: Any = None,
    token: str | None = None,
    headers: dict[str, str] | None = None,
    timeout: float = 30,
    source: str = "127.0.0.1",
) -> Reply:
    """One request on a new connection (from loopback address `source`); raises OSError
    if the connection or response breaks."""
    sent = {"Accept": "application/json", **(headers or {})}
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        sent["Content-Type"] = "application/json"
    if token:
        sent["Authorization"] = f"Bearer {token}"
    conn = http.client.HTTPConnection(
        "127.0.0.1", port, timeout=timeout, source_address=(source, 0)
    )
    start = time.perf_counter()
    try:
        conn.request(method, path, body=data, headers=sent)
        response = conn.getresponse()
        payload = response.read()
        return Reply(response.status, response.headers, payload, time.perf_counter() - start)
    except http.client.HTTPException as exc:  # e.g. a response cut off by a killed worker
        raise ConnectionError(f"broken response: {exc!r}") from exc
    finally:
        conn.close()


@dataclass
class Account:
    email: str
    token: str
    id: str = ""


def register(port: int) -> Account:
    email = f"live-{uuid.uuid4().hex[:12]}@example.com"
    created = call(port, "POST", "/v1/users", {"email": email, "password": PASSWORD})
    assert created.status == 201, created.body
    login = call(port, "POST", "/v1/auth/login", {"email": email, "password": PASSWORD})
    assert login.status == 200, login.body
    return Account(email, login.json["access_token"], created.json["id"])


# ------------------------------------------------------------------------- traffic


def require(binary: object, what: str) -> None:
    """Skip a test whose server binary is missing, except under CI=true: there it fails."""
    if binary:
        return
    if IN_CI:
        pytest.fail(f"{what} is not installed; the live tests need it in CI")
    pytest.skip(f"{what} is not installed")


@dataclass
class Client:
    """One user's traffic: reads, creates and updates of body stats, and what it expects."""

    server: Server
    account: Account
    expected: dict[str, float] = field(default_factory=dict)  # {stat id: value}
    written_in: dict[str, str] = field(default_factory=dict)  # {stat id: phase of last write}
    seen: list[tuple[str, str, int, float]] = field(default_factory=list)

    def send(self, phase: str, method: str, path: str, body: Any = None) -> Reply:
        try:
            reply = self.server.request(method, path, body, token=self.account.token)
        except OSError as exc:
            self.seen.append((phase, f"{method} {path} {exc!r}", 0, 0.0))
            raise
        self.seen.append((phase, f"{method} {path}", reply.status, reply.elapsed))
        return reply

    def step(self, phase: str, i: int) -> None:
        value = round(random.uniform(40, 120), 1)
        match i % 5:
            case 0:
                created = self.send(phase, "POST", "/v1/body-stats", {**WEIGHT, "value": value})
                if created.status == 201:
                    self.expected[created.json["id"]] = value
                    self.written_in[created.json["id"]] = phase
            case 1 | 3:
                self.send(phase, "GET", "/v1/body-stats?page_size=20")
            case 2:
                stat = random.choice(list(self.expected))
                patch = {"type": "weight", "value": value, "unit": "kg"}
                if self.send(phase, "PATCH", f"/v1/body-stats/{stat}", patch).status == 200:
                    self.expected[stat] = value
                    self.written_in[stat] = phase
            case 4:
                stat = random.choice(list(self.expected))
                self.send(phase, "GET", f"/v1/body-stats/{stat}")

    def listed(self, phase: str) -> dict[str, float]:
        """Every stat of the user as the list shows them, page after page: {id: value}."""
        shown: dict[str, float] = {}
        page = 1
        while True:
            reply = self.send(phase, "GET", f"/v1/body-stats?page_size=100&page={page}")
            assert reply.status == 200, reply.body
            shown |= {item["id"]: item["value"] for item in reply.json["items"]}
            if page >= reply.json["pagination"]["total_pages"]:
                return shown
            page += 1

    def failures(self) -> list[tuple[str, str, int, float]]:
        return [s for s in self.seen if s[2] not in (200, 201, 204)]


def drive(clients: list[Client], phases: list[tuple[str, float, Callable[[], None]]]) -> None:
    """Each client's thread loops over its steps; at each phase's start, its action runs."""
    current = {"phase": phases[0][0]}
    stop = threading.Event()

    def loop(client: Client) -> None:
        i = 0
        while not stop.is_set():
            with contextlib.suppress(OSError):  # recorded in client.seen
                client.step(current["phase"], i)
            i += 1

    threads = [threading.Thread(target=loop, args=(c,)) for c in clients]
    for thread in threads:
        thread.start()
    try:
        for name, seconds, action in phases:
            action()
            current["phase"] = name
            time.sleep(seconds)
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=60)


# -------------------------------------------------------------------------- server


def migrate(database_url: str) -> None:
    """Migrate a fresh database to head and load the catalog, as a deployment does."""
    command.upgrade(alembic_config(database_url), "head")
    engine = make_engine(database_url)
    try:
        with Session(engine) as session:
            seed_catalog(session)
    finally:
        engine.dispose()


def app_env(database_url: str, redis_url: str, **extra: str) -> dict[str, str]:
    """The environment of a production grau on these services (fast password hashing)."""
    return {
        "GRAU_ENV": "production",
        "SECRET_KEY": secrets.token_urlsafe(48),
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "CACHE_KEY_PREFIX": f"grau-live-{uuid.uuid4().hex[:8]}",
        "LOG_LEVEL": "WARNING",
        **{name: str(value) for name, value in FAST_ARGON2.items()},
        **extra,
    }


def worker_pids(pid: int) -> list[int]:
    """The worker processes of a server whose main process is `pid`."""
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return []
    return [int(child) for child in children]


@dataclass
class Server:
    """grau's production server (grau/server.py), bound to a free loopback port."""

    env: dict[str, str]
    log: Path
    workers: int | None = 2  # None: the server's own default (one per CPU)
    threads: int | None = 4
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    def start(self) -> Server:
        env = {**os.environ, **self.env, "HOST": "127.0.0.1", "PORT": str(self.port)}
        env.pop("PROMETHEUS_MULTIPROC_DIR", None)  # the server makes its own
        for name, value in (("WEB_CONCURRENCY", self.workers), ("WEB_THREADS", self.threads)):
            if value is None:
                env.pop(name, None)
            else:
                env[name] = str(value)
        self.process = start_server(self.command(), env, self.log)
        self.wait_ready()
        return self

    def command(self) -> list[str]:
        return grau_command()

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process is None or self.process.poll() is not None:
                pytest.fail(f"the server exited:\n{self.output()}")
            with contextlib.suppress(OSError):
                healthy = call(self.port, "GET", "/health", timeout=2).status == 200
                workers = len(self.worker_pids())
                if healthy and workers and workers == (self.workers or workers):
                    return
            time.sleep(0.1)
        pytest.fail(f"the server did not answer /health within {timeout} s:\n{self.output()}")

    def worker_pids(self) -> list[int]:
        assert self.process is not None
        return worker_pids(self.process.pid)

    def stop(self) -> None:
        if self.process is not None:
            stop_server(self.process)
        self.process = None

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-4000:] if self.log.exists() else ""

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        token: str | None = None,
        headers: dict[str, str] | None = None,
        **kwargs: Any,
    ) -> Reply:
        return call(self.port, method, path, body, token, headers, **kwargs)


# --------------------------------------------------------------------- Redis server


class RedisServer:
    """A private redis-server that a test may pause, kill and restart; `options` are
    more of redis-server's (such as `"--replicaof", "127.0.0.1", "<port>"`)."""

    def __init__(self, directory: Path, *options: str) -> None:
        self.directory = directory
        self.options = options
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def client(self) -> redis.Redis:
        return redis.Redis(host="127.0.0.1", port=self.port, socket_timeout=2)

    def command(self) -> list[str]:
        assert REDIS_SERVER is not None
        options = {
            "--port": str(self.port),
            "--save": "",
            "--appendonly": "no",
            "--bind": "127.0.0.1",
            "--dir": str(self.directory),
            "--logfile": "redis.log",
        }
        return [
            REDIS_SERVER,
            *(word for option in options.items() for word in option),
            *self.options,
        ]

    def start(self) -> None:
        self.process = subprocess.Popen(
            self.command(),
            cwd=self.directory,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while True:
            if self.process.poll() is not None:
                pytest.fail(f"redis-server exited: {self._log()}")
            client = self.client()
            try:
                client.ping()
                return
            except redis.RedisError:
                if time.monotonic() > deadline:
                    pytest.fail(f"redis-server did not answer within 10 s: {self._log()}")
                time.sleep(0.05)
            finally:
                client.close()

    def _log(self) -> str:
        path = self.directory / "redis.log"
        return path.read_text()[-2000:] if path.exists() else "(no log)"

    def pause(self) -> None:
        """Hang Redis: connections are accepted by the kernel but never answered."""
        assert self.process is not None
        os.kill(self.process.pid, signal.SIGSTOP)

    def resume(self) -> None:
        assert self.process is not None
        os.kill(self.process.pid, signal.SIGCONT)

    def kill(self) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGCONT)  # a stopped process still dies, but be sure
            self.process.kill()
        self.process.wait(timeout=10)
        self.process = None

    def keys(self, pattern: str) -> list[bytes]:
        client = self.client()
        try:
            return list(client.scan_iter(pattern))
        finally:
            client.close()


class RedisSentinel(RedisServer):
    """A private Redis Sentinel (`redis-server sentinel.conf --sentinel`) that watches
    the primary at `primary_port` as `service`, and fails it over quickly: it is
    down after `down_after_ms` without an answer, when `quorum` sentinels agree."""

    def __init__(
        self,
        directory: Path,
        primary_port: int,
        service: str,
        quorum: int = 2,
        down_after_ms: int = 1000,
        failover_timeout_ms: int = 3000,
    ) -> None:
        super().__init__(directory)
        self.settings = [
            f"port {self.port}",
            "bind 127.0.0.1",
            f"dir {directory}",
            "logfile redis.log",
            f"sentinel monitor {service} 127.0.0.1 {primary_port} {quorum}",
            f"sentinel down-after-milliseconds {service} {down_after_ms}",
            f"sentinel failover-timeout {service} {failover_timeout_ms}",
            f"sentinel parallel-syncs {service} 1",
        ]

    def command(self) -> list[str]:
        assert REDIS_SERVER is not None
        config = self.directory / "sentinel.conf"  # Sentinel rewrites it as it learns
        config.write_text("\n".join(self.settings) + "\n")
        return [REDIS_SERVER, str(config), "--sentinel"]


# ----------------------------------------------------------------- PostgreSQL cluster


class PostgresCluster:
    """A private PostgreSQL cluster (initdb + pg_ctl) in a temporary directory.

    PostgreSQL refuses to run as root, so under root the cluster belongs to the
    `postgres` system user, which Debian's package creates.
    """

    def __init__(self) -> None:
        self.directory = Path(tempfile.mkdtemp(prefix="grau-pg-"))
        self.data = self.directory / "data"
        self.port = free_port()
        self._as: list[str] = []
        if os.geteuid() == 0:
            user = pwd.getpwnam("postgres")
            os.chown(self.directory, user.pw_uid, user.pw_gid)
            self._as = ["runuser", "-u", "postgres", "--"]

    def _run(self, *args: str) -> None:
        result = subprocess.run(
            [*self._as, *args], capture_output=True, text=True, timeout=60, check=False
        )
        if result.returncode != 0:
            pytest.fail(f"{args[0]} failed ({result.returncode}): {result.stderr}{self.log()}")

    def init(self) -> PostgresCluster:
        self._run(
            str(PG_BIN / "initdb"),
            "-D",
            str(self.data),
            "-U",
            "postgres",
            "--auth=trust",
            "-E",
            "UTF8",
            "--no-sync",
        )
        return self

    def start(self) -> None:
        options = (
            f"-p {self.port} -k {self.directory} -c listen_addresses=127.0.0.1 "
            "-c fsync=off -c max_connections=200"
        )
        self._run(
            str(PG_BIN / "pg_ctl"),
            "-D",
            str(self.data),
            "-o",
            options,
            "-l",
            str(self.directory / "postgres.log"),
            "-w",
            "start",
        )

    def stop(self, mode: str = "fast") -> None:
        """`fast` ends every connection at once (what a crash or failover looks like)."""
        self._run(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop")

    def running(self) -> bool:
        return (self.data / "postmaster.pid").exists()

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def log(self) -> str:
        path = self.directory / "postgres.log"
        return path.read_text(errors="replace")[-2000:] if path.exists() else ""

    def destroy(self) -> None:
        if self.running():
            with contextlib.suppress(Exception):
                self.stop("immediate")
        shutil.rmtree(self.directory, ignore_errors=True)
