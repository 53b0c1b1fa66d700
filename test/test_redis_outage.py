"""A Redis outage never fails a request, hides a write, or revives a revoked token.

Each scenario (a test class) runs its own redis-server, so it can be paused or
killed without touching the suite's Redis, and an app pointed at it, its
sessions in one transaction rolled back at the end. Rate limits are on (Redis
holds their counters), at 50 a minute per user, so every request counts in
Redis and meets the outage. The scenario runs once in a class-scoped fixture;
each test checks one promise about what the client saw. Scenarios: Redis hung
(SIGSTOP), and Redis killed and restarted empty. The same promises across
several real servers, one of them cut off from Redis or its Redis hung, are in
test_instances_live.py.
Needs TEST_REDIS_URL (the production-stack pass) and the `redis-server` binary.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from conftest import IN_CI, TEST_REDIS_URL, WEIGHT
from flask import Flask
from flask.testing import FlaskClient
from live import REDIS_SERVER, RedisServer
from sqlalchemy import Engine
from sqlalchemy.orm import sessionmaker
from werkzeug.test import TestResponse

from grau.db.session import use_sessions

pytestmark = pytest.mark.skipif(
    not TEST_REDIS_URL, reason="TEST_REDIS_URL is not set (embedded pass: no Redis)"
)

RETRY_AFTER_S = 1  # after a failed Redis call, how long a process leaves Redis alone
# A request during an outage may pay one socket timeout (250 ms), never more.
FAST_S = 0.5
PASSWORD = "correct horse battery"


class LogRecords(logging.Handler):
    """Every log record of a scenario, from every logger."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def take(self) -> list[logging.LogRecord]:
        taken, self.records = self.records, []
        return taken


@dataclass
class Api:
    """A test client that times every request it sends."""

    client: FlaskClient
    timings: list[tuple[str, float]] = field(default_factory=list)

    def call(self, method: str, url: str, token: str | None = None, **kwargs: Any) -> TestResponse:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        start = time.perf_counter()
        response = self.client.open(url, method=method, headers=headers, **kwargs)
        elapsed = time.perf_counter() - start
        self.timings.append((f"{method} {url} -> {response.status_code}", elapsed))
        return response

    def expect(
        self, status: int, method: str, url: str, token: str | None = None, **kw: Any
    ) -> Any:
        response = self.call(method, url, token, **kw)
        body = response.get_json(silent=True)
        assert response.status_code == status, (method, url, response.status_code, body)
        return body

    def register(self) -> str:
        email = f"user-{uuid.uuid4().hex[:12]}@example.com"
        self.expect(201, "POST", "/v1/users", json={"email": email, "password": PASSWORD})
        return email

    def login(self, email: str) -> str:
        body = self.expect(
            200, "POST", "/v1/auth/login", json={"email": email, "password": PASSWORD}
        )
        return str(body["access_token"])

    def create_stat(self, token: str, value: float) -> str:
        return str(
            self.expect(201, "POST", "/v1/body-stats", token, json={**WEIGHT, "value": value})["id"]
        )

    def patch_stat(self, token: str, stat_id: str, value: float) -> None:
        body = {"type": "weight", "value": value, "unit": "kg"}
        self.expect(200, "PATCH", f"/v1/body-stats/{stat_id}", token, json=body)

    def values(self, token: str) -> dict[str, float]:
        """{stat id: value} as the user's body stats list shows them."""
        listed = self.expect(200, "GET", "/v1/body-stats?page_size=100", token)
        return {item["id"]: item["value"] for item in listed["items"]}

    def status(self, token: str) -> int:
        return self.call("GET", "/v1/users/me", token).status_code


@pytest.fixture(scope="class")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    if REDIS_SERVER is None:
        if IN_CI:
            pytest.fail("redis-server is not installed; the Redis outage tests need it in CI")
        pytest.skip("redis-server is not installed")
    server = RedisServer(tmp_path_factory.mktemp("redis"))
    try:
        server.start()
        yield server
    finally:
        server.kill()


@pytest.fixture(scope="class")
def prefix() -> str:
    return f"grau-outage-{uuid.uuid4().hex[:8]}"


def outage_config(redis_server: RedisServer, prefix: str) -> dict[str, Any]:
    return {
        "REDIS_URL": redis_server.url,
        "CACHE_KEY_PREFIX": prefix,
        "RATELIMIT_ENABLED": True,
        "RATELIMIT_USER": "50 per minute",  # a count per request: each meets Redis
        "RATELIMIT_LOGIN": "1000 per minute",
        "RATELIMIT_REGISTER": "1000 per minute",
    }


@pytest.fixture(scope="class")
def outage_app(
    make_app: Callable[..., Flask], engine: Engine, redis_server: RedisServer, prefix: str
) -> Iterator[Flask]:
    """An app on the private Redis, its sessions inside one transaction rolled back at the end."""
    app = make_app(outage_config(redis_server, prefix))
    connection = engine.connect()
    outer = connection.begin()
    use_sessions(
        app,
        sessionmaker(
            bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
        ),
    )
    try:
        yield app
    finally:
        outer.rollback()
        connection.close()
        app.extensions["grau.engine"].dispose()


@pytest.fixture(scope="class")
def logs() -> Iterator[LogRecords]:
    handler = LogRecords()
    logging.getLogger().addHandler(handler)
    yield handler
    logging.getLogger().removeHandler(handler)


@dataclass
class Scenario:
    """What a client saw before, during and after one Redis outage."""

    expected: dict[str, float] = field(default_factory=dict)  # {stat id: value} after the writes
    patched_value: float = 0.0
    list_before: bytes = b""
    item_before: bytes = b""
    counted_before_recovery: int = 0
    during: dict[str, Any] = field(default_factory=dict)
    after: dict[str, Any] = field(default_factory=dict)
    timings: list[tuple[str, float]] = field(default_factory=list)
    outage_logs: list[logging.LogRecord] = field(default_factory=list)
    recovery_logs: list[logging.LogRecord] = field(default_factory=list)


def counted(server: RedisServer, prefix: str) -> int:
    """Every request the rate-limit counters in Redis have counted, summed."""
    client = server.client()
    try:
        return sum(int(client.get(key) or 0) for key in client.scan_iter(f"{prefix}:rl*"))
    finally:
        client.close()


def _before_the_outage(
    api: Api, server: RedisServer, prefix: str
) -> tuple[Scenario, str, str, str]:
    """A user with two sessions and a stat whose list and item are cached."""
    email = api.register()
    token, other_session = api.login(email), api.login(email)
    stat = api.create_stat(token, 72.5)
    seen = Scenario()
    seen.list_before = api.call("GET", "/v1/body-stats", token).data
    seen.item_before = api.call("GET", f"/v1/body-stats/{stat}", token).data
    assert api.status(other_session) == 200
    assert len(api.client.application.extensions["grau.responses"]), "nothing was cached"
    assert server.keys(f"{prefix}:rl*"), "no rate-limit counter in Redis before the outage"
    return seen, token, other_session, stat


def _after_recovery(
    seen: Scenario,
    api: Api,
    server: RedisServer,
    prefix: str,
    token: str,
    other_session: str,
    stat: str,
) -> None:
    time.sleep(RETRY_AFTER_S + 0.3)
    seen.counted_before_recovery = counted(server, prefix)
    listed = api.call("GET", "/v1/body-stats", token)
    item = api.call("GET", f"/v1/body-stats/{stat}", token)
    seen.after = {
        "list": (listed.status_code, listed.data),
        "values": {i["id"]: i["value"] for i in (listed.json or {}).get("items", [])},
        "item": (item.status_code, item.data),
        "item_value": (item.json or {}).get("value"),
        "revoked": [api.status(other_session) for _ in range(3)],
        "live": api.status(token),
        "counted": counted(server, prefix),
    }


@pytest.fixture(scope="class")
def hung(outage_app: Flask, redis_server: RedisServer, prefix: str, logs: LogRecords) -> Scenario:
    """Redis hangs (SIGSTOP) for longer than the circuit breaker's window, then resumes."""
    api = Api(outage_app.test_client())
    seen, token, other_session, first = _before_the_outage(api, redis_server, prefix)
    logs.take()

    redis_server.pause()
    try:
        api.timings.clear()
        second = api.create_stat(token, 80.0)
        api.patch_stat(token, first, 70.1)
        seen.patched_value = 70.1
        seen.during["values"] = [(api.values(token), {first: 70.1, second: 80.0})]
        seen.during["item_value"] = api.expect(200, "GET", f"/v1/body-stats/{first}", token)[
            "value"
        ]
        api.expect(204, "POST", "/v1/auth/logout", other_session)
        seen.during["revoked"] = [api.status(other_session)]
        seen.during["live"] = [api.status(token)]

        # Real outages outlast the breaker's window: Redis is tried again, still hung.
        time.sleep(RETRY_AFTER_S + 0.3)
        third = api.create_stat(token, 81.0)
        seen.expected = {first: 70.1, second: 80.0, third: 81.0}
        seen.during["values"].append((api.values(token), seen.expected))
        seen.during["revoked"].append(api.status(other_session))
        seen.during["live"].append(api.status(token))
        seen.timings = list(api.timings)
    finally:
        redis_server.resume()
    seen.outage_logs = logs.take()

    _after_recovery(seen, api, redis_server, prefix, token, other_session, first)
    seen.recovery_logs = logs.take()
    return seen


@pytest.fixture(scope="class")
def restarted(
    outage_app: Flask, redis_server: RedisServer, prefix: str, logs: LogRecords
) -> Scenario:
    """Redis is killed, then restarted empty on the same port."""
    api = Api(outage_app.test_client())
    seen, token, other_session, first = _before_the_outage(api, redis_server, prefix)
    logs.take()

    redis_server.kill()
    api.timings.clear()
    newcomer_email = api.register()
    newcomer = api.login(newcomer_email)
    own = api.create_stat(newcomer, 60.0)
    second = api.create_stat(token, 80.0)
    api.patch_stat(token, first, 70.1)
    seen.patched_value = 70.1
    seen.expected = {first: 70.1, second: 80.0}
    seen.during["values"] = [
        (api.values(token), seen.expected),
        (api.values(newcomer), {own: 60.0}),
    ]
    seen.during["item_value"] = api.expect(200, "GET", f"/v1/body-stats/{first}", token)["value"]
    api.expect(204, "POST", "/v1/auth/logout", other_session)
    seen.during["revoked"] = [api.status(other_session)]
    seen.during["live"] = [api.status(token), api.status(newcomer)]
    time.sleep(RETRY_AFTER_S + 0.3)
    seen.during["values"].append((api.values(token), seen.expected))
    seen.during["revoked"].append(api.status(other_session))
    seen.during["live"].append(api.status(token))
    seen.timings = list(api.timings)
    seen.outage_logs = logs.take()

    redis_server.start()  # same port, empty
    _after_recovery(seen, api, redis_server, prefix, token, other_session, first)
    seen.after["newcomer"] = api.status(newcomer)
    seen.recovery_logs = logs.take()
    return seen


class OutageContract:
    """What every kind of Redis outage must guarantee; subclasses pick the outage."""

    @pytest.fixture
    def seen(self) -> Scenario:
        raise NotImplementedError

    def test_reads_during_the_outage_show_every_write(self, seen: Scenario) -> None:
        for shown, expected in seen.during["values"]:
            assert shown == expected
        assert seen.during["item_value"] == seen.patched_value

    def test_logout_during_the_outage_takes_effect_at_once(self, seen: Scenario) -> None:
        assert seen.during["revoked"] == [401] * len(seen.during["revoked"])

    def test_live_sessions_keep_working_during_the_outage(self, seen: Scenario) -> None:
        assert seen.during["live"] == [200] * len(seen.during["live"])

    def test_requests_during_the_outage_pay_no_per_request_timeout(self, seen: Scenario) -> None:
        assert seen.timings, "no request was sent during the outage"
        (first, first_s), *rest = seen.timings
        assert first_s < 2, f"the first request of the outage took {first_s:.2f} s: {first}"
        slow = [f"{name}: {seconds:.3f} s" for name, seconds in rest if seconds >= FAST_S]
        assert not slow, "\n".join(slow)

    def test_reads_after_recovery_are_fresh(self, seen: Scenario) -> None:
        assert seen.after["list"][0] == 200
        assert seen.after["values"] == seen.expected
        assert seen.after["item"][0] == 200
        assert seen.after["item_value"] == seen.patched_value

    def test_bodies_cached_before_the_outage_are_never_served_again(self, seen: Scenario) -> None:
        assert seen.after["list"][1] != seen.list_before
        assert seen.after["item"][1] != seen.item_before

    def test_a_session_logged_out_during_the_outage_stays_revoked(self, seen: Scenario) -> None:
        assert seen.after["revoked"] == [401, 401, 401]
        assert seen.after["live"] == 200

    def test_rate_limits_count_in_redis_again_after_recovery(self, seen: Scenario) -> None:
        assert seen.after["counted"] > seen.counted_before_recovery

    def test_an_outage_logs_one_warning_and_no_traceback(self, seen: Scenario) -> None:
        for records in (seen.outage_logs, seen.recovery_logs):
            warnings = [
                r.getMessage()
                for r in records
                if r.name == "grau.http.ratelimit" and r.levelno == logging.WARNING
            ]
            assert len(warnings) <= 1, warnings
            loud = [
                f"{r.name} {r.levelname}: {r.getMessage()}"
                for r in records
                if r.levelno >= logging.ERROR or r.exc_info
            ]
            assert not loud, "\n".join(loud)


class TestHungRedis(OutageContract):
    """kill -STOP: connections hang until the socket timeout."""

    @pytest.fixture
    def seen(self, hung: Scenario) -> Scenario:
        return hung


class TestRedisRestartedEmpty(OutageContract):
    """Redis killed (connections refused), then back on the same port with no data."""

    @pytest.fixture
    def seen(self, restarted: Scenario) -> Scenario:
        return restarted

    def test_a_user_registered_during_the_outage_works_after_it(self, seen: Scenario) -> None:
        assert seen.after["newcomer"] == 200


class TestRateLimitFallback:
    """With Redis gone, rate limits fall back to the process's own counters: still enforced."""

    def test_the_per_user_limit_holds_while_redis_is_down(
        self, build_app: Callable[[dict[str, Any]], Flask], redis_server: RedisServer, user: Any
    ) -> None:
        app = build_app(
            {
                "REDIS_URL": redis_server.url,
                "CACHE_KEY_PREFIX": f"grau-rl-fallback-{uuid.uuid4().hex[:8]}",
                "RATELIMIT_ENABLED": True,
                "RATELIMIT_USER": "3 per minute",
            }
        )
        client = app.test_client()
        redis_server.kill()

        statuses = [client.get("/v1/users/me", headers=user.headers).status_code for _ in range(6)]

        # The request that meets the outage is let through; from then on each
        # process counts by itself, and the limit holds.
        assert set(statuses) == {200, 429}
        assert statuses.index(429) <= 4
        assert statuses[statuses.index(429) :] == [429] * (6 - statuses.index(429))
