"""Redis Sentinel fails the primary over under live traffic: no request fails, and grau
counts on the new primary without a restart.

A private Redis primary, its replica and three sentinels (quorum 2, the primary
called down after a second without an answer) on loopback ports; two grau servers
(grau.server, as production runs) on one database, with
`REDIS_URL=redis+sentinel://<the three sentinels>/<service>` and one key prefix.
Clients read and write body stats on both servers, and sign in over and over
(each sign-in counts in Redis at once), while the primary is SIGKILLed. Once
every sentinel names the promoted replica:

- no request failed (no 5xx, no 429, no broken connection), during or after;
- every read shows every write;
- a sign-in counted through each server lands on one key of the promoted
  primary: both share their counters there again, with no restart;
- `/ready` reports Redis ok on both.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest
import redis
from conftest import Database
from live import (
    LIVE,
    PASSWORD,
    REDIS_SERVER,
    Client,
    RedisSentinel,
    RedisServer,
    Server,
    app_env,
    call,
    drive,
    migrate,
    register,
    require,
)

pytestmark = LIVE

SERVICE = "grau-counters"
PREFIX = "grau-sentinel-live"
HANG_S = 5.0  # no request waits on Redis for more than a timeout; this is a hang
# Fresh client addresses (all of 127/8 is loopback): a count under a new address
# can only have been written after the failover.
ADDRESSES = (f"127.0.{i}.{j}" for i, j in itertools.product(range(2, 250), range(2, 250)))


def until(condition: Callable[[], bool], what: str, timeout: float) -> None:
    """Wait for `condition` (polled), or fail saying `what` did not happen in time."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"{what} did not happen within {timeout} s")
        time.sleep(0.05)


@dataclass
class Replicated:
    """A primary, its replica and three sentinels watching them."""

    primary: RedisServer
    replica: RedisServer
    sentinels: list[RedisSentinel]

    @property
    def url(self) -> str:
        hosts = ",".join(f"127.0.0.1:{s.port}" for s in self.sentinels)
        return f"redis+sentinel://{hosts}/{SERVICE}"

    def _ask(self, ask: Callable[[redis.Redis], bool]) -> bool:
        for sentinel in self.sentinels:
            client = sentinel.client()
            try:
                if not ask(client):
                    return False
            except redis.RedisError:
                return False
            finally:
                client.close()
        return True

    def watched(self) -> bool:
        """Every sentinel knows the other two and sees the replica in sync: a failover can
        elect a leader and has a replica to promote."""

        def ready(client: redis.Redis) -> bool:
            primary = client.sentinel_master(SERVICE)
            replicas = client.sentinel_slaves(SERVICE)
            return (
                primary["port"] == self.primary.port
                and primary["num-other-sentinels"] == len(self.sentinels) - 1
                and len(replicas) == 1
                and replicas[0]["master-link-status"] == "ok"
                and not replicas[0]["is_sdown"]
            )

        return self._ask(ready)

    def promoted(self) -> bool:
        """Every sentinel names the replica as the primary, and it acts as one."""
        new = (b"127.0.0.1", self.replica.port)
        if not self._ask(lambda c: c.sentinel_get_master_addr_by_name(SERVICE) == new):
            return False
        client = self.replica.client()
        try:
            return client.info("replication")["role"] == "master"
        finally:
            client.close()

    def stop(self) -> None:
        for server in (*self.sentinels, self.replica, self.primary):
            server.kill()


@pytest.fixture
def replicated(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Replicated]:
    require(REDIS_SERVER, "redis-server")
    # No delay before the first sync (Redis waits 5 s for more replicas by default).
    primary = RedisServer(tmp_path_factory.mktemp("primary"), "--repl-diskless-sync-delay", "0")
    primary.start()
    replica = RedisServer(
        tmp_path_factory.mktemp("replica"), "--replicaof", "127.0.0.1", str(primary.port)
    )
    sentinels = [
        RedisSentinel(tmp_path_factory.mktemp(f"sentinel{i}"), primary.port, SERVICE)
        for i in range(3)
    ]
    cluster = Replicated(primary, replica, sentinels)
    try:
        replica.start()
        for sentinel in sentinels:
            sentinel.start()
        # Sentinels find each other through the primary every 2 s.
        until(cluster.watched, "the sentinels' discovery of each other and the replica", 30)
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture
def servers(
    replicated: Replicated,
    new_database: Callable[[], Database],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[list[Server]]:
    db = new_database()
    migrate(db.url)
    env = app_env(
        db.url,
        replicated.url,
        CACHE_KEY_PREFIX=PREFIX,  # one prefix: the two servers share their counters
        RATELIMIT_USER="1000000 per minute",
        RATELIMIT_LOGIN="1000000 per minute",
        RATELIMIT_REGISTER="1000000 per minute",
    )
    logs = tmp_path_factory.mktemp("sentinel-servers")
    started: list[Server] = []
    try:
        for name in ("a", "b"):
            started.append(Server(env, logs / f"{name}.log", workers=2, threads=2).start())
        yield started
    finally:
        for server in started:
            server.stop()


class SignIns(Client):
    """Signs in again and again: each sign-in counts in Redis, not in batches."""

    def step(self, phase: str, i: int) -> None:
        login = {"email": self.account.email, "password": PASSWORD}
        self.send(phase, "POST", "/v1/auth/login", login)


def sign_in_count(server: Server, other: Server, promoted: RedisServer) -> int:
    """Sign in once through each server from a new address; that address's count of
    sign-ins on the promoted primary."""
    address = next(ADDRESSES)
    account = register(server.port)
    login = {"email": account.email, "password": PASSWORD}
    for through in (server, other):
        reply = call(through.port, "POST", "/v1/auth/login", login, source=address)
        assert reply.status == 200, reply.body
    client = promoted.client()
    try:
        keys = list(client.scan_iter(f"{PREFIX}:rl:*RATELIMIT_LOGIN/address:{address}/*"))
        return sum(int(client.get(key) or 0) for key in keys)
    finally:
        client.close()


def test_primary_killed_under_traffic_fails_nothing_and_counting_moves_to_the_new_primary(
    replicated: Replicated, servers: list[Server]
) -> None:
    a, b = servers
    clients = [Client(server, register(server.port)) for server in (a, b, a, b)]
    clients += [SignIns(server, register(server.port)) for server in (a, b)]
    for client in clients[:4]:
        client.step("before", 0)  # each starts with one stat

    failover: dict[str, float] = {}

    def wait_for_promotion() -> None:
        started = time.monotonic()
        until(replicated.promoted, "the replica's promotion", 30)
        failover["seconds"] = time.monotonic() - started

    drive(
        clients,
        [
            ("before", 1.5, lambda: None),
            ("failover", 0.0, replicated.primary.kill),  # SIGKILL
            ("after", 2.0, wait_for_promotion),
        ],
    )
    seen = [s for c in clients for s in c.seen]
    print(f"promoted {failover['seconds']:.1f} s after the kill; requests by phase:", end=" ")
    print({phase: sum(s[0] == phase for s in seen) for phase in ("before", "failover", "after")})

    failures = [f for c in clients for f in c.failures()]
    assert not failures, failures[:20]
    assert sum(s[0] == "failover" and "login" in s[1] for s in seen) >= 2, "no sign-in met it"
    assert not [s for s in seen if s[3] >= HANG_S]
    logs = "".join(server.log.read_text(errors="replace") for server in servers)
    assert "redis unreachable" in logs, "no request met the failover (or it went unnoticed)"

    for client in clients[:4]:
        assert client.listed("check") == client.expected
    # A process that failed in the last second counts alone until its retry: new
    # addresses until both servers' sign-ins land on the promoted primary.
    until(
        lambda: sign_in_count(a, b, replicated.replica) == 2,
        "a count through each server on the promoted primary",
        20,
    )
    for server in servers:
        until(
            lambda server=server: server.request("GET", "/ready").json["redis"]["status"] == "ok",
            "/ready reporting Redis ok",
            10,
        )
