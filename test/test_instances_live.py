"""Several instances on one PostgreSQL behave as one API, whatever happens to Redis.

Needs TEST_DATABASE_URL and TEST_REDIS_URL. Every instance is grau's production
server (grau.server: granian) on the same fresh, migrated database, with the
same SECRET_KEY and key prefix:

- A and B share the suite's Redis: a token, a logout, a write and a rate-limit
  counter made on one are seen by the other at once.
- P is partitioned from Redis: its REDIS_URL names a port where nothing
  listens, so every Redis call it makes is refused.
- T's Redis never answers: its REDIS_URL names a socket that accepts
  connections and then says nothing, so every Redis call it makes waits for
  its timeout (REDIS_SOCKET_TIMEOUT_MS) and fails.
- K kills its worker right after a commit when a request asks it to
  (test/crash_after_commit.py): the client gets no answer, the commit stands.
- R has a private Redis that the test kills and restarts while it serves.

Each test writes and logs out on one instance and reads on another right
after the acknowledgement: read-your-writes holds on every instance and a
revoked token is refused everywhere, with no waiting and nothing left to
chance. The partitioned and hung instances count rate limits with every
request (a limit of 50 a minute syncs each request), so they really do meet
their broken Redis on the requests the tests send.

Rate limits key on the client address, and every request here comes over
loopback; each client therefore talks from its own 127.x.y.z source address
(all of 127/8 is loopback on Linux), so one test's logins never spend
another's budget.
"""

from __future__ import annotations

import secrets
import socket
import sys
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest
from alembic import command
from conftest import IN_CI, WEIGHT, Database, alembic_config
from live import LIVE, PYTHON, REDIS_SERVER, RedisServer, Reply, Server, app_env, free_port

pytestmark = LIVE

PASSWORD = "correct horse battery"
LOGIN_LIMIT = 4  # RATELIMIT_LOGIN below
TIMEOUT_MS = 250
CRASH_HEADER = "X-Test-Crash-After-Commit"
HERE = Path(__file__).resolve().parent


def _new_source_address() -> str:
    """A loopback address no other client in this run uses (never 127.0.0.1)."""
    return f"127.{secrets.randbelow(254) + 1}.{secrets.randbelow(256)}.{secrets.randbelow(254) + 1}"


class SilentRedis:
    """A TCP port that accepts connections and never answers: a hung Redis."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(1024)  # the kernel completes handshakes; nobody ever reads

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.sock.getsockname()[1]}/0"

    def close(self) -> None:
        self.sock.close()


@dataclass
class Instances:
    a: Server
    b: Server
    partitioned: Server
    hung: Server
    crashing: Server
    recovering: Server
    redis: RedisServer


class CrashingServer(Server):
    """grau.server serving test/crash_after_commit.py's app instead of app.py's."""

    def command(self) -> list[str]:
        code = (
            f"import sys; sys.path.insert(0, {str(HERE)!r}); from grau import server; "
            "sys.exit(server.main(target='crash_after_commit:create_app'))"
        )
        return [str(PYTHON), "-c", code]


@pytest.fixture(scope="module")
def instances(
    new_database: Callable[[], Database],
    redis_url: str,  # fails the run, rather than skipping, if TEST_REDIS_URL is unusable
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Instances]:
    if REDIS_SERVER is None:
        if IN_CI:
            pytest.fail("redis-server is not installed; these tests need it in CI")
        pytest.skip("redis-server is not installed")
    db = new_database()
    command.upgrade(alembic_config(db.url), "head")
    tmp = tmp_path_factory.mktemp("instances")
    shared = app_env(
        db.url,
        redis_url,
        SECRET_KEY=secrets.token_urlsafe(48),
        CACHE_KEY_PREFIX=f"grau-instances-{uuid.uuid4().hex[:8]}",
        RATELIMIT_LOGIN=f"{LOGIN_LIMIT} per minute",
        REDIS_SOCKET_TIMEOUT_MS=str(TIMEOUT_MS),
    )
    counting = {**shared, "RATELIMIT_USER": "50 per minute"}  # every request meets Redis
    silent = SilentRedis()
    private = RedisServer(tmp)
    private.start()
    nowhere = f"redis://127.0.0.1:{free_port()}/0"
    servers = [
        Server(shared, tmp / "a.log", workers=1, threads=2),
        Server(shared, tmp / "b.log", workers=1, threads=2),
        Server({**counting, "REDIS_URL": nowhere}, tmp / "partitioned.log", workers=1, threads=2),
        Server({**counting, "REDIS_URL": silent.url}, tmp / "hung.log", workers=1, threads=2),
        CrashingServer(shared, tmp / "crashing.log", workers=2, threads=2),
        Server(
            {**counting, "REDIS_URL": private.url}, tmp / "recovering.log", workers=1, threads=2
        ),
    ]
    try:
        for server in servers:
            server.start()
        yield Instances(*servers, redis=private)  # type: ignore[misc]
    finally:
        for server in servers:
            server.stop()
        private.kill()
        silent.close()


@dataclass
class Account:
    email: str
    token: str
    source: str


def register(server: Server, source: str | None = None) -> str:
    email = f"inst-{uuid.uuid4().hex[:12]}@example.com"
    body = {"email": email, "password": PASSWORD}
    created = server.request("POST", "/v1/users", body, source=source or _new_source_address())
    assert created.status == 201, created.body
    return email


def log_in(server: Server, email: str | None = None) -> Account:
    source = _new_source_address()
    email = email or register(server, source)
    credentials = {"email": email, "password": PASSWORD}
    login = server.request("POST", "/v1/auth/login", credentials, source=source)
    assert login.status == 200, login.body
    return Account(email, login.json["access_token"], source)


def get(server: Server, path: str, account: Account) -> Reply:
    return server.request("GET", path, token=account.token, source=account.source)


def values(server: Server, account: Account) -> dict[str, float]:
    """The account's body stats as `server` lists them: {id: value}."""
    listed = get(server, "/v1/body-stats?page_size=100", account)
    assert listed.status == 200, listed.body
    return {item["id"]: item["value"] for item in listed.json["items"]}


def create(server: Server, account: Account, value: float) -> str:
    created = server.request(
        "POST", "/v1/body-stats", {**WEIGHT, "value": value}, account.token, source=account.source
    )
    assert created.status == 201, created.body
    return str(created.json["id"])


def patch(server: Server, account: Account, stat_id: str, value: float) -> None:
    body = {"type": "weight", "value": value, "unit": "kg"}
    patched = server.request(
        "PATCH", f"/v1/body-stats/{stat_id}", body, account.token, source=account.source
    )
    assert patched.status == 200, patched.body


def read_everywhere(servers: list[Server], account: Account, stat_id: str) -> list[object]:
    """What each server shows of the stat: as an item and in the list."""
    seen: list[object] = []
    for server in servers:
        item = get(server, f"/v1/body-stats/{stat_id}", account)
        assert item.status == 200, item.body
        seen += [item.json["value"], values(server, account)[stat_id]]
    return seen


def logout(server: Server, account: Account) -> None:
    reply = server.request("POST", "/v1/auth/logout", token=account.token, source=account.source)
    assert reply.status == 204, reply.body


# ------------------------------------------------------------------- healthy Redis


def test_a_token_from_one_instance_works_on_the_other_until_logout_there(
    instances: Instances,
) -> None:
    account = log_in(instances.a)
    # B serves the profile, so a cached answer would show below.
    me = get(instances.b, "/v1/users/me", account)
    assert (me.status, me.json["email"]) == (200, account.email)

    logout(instances.a, account)

    refused = get(instances.b, "/v1/users/me", account)
    assert refused.status == 401, refused.body
    assert refused.headers["WWW-Authenticate"].startswith("Bearer")


def test_a_write_on_one_instance_is_read_fresh_on_the_other(instances: Instances) -> None:
    account = log_in(instances.a)
    stat = create(instances.a, account, 72.5)
    before = get(instances.b, f"/v1/body-stats/{stat}", account)  # B caches the item
    assert read_everywhere([instances.b], account, stat) == [72.5, 72.5]  # and the list

    patch(instances.a, account, stat, 71.0)
    assert read_everywhere([instances.b], account, stat) == [71.0, 71.0]
    after = get(instances.b, f"/v1/body-stats/{stat}", account)
    assert after.headers["ETag"] != before.headers["ETag"]

    added = create(instances.a, account, 73.0)
    assert values(instances.b, account) == {stat: 71.0, added: 73.0}


def test_failed_logins_are_rate_limited_across_instances(instances: Instances) -> None:
    # Registered but never logged in, from another address: only the attempts
    # below count, both per address and per account.
    email = register(instances.a)
    source = _new_source_address()
    wrong = {"email": email, "password": "not the password"}
    for server in (instances.a, instances.a, instances.b, instances.b):
        attempt = server.request("POST", "/v1/auth/login", wrong, source=source)
        assert attempt.status == 401, f"{attempt.status} {attempt.body!r}"

    # Each instance has seen only two attempts: the fifth is refused only if they share counters.
    for server in (instances.a, instances.b):
        limited = server.request("POST", "/v1/auth/login", wrong, source=source)
        assert limited.status == 429, f"{limited.status} {limited.body!r}"
        assert int(limited.headers["Retry-After"]) > 0


# ------------------------------------------------- one instance cut off from Redis


@pytest.fixture(params=["partitioned", "hung"])
def cut_off(request: pytest.FixtureRequest, instances: Instances) -> Server:
    """An instance whose Redis refuses connections, or accepts them and never answers."""
    server: Server = getattr(instances, request.param)
    return server


def test_writes_on_and_off_an_instance_without_redis_are_read_at_once_everywhere(
    instances: Instances, cut_off: Server
) -> None:
    account = log_in(instances.a)
    stat = create(instances.a, account, 70.0)
    # Both sides have cached every read of the stat before each write.
    everywhere = [instances.a, cut_off]
    assert read_everywhere(everywhere, account, stat) == [70.0] * 4

    patch(cut_off, account, stat, 71.5)
    assert read_everywhere(everywhere, account, stat) == [71.5] * 4
    patch(instances.a, account, stat, 69.5)
    assert read_everywhere(everywhere, account, stat) == [69.5] * 4

    added = create(cut_off, account, 80.0)
    assert values(instances.a, account) == {stat: 69.5, added: 80.0}


def test_a_logout_on_or_off_an_instance_without_redis_holds_everywhere(
    instances: Instances, cut_off: Server
) -> None:
    on_cut_off, elsewhere = log_in(instances.a), log_in(instances.a)
    for account in (on_cut_off, elsewhere):
        for server in (instances.a, instances.b, cut_off):
            assert get(server, "/v1/users/me", account).status == 200

    logout(cut_off, on_cut_off)
    logout(instances.b, elsewhere)

    refused = [get(s, "/v1/users/me", on_cut_off).status for s in (instances.a, instances.b)]
    assert refused == [401, 401]
    assert get(cut_off, "/v1/users/me", elsewhere).status == 401


def test_an_instance_whose_redis_hangs_pays_at_most_one_timeout_per_second(
    instances: Instances,
) -> None:
    account = log_in(instances.a)
    replies = [get(instances.hung, "/v1/users/me", account) for _ in range(10)]
    assert {reply.status for reply in replies} == {200}
    slow = [reply.elapsed for reply in replies if reply.elapsed >= TIMEOUT_MS / 1000]
    # The first request to meet the hang waits for the timeout; Redis is then left
    # alone for a second before the next try, however busy the machine is.
    seconds = sum(reply.elapsed for reply in replies)
    assert len(slow) <= 1 + int(seconds), [round(reply.elapsed, 3) for reply in replies]


# ----------------------------------------------------- a worker killed after commit


def test_a_worker_killed_right_after_its_commit_leaves_nothing_stale(
    instances: Instances,
) -> None:
    account = log_in(instances.a)
    stat = create(instances.a, account, 65.0)
    assert read_everywhere([instances.a, instances.b], account, stat) == [65.0] * 4

    body = {"type": "weight", "value": 66.0, "unit": "kg"}
    with pytest.raises(ConnectionError):  # the worker died before it could answer
        instances.crashing.request(
            "PATCH",
            f"/v1/body-stats/{stat}",
            body,
            account.token,
            {CRASH_HEADER: "1"},
            source=account.source,
        )

    # The commit stands, and no instance serves the body it cached before it.
    assert read_everywhere([instances.a, instances.b], account, stat) == [66.0] * 4
    crashing_item = get(instances.crashing, f"/v1/body-stats/{stat}", account)
    assert crashing_item.json["value"] == 66.0


# ------------------------------------------------ Redis lost and back, mid-traffic


def test_writes_while_redis_goes_away_and_comes_back_are_read_at_once(
    instances: Instances,
) -> None:
    recovering, redis = instances.recovering, instances.redis
    account = log_in(instances.a)
    stat = create(recovering, account, 60.0)
    assert read_everywhere([recovering, instances.a], account, stat) == [60.0] * 4

    redis.kill()
    patch(recovering, account, stat, 61.0)
    assert read_everywhere([recovering, instances.a], account, stat) == [61.0] * 4

    redis.start()  # empty, same port
    # The first requests after its return meet the recovery: one of them writes.
    patch(recovering, account, stat, 62.0)
    assert read_everywhere([instances.a, recovering], account, stat) == [62.0] * 4
    patch(instances.a, account, stat, 63.0)
    assert read_everywhere([recovering], account, stat) == [63.0, 63.0]


def test_an_instance_starts_and_serves_while_its_redis_is_down(
    instances: Instances, tmp_path_factory: pytest.TempPathFactory
) -> None:
    env = {**instances.a.env, "REDIS_URL": f"redis://127.0.0.1:{free_port()}/0"}
    log = tmp_path_factory.mktemp("no-redis") / "server.log"
    server = Server(env, log, workers=1, threads=1).start()
    try:
        ready = server.request("GET", "/ready")
        assert ready.status == 200, ready.body
        assert ready.json["status"] == "degraded"
        account = log_in(server)
        stat = create(server, account, 59.0)
        assert read_everywhere([server, instances.a], account, stat) == [59.0] * 4
    finally:
        server.stop()


def test_no_instance_logged_an_error(instances: Instances) -> None:
    for server in (instances.a, instances.b, instances.partitioned, instances.hung):
        errors = [
            line
            for line in server.log.read_text(errors="replace").splitlines()
            if '"level": "ERROR"' in line or "Traceback" in line
        ]
        assert not errors, "\n".join(errors)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(pytest.main([__file__]))


def test_a_read_takes_one_connection_from_the_pool_whatever_it_does(
    instances: Instances, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """The token check and an uncached read's queries share one pooled connection: more
    concurrent reads than the pool holds queue for it, none waits on itself."""
    env = {**instances.a.env, "DB_POOL_SIZE": "1", "CACHE_MAX_MB": "0"}  # pool: 1 + 1 overflow
    log = tmp_path_factory.mktemp("small-pool") / "server.log"
    server = Server(env, log, workers=1, threads=4).start()
    try:
        account = log_in(server)
        stat = create(server, account, 58.0)
        url = f"/v1/body-stats/{stat}"
        with ThreadPoolExecutor(max_workers=8) as pool:
            replies = list(pool.map(lambda _: get(server, url, account), range(16)))
        assert [r.status for r in replies] == [200] * 16, [r.body[:200] for r in replies]
        assert max(r.elapsed for r in replies) < 5, [round(r.elapsed, 2) for r in replies]
    finally:
        server.stop()
