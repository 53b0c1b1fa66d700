"""grau as production runs it: grau.server (granian) with two workers, PostgreSQL, Redis.

Needs TEST_DATABASE_URL and TEST_REDIS_URL. The server gets a fresh database
migrated with alembic, its own key prefix, GRAU_ENV=production and a random
SECRET_KEY. Its access log names the worker (pid) that answered each request
id, so the tests can check that both workers agree (on a revoked token, for
example).
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from alembic import command
from conftest import Database, alembic_config
from live import LIVE, Account, Reply, Server, app_env, register

from grau.http.metrics import METRICS_FLUSH_S

pytestmark = LIVE

WORKERS = 2
WEIGHT = {"type": "weight", "value": 72.5, "unit": "kg", "recorded_at": "2026-11-20T07:30:00+01:00"}


def worker_of(server: Server, request_id: str) -> int | None:
    """The pid of the worker whose access line carries this request id."""
    deadline = time.monotonic() + 2  # the line is written as the response leaves
    while time.monotonic() < deadline:
        for line in server.log.read_text(errors="replace").splitlines():
            if request_id in line and line.startswith("{"):
                entry = json.loads(line)
                if entry.get("logger") == "grau.access" and entry["request_id"] == request_id:
                    return int(entry["pid"])
        time.sleep(0.05)
    return None


@pytest.fixture(scope="module")
def server(
    new_database: Callable[[], Database],
    redis_url: str,  # fails the run, rather than skipping, if TEST_REDIS_URL is unusable
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Server]:
    db = new_database()
    command.upgrade(alembic_config(db.url), "head")
    log = tmp_path_factory.mktemp("server") / "server.log"
    env = app_env(db.url, redis_url, LOG_LEVEL="INFO")
    running = Server(env, log, workers=WORKERS, threads=2).start()
    yield running
    running.stop()


@pytest.fixture(scope="module")
def alice(server: Server) -> Account:
    return register(server.port)


@pytest.fixture(scope="module")
def bob(server: Server) -> Account:
    return register(server.port)


@pytest.fixture(scope="module")
def stat(server: Server, alice: Account) -> dict[str, Any]:
    created = server.request("POST", "/v1/body-stats", WEIGHT, alice.token)
    assert created.status == 201, created.body
    return {
        **created.json,
        "_etag": created.headers["ETag"],
        "_location": created.headers["Location"],
    }


def on_every_worker(
    server: Server, send: Callable[[str], Reply], times: int = 2
) -> dict[int, list[Reply]]:
    """Send requests (each on a new connection, with a fresh request id) until every
    worker has answered at least `times`: {worker pid: its replies}.

    Which worker accepts a connection is the kernel's choice; it spreads them,
    so a few dozen connections reach each worker several times over.
    """
    served: dict[int, list[Reply]] = {}
    for _ in range(200):
        request_id = uuid.uuid4().hex
        reply = send(request_id)
        pid = worker_of(server, request_id)
        assert pid is not None, f"no access line for {request_id}"
        served.setdefault(pid, []).append(reply)
        if len(served) == WORKERS and all(len(r) >= times for r in served.values()):
            return served
    pytest.fail(f"200 requests reached workers {sorted(served)} only")


# ---------------------------------------------------------------------- the server


def test_health_answers_and_ready_reports_database_and_redis_ok(server: Server) -> None:
    health = server.request("GET", "/health")
    assert (health.status, health.json) == (200, {"status": "ok"})
    ready = server.request("GET", "/ready")
    assert ready.status == 200, ready.body
    assert ready.json["status"] == "ok"
    assert ready.json["database"]["status"] == "ok"
    assert ready.json["redis"]["status"] == "ok"


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


def statuses(served: dict[int, list[Reply]]) -> set[int]:
    return {reply.status for replies in served.values() for reply in replies}


def test_a_logged_out_token_is_refused_by_every_worker(server: Server) -> None:
    account = register(server.port)

    def me(request_id: str) -> Reply:
        return server.request(
            "GET", "/v1/users/me", token=account.token, headers={"X-Request-ID": request_id}
        )

    # Both workers serve (and cache) the profile first, so neither can answer from memory.
    assert statuses(on_every_worker(server, me, times=3)) == {200}

    logout = server.request("POST", "/v1/auth/logout", token=account.token)
    assert logout.status == 204, logout.body

    assert statuses(on_every_worker(server, me, times=3)) == {401}


def test_a_write_is_read_by_every_worker_at_once(server: Server, alice: Account) -> None:
    created = server.request("POST", "/v1/body-stats", {**WEIGHT, "value": 60.0}, alice.token)
    url = f"/v1/body-stats/{created.json['id']}"

    def read(request_id: str) -> Reply:
        return server.request("GET", url, token=alice.token, headers={"X-Request-ID": request_id})

    assert {r.json["value"] for rs in on_every_worker(server, read).values() for r in rs} == {60.0}

    body = {"type": "weight", "value": 61.5, "unit": "kg"}
    assert server.request("PATCH", url, body, alice.token).status == 200

    values = {r.json["value"] for rs in on_every_worker(server, read).values() for r in rs}
    assert values == {61.5}


def _ready_count(metrics_text: str) -> float:
    from prometheus_client.parser import text_string_to_metric_families

    wanted = {"method": "GET", "route": "/ready", "status": "200"}
    for family in text_string_to_metric_families(metrics_text):
        for sample in family.samples:
            if sample.name == "grau_http_requests_total" and sample.labels == wanted:
                return sample.value
    return 0.0


def test_metrics_sum_the_requests_of_every_worker(server: Server) -> None:
    time.sleep(2 * METRICS_FLUSH_S)  # every worker's earlier requests have reached its file
    before = _ready_count(server.request("GET", "/metrics").body.decode())
    # Requests to /ready until each worker has answered some.
    served = on_every_worker(
        server,
        lambda request_id: server.request("GET", "/ready", headers={"X-Request-ID": request_id}),
    )
    sent = sum(len(replies) for replies in served.values())

    def scrape(request_id: str) -> Reply:
        return server.request("GET", "/metrics", headers={"X-Request-ID": request_id})

    # Whichever worker answers /metrics, it reports every /ready, not only its own: the
    # other workers' within METRICS_FLUSH_S (each adds its tallies to its file then).
    deadline = time.monotonic() + 10 * METRICS_FLUSH_S
    while True:
        scrapes = on_every_worker(server, scrape, times=1)
        counts = {_ready_count(r.body.decode()) for rs in scrapes.values() for r in rs}
        if counts == {before + sent} or time.monotonic() > deadline:
            break
        time.sleep(METRICS_FLUSH_S / 4)
    assert counts == {before + sent}
