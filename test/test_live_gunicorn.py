"""grau as production runs it: gunicorn with two workers, PostgreSQL and Redis, real HTTP.

Needs TEST_DATABASE_URL and TEST_REDIS_URL. The server gets a fresh database
migrated with alembic, its own cache prefix, GRAU_ENV=production and a random
SECRET_KEY. The access log records each request's worker pid, so the tests can
check that both workers agree (on a revoked token, for example).
"""

from __future__ import annotations

import os
import secrets
import socket
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
WORKERS = 2
PASSWORD = "correct horse battery"
WEIGHT = {"type": "weight", "value": 72.5, "unit": "kg", "recorded_at": "2026-11-20T07:30:00+01:00"}


@dataclass
class Server:
    port: int
    access_log: Path
    process: subprocess.Popen[bytes]
    log: Path

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        token: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> Reply:
        """One request on a new connection (so successive requests can reach either worker)."""
        return call(self.port, method, path, body, token, headers, timeout=10)

    def workers_that_served(self, probe: str) -> set[str]:
        """Pids of the workers whose access log lines carry this X-Probe value."""
        deadline = time.monotonic() + 2  # the access log is written after the response
        pids: set[str] = set()
        while time.monotonic() < deadline:
            lines = self.access_log.read_text().splitlines() if self.access_log.exists() else []
            pids = {line.split()[0] for line in lines if line.split()[-1:] == [probe]}
            if pids:
                break
            time.sleep(0.05)
        return pids

    def output(self) -> str:
        return self.log.read_text()[-4000:] if self.log.exists() else ""


@pytest.fixture(scope="module")
def server(
    new_database: Callable[[], Database],
    redis_url: str,  # fails the run, rather than skipping, if TEST_REDIS_URL is unusable
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Server]:
    db = new_database()
    command.upgrade(alembic_config(db.url), "head")
    tmp = tmp_path_factory.mktemp("gunicorn")
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": db.url,
        "REDIS_URL": redis_url,
        "CACHE_KEY_PREFIX": f"grau-live-{uuid.uuid4().hex[:8]}",
        "GRAU_ENV": "production",
        "SECRET_KEY": secrets.token_urlsafe(36),  # 48 characters
        "ARGON2_MEMORY_KIB": "8192",
        "ARGON2_TIME_COST": "1",
        # gunicorn.conf.py (loaded from the repo root) runs threaded workers; this
        # test needs sync ones (below), which gunicorn uses only with one thread.
        "GUNICORN_THREADS": "1",
    }
    access_log, log = tmp / "access.log", tmp / "gunicorn.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [
                str(GUNICORN),
                "app:create_app()",
                "-b",
                f"127.0.0.1:{port}",
                "-w",
                str(WORKERS),
                # Sync workers: a held-open request pins one, so each worker
                # can be made the only free one (see HeldWorker).
                "-k",
                "sync",
                "--access-logfile",
                str(access_log),
                "--access-logformat",
                "%(p)s %(m)s %(U)s %(s)s %({x-probe}i)s",
            ],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, so teardown can kill all of it
        )
    running = Server(port, access_log, process, log)
    try:
        _wait_until_healthy(running)
        yield running
    finally:
        stop_gunicorn(process)


def _wait_until_healthy(server: Server) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            pytest.fail(f"gunicorn exited with {server.process.returncode}:\n{server.output()}")
        try:
            if server.request("GET", "/health").status == 200:
                return
        except OSError:
            pass
        time.sleep(0.1)
    pytest.fail(f"gunicorn did not answer /health within 30 s:\n{server.output()}")


@dataclass
class Account:
    email: str
    token: str


def _register_and_login(server: Server) -> Account:
    email = f"live-{uuid.uuid4().hex[:12]}@example.com"
    created = server.request("POST", "/v1/users", {"email": email, "password": PASSWORD})
    assert created.status == 201, created.body
    login = server.request("POST", "/v1/auth/login", {"email": email, "password": PASSWORD})
    assert login.status == 200, login.body
    return Account(email, login.json["access_token"])


@pytest.fixture(scope="module")
def alice(server: Server) -> Account:
    return _register_and_login(server)


@pytest.fixture(scope="module")
def bob(server: Server) -> Account:
    return _register_and_login(server)


@pytest.fixture(scope="module")
def stat(server: Server, alice: Account) -> dict[str, Any]:
    created = server.request("POST", "/v1/body-stats", WEIGHT, alice.token)
    assert created.status == 201, created.body
    return {
        **created.json,
        "_etag": created.headers["ETag"],
        "_location": created.headers["Location"],
    }


class HeldWorker:
    """A request sent up to its last header: the sync worker that took it waits, busy."""

    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.sock.sendall(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n")

    def release(self) -> None:
        """Finish the request and read the answer: the worker is free again."""
        try:
            self.sock.sendall(b"Connection: close\r\n\r\n")
            while self.sock.recv(65536):
                pass
        finally:
            self.sock.close()


def _once_on_each_worker(server: Server, send: Callable[[str], Reply]) -> dict[str, int]:
    """Send a request once to each of the two workers: {worker pid: status}.

    Which sync worker accepts a connection is up to the kernel, so each is
    made the only free one in turn by holding the other on a half-sent request.
    """
    served: dict[str, int] = {}

    def probe() -> None:
        tag = uuid.uuid4().hex
        status = send(tag).status
        for pid in server.workers_that_served(tag):
            served[pid] = status

    first = HeldWorker(server.port)  # worker X busy
    second: HeldWorker | None = None
    try:
        probe()  # served by worker Y
        second = HeldWorker(server.port)  # Y busy: X is still held
        first.release()
        probe()  # served by X
    finally:
        first.sock.close()
        if second is not None:
            second.release()
    assert len(served) == WORKERS, f"requests reached workers {sorted(served)} only"
    return served


# ---------------------------------------------------------------------- the server


def test_health_answers(server: Server) -> None:
    reply = server.request("GET", "/health")
    assert (reply.status, reply.json) == (200, {"status": "ok"})


def test_ready_reports_database_and_redis_ok(server: Server) -> None:
    reply = server.request("GET", "/ready")
    assert reply.status == 200, reply.body
    assert reply.json["status"] == "ok"
    assert reply.json["database"]["status"] == "ok"
    assert reply.json["redis"]["status"] == "ok"


def test_docs_and_spec_are_served(server: Server) -> None:
    docs = server.request("GET", "/docs", headers={"Accept": "text/html"})
    assert docs.status == 200
    assert docs.content_type == "text/html"
    assert b"/static/swagger-ui/swagger-ui-bundle.js" in docs.body
    bundle = server.request("GET", "/static/swagger-ui/swagger-ui-bundle.js")
    assert bundle.status == 200 and bundle.body
    spec = server.request("GET", "/openapi.json")
    assert spec.status == 200
    assert spec.json["openapi"] == "3.1.0"
    assert "/v1/body-stats" in spec.json["paths"]


# ------------------------------------------------------------------------ the API


def test_a_created_body_stat_is_listed(
    server: Server, alice: Account, stat: dict[str, Any]
) -> None:
    assert stat["_location"].endswith(f"/v1/body-stats/{stat['id']}")
    listed = server.request("GET", "/v1/body-stats", token=alice.token)
    assert listed.status == 200
    assert [item["id"] for item in listed.json["items"]] == [stat["id"]]
    assert listed.json["pagination"]["total"] == 1


def test_patch_with_if_match_succeeds_and_a_stale_etag_gets_412(
    server: Server, alice: Account, stat: dict[str, Any]
) -> None:
    url = f"/v1/body-stats/{stat['id']}"
    current = server.request("GET", url, token=alice.token).headers["ETag"]
    patched = server.request(
        "PATCH",
        url,
        {"type": "weight", "value": 71.0, "unit": "kg"},
        alice.token,
        {"If-Match": current},
    )
    assert patched.status == 200, patched.body
    assert patched.json["value"] == 71.0
    assert patched.headers["ETag"] != current

    stale = server.request(
        "PATCH",
        url,
        {"type": "weight", "value": 70.0, "unit": "kg"},
        alice.token,
        {"If-Match": current},
    )
    assert stale.status == 412, stale.body
    assert stale.content_type == "application/problem+json"
    assert server.request("GET", url, token=alice.token).json["value"] == 71.0


@pytest.mark.parametrize("method", ["GET", "PATCH", "DELETE"])
def test_another_user_gets_404_for_a_body_stat(
    server: Server, bob: Account, stat: dict[str, Any], method: str
) -> None:
    body = {"type": "weight", "value": 1.0, "unit": "kg"} if method == "PATCH" else None
    reply = server.request(method, f"/v1/body-stats/{stat['id']}", body, bob.token)
    assert reply.status == 404, reply.body
    assert reply.content_type == "application/problem+json"


def test_no_token_gets_401_with_a_bearer_challenge(server: Server) -> None:
    reply = server.request("GET", "/v1/body-stats")
    assert reply.status == 401
    assert reply.content_type == "application/problem+json"
    assert reply.headers["WWW-Authenticate"].startswith("Bearer")


def test_a_logged_out_token_is_refused_by_every_worker(server: Server) -> None:
    account = _register_and_login(server)

    def me(probe: str) -> Reply:
        return server.request(
            "GET", "/v1/users/me", token=account.token, headers={"X-Probe": probe}
        )

    # Both workers see the session alive first, so neither can answer from a stale memory.
    for _ in range(3):
        assert set(_once_on_each_worker(server, me).values()) == {200}

    logout = server.request("POST", "/v1/auth/logout", token=account.token)
    assert logout.status == 204, logout.body

    assert me("next").status == 401
    for _ in range(3):
        assert set(_once_on_each_worker(server, me).values()) == {401}


def _ready_count(metrics_text: str) -> float:
    from prometheus_client.parser import text_string_to_metric_families

    wanted = {"method": "GET", "route": "/ready", "status": "200"}
    for family in text_string_to_metric_families(metrics_text):
        for sample in family.samples:
            if sample.name == "grau_http_requests_total" and sample.labels == wanted:
                return sample.value
    return 0.0


def test_metrics_sum_the_requests_of_every_worker(server: Server) -> None:
    before = _ready_count(server.request("GET", "/metrics").body.decode())
    # /ready, not /health (which HeldWorker sends): one request on each worker for
    # certain, then more wherever the kernel sends them.
    _once_on_each_worker(
        server, lambda tag: server.request("GET", "/ready", headers={"X-Probe": tag})
    )
    for _ in range(10):
        assert server.request("GET", "/ready").status == 200

    scraped: dict[str, float] = {}

    def scrape(tag: str) -> Reply:
        reply = server.request("GET", "/metrics", headers={"X-Probe": tag})
        scraped[tag] = _ready_count(reply.body.decode())
        return reply

    statuses = _once_on_each_worker(server, scrape)
    # Whichever worker answers /metrics, it reports all 12 requests, not only its own.
    assert set(statuses.values()) == {200}
    assert sorted(scraped.values()) == [before + 12, before + 12]
