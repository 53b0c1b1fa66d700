"""/v1/workouts and /v1/workouts/{workout_id}/sets: logging workouts set by set, one's own only."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest
from conftest import at, ids, public
from sqlalchemy import func, select

from grau.catalog.models import Exercise
from grau.workouts.models import WorkoutSet

URL = "/v1/workouts"
PUSH_DAY = {
    "name": "Push day",
    "started_at": "2025-03-01T18:00:00+01:00",
    "ended_at": "2025-03-01T19:05:00+01:00",
}


def workout_url(workout_id: str) -> str:
    return f"{URL}/{workout_id}"


def sets_url(workout_id: str) -> str:
    return f"{URL}/{workout_id}/sets"


def set_url(workout_id: str, set_id: str) -> str:
    return f"{URL}/{workout_id}/sets/{set_id}"


# ------------------------------------------------------------------------ factories


@pytest.fixture
def exercise_id(db_session) -> str:
    """An exercise of grau's system catalog (seeded by the test database fixture)."""
    found = db_session.scalar(
        select(Exercise.id).where(Exercise.user_id.is_(None)).order_by(Exercise.slug).limit(1)
    )
    assert found is not None, "the system catalog is not seeded"
    return str(found)


@pytest.fixture
def private_exercise(db_session) -> Callable[..., str]:
    """A user's own exercise, written directly (the exercise API is not what is tested here)."""

    def make(account: Any) -> str:
        exercise = Exercise(
            user_id=uuid.UUID(account.id),
            name=f"Own {uuid.uuid4().hex[:8]}",
            category="strength",
            laterality="bilateral",
            difficulty="beginner",
        )
        db_session.add(exercise)
        db_session.commit()
        return str(exercise.id)

    return make


@pytest.fixture
def create_workout(client) -> Callable[..., dict[str, Any]]:
    def make(account: Any, **fields: Any) -> dict[str, Any]:
        response = client.post(URL, json={**PUSH_DAY, **fields}, headers=account.headers)
        assert response.status_code == 201, response.json
        return {**response.json, "_etag": response.headers["ETag"]}

    return make


@pytest.fixture
def create_set(client, exercise_id) -> Callable[..., dict[str, Any]]:
    def make(account: Any, workout_id: str, **fields: Any) -> dict[str, Any]:
        body = {"exercise_id": exercise_id, "reps": 8, "weight": 100.0, "weight_unit": "kg"}
        response = client.post(
            sets_url(workout_id), json={**body, **fields}, headers=account.headers
        )
        assert response.status_code == 201, response.json
        return {**response.json, "_etag": response.headers["ETag"]}

    return make


@pytest.fixture
def workout(user, create_workout) -> dict[str, Any]:
    return create_workout(user)


def post_set(client: Any, account: Any, workout_id: str, body: dict[str, Any], **headers: str):
    return client.post(sets_url(workout_id), json=body, headers={**account.headers, **headers})


# ------------------------------------------------------------------ workout: create


def test_create_workout_returns_it_as_stored_in_utc_without_sets(client, user):
    response = client.post(URL, json={**PUSH_DAY, "note": "New gym"}, headers=user.headers)

    assert {
        k: v for k, v in response.json.items() if k not in ("id", "created_at", "updated_at")
    } == {
        "name": "Push day",
        "started_at": "2025-03-01T17:00:00+00:00",
        "ended_at": "2025-03-01T18:05:00+00:00",
        "note": "New gym",
        "sets": [],
    }


def test_a_workout_may_have_no_end_yet_or_end_when_it_starts(client, user):
    going_on = client.post(URL, json={"name": "Legs", "started_at": at(1)}, headers=user.headers)
    instant = client.post(
        URL, json={**PUSH_DAY, "ended_at": "2025-03-01T17:00:00Z"}, headers=user.headers
    )

    assert (going_on.status_code, instant.status_code) == (201, 201)
    assert (going_on.json["ended_at"], going_on.json["note"]) == (None, None)


# (what a create changes in a valid workout, the field the 422 names)
REFUSED_WORKOUTS = {
    "ended before it started": ({"ended_at": "2025-03-01T17:59:59+01:00"}, "ended_at"),
    "empty name": ({"name": ""}, "name"),
    "name of 121 characters": ({"name": "x" * 121}, "name"),
    "name with a NUL byte": ({"name": "a\x00b"}, "name"),
    "started_at without offset": ({"started_at": "2025-03-01T18:00:00"}, "started_at"),
    "started in 3000": ({"started_at": "3000-01-01T00:00:00+00:00"}, "started_at"),
    "ended in 1800": ({"ended_at": "1800-01-01T00:00:00+00:00"}, "ended_at"),
    "note of 1001 characters": ({"note": "x" * 1001}, "note"),
}


@pytest.mark.parametrize(("change", "field"), REFUSED_WORKOUTS.values(), ids=REFUSED_WORKOUTS)
def test_ill_formed_workout_gets_422_naming_the_field(client, user, change, field):
    response = client.post(URL, json={**PUSH_DAY, **change}, headers=user.headers)

    assert response.status_code == 422
    assert field in response.json["errors"]


# -------------------------------------------------------------------- workout: list


def test_list_embeds_each_workouts_sets_in_order(client, user, workout, create_set):
    second = create_set(user, workout["id"], sequence=2)
    first = create_set(user, workout["id"], sequence=1)

    response = client.get(URL, headers=user.headers)

    assert [s["id"] for s in response.json["items"][0]["sets"]] == [first["id"], second["id"]]


# ------------------------------------------------------------ workout: read, change


def shown(response: Any, fields: dict[str, Any]) -> dict[str, Any]:
    """The answer's `fields`; of its `errors`, the names of the fields they are about."""
    answer = {**response.json, "errors": list(response.json.get("errors", []))}
    return {k: answer[k] for k in fields}


# (a change to a workout with no end yet: its status, then fields of its answer)
WORKOUT_CHANGES = {
    "its span, to end it": (
        {"started_at": PUSH_DAY["started_at"], "ended_at": "2025-03-01T19:30:00+01:00"},
        200,
        {"ended_at": "2025-03-01T18:30:00+00:00"},
    ),
    "ended_at alone": ({"ended_at": PUSH_DAY["ended_at"]}, 422, {"errors": ["started_at"]}),
    "started_at alone": ({"started_at": PUSH_DAY["started_at"]}, 422, {"errors": ["ended_at"]}),
    "an end before the start": (
        {"started_at": at(2), "ended_at": at(1)},
        422,
        {"errors": ["ended_at"]},
    ),
}


@pytest.mark.parametrize(
    ("change", "status", "fields"), WORKOUT_CHANGES.values(), ids=WORKOUT_CHANGES
)
def test_a_workout_change_gets_its_status_and_answer(
    client, user, create_workout, change, status, fields
):
    workout = create_workout(user, ended_at=None)

    response = client.patch(workout_url(workout["id"]), json=change, headers=user.headers)

    assert (response.status_code, shown(response, fields)) == (status, fields)
    if status == 422:  # and changes nothing
        assert client.get(workout_url(workout["id"]), headers=user.headers).json == public(workout)


# ----------------------------------------------------------------------- sets: create


def test_create_set_returns_it_as_stored(client, user, workout, exercise_id):
    body = {
        "exercise_id": exercise_id,
        "reps": 8,
        "weight": 225.0,
        "weight_unit": "lb",
        "rpe": 8.5,
        "rir": 2,
        "rest_seconds": 120,
        "tempo": "3-1-X-0",
        "duration_seconds": 40,
        "distance_meters": 12.5,
        "kind": "warmup",
        "note": "Paused reps",
    }

    response = post_set(client, user, workout["id"], body)

    stored = {k: v for k, v in response.json.items() if k not in ("id", "created_at", "updated_at")}
    # 225 lb x 0.45359237 kg/lb = 102.05828325 kg, and the set keeps the unit it was logged in.
    assert stored == {
        **body,
        "workout_id": workout["id"],
        "sequence": 1,
        "weight_kg": pytest.approx(102.05828325),
    }


def test_a_set_without_weight_stores_no_weight(client, user, workout, exercise_id):
    response = post_set(client, user, workout["id"], {"exercise_id": exercise_id, "reps": 20})

    assert (response.json["weight"], response.json["weight_unit"], response.json["weight_kg"]) == (
        None,
        None,
        None,
    )


def test_a_set_without_a_sequence_goes_after_the_highest_one_of_its_workout(
    user, create_workout, create_set
):
    first, second = create_workout(user), create_workout(user)
    made = [create_set(user, first["id"])["sequence"] for _ in range(3)]
    create_set(user, first["id"], sequence=10)
    create_set(user, first["id"], sequence=4)

    made += [create_set(user, first["id"])["sequence"], create_set(user, second["id"])["sequence"]]

    assert made == [1, 2, 3, 11, 1]


@pytest.mark.parametrize(
    ("held", "asked"), [(2, {"sequence": 2}), (1000, {})], ids=["taken", "none after 1000"]
)
def test_a_sequence_another_set_holds_or_after_1000_gets_409_and_creates_nothing(
    client, user, workout, create_set, exercise_id, held, asked
):
    create_set(user, workout["id"], sequence=held)

    response = post_set(client, user, workout["id"], {"exercise_id": exercise_id, **asked})

    listed = client.get(sets_url(workout["id"]), headers=user.headers)
    assert (response.status_code, response.mimetype) == (409, "application/problem+json")
    assert listed.json["pagination"]["total"] == 1


def test_a_users_own_exercise_can_be_logged(client, user, workout, private_exercise):
    mine = private_exercise(user)

    response = post_set(client, user, workout["id"], {"exercise_id": mine})

    assert (response.status_code, response.json["exercise_id"]) == (201, mine)


def test_another_users_or_an_unknown_exercise_gets_422_on_exercise_id_in_a_new_or_changed_set(
    client, user, other_user, a_set, private_exercise
):
    theirs, workout_id = private_exercise(other_user), a_set["workout_id"]

    answers = [
        post_set(client, user, workout_id, {"exercise_id": theirs}),
        post_set(client, user, workout_id, {"exercise_id": str(uuid.uuid4())}),
        client.patch(
            set_url(workout_id, a_set["id"]), json={"exercise_id": theirs}, headers=user.headers
        ),
    ]

    assert list(answers[0].json["errors"]) == ["exercise_id"]
    assert [(r.status_code, r.json["errors"]) for r in answers] == [
        (422, answers[0].json["errors"])
    ] * 3


# (a set's fields besides its exercise_id): accepted, and stored as sent.
ACCEPTED_SETS = {
    **{f"{w} {u}": {"weight": w, "weight_unit": u}
       for w, u in [(0, "kg"), (1000, "kg"), (2204.6226, "lb"), (0, "lb")]},  # up to 1000 kg
    **{f"tempo {t}": {"tempo": t} for t in ["3-1-1-0", "3-1-X-0", "10-0-2-1", "X-X-X-X"]},
    **{f"rpe {r}": {"rpe": r} for r in [1, 7.5, 10]},  # in half steps
    **{f"kind {k}": {"kind": k} for k in ["normal", "warmup", "dropset", "failure"]},
    **{f"distance {d}": {"distance_meters": d} for d in [0, 5000.5, 1_000_000]},
}  # fmt: skip


@pytest.mark.parametrize("fields", ACCEPTED_SETS.values(), ids=ACCEPTED_SETS)
def test_plausible_set_is_stored_as_sent(client, user, workout, exercise_id, fields):
    response = post_set(client, user, workout["id"], {"exercise_id": exercise_id, **fields})

    assert response.status_code == 201
    assert {k: response.json[k] for k in fields} == fields


# (a set's fields besides its exercise_id, the field its 422 names)
REFUSED_SETS = {
    **{f"{w!r} {u}": ({"weight": w, "weight_unit": u}, "weight")
       for w, u in [(-0.5, "kg"), (1000.01, "kg"), (2204.63, "lb"), (5000, "lb"), ("100", "kg"),
                    (True, "kg"), (60, None)]},
    "weight alone": ({"weight": 60}, "weight_unit"),
    "unit alone": ({"weight_unit": "kg"}, "weight"),
    "unit st": ({"weight": 60, "weight_unit": "st"}, "weight_unit"),
    **{f"{f} {v!r:.12}": ({f: v}, f)
       for f, v in [("reps", -1), ("reps", 1001), ("reps", 2.5), ("reps", "5"), ("reps", True),
                    ("rpe", "8"), ("rpe", 0.5), ("rpe", 10.5), ("rpe", 8.3), ("rir", -1),
                    ("rir", 11), ("rest_seconds", 3601), ("duration_seconds", -1),
                    ("duration_seconds", 86401), ("sequence", 0), ("sequence", 1001),
                    ("note", "x" * 1001), ("note", "a\x00b"), ("kind", "warm-up"),
                    ("kind", None), ("distance_meters", -1), ("distance_meters", 1_000_001),
                    ("distance_meters", "5")]},
    **{f"tempo {t!r}": ({"tempo": t}, "tempo")
       for t in ["3110", "3-1-1", "3-1-1-0-0", "3-1-1-0\n", "x-1-1-0", "100-1-1-0", "3 -1-1-0",
                 ""]},
}  # fmt: skip


@pytest.mark.parametrize(("fields", "field"), REFUSED_SETS.values(), ids=REFUSED_SETS)
def test_implausible_or_ill_formed_set_gets_422_naming_the_field(
    client, user, workout, exercise_id, fields, field
):
    response = post_set(client, user, workout["id"], {"exercise_id": exercise_id, **fields})

    assert response.status_code == 422
    assert field in response.json["errors"]


# ------------------------------------------------------------------------- sets: list


def test_list_sets_filters_by_exercise(client, user, workout, create_set, private_exercise):
    create_set(user, workout["id"])
    mine = create_set(user, workout["id"], exercise_id=private_exercise(user))

    response = client.get(
        sets_url(workout["id"]),
        query_string={"exercise_id": mine["exercise_id"]},
        headers=user.headers,
    )

    assert ids(response) == [mine["id"]]


# --------------------------------------------------------------- sets: read, change


@pytest.fixture
def a_set(user, workout, create_set) -> dict[str, Any]:
    return create_set(user, workout["id"], note="First")


# (a set's change: its status, then the fields of its answer; of a 422, the fields it names)
SET_CHANGES = {
    "to lb": ({"weight": 100.0, "weight_unit": "lb"}, 200, {"weight_kg": pytest.approx(45.359237)}),
    "weight cleared": (
        {"weight": None, "weight_unit": None},
        200,
        {"weight": None, "weight_unit": None, "weight_kg": None},
    ),
    "its own sequence": ({"sequence": 1}, 200, {"sequence": 1}),  # no conflict with itself
    "weight alone": ({"weight": 90}, 422, {"errors": ["weight_unit"]}),
}


@pytest.mark.parametrize(("change", "status", "fields"), SET_CHANGES.values(), ids=SET_CHANGES)
def test_a_set_change_gets_its_status_and_answer(client, user, a_set, change, status, fields):
    response = client.patch(
        set_url(a_set["workout_id"], a_set["id"]), json=change, headers=user.headers
    )

    assert (response.status_code, shown(response, fields)) == (status, fields)


def test_patch_set_to_a_taken_sequence_gets_409_and_to_a_free_one_moves_it(
    client, user, workout, create_set
):
    first, second = create_set(user, workout["id"]), create_set(user, workout["id"])

    taken = client.patch(
        set_url(workout["id"], second["id"]), json={"sequence": 1}, headers=user.headers
    )
    unchanged = client.get(set_url(workout["id"], second["id"]), headers=user.headers).json
    client.patch(set_url(workout["id"], first["id"]), json={"sequence": 3}, headers=user.headers)

    listed = client.get(workout_url(workout["id"]), headers=user.headers)
    assert (taken.status_code, unchanged) == (409, public(second))
    assert [s["id"] for s in listed.json["sets"]] == [second["id"], first["id"]]


def test_deleting_a_set_keeps_the_others_sequences(client, user, workout, create_set):
    made = [create_set(user, workout["id"]) for _ in range(3)]

    client.delete(set_url(workout["id"], made[1]["id"]), headers=user.headers)

    response = client.get(workout_url(workout["id"]), headers=user.headers)
    assert [s["sequence"] for s in response.json["sets"]] == [1, 3]


# ------------------------------------------------- sets change the workout they are in


def write_to_sets(client, user, workout_id, a_set, create_set, write) -> list[tuple[str, int]]:
    """Make one write to a workout's sets; return the (id, reps) of the sets it leaves."""
    url = set_url(workout_id, a_set["id"])
    if write == "add":
        return [(a_set["id"], 8), (create_set(user, workout_id)["id"], 8)]
    if write == "change":
        assert client.patch(url, json={"reps": 3}, headers=user.headers).status_code == 200
        return [(a_set["id"], 3)]
    assert client.delete(url, headers=user.headers).status_code == 204
    return []


@pytest.mark.parametrize("write", ["add", "change", "delete"])
def test_a_set_write_shows_in_the_cached_workout_read_and_list_and_retires_its_etag(
    client, user, workout, a_set, create_set, write
):
    before = client.get(workout_url(workout["id"]), headers=user.headers).headers["ETag"]
    client.get(URL, headers=user.headers)

    expected = write_to_sets(client, user, workout["id"], a_set, create_set, write)

    read = client.get(workout_url(workout["id"]), headers={**user.headers, "If-None-Match": before})
    listed = client.get(URL, headers=user.headers)
    stale_patch = client.patch(
        workout_url(workout["id"]),
        json={"name": "Pull"},
        headers={**user.headers, "If-Match": before},
    )
    assert (read.status_code, stale_patch.status_code) == (200, 412)
    assert read.headers["ETag"] != before
    assert [(s["id"], s["reps"]) for s in read.json["sets"]] == expected
    assert [(s["id"], s["reps"]) for s in listed.json["items"][0]["sets"]] == expected


def test_deleting_a_workout_deletes_its_sets_and_retires_their_cached_reads(
    client, user, workout, a_set, create_set, db_session
):
    create_set(user, workout["id"])
    url = set_url(workout["id"], a_set["id"])
    client.get(url, headers=user.headers)
    client.get(sets_url(workout["id"]), headers=user.headers)

    client.delete(workout_url(workout["id"]), headers=user.headers)

    remaining = db_session.scalar(
        select(func.count())
        .select_from(WorkoutSet)
        .where(WorkoutSet.workout_id == uuid.UUID(workout["id"]))
    )
    assert remaining == 0
    assert client.get(url, headers=user.headers).status_code == 404
    assert client.get(sets_url(workout["id"]), headers=user.headers).status_code == 404


def test_set_reads_cached_or_not_show_only_the_sets_of_the_workout_in_their_url(
    client, user, create_workout, create_set
):
    first, second = create_workout(user), create_workout(user)
    made = create_set(user, first["id"])
    theirs = create_set(user, second["id"])
    client.get(set_url(first["id"], made["id"]), headers=user.headers)
    client.get(sets_url(first["id"]), headers=user.headers)

    one = client.get(set_url(second["id"], made["id"]), headers=user.headers)
    listed = client.get(sets_url(second["id"]), headers=user.headers)

    assert (one.status_code, ids(listed)) == (404, [theirs["id"]])


# -------------------------------------------------------------------------- ownership

# Each takes (client, workout id, set id, headers, exercise id).
NESTED_REQUESTS = {
    "list sets": lambda c, w, s, h, e: c.get(sets_url(w), headers=h),
    "create set": lambda c, w, s, h, e: c.post(sets_url(w), json={"exercise_id": e}, headers=h),
    "get set": lambda c, w, s, h, e: c.get(set_url(w, s), headers=h),
    "update set": lambda c, w, s, h, e: c.patch(set_url(w, s), json={"reps": 1}, headers=h),
    "delete set": lambda c, w, s, h, e: c.delete(set_url(w, s), headers=h),
}
WORKOUT_REQUESTS = {
    "get": lambda c, w, h: c.get(workout_url(w), headers=h),
    "update": lambda c, w, h: c.patch(workout_url(w), json={"name": "Mine now"}, headers=h),
    "delete": lambda c, w, h: c.delete(workout_url(w), headers=h),
}


# (a request, whose workout its URL names, who asks); the set is always mine.
# Another user's get, change and delete of my set: test_conformance.py.
NESTED_404 = [
    *[(name, "mine", "another user") for name in ["list sets", "create set"]],
    *[(name, "another user's", "me") for name in NESTED_REQUESTS],
    *[(name, "another of mine", "me") for name in ["get set", "update set", "delete set"]],
    *[(name, "no one's", "me") for name in NESTED_REQUESTS],
]


@pytest.mark.parametrize(("name", "workout_of", "asker"), NESTED_404)
def test_a_set_request_gets_404_unless_its_workout_and_set_are_the_askers_and_go_together(
    client, user, other_user, workout, create_workout, a_set, exercise_id, name, workout_of, asker
):
    in_url = {
        "mine": workout,
        "another user's": create_workout(other_user),
        "another of mine": create_workout(user),
        "no one's": {"id": str(uuid.uuid4())},
    }[workout_of]
    headers = {"me": user, "another user": other_user}[asker].headers

    response = NESTED_REQUESTS[name](client, in_url["id"], a_set["id"], headers, exercise_id)

    assert response.status_code == 404


def test_my_workout_and_sets_are_unchanged_after_another_user_tries(
    client, user, other_user, workout, a_set, exercise_id
):
    for name in ("create set", "update set", "delete set"):
        NESTED_REQUESTS[name](client, workout["id"], a_set["id"], other_user.headers, exercise_id)
    for method in ("update", "delete"):
        WORKOUT_REQUESTS[method](client, workout["id"], other_user.headers)

    response = client.get(workout_url(workout["id"]), headers=user.headers)

    assert response.json["sets"] == [public(a_set)]
    assert response.json["name"] == workout["name"]


# ------------------------------------------------------------- weights in another unit

READS = {
    "workout list": lambda workout_id, set_id: URL,
    "workout": lambda workout_id, set_id: workout_url(workout_id),
    "set list": lambda workout_id, set_id: sets_url(workout_id),
    "set": lambda workout_id, set_id: set_url(workout_id, set_id),
}


def shown_sets(response: Any) -> list[dict[str, Any]]:
    """The sets a read shows, whichever of the four reads it is."""
    body = response.json
    if "items" in body:
        body = body["items"]
        return [s for item in body for s in item["sets"]] if "sets" in body[0] else body
    return body.get("sets", [body])


# (the set's weight and unit, the unit asked for, the weight and unit shown)
CONVERSIONS = {
    # 100 kg / 0.45359237 kg/lb = 220.46226218487757 lb, tidied to 12 significant digits.
    "kg as lb": ((100.0, "kg"), "lb", (220.462262185, "lb")),
    # 225 lb x 0.45359237 kg/lb = 102.05828325 kg.
    "lb as kg": ((225.0, "lb"), "kg", (102.05828325, "kg")),
    "no weight": ((None, None), "lb", (None, None)),
}


@pytest.mark.parametrize("read", READS)
@pytest.mark.parametrize("conversion", CONVERSIONS)
def test_a_set_shown_in_a_unit_changes_only_its_weight_and_unit(
    client, user, workout, create_set, read, conversion
):
    (weight, unit), asked, (shown_weight, shown_unit) = CONVERSIONS[conversion]
    made = create_set(user, workout["id"], weight=weight, weight_unit=unit)
    url = READS[read](workout["id"], made["id"])

    response = client.get(url, query_string={"unit": asked}, headers=user.headers)

    expected = {**public(made), "weight": shown_weight, "weight_unit": shown_unit}
    assert shown_sets(response) == [expected]


@pytest.mark.parametrize("read", ["workout", "set"])
def test_unit_kg_on_a_kg_set_is_the_stored_representation_with_its_etag(client, user, a_set, read):
    url = READS[read](a_set["workout_id"], a_set["id"])
    plain = client.get(url, headers=user.headers)

    response = client.get(url, query_string={"unit": "kg"}, headers=user.headers)

    assert response.json == plain.json
    assert response.headers["ETag"] == plain.headers["ETag"]
    assert "." not in response.headers["ETag"]


@pytest.mark.parametrize("read", ["workout"])  # a set's: test_conformance.py
def test_each_unit_shown_has_its_own_etag_and_304(client, user, a_set, read):
    url = READS[read](a_set["workout_id"], a_set["id"])
    plain = client.get(url, headers=user.headers).headers["ETag"]

    in_lb = client.get(url, query_string={"unit": "lb"}, headers=user.headers)
    again = client.get(
        url,
        query_string={"unit": "lb"},
        headers={**user.headers, "If-None-Match": in_lb.headers["ETag"]},
    )
    plain_tag_for_lb = client.get(
        url, query_string={"unit": "lb"}, headers={**user.headers, "If-None-Match": plain}
    )

    assert in_lb.headers["ETag"] != plain
    assert in_lb.headers["ETag"].endswith('.lb"')
    assert again.status_code == 304
    assert plain_tag_for_lb.status_code == 200


def test_a_workout_with_kg_and_lb_sets_converts_only_the_others(client, user, workout, create_set):
    create_set(user, workout["id"])
    create_set(user, workout["id"], weight=225.0, weight_unit="lb")
    plain = client.get(workout_url(workout["id"]), headers=user.headers)

    response = client.get(
        workout_url(workout["id"]), query_string={"unit": "kg"}, headers=user.headers
    )

    assert [(s["weight"], s["weight_unit"]) for s in response.json["sets"]] == [
        (100.0, "kg"),
        (102.05828325, "kg"),
    ]
    # One set shows differently, so this is another representation with another ETag.
    assert response.headers["ETag"] != plain.headers["ETag"]


@pytest.mark.parametrize("read", READS)
@pytest.mark.parametrize("unit", ["st", "g", "KG", ""])
def test_a_unit_other_than_kg_or_lb_gets_422_on_unit(client, user, a_set, read, unit):
    url = READS[read](a_set["workout_id"], a_set["id"])

    response = client.get(url, query_string={"unit": unit}, headers=user.headers)

    assert response.status_code == 422
    assert "unit" in str(response.json)
