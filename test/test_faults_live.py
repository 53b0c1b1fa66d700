"""Faults under live traffic: Redis stopped, PostgreSQL stopped, server workers killed.

Each scenario runs grau's production server (grau.server)
on a fresh database, sends real HTTP from several threads, breaks something
mid-run and checks what the clients saw and what the database holds:

- Redis killed or hung (private redis-server), with rate limits counting in
  it: no request fails, none waits much longer than one Redis timeout, and
  every read, during the outage and after it, shows every write made before.
- PostgreSQL stopped (a private cluster from initdb, never the shared one):
  503 problem responses with Retry-After, never a 500; /ready says so; the
  API recovers by itself within seconds of PostgreSQL's return.
- Workers SIGKILLed while they write: every write the server acknowledged
  (201) is in the database, and clients that retry a broken request with
  its Idempotency-Key end up with every write stored exactly once.

Timings are printed, not asserted (the machine is shared), beyond generous
bounds that only a hang would cross.
"""

from __future__ import annotations

import os
import random
import signal
import statistics
import subprocess
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from conftest import WEIGHT, Database
from live import (
    LIVE,
    PG_BIN,
    PYTHON,
    REDIS_SERVER,
    Account,
    Client,
    PostgresCluster,
    RedisServer,
    Reply,
    Server,
    app_env,
    drive,
    migrate,
    register,
    require,
)
from sqlalchemy import text

from grau.db.session import make_engine

pytestmark = LIVE

# A request may pay one Redis timeout (250 ms) when an outage starts; anything
# near this bound is a hang, whatever the machine's load.
HANG_S = 5.0
MIN_KILLS = 5


def _timing_report(label: str, seconds: list[float]) -> str:
    if not seconds:
        return f"{label}: no requests"
    ordered = sorted(seconds)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return (
        f"{label}: {len(ordered)} requests, median {statistics.median(ordered) * 1000:.0f} ms, "
        f"p99 {p99 * 1000:.0f} ms, max {ordered[-1] * 1000:.0f} ms"
    )


# ------------------------------------------------------------------------ Redis down


@pytest.fixture(params=["killed", "hung"])
def redis_outage(
    request: pytest.FixtureRequest,
    new_database: Callable[[], Database],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[str, RedisServer, Server]]:
    require(REDIS_SERVER, "redis-server")
    redis_server = RedisServer(tmp_path_factory.mktemp("redis"))
    redis_server.start()
    db = new_database()
    migrate(db.url)
    # Rate limits count in Redis (in batches of 100 requests at this limit), so the
    # traffic below meets the outage without ever reaching the limit.
    env = app_env(db.url, redis_server.url, RATELIMIT_USER="1000000 per minute")
    log = tmp_path_factory.mktemp("redis-outage") / "server.log"
    server = Server(env, log, workers=2, threads=4).start()
    try:
        yield request.param, redis_server, server
    finally:
        server.stop()
        redis_server.kill()


def test_redis_outage_under_mixed_traffic_fails_nothing_and_hides_no_write(
    redis_outage: tuple[str, RedisServer, Server],
) -> None:
    kind, redis_server, server = redis_outage
    clients = [Client(server, register(server.port)) for _ in range(4)]
    for client in clients:
        client.step("before", 0)  # each starts with one stat

    def break_redis() -> None:
        if kind == "killed":
            redis_server.kill()
        else:
            redis_server.pause()

    def restore_redis() -> None:
        if kind == "killed":
            redis_server.start()  # same port, empty
        else:
            redis_server.resume()

    drive(
        clients,
        [
            ("before", 2.0, lambda: None),
            ("outage", 4.0, break_redis),
            ("after", 2.0, restore_redis),
        ],
    )

    seen = [s for c in clients for s in c.seen]
    for phase in ("before", "outage", "after"):
        print(_timing_report(f"redis {kind}, {phase}", [s[3] for s in seen if s[0] == phase]))
    failures = [f for c in clients for f in c.failures()]
    assert not failures, failures[:20]
    assert any(s[0] == "outage" for s in seen), "no request was sent during the outage"
    slow = [s for s in seen if s[3] >= HANG_S]
    assert not slow, slow
    written_during = [i for c in clients for i, p in c.written_in.items() if p == "outage"]
    assert written_during, "nothing was written during the outage"

    for client in clients:
        for _ in range(4):  # new connections: both workers answer, every page
            assert client.listed("check") == client.expected
        for stat, value in client.expected.items():
            assert client.send("check", "GET", f"/v1/body-stats/{stat}").json["value"] == value
    # Each process adds to Redis once it has counted a batch (100 requests at this limit):
    # on a busy machine the phases above may not reach one, so traffic goes on until it has.
    deadline = time.monotonic() + 60
    while not redis_server.keys("*") and time.monotonic() < deadline:
        for client in clients:
            client.listed("check")
    assert redis_server.keys("*"), "grau is not counting in Redis again after the outage"


# ------------------------------------------------------------------- PostgreSQL down


@pytest.fixture
def private_postgres(
    redis_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[PostgresCluster, Server]]:
    require((PG_BIN / "initdb").exists(), f"PostgreSQL's initdb ({PG_BIN})")
    cluster = PostgresCluster().init()
    try:
        cluster.start()
        admin = make_engine(cluster.url())
        with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text('CREATE DATABASE "grau"'))
        admin.dispose()
        migrate(cluster.url("grau"))
        env = app_env(cluster.url("grau"), redis_url, RATELIMIT_ENABLED="false")
        log = tmp_path_factory.mktemp("pg-outage") / "server.log"
        server = Server(env, log, workers=2, threads=2).start()
        try:
            yield cluster, server
        finally:
            server.stop()
    finally:
        cluster.destroy()


def _is_retryable_problem(reply: Reply) -> bool:
    return (
        reply.status == 503
        and reply.content_type == "application/problem+json"
        and (reply.header("Retry-After") or "").isdigit()
    )


def test_postgres_outage_is_503_with_retry_after_and_recovers_without_restart(
    private_postgres: tuple[PostgresCluster, Server],
) -> None:
    cluster, server = private_postgres
    account = register(server.port)
    token = account.token
    stat = server.request("POST", "/v1/body-stats", WEIGHT, token=token)
    assert stat.status == 201, stat.body
    item = f"/v1/body-stats/{stat.json['id']}"
    patch = {"type": "weight", "value": 70.0, "unit": "kg"}
    login = {"email": account.email, "password": "correct horse battery"}
    requests: list[tuple[str, str, Any, str | None]] = [
        ("POST", "/v1/body-stats", WEIGHT, token),
        ("PATCH", item, patch, token),
        ("DELETE", item, None, token),
        ("GET", "/v1/body-stats?page_size=7", None, token),  # never cached before
        ("POST", "/v1/auth/login", login, None),
        ("GET", "/v1/users/me", None, token),
    ]

    cluster.stop("fast")
    try:
        during = [
            (method, path, server.request(method, path, body, token=auth))
            for _ in range(3)  # new connections: every worker and pooled connection
            for method, path, body, auth in requests
        ]
        ready = server.request("GET", "/ready")
        health = server.request("GET", "/health")
    finally:
        cluster.start()
    back = time.monotonic()
    recovered_after = None
    while time.monotonic() - back < 30:
        if server.request("POST", "/v1/body-stats", WEIGHT, token=token).status == 201:
            recovered_after = time.monotonic() - back
            break
        time.sleep(0.2)
    print(_timing_report("postgres down", [r.elapsed for _, _, r in during]))
    print(f"postgres back: first successful write after {recovered_after} s")

    wrong = [(m, p, r.status, r.body[:200]) for m, p, r in during if not _is_retryable_problem(r)]
    assert not wrong, wrong
    assert _is_retryable_problem(ready)
    assert ready.json["database"]["status"] == "down"
    assert health.status == 200  # alive: the load balancer should wait, not restart it
    assert recovered_after is not None, "no write succeeded within 30 s of PostgreSQL's return"
    after = [server.request(m, p, b, token=t) for _ in range(3) for m, p, b, t in requests[:2]]
    assert [r.status for r in after] == [201, 200] * 3, [(r.status, r.body) for r in after]
    assert server.request("GET", "/ready").status == 200


# --------------------------------------------------------------------- workers killed


@pytest.fixture
def server_for_kills(
    new_database: Callable[[], Database], redis_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Database, Server]]:
    db = new_database()
    migrate(db.url)
    env = app_env(db.url, redis_url, RATELIMIT_ENABLED="false")
    log = tmp_path_factory.mktemp("kills") / "server.log"
    server = Server(env, log, workers=3, threads=2).start()
    try:
        yield db, server
    finally:
        server.stop()


@dataclass
class Writer:
    """Writes body stats, each with its own Idempotency-Key, retrying until acknowledged."""

    server: Server
    account: Account
    acknowledged: dict[str, str] = field(default_factory=dict)  # {note: id}
    broken: int = 0  # requests whose connection died
    unexpected: list[tuple[int, bytes]] = field(default_factory=list)

    def write(self, stop: threading.Event) -> None:
        while not stop.is_set():
            note = f"kill-test-{uuid.uuid4().hex}"
            key = {"Idempotency-Key": note}
            for _ in range(200):  # a bound, not a retry policy: 200 x 50 ms
                try:
                    reply = self.server.request(
                        "POST", "/v1/body-stats", {**WEIGHT, "note": note},
                        token=self.account.token, headers=key, timeout=20,
                    )  # fmt: skip
                except OSError:
                    self.broken += 1  # the worker died under it: retry with the same key
                    time.sleep(0.05)
                    continue
                if reply.status == 201:
                    self.acknowledged[note] = reply.json["id"]
                    break
                self.unexpected.append((reply.status, reply.body[:300]))
                time.sleep(0.05)


def test_workers_killed_mid_request_lose_and_double_no_acknowledged_write(
    server_for_kills: tuple[Database, Server],
) -> None:
    db, server = server_for_kills
    writers = [Writer(server, register(server.port)) for _ in range(6)]
    stop = threading.Event()
    threads = [threading.Thread(target=w.write, args=(stop,)) for w in writers]
    for thread in threads:
        thread.start()
    kills = 0
    try:
        started = time.monotonic()
        deadline = started + float(os.environ.get("GRAU_KILL_SECONDS", "8"))
        # At least MIN_KILLS kills, however slowly a busy machine respawns workers
        # (there may be none alive to kill for a while); a hang still ends the loop.
        while (time.monotonic() < deadline or kills < MIN_KILLS) and (
            time.monotonic() - started < HANG_S * 12
        ):
            time.sleep(random.uniform(0.3, 0.8))
            pids = server.worker_pids()
            if pids:
                os.kill(random.choice(pids), signal.SIGKILL)
                kills += 1
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=120)

    engine = make_engine(db.url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                text("SELECT id, note FROM body_stats WHERE note LIKE 'kill-test-%'")
            ).all()
    finally:
        engine.dispose()
    acknowledged = {note: i for w in writers for note, i in w.acknowledged.items()}
    broken = sum(w.broken for w in writers)
    print(
        f"workers killed: {kills}; writes acknowledged: {len(acknowledged)}; "
        f"requests broken by a kill and retried: {broken}; rows found: {len(rows)}"
    )
    assert kills >= MIN_KILLS
    # Workers killed seconds apart (what granian alone treats as a crash loop and
    # ends the server for) are all replaced: the server is still there, at full strength.
    assert server.process is not None and server.process.poll() is None, server.output()
    deadline = time.monotonic() + HANG_S * 6
    while len(server.worker_pids()) < 3 and time.monotonic() < deadline:
        time.sleep(0.2)
    assert len(server.worker_pids()) == 3, server.output()
    server.wait_ready()
    assert not [u for w in writers for u in w.unexpected], [w.unexpected for w in writers]
    stored: dict[str, list[str]] = {}
    for row_id, note in rows:
        stored.setdefault(note, []).append(str(row_id))
    # Every acknowledged write is there, once, under the id the client was given...
    assert {note: ids for note, ids in stored.items() if len(ids) != 1} == {}
    assert {note: ids[0] for note, ids in stored.items() if note in acknowledged} == acknowledged
    # ...and nothing else is: a write whose client gave up mid-retry (at stop) at most once.
    unacknowledged = set(stored) - set(acknowledged)
    assert len(unacknowledged) <= len(writers), unacknowledged


class UnbootableServer(Server):
    """grau.server with an app factory that does not exist: every worker fails as it starts."""

    def command(self) -> list[str]:
        code = "import sys; from grau import server; sys.exit(server.main(target='app:missing'))"
        return [str(PYTHON), "-c", code]


def test_a_server_whose_app_cannot_boot_exits_with_an_error_instead_of_respawning(
    tmp_path: Path,
) -> None:
    server = UnbootableServer({}, tmp_path / "server.log", workers=2, threads=1)
    env = {**os.environ, "HOST": "127.0.0.1", "PORT": str(server.port), "WEB_CONCURRENCY": "2"}
    with server.log.open("wb") as log:
        process = subprocess.run(
            server.command(), env=env, stdout=log, stderr=subprocess.STDOUT, timeout=HANG_S * 12
        )
    assert process.returncode == 1, server.output()
    assert "the app cannot boot" in server.output()
