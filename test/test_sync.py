"""Offline sync: every change to a synced row is numbered in the write's own transaction."""

from __future__ import annotations

import json
import random
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from conftest import selects, sql_sent
from flask.testing import FlaskClient
from sqlalchemy import Engine, select, text, update
from sqlalchemy.orm import Session
from test_conformance import OWNED, Items

from grau.sync.models import SYNCED, Tombstone
from grau.sync.service import Position, listing
from grau.sync.triggers import trigger_names

REAL_TIME = time.time
TABLES = {synced.resource: synced.table for synced in SYNCED}
# The conformance suite's name for each synced resource an API call creates.
RESOURCES = {
    "body stat": "body_stat",
    "nutrition entry": "nutrition_entry",
    "mood tag": "mood_tag",
    "mood": "mood",
    "equipment": "equipment",
    "exercise": "exercise",
    "workout": "workout",
    "workout set": "workout_set",
    "plan": "plan",
}


def seq_of(session: Session, resource: str, item_id: str) -> int:
    table = TABLES[resource]
    found = session.scalar(select(table.c.seq).where(table.c.id == uuid.UUID(item_id)))
    assert found is not None, f"no {resource} {item_id}"
    return int(found)


def tombstone(session: Session, resource: str, item_id: str) -> Tombstone | None:
    session.expire_all()
    return session.get(Tombstone, (resource, uuid.UUID(item_id)))


def test_every_synced_table_is_one_the_feed_names() -> None:
    assert set(RESOURCES.values()) | {"profile"} == set(TABLES)


@pytest.mark.parametrize("name", OWNED)
def test_a_create_an_update_and_a_delete_each_take_a_higher_number(
    client: FlaskClient, db_session: Session, user: Any, name: str
) -> None:
    items, resource = Items(client, OWNED[name], user), RESOURCES[name]
    item = items.make()
    created = seq_of(db_session, resource, item["id"])
    assert created > 0

    assert items.patch(item["id"], OWNED[name].change).status_code == 200
    db_session.expire_all()
    updated = seq_of(db_session, resource, item["id"])
    assert updated > created

    assert items.delete(item["id"]).status_code == 204
    gone = tombstone(db_session, resource, item["id"])
    assert gone is not None and gone.seq > updated
    assert gone.user_id == uuid.UUID(user.id) and gone.deleted_at is not None


def test_a_change_to_a_child_renumbers_its_parent_and_a_cascade_leaves_tombstones(
    client: FlaskClient, db_session: Session, user: Any
) -> None:
    sets = Items(client, OWNED["workout set"], user)
    workout_id = sets.collection.split("/")[3]
    before = seq_of(db_session, "workout", workout_id)
    first, second = sets.make(), sets.make(reps=5)
    db_session.expire_all()
    # A workout shows its sets: a new set moves its version, so its number too.
    assert seq_of(db_session, "workout", workout_id) > seq_of(
        db_session, "workout_set", first["id"]
    )
    assert seq_of(db_session, "workout", workout_id) > before

    response = client.delete(f"/v1/workouts/{workout_id}", headers=user.headers)
    assert response.status_code == 204
    stones = [
        tombstone(db_session, r, i)
        for r, i in (
            ("workout", workout_id),
            ("workout_set", first["id"]),
            ("workout_set", second["id"]),
        )
    ]
    assert all(stone is not None for stone in stones), stones


def test_a_profile_change_is_numbered_and_a_revision_bump_is_not(
    client: FlaskClient, db_session: Session, user: Any
) -> None:
    profile = seq_of(db_session, "profile", user.id)
    assert profile > 0  # numbered when the account was made
    Items(client, OWNED["body stat"], user).make()  # bumps the user's revision only
    db_session.expire_all()
    assert seq_of(db_session, "profile", user.id) == profile

    response = client.patch("/v1/users/me", json={"first_name": "Ana"}, headers=user.headers)
    assert response.status_code == 200
    db_session.expire_all()
    assert seq_of(db_session, "profile", user.id) > profile


def test_deleting_an_account_leaves_no_tombstones(
    client: FlaskClient, db_session: Session, user: Any, other_user: Any
) -> None:
    Items(client, OWNED["workout set"], user).make()
    Items(client, OWNED["mood"], user).make()
    mine = Items(client, OWNED["body stat"], other_user).make()
    Items(client, OWNED["body stat"], other_user).delete(mine["id"])

    assert client.delete("/v1/users/me", headers=user.headers).status_code == 204
    db_session.expire_all()
    owners = set(db_session.scalars(select(Tombstone.user_id)))
    assert uuid.UUID(user.id) not in owners and uuid.UUID(other_user.id) in owners


def test_grau_catalog_rows_are_numbered_too(db_session: Session) -> None:
    table = TABLES["exercise"]
    catalog = db_session.scalars(select(table.c.seq).where(table.c.user_id.is_(None))).all()
    assert catalog and all(seq > 0 for seq in catalog)  # the seed's inserts


def test_one_users_numbers_follow_the_order_their_writes_commit(engine: Engine) -> None:
    """A write that waits for an earlier one of the same user gets a higher number, even
    when it began first: the number is taken under the user's row lock."""
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite runs one writer at a time")
    with engine.begin() as setup:
        user_id = setup.scalar(
            text(
                "INSERT INTO users (id, email, password_hash, password_changed_at, gender, "
                "weight_unit, height_unit, date_format, language, timezone, premium, status, "
                "revision, created_at, updated_at, version) VALUES (gen_random_uuid(), :email, "
                "'x', now(), 'unspecified', 'kg', 'cm', 'YYYY-MM-DD', 'en', 'UTC', false, "
                "'active', 0, now(), now(), 1) RETURNING id"
            ),
            {"email": f"order-{uuid.uuid4().hex[:8]}@example.com"},
        )
    insert = text(
        "INSERT INTO body_stats (id, user_id, type, value, unit, canonical_value, recorded_at, "
        "created_at, updated_at, version) VALUES (:id, :user_id, 'weight', 70, 'kg', 70, "
        "now(), now(), now(), 1) RETURNING seq"
    )
    first, second = uuid.uuid4(), uuid.uuid4()
    numbers: dict[uuid.UUID, int] = {}
    with engine.connect() as early, engine.connect() as late:
        early_tx = early.begin()
        # The later write began first and holds the user's lock while it waits.
        late_tx = late.begin()
        late.execute(text("SELECT 1 FROM users WHERE id = :id FOR NO KEY UPDATE"), {"id": user_id})
        waiting = threading.Thread(
            target=lambda: numbers.__setitem__(
                first, early.scalar(insert, {"id": first, "user_id": user_id})
            )
        )
        waiting.start()
        waiting.join(0.5)
        assert waiting.is_alive()  # blocked on the user's lock, holding no number yet
        numbers[second] = late.scalar(insert, {"id": second, "user_id": user_id})
        late_tx.commit()
        waiting.join(10)
        early_tx.commit()
    assert numbers[first] > numbers[second]
    with engine.begin() as cleanup:
        cleanup.execute(text("DELETE FROM users WHERE id = :id"), {"id": user_id})


def test_every_synced_table_has_its_triggers(engine: Engine) -> None:
    """A later migration that rebuilds a table (SQLite's batch mode copies it) drops its
    triggers with it: such a migration must install them again."""
    listed = {
        "postgresql": "SELECT tgname FROM pg_trigger WHERE NOT tgisinternal",
        "sqlite": "SELECT name FROM sqlite_master WHERE type = 'trigger'",
    }[engine.dialect.name]
    with engine.connect() as connection:
        found = set(connection.scalars(text(listed)))
    expected = {name for _, name in trigger_names()}
    assert expected <= found, expected - found


# ------------------------------------------------------------------------ the feed


def read_feed(
    client: FlaskClient, account: Any, cursor: str | None = None, **query: Any
) -> tuple[list[dict[str, Any]], str]:
    """Every page from `cursor` on: the changes, and the last page's cursor."""
    changes: list[dict[str, Any]] = []
    while True:
        sent = {**query, **({"cursor": cursor} if cursor else {})}
        response = client.get("/v1/changes", query_string=sent, headers=account.headers)
        assert response.status_code == 200, response.json
        changes += response.json["changes"]
        cursor = response.json["next_cursor"]
        if not response.json["has_more"]:
            return changes, cursor


def apply(copy: dict[tuple[str, str], Any], changes: list[dict[str, Any]]) -> None:
    """What an app does with a page: store upserts, drop deletes."""
    for change in changes:
        key = (change["resource"], change["id"])
        if change["op"] == "upsert":
            copy[key] = change["data"]
        else:
            copy.pop(key, None)


def tampered(cursor: str) -> str:
    """The cursor with one character of its payload changed (its signature's last
    base64 character may carry bits nobody reads, so that one is not changed)."""
    at = 1 if cursor.startswith(".") else 0
    return cursor[:at] + ("A" if cursor[at] != "A" else "B") + cursor[at + 1 :]


GETS = {
    "body_stat": "/v1/body-stats/{id}",
    "mood": "/v1/moods/{id}",
    "workout": "/v1/workouts/{id}",
    "workout_set": "/v1/workouts/{workout_id}/sets/{id}",
    "profile": "/v1/users/me",
}


def test_a_sync_from_scratch_holds_every_item_exactly_as_its_get_shows_it(
    client: FlaskClient, user: Any, other_user: Any
) -> None:
    made = {name: Items(client, OWNED[name], user).make() for name in OWNED}
    Items(client, OWNED["body stat"], other_user).make()

    changes, _ = read_feed(client, user)
    copy: dict[tuple[str, str], Any] = {}
    apply(copy, changes)

    assert all(change["op"] == "upsert" for change in changes)
    resources = {resource for resource, _ in copy}
    assert resources == set(RESOURCES.values()) | {"profile"}
    for name, item in made.items():
        assert (RESOURCES[name], item["id"]) in copy, name
    for (resource, item_id), data in copy.items():  # nobody else's, and each as its GET shows
        url = GETS.get(resource)
        if url:
            url = url.format(id=item_id, workout_id=data.get("workout_id"))
            assert client.get(url, headers=user.headers).json == data, resource


def test_a_delta_sync_lists_what_changed_since_and_the_deletions(
    client: FlaskClient, user: Any
) -> None:
    stats, sets = Items(client, OWNED["body stat"], user), Items(client, OWNED["workout set"], user)
    kept, dropped = stats.make(), stats.make(value=80.0)
    first_set = sets.make()
    _, cursor = read_feed(client, user)

    assert stats.patch(kept["id"], {"note": "after"}).status_code == 200
    assert stats.delete(dropped["id"]).status_code == 204
    workout_id = sets.collection.split("/")[3]
    assert client.delete(f"/v1/workouts/{workout_id}", headers=user.headers).status_code == 204

    changes, again = read_feed(client, user, cursor)
    seen = {(c["resource"], c["id"]): c for c in changes}
    assert seen[("body_stat", kept["id"])]["data"]["note"] == "after"
    assert seen[("body_stat", kept["id"])]["op"] == "upsert"
    for key in (("body_stat", dropped["id"]), ("workout", workout_id)):
        assert seen[key]["op"] == "delete" and seen[key]["data"] is None, key
    assert seen[("workout_set", first_set["id"])]["op"] == "delete"  # the cascade's
    assert len(seen) == len(changes) == 4

    nothing, _ = read_feed(client, user, again)
    assert nothing == []


def test_paging_never_skips_a_change_made_between_pages(client: FlaskClient, user: Any) -> None:
    stats = Items(client, OWNED["body stat"], user)
    made = [stats.make(value=60.0 + i) for i in range(5)]
    first = client.get("/v1/changes", query_string={"limit": 3}, headers=user.headers).json
    assert first["has_more"] and len(first["changes"]) == 3
    # The first stat was on the first page; it changes, and one more is made.
    assert stats.patch(made[0]["id"], {"note": "changed"}).status_code == 200
    extra = stats.make(value=99.0)

    rest, _ = read_feed(client, user, first["next_cursor"], limit=3)
    copy: dict[tuple[str, str], Any] = {}
    apply(copy, first["changes"] + rest)
    assert copy[("body_stat", made[0]["id"])]["note"] == "changed"
    assert ("body_stat", extra["id"]) in copy
    assert len([k for k in copy if k[0] == "body_stat"]) == 6


def test_a_bad_cursor_is_410_telling_the_app_to_start_over(
    client: FlaskClient, app: Any, user: Any, other_user: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, theirs = read_feed(client, other_user)
    _, catalog = read_feed(client, user, scope="catalog", limit=500)
    _, mine = read_feed(client, user)
    # A cursor issued longer ago than the retention window.
    days = app.config["SYNC_RETENTION_DAYS"]
    monkeypatch.setattr(time, "time", lambda: REAL_TIME() - (days + 1) * 86400)
    _, old = read_feed(client, user)
    monkeypatch.undo()

    for cursor, says in (
        ("garbage", "not one grau issued"),
        (tampered(mine), "not one grau issued"),
        (theirs, "another feed"),
        (catalog, "another feed"),
        (old, f"older than {days} days"),
    ):
        response = client.get("/v1/changes", query_string={"cursor": cursor}, headers=user.headers)
        assert response.status_code == 410, (cursor, response.json)
        assert says in response.json["detail"] and "without a cursor" in response.json["detail"]
    response = client.get("/v1/changes", query_string={"cursor": mine}, headers=user.headers)
    assert response.status_code == 200


def test_the_catalog_has_its_own_feed_of_grau_s_exercises_and_equipment(
    client: FlaskClient, user: Any
) -> None:
    Items(client, OWNED["exercise"], user).make()  # the user's own: not the catalog's
    changes, _ = read_feed(client, user, scope="catalog", limit=500)
    assert {c["resource"] for c in changes} == {"exercise", "equipment"}
    assert all(change["data"]["system"] for change in changes)
    listed = client.get("/v1/exercises", query_string={"source": "system"}, headers=user.headers)
    assert listed.json["pagination"]["total"] == sum(c["resource"] == "exercise" for c in changes)


def test_pruning_forgets_only_deletions_older_than_the_retention_and_a_day(
    client: FlaskClient, app: Any, db_session: Session, user: Any
) -> None:
    stats = Items(client, OWNED["body stat"], user)
    old, recent = stats.make(), stats.make(value=80.0)
    for item in (old, recent):
        assert stats.delete(item["id"]).status_code == 204
    days = app.config["SYNC_RETENTION_DAYS"]
    db_session.execute(
        update(Tombstone)
        .where(Tombstone.item_id == uuid.UUID(old["id"]))
        .values(deleted_at=datetime.now(UTC) - timedelta(days=days + 1, minutes=1))
    )
    db_session.commit()

    result = app.test_cli_runner().invoke(args=["grau", "prune-tombstones"])
    assert result.exit_code == 0 and "tombstones pruned: 1" in result.output, result.output
    assert tombstone(db_session, "body_stat", old["id"]) is None
    assert tombstone(db_session, "body_stat", recent["id"]) is not None


# ------------------------------------------------------------------------ its cost


def test_a_sync_with_nothing_new_is_one_query_on_indexes(
    client: FlaskClient, engine: Engine, db_session: Session, user: Any
) -> None:
    Items(client, OWNED["workout set"], user).make()
    _, cursor = read_feed(client, user)
    with sql_sent(engine) as sent:
        response = client.get("/v1/changes", query_string={"cursor": cursor}, headers=user.headers)
    assert response.json["changes"] == []
    assert len(selects(sent)) == 1, sent  # beside the token check's, on the driver's cursor

    if engine.dialect.name == "postgresql":  # every branch can be read from an index
        position = Position(10**9, "", uuid.UUID(int=0))
        query = listing(uuid.UUID(user.id), position, with_deletes=True, limit=101)
        db_session.execute(text("SET LOCAL enable_seqscan = off"))
        compiled = query.compile(engine, compile_kwargs={"literal_binds": True})
        plan = "\n".join(db_session.scalars(text(f"EXPLAIN {compiled}")))
        assert "Seq Scan" not in plan, plan


def test_a_page_costs_the_same_queries_however_many_changes_it_holds(
    client: FlaskClient, engine: Engine, user: Any
) -> None:
    for name in OWNED:  # one of each, and then many
        Items(client, OWNED[name], user).make()
    costs, sizes = [], []
    for more in (0, 30):
        for name in ("body stat", "mood", "workout set", "plan"):
            for _ in range(more):
                Items(client, OWNED[name], user).make()
        with sql_sent(engine) as sent:
            changes, _ = read_feed(client, user, limit=500)
        costs.append(len(selects(sent)))
        sizes.append(len(changes))
    assert sizes[0] < 20 and sizes[1] > 120, sizes
    assert costs[0] == costs[1] <= 1 + 2 * len(RESOURCES), costs


# ------------------------------------------------------------------ replaying the feed


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_replaying_the_feed_through_any_interleaving_of_writes_rebuilds_the_user_s_data(
    client: FlaskClient, user: Any, other_user: Any, seed: int
) -> None:
    """Random writes (creates, changes, deletes, cascades, another user's writes) between
    random small pages: the copy an app builds from the pages equals what a sync from
    scratch reads at the end, and that equals each item's GET."""
    rng = random.Random(seed)
    names = ("body stat", "mood tag", "mood", "workout", "workout set", "plan")
    mine: dict[str, list[str]] = {name: [] for name in names}
    workouts = Items(client, OWNED["workout"], user)
    copy: dict[tuple[str, str], Any] = {}
    cursor: str | None = None
    for step in range(60):
        name = rng.choice(names)
        items = Items(client, OWNED[name], user if rng.random() < 0.9 else other_user)
        ids = mine[name] if items.account is user else []
        action = rng.choice(("create", "create", "change", "delete", "page", "page"))
        unique = {"label": f"Tag {step}"} if name == "mood tag" else {}  # labels are unique
        if action == "create" or (action in ("change", "delete") and not ids):
            item = items.make(**unique)
            if items.account is user:
                ids.append(item["id"])
                if name == "workout set":  # its parent is a new workout of the user's
                    mine["workout"].append(items.collection.split("/")[3])
        elif action == "change" and name != "workout set":
            change = {"icon": f"icon-{step}"} if name == "mood tag" else OWNED[name].change
            assert items.patch(rng.choice(ids), change).status_code == 200
        elif action == "delete" and name == "workout":  # its sets go with it
            assert workouts.delete(ids.pop(rng.randrange(len(ids)))).status_code == 204
        elif action == "delete" and name not in ("workout set", "mood tag"):
            assert items.delete(ids.pop(rng.randrange(len(ids)))).status_code == 204
        else:  # a page, as an app on a flaky connection reads them
            sent = {"limit": rng.randint(1, 4), **({"cursor": cursor} if cursor else {})}
            page = client.get("/v1/changes", query_string=sent, headers=user.headers).json
            apply(copy, page["changes"])
            cursor = page["next_cursor"]
    rest, _ = read_feed(client, user, cursor) if cursor else read_feed(client, user)
    apply(copy, rest)

    fresh: dict[tuple[str, str], Any] = {}
    apply(fresh, read_feed(client, user)[0])
    assert copy == fresh
    for (resource, item_id), data in fresh.items():
        url = GETS.get(resource)
        if url:
            url = url.format(id=item_id, workout_id=data.get("workout_id"))
            assert client.get(url, headers=user.headers).json == data, resource


def test_rows_from_before_the_feed_existed_are_all_listed_one_page_at_a_time(
    client: FlaskClient, db_session: Session, user: Any
) -> None:
    """The migration left every existing row at seq 0: ties, broken by resource and id."""
    made = [Items(client, OWNED[name], user).make() for name in ("body stat", "mood", "plan")]
    made += [Items(client, OWNED["body stat"], user).make(value=80.0 + i) for i in range(3)]
    for synced in SYNCED:
        owner = synced.table.c[synced.owner]
        db_session.execute(update(synced.table).where(owner == uuid.UUID(user.id)).values(seq=0))
    db_session.commit()

    changes, _ = read_feed(client, user, limit=1)
    listed = [change["id"] for change in changes]
    assert len(listed) == len(set(listed)) == len(made) + 1  # and the profile
    assert {item["id"] for item in made} <= set(listed)


# ------------------------------------------------------------------------ the batch


def batch(client: FlaskClient, account: Any, operations: list[Any], **options: Any) -> Any:
    response = client.post(
        "/v1/batch", json={"operations": operations, **options}, headers=account.headers
    )
    assert response.status_code == 200, response.json
    return response.json


def offline_queue(exercise: str) -> tuple[str, str, list[dict[str, Any]]]:
    """What an app records in a gym basement, queued to push: a workout, two sets in it
    (naming it by the id the app chose), a body stat and a mood. Returns the workout's
    id, the first set's and the operations."""
    workout, first_set = str(uuid.uuid4()), str(uuid.uuid4())
    sets = f"/v1/workouts/{workout}/sets"
    weighed = {"reps": 5, "weight": 100.0, "weight_unit": "kg"}
    return (
        workout,
        first_set,
        [
            {
                "method": "POST",
                "path": "/v1/workouts",
                "body": {"id": workout, "name": "Basement", "started_at": "2026-11-20T18:00:00Z"},
            },
            {
                "method": "POST",
                "path": sets,
                "body": {"id": first_set, "exercise_id": exercise, **weighed},
            },
            {
                "method": "POST",
                "path": sets,
                "body": {"id": str(uuid.uuid4()), "exercise_id": exercise, "reps": 3},
            },
            {
                "method": "POST",
                "path": "/v1/body-stats",
                "body": {
                    "id": str(uuid.uuid4()),
                    "type": "weight",
                    "value": 72.5,
                    "unit": "kg",
                    "recorded_at": "2026-11-20T07:00:00Z",
                },
            },
            {
                "method": "POST",
                "path": "/v1/moods",
                "body": {
                    "id": str(uuid.uuid4()),
                    "value": 5,
                    "recorded_at": "2026-11-20T20:00:00Z",
                },
            },
        ],
    )


def offline_workout(client: FlaskClient, user: Any) -> tuple[str, list[dict[str, Any]]]:
    """`offline_queue` with one of grau's exercises: the workout's id and the operations."""
    exercise = client.get(
        "/v1/exercises", query_string={"source": "system"}, headers=user.headers
    ).json["items"][0]["id"]
    workout, _, operations = offline_queue(exercise)
    return workout, operations


def test_a_batch_runs_each_write_as_its_own_request_would(
    client: FlaskClient, user: Any, other_user: Any
) -> None:
    workout, operations = offline_workout(client, user)
    theirs = Items(client, OWNED["body stat"], other_user).make()
    operations += [
        {"method": "PATCH", "path": f"/v1/body-stats/{theirs['id']}", "body": {"note": "x"}},
        {"method": "POST", "path": "/v1/body-stats", "body": {"type": "weight"}},
        {"method": "DELETE", "path": f"/v1/workouts/{workout}", "if_match": '"stale"'},
    ]
    answer = batch(client, user, operations)

    assert answer["committed"] is True
    assert [r["status"] for r in answer["results"]] == [201, 201, 201, 201, 201, 404, 422, 412]
    created = answer["results"][0]
    single = client.get(f"/v1/workouts/{workout}", headers=user.headers)
    assert created["headers"]["Location"].endswith(f"/v1/workouts/{workout}")
    assert [s["reps"] for s in single.json["sets"]] == [5, 3]  # the sets found their workout
    assert answer["results"][2]["body"] == single.json["sets"][1]
    assert answer["results"][7]["body"]["current"] == single.json  # 412 carries it too
    assert answer["results"][6]["body"]["errors"].keys() >= {"value", "unit"}


def test_replaying_a_batch_after_a_lost_answer_creates_nothing_twice(
    client: FlaskClient, user: Any
) -> None:
    _, operations = offline_workout(client, user)
    first = batch(client, user, operations)
    again = batch(client, user, operations)
    assert [r["body"] for r in again["results"]] == [r["body"] for r in first["results"]]
    assert all(r["headers"]["Idempotent-Replayed"] == "true" for r in again["results"])
    changes, _ = read_feed(client, user)
    assert sorted(c["resource"] for c in changes if c["resource"] != "profile") == [
        "body_stat",
        "mood",
        "workout",
        "workout_set",
        "workout_set",
    ]


def test_an_atomic_batch_that_fails_changes_nothing(client: FlaskClient, user: Any) -> None:
    _, operations = offline_workout(client, user)
    operations.insert(2, {"method": "POST", "path": "/v1/body-stats", "body": {"type": "x"}})
    answer = batch(client, user, operations, atomic=True)

    assert answer["committed"] is False
    assert [r["status"] for r in answer["results"]] == [424, 424, 422, 424, 424, 424]
    assert "operation 2 failed" in answer["results"][0]["body"]["detail"]
    changes, _ = read_feed(client, user)
    assert [c["resource"] for c in changes] == ["profile"]  # nothing was kept

    operations.pop(2)
    kept = batch(client, user, operations, atomic=True)
    assert kept["committed"] is True and [r["status"] for r in kept["results"]] == [201] * 5


def test_a_batch_takes_only_the_user_s_writes_and_at_most_100(
    client: FlaskClient, user: Any
) -> None:
    for operations in (
        [{"method": "POST", "path": "/v1/auth/logout"}],
        [{"method": "POST", "path": "/v1/users", "body": {}}],
        [{"method": "POST", "path": "/v1/batch", "body": {"operations": []}}],
        [{"method": "GET", "path": "/v1/body-stats"}],
        [{"method": "DELETE", "path": "/health"}],
        [{"method": "DELETE", "path": f"/v1/body-stats/{uuid.uuid4()}"}] * 101,
        [],
    ):
        response = client.post("/v1/batch", json={"operations": operations}, headers=user.headers)
        assert response.status_code == 422, (operations[:1], response.json)
    assert client.post("/v1/batch", json={"operations": []}).status_code == 401


def test_every_operation_of_a_batch_counts_against_the_rate_limit(build_app: Any) -> None:
    limits = {"RATELIMIT_ENABLED": True, "RATELIMIT_USER": "5 per minute"}
    app = build_app({**limits, "CACHE_KEY_PREFIX": f"batch-{uuid.uuid4().hex}"})
    client = app.test_client()
    email = f"batch-{uuid.uuid4().hex[:8]}@example.com"
    client.post("/v1/users", json={"email": email, "password": "correct horse battery"})
    login = client.post(
        "/v1/auth/login", json={"email": email, "password": "correct horse battery"}
    )
    headers = {"Authorization": f"Bearer {login.json['access_token']}"}
    gone = {"method": "DELETE", "path": f"/v1/body-stats/{uuid.uuid4()}"}
    answer = client.post("/v1/batch", json={"operations": [gone] * 6}, headers=headers).json
    statuses = [r["status"] for r in answer["results"]]
    assert statuses[:4] == [404] * 4 and statuses[4:] == [429, 429], statuses  # and the batch
    assert answer["results"][5]["headers"]["Retry-After"]


def test_a_batch_with_a_revoked_token_is_401_and_runs_nothing(
    client: FlaskClient, user: Any
) -> None:
    _, operations = offline_workout(client, user)
    assert client.post("/v1/auth/logout", headers=user.headers).status_code == 204
    response = client.post("/v1/batch", json={"operations": operations}, headers=user.headers)
    assert response.status_code == 401 and "revoked" in response.json["detail"]


def test_a_batch_answers_odd_paths_as_their_own_requests_would(
    client: FlaskClient, user: Any
) -> None:
    odd = ["/v1/", "/v1/%", "/v1/%zz", "/v1/..", "/v1//x", "/v1/body-stats/x?y=%ff", "/v1/=%C3"]
    operations = [{"method": "DELETE", "path": path} for path in odd]
    answer = batch(client, user, operations)
    statuses = [r["status"] for r in answer["results"]]
    assert all(status in (404, 405) for status in statuses), statuses
    headers_no_request_can_send = ({"if_match": "f\n"}, {"idempotency_key": "a b"})
    odd_operations = [{"path": path} for path in ("/v1/\u00df", "/v1/a b", "/v1/\udcd1")]
    for operation in odd_operations + [{"path": "/v1/x", **h} for h in headers_no_request_can_send]:
        sent = {"operations": [{"method": "DELETE", **operation}]}
        response = client.post(
            "/v1/batch",
            data=json.dumps(sent),
            headers={**user.headers, "Content-Type": "application/json"},
        )
        assert response.status_code == 422, (operation, response.json)
