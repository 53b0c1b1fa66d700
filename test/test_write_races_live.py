"""Nothing lost, nothing doubled: retries and races against the live server on PostgreSQL.

Driven by the spec, so every resource added later is covered with no new test
code: every create operation (a POST answered with 201) must take an
`Idempotency-Key`, and a retry replays the first response and creates
nothing, however many copies race; every PATCH/PUT/DELETE honours `If-Match`
so that of several writers who read the same version exactly one wins.

The server is grau.server (granian) with the production settings and
several threaded workers, so racing requests really run in parallel in
different processes. Rate limits are off here: these tests spend hundreds of
requests per account in seconds, which is what the limits exist to stop.
`GRAU_RACE_ROUNDS` sets how often each race is run (CI: the default).
"""

from __future__ import annotations

import os
import secrets
import threading
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from conftest import Database
from live import LIVE, PASSWORD, Account, RedisServer, Reply, Server, app_env, migrate, register

from contract.spec.walk import PARAM, Operation, Spec

pytestmark = LIVE

SPEC = Spec.committed()
CREATES = SPEC.creates()
UPDATES = SPEC.updates()
# Deletes of items a suite can create (not /v1/users/me, which ends the account).
DELETES = [o for o in SPEC.operations if o.method == "delete" and o.path.endswith("}")]
# Fields an update must not touch: they end the session the suite runs on.
ACCOUNT_FIELDS = {"email", "password", "current_password"}
# Optional fields left to the server: a position that must be unique, and a
# flag that deactivates the user's other plans.
SERVER_CHOSEN = {"sequence", "is_active"}
ROUNDS = int(os.environ.get("GRAU_RACE_ROUNDS", "4"))
RACERS = 12  # concurrent copies of one request: more than the server's 3 x 4 threads
WRITERS = 4  # clients that read one version and all write


@pytest.fixture(scope="module")
def server(
    new_database: Callable[[], Database], redis_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    db = new_database()
    migrate(db.url)
    log = tmp_path_factory.mktemp("races") / "server.log"
    env = app_env(db.url, redis_url, RATELIMIT_ENABLED="false")
    server = Server(env, log, workers=3, threads=4).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def account(server: Server) -> Account:
    return register(server.port)


class Builder:
    """Valid bodies and fresh items for one user on a live server, all from the spec.

    A body's references (`exercise_id`, `tag_ids`) name items this user
    created for them once; its free-text strings get a suffix of their own, so
    names that must be unique stay unique; an item path's parents are created
    fresh (`/v1/workouts/{workout_id}/sets` makes a workout first).
    """

    def __init__(self, send: Callable[..., Reply], token: str) -> None:
        self.send = send  # send(method, path, body=None, token=..., headers=...)
        self.token = token
        self.ids: dict[str, str] = {}  # item parameter -> an item the references name
        self._creates = {o.path: o for o in CREATES}
        self._collections = SPEC.item_paths()

    def body(self, operation: Operation, *, update: bool = False) -> Any:
        for reference in SPEC.references(operation):
            if reference.param not in self.ids:
                self.ids[reference.param] = self.create(self._collections[reference.param])[1]
        leave = SERVER_CHOSEN | (ACCOUNT_FIELDS if update else set())
        body = SPEC.create_body(operation, self.ids, unique=secrets.token_hex(4), leave=leave)
        if isinstance(body, dict) and "email" in body:
            body["email"] = f"race-{uuid.uuid4().hex[:12]}@example.com"
        if isinstance(body, dict) and "password" in body:
            body["password"] = PASSWORD
        return body

    def resolve(self, path: str) -> str:
        """`path` with each `{param}` filled by creating a parent."""
        while match := PARAM.search(path):
            parent = path[: match.start()].rstrip("/")
            path = path[: match.start()] + self.create(parent)[1] + path[match.end() :]
        return path

    def create(
        self, collection: str, url: str | None = None, headers: dict[str, str] | None = None
    ) -> tuple[Reply, str]:
        """POST a valid body to `collection` (a spec path, or its resolved `url`)."""
        operation = self._creates[collection]
        url = url or self.resolve(collection)
        reply = self.send("POST", url, self.body(operation), token=self.token, headers=headers)
        assert reply.status == 201, (operation.id, reply.status, reply.body)
        return reply, str(reply.json["id"])

    def item(self, item_path: str) -> str:
        """A URL of a fresh item behind `item_path` (one ending in `{param}`), or the
        path itself when it names a singleton (`/v1/users/me`)."""
        if not item_path.endswith("}"):
            return item_path
        collection = item_path[: item_path.rindex("/")]
        url = self.resolve(collection)
        return f"{url}/{self.create(collection, url)[1]}"


@pytest.fixture(scope="module")
def builder(server: Server, account: Account) -> Builder:
    return Builder(server.request, account.token)


def race(sends: list[Callable[[], Reply]]) -> list[Reply]:
    """Send these requests at once: one thread each, released by one barrier."""
    barrier = threading.Barrier(len(sends))

    def run(send: Callable[[], Reply]) -> Reply:
        barrier.wait()
        return send()

    with ThreadPoolExecutor(max_workers=len(sends)) as pool:
        return list(pool.map(run, sends))


def _token(operation: Operation, builder: Builder) -> str | None:
    return builder.token if operation.protected else None


def _count(server: Server, builder: Builder, operation: Operation, url: str) -> int | None:
    """How many items the collection lists, when it has a list operation."""
    if "get" not in SPEC.raw["paths"][operation.path]:
        return None  # e.g. registration: the email's uniqueness already allows one
    listed = server.request("GET", f"{url}?page_size=1", token=builder.token)
    assert listed.status == 200, listed.body
    return int(listed.json["pagination"]["total"])


def _key() -> dict[str, str]:
    return {"Idempotency-Key": str(uuid.uuid4())}


# ------------------------------------------------------------------ Idempotency-Key


def test_every_create_operation_takes_an_idempotency_key() -> None:
    assert CREATES, "the spec has no create operations"
    missing = [str(o) for o in CREATES if not o.declares("IdempotencyKey")]
    assert not missing, f"create operations without Idempotency-Key: {missing}"


@pytest.mark.parametrize("operation", CREATES, ids=str)
def test_a_retry_with_the_same_key_replays_the_first_response_and_creates_nothing(
    server: Server, builder: Builder, operation: Operation
) -> None:
    url = builder.resolve(operation.path)
    body, key, token = builder.body(operation), _key(), _token(operation, builder)
    before = _count(server, builder, operation, url)

    first = server.request("POST", url, body, token=token, headers=key)
    assert first.status == 201, first.body
    retries = [server.request("POST", url, body, token=token, headers=key) for _ in range(2)]

    for again in retries:
        assert (again.status, again.json) == (first.status, first.json)
        assert again.header("Location") == first.header("Location")
        assert again.header("ETag") == first.header("ETag")
        assert again.header("Idempotent-Replayed") == "true"
    if before is not None:
        assert _count(server, builder, operation, url) == before + 1


@pytest.mark.parametrize("operation", [o for o in CREATES if o.protected], ids=str)
def test_the_same_key_with_another_body_is_a_422(
    server: Server, builder: Builder, operation: Operation
) -> None:
    url = builder.resolve(operation.path)
    key, token = _key(), _token(operation, builder)
    first = server.request("POST", url, builder.body(operation), token=token, headers=key)
    assert first.status == 201, first.body
    before = _count(server, builder, operation, url)

    other = server.request("POST", url, builder.body(operation), token=token, headers=key)

    assert other.status == 422, other.body
    assert other.content_type == "application/problem+json"
    assert "Idempotency-Key" in other.json["errors"]
    assert _count(server, builder, operation, url) == before


@pytest.mark.parametrize("operation", [o for o in CREATES if not o.protected], ids=str)
def test_signed_out_the_same_key_with_another_body_is_another_request(
    server: Server, builder: Builder, operation: Operation
) -> None:
    """Nobody owns a signed-out request's key: it is scoped by the body, so a second
    person sending the same key is answered for their own body."""
    url, key = builder.resolve(operation.path), _key()
    first = server.request("POST", url, builder.body(operation), headers=key)
    assert first.status == 201, first.body

    other = server.request("POST", url, builder.body(operation), headers=key)

    assert other.status == 201, other.body
    assert other.header("Idempotent-Replayed") is None
    assert other.json["id"] != first.json["id"]


@pytest.mark.parametrize("operation", CREATES, ids=str)
def test_concurrent_requests_with_one_key_create_one_resource(
    server: Server, builder: Builder, operation: Operation
) -> None:
    url = builder.resolve(operation.path)
    token = _token(operation, builder)
    for _ in range(ROUNDS):
        body, key = builder.body(operation), _key()
        before = _count(server, builder, operation, url)

        post = partial(server.request, "POST", url, body, token=token, headers=key)
        replies = race([post] * RACERS)

        statuses = sorted(r.status for r in replies)
        # 409 (with Retry-After) is the documented answer to a copy that waited
        # out the first request; 201 from the first or as a replay of it.
        assert set(statuses) <= {201, 409}, [(r.status, r.body) for r in replies]
        assert all(r.header("Retry-After") for r in replies if r.status == 409)
        created = {(r.header("Location"), r.body) for r in replies if r.status == 201}
        assert len(created) == 1, created
        if before is not None:
            assert _count(server, builder, operation, url) == before + 1


# --------------------------------------------------------------------------- If-Match


def _etag(server: Server, builder: Builder, url: str) -> str:
    read = server.request("GET", url, token=builder.token)
    assert read.status == 200, read.body
    etag = read.header("ETag")
    assert etag
    return etag


def _if_match(builder: Builder, etag: str) -> dict[str, Any]:
    return {"token": builder.token, "headers": {"If-Match": etag}}


@pytest.mark.parametrize("operation", UPDATES, ids=str)
def test_of_writers_who_read_one_version_exactly_one_wins_and_the_rest_get_412(
    server: Server, builder: Builder, operation: Operation
) -> None:
    for _ in range(ROUNDS):
        url = builder.item(operation.path)
        etag = _etag(server, builder, url)
        bodies = [builder.body(operation, update=True) for _ in range(WRITERS)]
        method = operation.method.upper()

        replies = race(
            [
                partial(server.request, method, url, body, **_if_match(builder, etag))
                for body in bodies
            ]
        )

        statuses = sorted(r.status for r in replies)
        assert statuses == [200] + [412] * (WRITERS - 1), [(r.status, r.body) for r in replies]
        assert all(r.content_type == "application/problem+json" for r in replies if r.status != 200)
        (winner,) = [r for r in replies if r.status == 200]
        stored = server.request("GET", url, token=builder.token)
        assert stored.json == winner.json  # the winner's write, not a mix, not a loser's
        assert stored.header("ETag") == winner.header("ETag") != etag


@pytest.mark.parametrize("operation", DELETES, ids=str)
def test_a_delete_racing_updates_of_one_version_leaves_one_winner(
    server: Server, builder: Builder, operation: Operation
) -> None:
    update = next(o for o in UPDATES if o.path == operation.path)
    for _ in range(ROUNDS):
        url = builder.item(operation.path)
        etag = _etag(server, builder, url)
        body = builder.body(update, update=True)

        delete = partial(server.request, "DELETE", url, **_if_match(builder, etag))
        method = update.method.upper()
        patch = partial(server.request, method, url, body, **_if_match(builder, etag))
        replies = race([delete, patch] * (WRITERS // 2))

        won = [r for r in replies if r.status in (200, 204)]
        lost = [r for r in replies if r not in won]
        assert len(won) == 1, [(r.status, r.body) for r in replies]
        # A loser that read the item after the winning delete finds it gone (404).
        assert {r.status for r in lost} <= {404, 412}, [(r.status, r.body) for r in lost]
        after = server.request("GET", url, token=builder.token)
        if won[0].status == 204:
            assert after.status == 404
            assert all(r.status == 404 or r.status == 412 for r in lost)
        else:
            assert after.json == won[0].json


# ------------------------------------------------------------- keys outlive Redis


@pytest.fixture(scope="module")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path_factory.mktemp("redis"))
    server.start()
    yield server
    server.kill()


@pytest.fixture(scope="module")
def server_on_private_redis(
    new_database: Callable[[], Database],
    redis_server: RedisServer,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Server]:
    db = new_database()
    migrate(db.url)
    log: Path = tmp_path_factory.mktemp("races-redis") / "server.log"
    env = app_env(db.url, redis_server.url, RATELIMIT_ENABLED="false")
    server = Server(env, log, workers=3, threads=4).start()
    yield server
    server.stop()


def test_idempotency_keys_hold_through_a_redis_outage(
    server_on_private_redis: Server, redis_server: RedisServer
) -> None:
    server = server_on_private_redis
    account = register(server.port)
    builder = Builder(server.request, account.token)
    operation = next(o for o in CREATES if o.path == "/v1/body-stats")
    body_before, key_before = builder.body(operation), _key()
    before = server.request(
        "POST", operation.path, body_before, token=account.token, headers=key_before
    )
    assert before.status == 201, before.body

    redis_server.kill()
    try:
        # A key used before the outage still replays, and concurrent copies of
        # a new request still create one item.
        replay = server.request(
            "POST", operation.path, body_before, token=account.token, headers=key_before
        )
        body_during, key_during = builder.body(operation), _key()
        post = partial(
            server.request,
            "POST",
            operation.path,
            body_during,
            token=account.token,
            headers=key_during,
        )
        during = race([post] * RACERS)
    finally:
        redis_server.start()
    after = server.request(
        "POST", operation.path, body_during, token=account.token, headers=key_during
    )

    assert (replay.status, replay.json) == (201, before.json)
    assert {r.status for r in during} == {201}, [(r.status, r.body) for r in during]
    assert len({r.body for r in during}) == 1
    assert (after.status, after.body) == (201, during[0].body)
    listed = server.request("GET", "/v1/body-stats?page_size=100", token=account.token)
    ids = sorted(item["id"] for item in listed.json["items"])
    assert ids == sorted([before.json["id"], during[0].json["id"]])


def test_deleting_an_account_while_its_items_are_written_never_deadlocks(server: Server) -> None:
    """Every write locks its user's row first, the account's delete too: no lock-order
    cycle between an item's writer (item, then user) and the delete (user, then items)."""
    for _ in range(ROUNDS * 2):
        account = register(server.port)
        stats = [
            server.request("POST", "/v1/body-stats", BODY_STAT, token=account.token).json["id"]
            for _ in range(3)
        ]
        patch = {"type": "weight", "value": 71.0, "unit": "kg"}
        sends = [
            partial(server.request, "PATCH", f"/v1/body-stats/{stat}", patch, token=account.token)
            for stat in stats
        ]
        sends.append(partial(server.request, "DELETE", "/v1/users/me", token=account.token))

        replies = race(sends)

        statuses = [r.status for r in replies]
        # A PATCH after the delete finds no session (401) or no item (404); never a 409
        # (a deadlock PostgreSQL broke) or a 500.
        assert statuses[-1] == 204, (statuses, replies[-1].body)
        assert set(statuses[:-1]) <= {200, 401, 404}, [(r.status, r.body) for r in replies]


def test_deleting_an_account_while_its_tokens_are_refreshed_never_deadlocks(
    server: Server,
) -> None:
    """A refresh locks the user's row before its token and session, as the account's
    delete does (user, then its sessions and tokens by cascade): no lock-order cycle."""
    for _ in range(ROUNDS * 2):
        account = register(server.port)
        credentials = {"email": account.email, "password": PASSWORD}
        pairs = [server.request("POST", "/v1/auth/login", credentials).json for _ in range(3)]
        refresh = partial(server.request, "POST", "/v1/auth/refresh")
        sends = [partial(refresh, {"refresh_token": p["refresh_token"]}) for p in pairs]
        sends.append(partial(server.request, "DELETE", "/v1/users/me", token=account.token))

        replies = race(sends)

        statuses = [r.status for r in replies]
        # A refresh after the delete finds no session (401); never a 409 (a deadlock
        # PostgreSQL broke) or a 500.
        assert statuses[-1] == 204, (statuses, replies[-1].body)
        assert set(statuses[:-1]) <= {200, 401}, [(r.status, r.body) for r in replies]


BODY_STAT = {"type": "weight", "value": 70.0, "unit": "kg", "recorded_at": "2026-11-20T07:30:00Z"}
