"""Two devices of one user sync through the production server, on PostgreSQL and on SQLite.

Device A works offline and pushes its queue in one atomic batch (sets name
their new workout by the id A chose); device B syncs from scratch and holds
exactly A's data; both edit one set offline and the second gets 412 with the
set as it is now; A deletes the workout and B's next sync gets the
tombstones; a garbage cursor is 410; another user's changes never show; a
batch sent again after its answer was lost creates nothing twice.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import TEST_DATABASE_URL, TEST_REDIS_URL, Database
from live import PASSWORD, Server, app_env, call, migrate, register
from test_sync import offline_queue

pytestmark = pytest.mark.live


@pytest.fixture(scope="module", params=["postgresql", "sqlite"])
def server(
    request: pytest.FixtureRequest, new_database: Any, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    tmp = tmp_path_factory.mktemp(f"sync-{request.param}")
    if request.param == "postgresql":
        if not (TEST_DATABASE_URL and TEST_REDIS_URL):
            pytest.skip("needs TEST_DATABASE_URL and TEST_REDIS_URL (PostgreSQL and Redis)")
        database: Database = new_database()
        url, redis = database.url, TEST_REDIS_URL
    else:  # the embedded default: a SQLite file, no Redis
        url, redis = f"sqlite:///{tmp / 'grau.db'}", ""
    migrate(url)
    running = Server(app_env(url, redis), Path(tmp / "server.log"), workers=2, threads=2)
    running.start()
    yield running
    running.stop()


class Device:
    """One app on one phone: its own login, its local copy and its stored cursor."""

    def __init__(self, server: Server, email: str) -> None:
        self.server = server
        login = call(server.port, "POST", "/v1/auth/login", {"email": email, "password": PASSWORD})
        assert login.status == 200, login.body
        self.token = login.json["access_token"]
        self.copy: dict[tuple[str, str], Any] = {}
        self.cursor: str | None = None

    def request(self, method: str, path: str, body: Any = None, **headers: str) -> Any:
        return self.server.request(method, path, body, self.token, headers or None)

    def sync(self) -> list[dict[str, Any]]:
        """Page through the feed from the stored cursor; apply and return the changes."""
        changes: list[dict[str, Any]] = []
        while True:
            query = "?limit=3" + (f"&cursor={self.cursor}" if self.cursor else "")
            page = self.request("GET", f"/v1/changes{query}")
            assert page.status == 200, page.body
            changes += page.json["changes"]
            self.cursor = page.json["next_cursor"]
            if not page.json["has_more"]:
                break
        for change in changes:
            key = (change["resource"], change["id"])
            if change["op"] == "upsert":
                self.copy[key] = change["data"]
            else:
                self.copy.pop(key, None)
        return changes

    def push(self, operations: list[dict[str, Any]], atomic: bool = True) -> Any:
        answer = self.request("POST", "/v1/batch", {"operations": operations, "atomic": atomic})
        assert answer.status == 200, answer.body
        return answer.json


def test_two_devices_of_one_user_stay_in_step(server: Server) -> None:
    owner, stranger = register(server.port), register(server.port)
    a, b = Device(server, owner.email), Device(server, owner.email)
    other = Device(server, stranger.email)
    a.sync()

    # A pushes its offline queue; the answer is lost, so A sends it again.
    exercises = a.request("GET", "/v1/exercises?source=system&page_size=1")
    workout, first_set, queue = offline_queue(exercises.json["items"][0]["id"])
    pushed = a.push(queue)
    assert pushed["committed"], pushed
    assert [r["status"] for r in pushed["results"]] == [201] * 5
    again = a.push(queue)
    assert [r["body"] for r in again["results"]] == [r["body"] for r in pushed["results"]]
    theirs = other.push(  # not atomic: each operation on its own connection
        [
            {
                "method": "POST",
                "path": "/v1/body-stats",
                "body": {
                    "type": "weight",
                    "value": 90.0,
                    "unit": "kg",
                    "recorded_at": "2026-11-20T07:00:00Z",
                },
            }
        ],
        atomic=False,
    )
    assert theirs["committed"] and theirs["results"][0]["status"] == 201

    # B syncs from scratch and holds exactly what A made (once), and nothing of the other's.
    b.sync()
    a.sync()
    assert b.copy == a.copy
    kinds = sorted(resource for resource, _ in b.copy)
    assert kinds == ["body_stat", "mood", "profile", "workout", "workout_set", "workout_set"]
    assert b.copy[("workout", workout)]["sets"][0]["id"] == first_set
    assert all(item.get("value") != 90.0 for item in b.copy.values())

    # Both edit the first set offline, from the version they hold.
    etag = a.request("GET", f"/v1/workouts/{workout}/sets/{first_set}").headers["ETag"]
    won = a.request(
        "PATCH", f"/v1/workouts/{workout}/sets/{first_set}", {"reps": 6}, **{"If-Match": etag}
    )
    lost = b.push(
        [
            {
                "method": "PATCH",
                "path": f"/v1/workouts/{workout}/sets/{first_set}",
                "body": {"reps": 4},
                "if_match": etag,
            }
        ]
    )["results"][0]
    assert won.status == 200
    assert lost["status"] == 412 and lost["body"]["current"]["reps"] == 6
    assert lost["headers"]["ETag"] == won.headers["ETag"]

    # A deletes the workout: B's next sync drops it and both its sets.
    assert a.request("DELETE", f"/v1/workouts/{workout}").status == 204
    deleted = {(c["resource"], c["id"]) for c in b.sync() if c["op"] == "delete"}
    assert ("workout", workout) in deleted and ("workout_set", first_set) in deleted
    assert sorted(resource for resource, _ in b.copy) == ["body_stat", "mood", "profile"]

    # A cursor that is not grau's, or another user's, is 410: start over.
    other.sync()
    assert other.cursor and b.cursor
    for cursor in ("garbage", other.cursor, b.cursor[::-1]):
        gone = b.request("GET", f"/v1/changes?cursor={cursor}")
        assert gone.status == 410 and "without a cursor" in gone.json["detail"], gone.body
