"""Read replicas on real servers: a private PostgreSQL primary and a streaming standby.

The primary is a private cluster from initdb, the standby a copy of it from
`pg_basebackup -R` streaming from it, both on loopback ports; Redis is the
suite's (a fresh key prefix). Two grau instances (grau.server, two workers
each, as production runs) share them, with `DATABASE_REPLICA_URLS` naming
the standby:

- every write acknowledged on one instance is read at once on the other,
  many times over, with the standby replaying and with its replay paused;
  a logout is refused at once on the other instance;
- reads really use the standby: a row written on the primary behind grau's
  back while replay is paused is not seen by a user who has not written,
  and the standby's read counter (`grau_db_reads_total`) grows;
- a paused standby falls behind as the primary writes: /ready says
  `lagging` on both instances and reads move to the primary (the row is
  seen); resumed, it is `ok` again and serves reads again;
- the standby stopped (`pg_ctl stop -m immediate`) under read traffic loses
  no request, and once started again it serves reads again.

Waits are on conditions with deadlines, or (once) until a bound the design
guarantees has passed, never a sleep that hopes, so the tests hold on a busy
machine.
"""

from __future__ import annotations

import contextlib
import itertools
import re
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import psycopg
import pytest
import redis
from conftest import IN_CI, WEIGHT
from live import LIVE, PG_BIN, Account, PostgresCluster, Server, app_env, migrate, register
from test_sentinel_live import Replicated, replicated  # noqa: F401 (a fixture)

from grau.db.replicas import server_name

pytestmark = LIVE

MAX_LAG = 3  # REPLICA_MAX_LAG, seconds
DEADLINE_S = 30.0  # for a condition that a healthy machine meets in well under a second


class Standby(PostgresCluster):
    """A streaming standby of `primary`: `pg_basebackup -R` instead of initdb."""

    def __init__(self, primary: PostgresCluster) -> None:
        super().__init__()
        self.primary = primary

    def init(self) -> Standby:
        self._run(
            str(PG_BIN / "pg_basebackup"),
            "-D",
            str(self.data),
            "-R",  # standby.signal and primary_conninfo: it streams from the primary
            "-h",
            "127.0.0.1",
            "-p",
            str(self.primary.port),
            "-U",
            "postgres",
            "--no-sync",
            "--checkpoint=fast",  # not a spread checkpoint: minutes on an idle primary
        )
        return self

    def sql(self, statement: str) -> object:
        with psycopg.connect(self.url(), autocommit=True, connect_timeout=5) as connection:
            row = connection.execute(statement).fetchone()
            return row[0] if row else None

    def pause_replay(self) -> None:
        self.sql("SELECT pg_wal_replay_pause()")

    def resume_replay(self) -> None:
        self.sql("SELECT pg_wal_replay_resume()")


@dataclass
class Stack:
    primary: PostgresCluster
    standby: Standby
    a: Server
    b: Server
    env: dict[str, str]  # both instances'

    @property
    def replica(self) -> str:
        """The standby's name in /ready and the metrics."""
        return server_name(self.standby.url("grau"))

    def replica_reads(self) -> float:
        """Reads the standby served, summed over both instances (grau_db_reads_total)."""
        total = 0.0
        for server in (self.a, self.b):
            text = server.request("GET", "/metrics").body.decode()
            pattern = rf'^grau_db_reads_total{{target="{re.escape(self.replica)}"}} (\S+)$'
            total += sum(float(v) for v in re.findall(pattern, text, re.MULTILINE))
        return total

    def replica_status(self, server: Server) -> str:
        ready = server.request("GET", "/ready")
        assert ready.status == 200, ready.body  # a replica never makes an instance unready
        (replica,) = ready.json["replicas"]
        assert replica["name"] == self.replica
        return str(replica["status"])

    def on_primary(self, *statements: tuple[str, tuple[object, ...]]) -> None:
        """Run statements on the primary, in one transaction, behind grau's back."""
        with psycopg.connect(self.primary.url("grau")) as connection:
            for sql, parameters in statements:
                connection.execute(sql, parameters)  # type: ignore[arg-type]


def wait_for(what: str, condition: Callable[[], bool], timeout: float = DEADLINE_S) -> float:
    """Seconds until `condition()` held (polled); fails the test after `timeout`."""
    started = time.monotonic()
    while not condition():
        if time.monotonic() - started > timeout:
            pytest.fail(f"not within {timeout} s: {what}")
        time.sleep(0.05)
    return time.monotonic() - started


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, redis_url: str) -> Iterator[Stack]:
    if not (PG_BIN / "pg_basebackup").exists():
        if IN_CI:
            pytest.fail(f"PostgreSQL's server binaries ({PG_BIN}) are needed in CI")
        pytest.skip(f"PostgreSQL's server binaries are not installed ({PG_BIN})")
    primary = PostgresCluster()
    standby: Standby | None = None
    servers: list[Server] = []
    try:
        primary.init()  # wal_level=replica and replication from loopback: initdb's defaults
        primary.start()
        with psycopg.connect(primary.url(), autocommit=True) as connection:
            connection.execute('CREATE DATABASE "grau"')
        migrate(primary.url("grau"))
        standby = Standby(primary)  # assigned first: cleaned up even if its copy fails
        standby.init()
        standby.start()
        env = app_env(
            primary.url("grau"),
            redis_url,
            DATABASE_REPLICA_URLS=standby.url("grau"),
            REPLICA_MAX_LAG=str(MAX_LAG),
            RATELIMIT_USER="1000000 per minute",
            RATELIMIT_REGISTER="1000 per minute",  # every user here signs up from loopback
            RATELIMIT_LOGIN="1000 per minute",
        )
        # An established deployment: Redis has held the markers all along (a Redis
        # without the epoch key sends reads to the primary while markers come back).
        client = redis.Redis.from_url(redis_url)
        client.set(f"{env['CACHE_KEY_PREFIX']}:replicas:epoch", 1, ex=3600)
        client.close()
        log = tmp_path_factory.mktemp("replicas")
        for name in ("a", "b"):
            servers.append(Server(env, log / f"{name}.log", workers=2, threads=2).start())
        stack = Stack(primary, standby, servers[0], servers[1], env)
        for server in servers:
            wait_for("the standby is ok", lambda s=server: stack.replica_status(s) == "ok")
        yield stack
    finally:
        for server in servers:
            server.stop()
        if standby is not None:
            standby.destroy()
        primary.destroy()


@contextlib.contextmanager
def replay_paused(stack: Stack) -> Iterator[None]:
    stack.standby.pause_replay()
    try:
        yield
    finally:
        stack.standby.resume_replay()


def _stat(server: Server, account: Account) -> str:
    created = server.request(
        "POST", "/v1/body-stats", {**WEIGHT, "value": 70.0}, token=account.token
    )
    assert created.status == 201, created.body
    return str(created.json["id"])


def _read_your_writes(stack: Stack, account: Account, stat: str, rounds: int) -> None:
    """Write on one instance, read at once on the other: the item, and the list; then
    log out on one and be refused on the other."""
    for i in range(rounds):
        writer, reader = (stack.a, stack.b) if i % 2 else (stack.b, stack.a)
        value = 40.0 + i
        change = {"type": "weight", "value": value, "unit": "kg"}
        patched = writer.request("PATCH", f"/v1/body-stats/{stat}", change, token=account.token)
        assert patched.status == 200, patched.body
        item = reader.request("GET", f"/v1/body-stats/{stat}", token=account.token)
        assert (item.status, item.json["value"]) == (200, value), (i, item.body)
        if i % 5 == 0:  # a create, then the list that shows it
            created = _stat(writer, account)
            listed = reader.request("GET", "/v1/body-stats?page_size=100", token=account.token)
            assert listed.status == 200, listed.body
            assert created in {s["id"] for s in listed.json["items"]}, i
    logout = stack.a.request("POST", "/v1/auth/logout", token=account.token)
    assert logout.status == 204, logout.body
    refused = stack.b.request("GET", f"/v1/body-stats/{stat}", token=account.token)
    assert refused.status == 401, refused.body


def _user_on_the_replica(stack: Stack) -> tuple[Account, str]:
    """A user with a body stat, whose reads the standby serves (it has replayed both)."""
    account = register(stack.a.port)
    stat = _stat(stack.a, account)
    wait_for("the standby serves the user", lambda: _served_by_replica(stack, account))
    return account, stat


def test_a_write_is_read_at_once_on_the_other_instance(stack: Stack) -> None:
    account, stat = _user_on_the_replica(stack)
    _read_your_writes(stack, account, stat, rounds=40)


def test_a_write_is_read_at_once_on_the_other_instance_while_replay_is_paused(
    stack: Stack,
) -> None:
    account, stat = _user_on_the_replica(stack)
    with replay_paused(stack):
        _read_your_writes(stack, account, stat, rounds=20)
        # The standby really held none of it: paused, behind the primary.
        assert stack.standby.sql("SELECT pg_get_wal_replay_pause_state()") == "paused"
        behind = "SELECT pg_last_wal_replay_lsn() < %s::pg_lsn"
        with psycopg.connect(stack.primary.url("grau"), autocommit=True) as connection:
            primary = connection.execute("SELECT pg_current_wal_lsn()::text").fetchone()
        assert primary is not None
        assert stack.standby.sql(behind.replace("%s", f"'{primary[0]}'"))


def _hidden_row_test(stack: Stack, reader: Account, note: str) -> tuple[bool, float]:
    """With replay paused (by the caller), write a body stat for `reader` straight into
    the primary (bumping the revision as grau does), and read the list at once on both
    instances: whether any read showed it, and when the insert had committed
    (`time.monotonic()`)."""
    stack.on_primary(
        (
            "INSERT INTO body_stats (id, user_id, type, value, unit, canonical_value,"
            " recorded_at, note, version, created_at, updated_at)"
            " VALUES (%s, %s, 'weight', 80, 'kg', 80, now(), %s, 1, now(), now())",
            (uuid.uuid4(), reader.id, note),
        ),
        ("UPDATE users SET revision = revision + 1 WHERE id = %s", (reader.id,)),
    )
    inserted = time.monotonic()
    seen = False
    for server in (stack.a, stack.b, stack.a, stack.b):
        listed = server.request("GET", "/v1/body-stats?page_size=100", token=reader.token)
        assert listed.status == 200, listed.body
        seen |= any(item["note"] == note for item in listed.json["items"])
    return seen, inserted


def test_reads_use_the_replica_and_move_to_the_primary_while_it_lags(stack: Stack) -> None:
    reader = register(stack.a.port)  # has written (registered, logged in), long ago below
    _stat(stack.a, reader)
    wait_for("the standby serves the reader", lambda: _served_by_replica(stack, reader))

    # Each worker's monitor learns within a poll that the standby holds the reader's
    # writes; until then its reads use the primary, and a read served there would see
    # the row. So an attempt counts only if the standby served all four reads (and within
    # REPLICA_MAX_LAG of the insert, which a very busy machine may miss); else again.
    for attempt in range(5):
        with replay_paused(stack):
            before = stack.replica_reads()
            seen, inserted = _hidden_row_test(stack, reader, f"behind grau's back {attempt}")
            took = time.monotonic() - inserted
            served = stack.replica_reads() - before
            if took < MAX_LAG * 0.8 and served == 4:
                break
        wait_for("the standby is ok", lambda: stack.replica_status(stack.a) == "ok")
        wait_for("the standby serves the reader", lambda: _served_by_replica(stack, reader))
    else:
        pytest.fail("the standby never served four reads within REPLICA_MAX_LAG of the insert")
    assert not seen, "the paused standby served a row it had not replayed"

    with replay_paused(stack):
        # The primary keeps writing: the standby falls behind, in time.
        note = "behind grau's back, while paused"
        _, inserted = _hidden_row_test(stack, reader, note)
        for server in (stack.a, stack.b):
            lagged = wait_for(
                "/ready says lagging", lambda s=server: stack.replica_status(s) == "lagging"
            )
            print(f"the paused standby was reported lagging after {lagged:.1f} s more")
        # /ready answers from one worker; each worker's monitor has its own samples of the
        # primary's position, so another may count the standby current for up to a poll
        # longer. None can past REPLICA_MAX_LAG after the insert: every sample the paused
        # standby has replayed was taken before it (the commit is synchronous on this
        # cluster, so its WAL was written when it returned), and markers and a worker's
        # own records only ever send reads to the primary. From then on, every read is
        # the primary's: the row is there, and the standby serves nothing.
        time.sleep(max(0.0, inserted + MAX_LAG + 0.1 - time.monotonic()))
        served = stack.replica_reads()
        for _ in range(3):  # (each over both instances and, most likely, both workers)
            assert _shown_everywhere(stack, reader, note)
        assert stack.replica_reads() == served, "a read went to the lagging standby"

    for server in (stack.a, stack.b):
        wait_for("/ready says ok again", lambda s=server: stack.replica_status(s) == "ok")
    wait_for("the standby serves reads again", lambda: _served_by_replica(stack, reader))


def _shown_everywhere(stack: Stack, account: Account, note: str) -> bool:
    """Whether reads on both instances (a few, over both workers) show the note."""
    for server in (stack.a, stack.b, stack.a, stack.b):
        listed = server.request("GET", "/v1/body-stats?page_size=100", token=account.token)
        assert listed.status == 200, listed.body
        if note not in {item["note"] for item in listed.json["items"]}:
            return False
    return True


def _served_by_replica(stack: Stack, account: Account) -> bool:
    before = stack.replica_reads()
    for server in (stack.a, stack.b):
        reply = server.request("GET", "/v1/body-stats?page_size=100", token=account.token)
        assert reply.status == 200, reply.body
    return stack.replica_reads() > before


@dataclass
class ReadTraffic:
    """Readers looping over GETs on both instances until stopped: every answer recorded."""

    stack: Stack
    accounts: list[Account]
    answers: list[tuple[int, str]]
    stop: threading.Event

    def run(self, account: Account, stat: str) -> None:
        paths = [f"/v1/body-stats/{stat}", "/v1/body-stats?page_size=20", "/v1/users/me"]
        i = 0
        while not self.stop.is_set():
            server = (self.stack.a, self.stack.b)[i % 2]
            path = paths[i % len(paths)]
            try:
                reply = server.request("GET", path, token=account.token, timeout=20)
                self.answers.append((reply.status, path))
            except OSError as exc:
                self.answers.append((0, f"{path} {exc!r}"))
            i += 1


def test_stopping_the_replica_under_read_traffic_loses_no_request(stack: Stack) -> None:
    accounts = [register(stack.a.port) for _ in range(4)]
    stats = [_stat(stack.a, account) for account in accounts]
    for account in accounts:
        wait_for("the standby serves reads", lambda a=account: _served_by_replica(stack, a))
    traffic = ReadTraffic(stack, accounts, [], threading.Event())
    threads = [
        threading.Thread(target=traffic.run, args=(account, stat))
        for account, stat in zip(accounts, stats, strict=True)
    ]
    for thread in threads:
        thread.start()
    try:
        wait_for("reads before the stop", lambda: len(traffic.answers) > 40)
        stack.standby.stop("immediate")
        stopped_at = len(traffic.answers)
        for server in (stack.a, stack.b):
            wait_for("/ready says down", lambda s=server: stack.replica_status(s) == "down")
        wait_for("reads while it is down", lambda: len(traffic.answers) > stopped_at + 40)
        stack.standby.start()
        for server in (stack.a, stack.b):
            wait_for("/ready says ok again", lambda s=server: stack.replica_status(s) == "ok")
        back = stack.replica_reads()
        wait_for("the standby serves reads again", lambda: stack.replica_reads() > back)
    finally:
        traffic.stop.set()
        for thread in threads:
            thread.join(timeout=60)
    failed = [answer for answer in traffic.answers if answer[0] != 200]
    print(f"reads: {len(traffic.answers)}, failed: {len(failed)}")
    assert not failed, failed[:20]
    assert len(traffic.answers) > stopped_at + 40


@pytest.fixture(scope="module")
def cut_off(stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A third instance whose Redis refuses every connection (a partition between it and
    Redis): it cannot record its writes there."""
    with socket.socket() as closed:  # a port nobody listens on
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    env = {**stack.env, "REDIS_URL": f"redis://127.0.0.1:{port}/0"}
    log = tmp_path_factory.mktemp("replicas-cut-off") / "server.log"
    server = Server(env, log, workers=1, threads=2).start()
    try:
        wait_for("the standby is ok", lambda: stack.replica_status(server) == "ok")
        yield server
    finally:
        server.stop()


def test_a_write_on_an_instance_cut_off_from_redis_is_read_at_once_elsewhere(
    stack: Stack, cut_off: Server
) -> None:
    """Its write is acknowledged only once the standby has replayed it, or once no
    instance would read from the standby: with replay running, and paused."""
    account, stat = _user_on_the_replica(stack)
    for paused, rounds in ((False, 5), (True, 2)):
        with replay_paused(stack) if paused else contextlib.nullcontext():
            for i in range(rounds):
                value = 100.0 + i + (50 if paused else 0)
                change = {"type": "weight", "value": value, "unit": "kg"}
                url = f"/v1/body-stats/{stat}"
                patched = cut_off.request("PATCH", url, change, token=account.token)
                assert patched.status == 200, patched.body
                print(f"write on the cut-off instance (paused: {paused}): {patched.elapsed:.2f} s")
                for reader in (stack.a, stack.b):
                    item = reader.request("GET", url, token=account.token)
                    assert (item.status, item.json["value"]) == (200, value), (paused, i)
            if paused:
                logout = cut_off.request("POST", "/v1/auth/logout", token=account.token)
                assert logout.status == 204, logout.body
                for reader in (stack.a, stack.b):
                    refused = reader.request("GET", f"/v1/body-stats/{stat}", token=account.token)
                    assert refused.status == 401, refused.body
        wait_for("the standby is ok", lambda: stack.replica_status(stack.a) == "ok")


def test_read_your_writes_holds_while_redis_sentinel_fails_over(
    stack: Stack,
    replicated: Replicated,  # noqa: F811
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    """Markers behind Redis Sentinel: the Redis primary SIGKILLed while a user writes on
    one instance and reads at once on the other. Every read shows the write before it,
    no request fails, and markers land on the promoted primary afterwards."""
    prefix = f"grau-replicas-sentinel-{uuid.uuid4().hex[:8]}"
    env = {**stack.env, "REDIS_URL": replicated.url, "CACHE_KEY_PREFIX": prefix}
    log = tmp_path_factory.mktemp("replicas-sentinel")
    pair = [Server(env, log / f"{n}.log", workers=1, threads=2).start() for n in ("a", "b")]
    try:
        account = register(pair[0].port)
        stat = _stat(pair[0], account)
        url = f"/v1/body-stats/{stat}"
        killed_at = None
        for i in itertools.count():
            writer, reader = pair[i % 2], pair[(i + 1) % 2]
            change = {"type": "weight", "value": 40.0 + i % 100, "unit": "kg"}
            patched = writer.request("PATCH", url, change, token=account.token)
            assert patched.status == 200, (i, patched.body)
            item = reader.request("GET", url, token=account.token)
            assert (item.status, item.json["value"]) == (200, change["value"]), (i, item.body)
            if i == 10:
                replicated.primary.kill()  # SIGKILL
                killed_at = i
            if killed_at is not None and replicated.promoted() and i > killed_at + 10:
                break
            assert i < 2000, "Sentinel never promoted the replica"
        logs = "".join(server.log.read_text(errors="replace") for server in pair)
        assert "redis unreachable" in logs, "no request met the failover"
        print(f"{i + 1} writes, each read at once; Redis failed over after write {killed_at}")
        marker = f"{prefix}:replicas:written:{account.id}"
        promoted = replicated.replica.client()
        try:
            wait_for("a marker on the promoted primary", lambda: promoted.exists(marker) == 1)
        finally:
            promoted.close()
    finally:
        for server in pair:
            server.stop()
