"""Two gunicorn instances on one PostgreSQL and one Redis behave as one API.

Needs TEST_DATABASE_URL and TEST_REDIS_URL. Both instances get the same fresh,
migrated database, the same Redis, cache prefix and SECRET_KEY, so a token,
a logout, a write and a rate-limit counter made on one are seen by the other
at once; anything kept in a process's own memory would make these tests fail.

Rate limits key on the client address, and every request here comes over
loopback; each client therefore talks from its own 127.x.y.z source address
(all of 127/8 is loopback on Linux), so one test's logins never spend another's budget.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from conftest import TEST_DATABASE_URL, TEST_REDIS_URL, Database, alembic_config
from live import Reply, call, free_port, stop_gunicorn

pytestmark = [
    pytest.mark.live,
    pytest.mark.skipif(
        not (TEST_DATABASE_URL and TEST_REDIS_URL),
        reason="needs TEST_DATABASE_URL and TEST_REDIS_URL (PostgreSQL and Redis)",
    ),
]

ROOT = Path(__file__).resolve().parent.parent
GUNICORN = ROOT / ".venv" / "bin" / "gunicorn"
PASSWORD = "correct horse battery"
LOGIN_LIMIT = 4  # RATELIMIT_LOGIN below
WEIGHT = {"type": "weight", "value": 72.5, "unit": "kg", "recorded_at": "2026-11-20T07:30:00+01:00"}


def _new_source_address() -> str:
    """A loopback address no other client in this run uses (never 127.0.0.1)."""
    return f"127.{secrets.randbelow(254) + 1}.{secrets.randbelow(256)}.{secrets.randbelow(254) + 1}"


@dataclass
class Server:
    name: str
    port: int
    process: subprocess.Popen[bytes]
    log: Path

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        token: str | None = None,
        headers: dict[str, str] | None = None,
        source: str = "127.0.0.1",
    ) -> Reply:
        return call(self.port, method, path, body, token, headers, timeout=10, source=source)

    def output(self) -> str:
        return self.log.read_text()[-4000:] if self.log.exists() else ""


@dataclass
class Pair:
    a: Server
    b: Server


def _start(name: str, env: dict[str, str], tmp: Path) -> Server:
    port = free_port()
    log = tmp / f"gunicorn-{name}.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [str(GUNICORN), "app:create_app()", "-b", f"127.0.0.1:{port}", "-w", "1"],
            cwd=ROOT,  # gunicorn.conf.py there is loaded automatically
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, so teardown can kill all of it
        )
    return Server(name, port, process, log)


def _wait_until_healthy(server: Server) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            pytest.fail(
                f"gunicorn {server.name} exited with {server.process.returncode}:\n"
                f"{server.output()}"
            )
        try:
            if server.request("GET", "/health").status == 200:
                return
        except OSError:
            pass
        time.sleep(0.1)
    pytest.fail(f"gunicorn {server.name} did not answer /health within 30 s:\n{server.output()}")


@pytest.fixture(scope="module")
def servers(
    new_database: Callable[[], Database],
    redis_url: str,  # fails the run, rather than skipping, if TEST_REDIS_URL is unusable
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Pair]:
    db = new_database()
    command.upgrade(alembic_config(db.url), "head")
    tmp = tmp_path_factory.mktemp("two-instances")
    env = {
        **os.environ,
        "DATABASE_URL": db.url,
        "REDIS_URL": redis_url,
        "CACHE_KEY_PREFIX": f"grau-two-{uuid.uuid4().hex[:8]}",
        "GRAU_ENV": "production",
        "SECRET_KEY": secrets.token_urlsafe(36),  # 48 characters, shared by both
        "ARGON2_MEMORY_KIB": "8192",
        "ARGON2_TIME_COST": "1",
        "RATELIMIT_LOGIN": f"{LOGIN_LIMIT} per minute",
    }
    started: list[Server] = []
    try:
        for name in ("A", "B"):
            started.append(_start(name, env, tmp))
        for server in started:
            _wait_until_healthy(server)
        yield Pair(*started)
    finally:
        for server in started:
            stop_gunicorn(server.process)


@dataclass
class Account:
    email: str
    token: str
    source: str


def _register(server: Server, source: str) -> str:
    email = f"two-{uuid.uuid4().hex[:12]}@example.com"
    created = server.request(
        "POST", "/v1/users", {"email": email, "password": PASSWORD}, source=source
    )
    assert created.status == 201, created.body
    return email


def _register_and_login(server: Server) -> Account:
    source = _new_source_address()
    email = _register(server, source)
    credentials = {"email": email, "password": PASSWORD}
    login = server.request("POST", "/v1/auth/login", credentials, source=source)
    assert login.status == 200, login.body
    return Account(email, login.json["access_token"], source)


def _values(server: Server, account: Account) -> dict[str, float]:
    """The account's body stats as B (or A) lists them: {id: value}."""
    listed = server.request("GET", "/v1/body-stats", token=account.token, source=account.source)
    assert listed.status == 200, listed.body
    return {item["id"]: item["value"] for item in listed.json["items"]}


def test_a_token_from_one_instance_works_on_the_other(servers: Pair) -> None:
    account = _register_and_login(servers.a)
    me = servers.b.request("GET", "/v1/users/me", token=account.token, source=account.source)
    assert me.status == 200, me.body
    assert me.json["email"] == account.email


def test_logout_on_one_instance_revokes_on_the_other_at_once(servers: Pair) -> None:
    account = _register_and_login(servers.a)
    path, token, source = "/v1/users/me", account.token, account.source
    # B has seen the session alive, so a stale memory of it would show below.
    assert servers.b.request("GET", path, token=token, source=source).status == 200

    logout = servers.a.request("POST", "/v1/auth/logout", token=token, source=source)
    assert logout.status == 204, logout.body

    refused = servers.b.request("GET", path, token=token, source=source)
    assert refused.status == 401, refused.body
    assert refused.headers["WWW-Authenticate"].startswith("Bearer")


def test_a_change_on_one_instance_is_read_fresh_on_the_other(servers: Pair) -> None:
    account = _register_and_login(servers.a)
    token, source = account.token, account.source
    created = servers.a.request("POST", "/v1/body-stats", WEIGHT, token, source=source)
    assert created.status == 201, created.body
    item = f"/v1/body-stats/{created.json['id']}"

    # B reads (and may cache) the list and the item before A changes them.
    assert _values(servers.b, account) == {created.json["id"]: 72.5}
    before = servers.b.request("GET", item, token=token, source=source)
    assert before.status == 200 and before.json["value"] == 72.5

    patched = servers.a.request(
        "PATCH",
        item,
        {"type": "weight", "value": 71.0, "unit": "kg"},
        token,
        {"If-Match": before.headers["ETag"]},
        source,
    )
    assert patched.status == 200, patched.body

    assert _values(servers.b, account) == {created.json["id"]: 71.0}
    after = servers.b.request("GET", item, token=token, source=source)
    assert after.status == 200 and after.json["value"] == 71.0
    assert after.headers["ETag"] == patched.headers["ETag"] != before.headers["ETag"]


def test_a_stat_created_on_one_instance_is_listed_on_the_other(servers: Pair) -> None:
    account = _register_and_login(servers.a)
    token, source = account.token, account.source
    first = servers.a.request("POST", "/v1/body-stats", WEIGHT, token, source=source)
    assert first.status == 201, first.body
    assert set(_values(servers.b, account)) == {first.json["id"]}  # B has the list now

    second = servers.a.request(
        "POST", "/v1/body-stats", {**WEIGHT, "value": 73.0}, token, source=source
    )
    assert second.status == 201, second.body
    assert set(_values(servers.b, account)) == {first.json["id"], second.json["id"]}


def test_failed_logins_are_rate_limited_across_instances(servers: Pair) -> None:
    # Registered but never logged in, from another address: only the attempts
    # below count, both per address and per account.
    email = _register(servers.a, _new_source_address())
    source = _new_source_address()
    wrong = {"email": email, "password": "not the password"}
    for server in (servers.a, servers.a, servers.b, servers.b):
        attempt = server.request("POST", "/v1/auth/login", wrong, source=source)
        assert attempt.status == 401, f"{server.name}: {attempt.status} {attempt.body!r}"

    # Each instance has seen only two attempts: the fifth is refused only if they share counters.
    for server in (servers.a, servers.b):
        limited = server.request("POST", "/v1/auth/login", wrong, source=source)
        assert limited.status == 429, f"{server.name}: {limited.status} {limited.body!r}"
        assert int(limited.headers["Retry-After"]) > 0
