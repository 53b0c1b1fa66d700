"""/v1/plans: plans as one document (days, planned exercises), one active plan per user."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest
from conftest import ids, public, sql_sent
from spec_cases import validator
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from grau.catalog.models import Exercise
from grau.core.domain_errors import Stale
from grau.plans import service
from grau.plans.models import Plan, PlanDay, PlannedExercise

URL = "/v1/plans"


def item_url(plan_id: str) -> str:
    return f"{URL}/{plan_id}"


def listing(client: Any, account: Any, **query: Any) -> Any:
    return client.get(URL, query_string=query, headers=account.headers)


def day(name: str, *exercise_ids: str, **fields: Any) -> dict[str, Any]:
    return {"name": name, "exercises": [{"exercise_id": i} for i in exercise_ids], **fields}


def planned(body: dict[str, Any], day_index: int = 0, index: int = 0) -> dict[str, Any]:
    exercise: dict[str, Any] = body["days"][day_index]["exercises"][index]
    return exercise


def error_at(response: Any, day_index: int, index: int) -> dict[str, Any]:
    """The errors of one planned exercise, by its path in the document."""
    errors: dict[str, Any] = response.json["errors"]["days"][str(day_index)]["exercises"]
    return errors[str(index)]


@pytest.fixture
def system_ids(db_session: Session) -> list[str]:
    """Ids of a few exercises from grau's seeded catalog."""
    rows = db_session.scalars(
        select(Exercise.id).where(Exercise.user_id.is_(None)).order_by(Exercise.name).limit(8)
    )
    found = [str(i) for i in rows]
    assert len(found) == 8
    return found


@pytest.fixture
def own_exercise(db_session: Session) -> Callable[..., str]:
    """An exercise that belongs to `account`, as the user would add it."""

    def make(account: Any, name: str = "Tire flip") -> str:
        exercise = Exercise(
            user_id=uuid.UUID(account.id),
            name=name,
            category="strength",
            laterality="bilateral",
            difficulty="advanced",
        )
        db_session.add(exercise)
        db_session.commit()
        return str(exercise.id)

    return make


@pytest.fixture
def create_plan(client: Any) -> Callable[..., dict[str, Any]]:
    def make(account: Any, **fields: Any) -> dict[str, Any]:
        body = {"name": "Full body", **fields}
        response = client.post(URL, json=body, headers=account.headers)
        assert response.status_code == 201, response.json
        return {**response.json, "_etag": response.headers["ETag"]}

    return make


def client_view(app: Any, account: Any, plan_id: str) -> dict[str, Any]:
    response = app.test_client().get(item_url(plan_id), headers=account.headers)
    assert response.status_code == 200
    view: dict[str, Any] = response.json
    return view


def active_ids(client: Any, account: Any) -> list[str]:
    return ids(listing(client, account, is_active="true"))


# ------------------------------------------------------------------------- create


def test_create_returns_the_whole_document_as_stored(client, user, system_ids):
    heavy = {
        "exercise_id": system_ids[0],
        "target_sets": 5,
        "target_reps": 5,
        "target_weight": 80.5,
        "weight_unit": "kg",
        "note": "Pause",
    }
    by_rpe = {"exercise_id": system_ids[1], "target_sets": 3, "target_rpe": 8.5}
    upper = {"name": "Upper", "note": "Heavy", "exercises": [heavy, by_rpe]}
    body = {"name": "Upper/lower", "description": "Four days a week", "days": [upper]}

    response = client.post(URL, json=body, headers=user.headers)

    # A planned exercise shows every field; those not sent are null.
    unset = dict.fromkeys(
        ["target_sets", "target_reps", "target_weight", "weight_unit", "target_rpe", "note"]
    )
    exercises = [{**unset, **sent, "position": n} for n, sent in enumerate([heavy, by_rpe])]
    assert {
        k: v for k, v in response.json.items() if k not in ("id", "created_at", "updated_at")
    } == {**body, "is_active": False, "days": [{**upper, "position": 0, "exercises": exercises}]}


def test_create_with_only_a_name_has_no_days_and_is_inactive(client, user):
    response = client.post(URL, json={"name": "Later"}, headers=user.headers)

    assert (response.json["days"], response.json["description"], response.json["is_active"]) == (
        [],
        None,
        False,
    )


def test_list_order_is_the_position_of_days_and_exercises(client, user, system_ids):
    a, b, c = system_ids[:3]
    body = {"name": "Order", "days": [day("Z", c, a, b), day("A", b, b), day("M")]}

    response = client.post(URL, json=body, headers=user.headers)

    days = response.json["days"]
    assert [(d["position"], d["name"]) for d in days] == [(0, "Z"), (1, "A"), (2, "M")]
    assert [[(e["position"], e["exercise_id"]) for e in d["exercises"]] for d in days] == [
        [(0, c), (1, a), (2, b)],
        [(0, b), (1, b)],
        [],
    ]  # an exercise may appear twice


def test_a_plan_may_use_the_users_own_exercise(client, user, own_exercise):
    mine = own_exercise(user)

    response = client.post(
        URL, json={"name": "Mine", "days": [day("A", mine)]}, headers=user.headers
    )

    assert response.status_code == 201
    assert planned(response.json)["exercise_id"] == mine


def test_another_users_or_an_unknown_exercise_gets_422_naming_its_path_and_creates_no_plan(
    client, user, other_user, own_exercise, system_ids
):
    refused = [
        client.post(
            URL,
            json={"name": "Sneaky", "days": [day("A", system_ids[0]), day("B", system_ids[1], e)]},
            headers=user.headers,
        )
        for e in (own_exercise(other_user), str(uuid.uuid4()))
    ]

    assert [r.status_code for r in refused] == [422, 422]
    message = ["No exercise with this id is in grau's catalog or yours."]
    for response in refused:
        assert response.json["errors"] == {
            "days": {"1": {"exercises": {"1": {"exercise_id": message}}}}
        }
    assert listing(client, user).json["pagination"]["total"] == 0


def test_every_unusable_exercise_is_named(client, user, system_ids):
    missing = str(uuid.uuid4())
    body = {"name": "X", "days": [day("A", missing, system_ids[0], missing)]}

    response = client.post(URL, json=body, headers=user.headers)

    assert set(response.json["errors"]["days"]["0"]["exercises"]) == {"0", "2"}


# (the fields of one planned exercise besides its exercise_id, the field its 422 names)
PLANNED_REFUSED = {
    **{f"{f} {v!r}": ({f: v}, f)
       for f, v in [("target_sets", 0), ("target_sets", 21), ("target_sets", 2.5),
                    ("target_sets", "3"), ("target_sets", True), ("target_reps", 0),
                    ("target_reps", 101), ("target_rpe", 0.5), ("target_rpe", 10.5),
                    ("target_rpe", "8"), ("note", "a\x00b"), ("note", "x" * 1001),
                    ("exercise_id", "bench press"), ("exercise_id", None)]},
    "weight -1 kg": ({"target_weight": -1, "weight_unit": "kg"}, "target_weight"),
    "weight 5000.01 lb": ({"target_weight": 5000.01, "weight_unit": "lb"}, "target_weight"),
    "weight '60' kg": ({"target_weight": "60", "weight_unit": "kg"}, "target_weight"),
    "unit st": ({"target_weight": 60, "weight_unit": "st"}, "weight_unit"),
    "unit KG": ({"target_weight": 60, "weight_unit": "KG"}, "weight_unit"),
    "weight alone": ({"target_weight": 60}, "weight_unit"),
    "weight with null unit": ({"target_weight": 60, "weight_unit": None}, "weight_unit"),
    "unit alone": ({"weight_unit": "lb"}, "target_weight"),
    "unit with null weight": ({"target_weight": None, "weight_unit": "lb"}, "target_weight"),
    **{f"{f}, not a client's": ({f: 1}, f) for f in ["position", "id", "plan_id", "sets"]},
}  # fmt: skip


@pytest.mark.parametrize(("fields", "named"), PLANNED_REFUSED.values(), ids=PLANNED_REFUSED)
def test_bad_planned_exercise_gets_422_naming_the_field_at_its_path(
    client, user, system_ids, fields, named
):
    exercise = {"exercise_id": system_ids[0], **fields}
    body = {"name": "X", "days": [{"name": "A", "exercises": [exercise]}]}

    response = client.post(URL, json=body, headers=user.headers)

    assert response.status_code == 422
    assert named in error_at(response, 0, 0)


WEIGHT_PAIRS = [
    {},
    {"target_weight": 60},
    {"weight_unit": "kg"},
    {"target_weight": 60, "weight_unit": "kg"},
    {"target_weight": 60, "weight_unit": None},
    {"target_weight": None, "weight_unit": "kg"},
    {"target_weight": None, "weight_unit": None},
    {"target_weight": None},
    {"weight_unit": None},
]


@pytest.mark.parametrize("sent", WEIGHT_PAIRS, ids=[str(p) for p in WEIGHT_PAIRS])
def test_documented_weight_rule_is_exactly_what_is_accepted(client, user, system_ids, sent):
    """Generated clients and the fuzzer trust the spec's rule: the API must agree with it."""
    exercise = {"exercise_id": system_ids[0], **sent}
    documented = validator("PlannedExerciseCreate").is_valid(exercise)

    response = client.post(
        URL,
        json={"name": "X", "days": [day("A") | {"exercises": [exercise]}]},
        headers=user.headers,
    )

    assert response.status_code == (201 if documented else 422)


# (the fields of one planned exercise besides its exercise_id, as stored; None: as sent)
PLANNED_ACCEPTED = {
    "whole floats are counts": (
        {"target_sets": 3.0, "target_reps": 10.0},
        {"target_sets": 3, "target_reps": 10},
    ),
    "bodyweight": ({"target_weight": 0, "weight_unit": "kg"}, None),
    "max": ({"target_weight": 5000, "weight_unit": "lb"}, None),
    "no weight": ({"target_weight": None, "weight_unit": None}, None),
}


@pytest.mark.parametrize(("fields", "stored"), PLANNED_ACCEPTED.values(), ids=PLANNED_ACCEPTED)
def test_acceptable_planned_exercise_is_stored(client, user, system_ids, fields, stored):
    exercise = {"exercise_id": system_ids[0], **fields}

    response = client.post(
        URL,
        json={"name": "X", "days": [day("A") | {"exercises": [exercise]}]},
        headers=user.headers,
    )

    assert response.status_code == 201
    assert {k: planned(response.json)[k] for k in fields} == (stored or fields)


def test_14_days_of_30_exercises_are_accepted_and_a_31st_exercise_gets_422_on_its_day(
    client, user, system_ids
):
    most = {"name": "Max", "days": [day(f"D{i}", *(system_ids * 4)[:30]) for i in range(14)]}
    too_many = {"name": "X", "days": [day("A"), day("B", *(system_ids * 4)[:31])]}

    accepted = client.post(URL, json=most, headers=user.headers)
    refused = client.post(URL, json=too_many, headers=user.headers)

    assert accepted.status_code == 201
    assert [len(d["exercises"]) for d in accepted.json["days"]] == [30] * 14
    assert refused.status_code == 422
    assert "exercises" in refused.json["errors"]["days"]["1"]


INVALID_PLANS = {
    "no name": ({}, "name"),
    "empty name": ({"name": ""}, "name"),
    "long name": ({"name": "x" * 121}, "name"),
    "null name": ({"name": None}, "name"),
    "long description": ({"name": "X", "description": "x" * 2001}, "description"),
    "is_active 1": ({"name": "X", "is_active": 1}, "is_active"),
    "is_active string": ({"name": "X", "is_active": "true"}, "is_active"),
    "null days": ({"name": "X", "days": None}, "days"),
    "days object": ({"name": "X", "days": {"name": "A"}}, "days"),
    "15 days": ({"name": "X", "days": [day(f"D{i}") for i in range(15)]}, "days"),
}


@pytest.mark.parametrize(("body", "named"), INVALID_PLANS.values(), ids=INVALID_PLANS)
def test_invalid_plan_field_gets_422_naming_it(client, user, body, named):
    response = client.post(URL, json=body, headers=user.headers)

    assert response.status_code == 422
    assert named in response.json["errors"]


@pytest.mark.parametrize(
    ("bad_day", "named"),
    [
        ({}, "name"),
        ({"name": ""}, "name"),
        ({"name": "x" * 81}, "name"),
        ({"name": "A", "position": 3}, "position"),
        ({"name": "A", "id": str(uuid.uuid4())}, "id"),
        ({"name": "A", "exercises": None}, "exercises"),
    ],
    ids=["no name", "empty name", "long name", "position", "id", "null exercises"],
)
def test_invalid_day_gets_422_naming_its_path(client, user, bad_day, named):
    response = client.post(
        URL, json={"name": "X", "days": [day("ok"), bad_day]}, headers=user.headers
    )

    assert response.status_code == 422
    assert named in response.json["errors"]["days"]["1"]


# --------------------------------------------------------------------------- list


@pytest.mark.parametrize(("value", "expected"), [("true", ["B"]), ("false", ["A", "C"])])
def test_list_filters_by_is_active(client, user, create_plan, value, expected):
    for name in "ABC":
        create_plan(user, name=name, is_active=name == "B")

    response = listing(client, user, is_active=value)

    assert [item["name"] for item in response.json["items"]] == expected


@pytest.mark.parametrize("value", ["1", "yes", "True", ""])
def test_list_with_an_unclear_is_active_gets_422(client, user, value):
    response = listing(client, user, is_active=value)

    assert response.status_code == 422
    assert "is_active" in response.json["errors"]


@pytest.mark.parametrize(("sort", "order"), [("updated_at", "acb"), ("-updated_at", "bca")])
def test_list_sorts_by_the_last_change(client, user, create_plan, sort, order):
    """The other sorts are in test_conformance.py; only plans sort by `updated_at`."""
    made = {name: create_plan(user, name=name)["id"] for name in "abc"}
    client.patch(item_url(made["b"]), json={"description": "touched"}, headers=user.headers)

    response = listing(client, user, sort=sort)

    assert ids(response) == [made[name] for name in order]


# ------------------------------------------------------------------------- change


def test_patch_with_days_replaces_every_day(client, user, create_plan, system_ids):
    a, b, c, d = system_ids[:4]
    plan = create_plan(user, days=[day("Old 1", a, b), day("Old 2", c)])

    response = client.patch(
        item_url(plan["id"]),
        json={"days": [day("New", d, a) | {"note": "fresh"}]},
        headers=user.headers,
    )

    assert response.status_code == 200
    assert [(x["position"], x["name"], x["note"]) for x in response.json["days"]] == [
        (0, "New", "fresh")
    ]
    assert [(e["position"], e["exercise_id"]) for e in response.json["days"][0]["exercises"]] == [
        (0, d),
        (1, a),
    ]


def rows(db_session: Session) -> list[int]:
    """How many plan days and planned exercises there are (in the test's transaction)."""
    return [
        db_session.scalar(select(func.count()).select_from(t)) for t in (PlanDay, PlannedExercise)
    ]


def test_replacing_days_and_deleting_the_plan_leave_no_orphan_rows(
    client, user, create_plan, system_ids, db_session
):
    plan = create_plan(user, days=[day("Old 1", *system_ids[:3]), day("Old 2", system_ids[3])])

    client.patch(
        item_url(plan["id"]), json={"days": [day("New", system_ids[4])]}, headers=user.headers
    )
    replaced = rows(db_session)
    client.delete(item_url(plan["id"]), headers=user.headers)

    assert (replaced, rows(db_session)) == ([1, 1], [0, 0])


def test_patch_with_another_users_exercise_gets_422_and_changes_nothing(
    client, user, other_user, own_exercise, create_plan, system_ids
):
    plan = create_plan(user, days=[day("A", system_ids[0])])
    theirs = own_exercise(other_user)

    response = client.patch(
        item_url(plan["id"]), json={"name": "New", "days": [day("A", theirs)]}, headers=user.headers
    )

    assert response.status_code == 422
    assert "exercise_id" in error_at(response, 0, 0)
    assert client.get(item_url(plan["id"]), headers=user.headers).json == public(plan)


@pytest.mark.parametrize(
    ("body", "named"),
    [
        ({"name": None}, "name"),
        ({"name": ""}, "name"),
        ({"days": None}, "days"),
        ({"is_active": None}, "is_active"),
        ({"is_active": 0}, "is_active"),
    ],
)
def test_patch_with_an_invalid_field_gets_422_naming_it(client, user, create_plan, body, named):
    plan = create_plan(user)

    response = client.patch(item_url(plan["id"]), json=body, headers=user.headers)

    assert response.status_code == 422
    assert named in response.json["errors"]


def test_replacing_days_of_a_plan_changed_meanwhile_gets_412_and_deletes_nothing(
    app, user, create_plan, system_ids, session_factory, engine
):
    """A writer that read an older version must not delete days it never saw.

    The plan row is written (and version-checked) before its days are
    deleted, so on PostgreSQL a concurrent writer waits on that row, then
    fails, without issuing a DELETE at all.
    """
    user_id = uuid.UUID(user.id)
    plan = create_plan(user, days=[day("Original", system_ids[0])])
    plan_id = uuid.UUID(plan["id"])
    with app.test_request_context(), session_factory() as slow:
        # Held, so the session's identity map keeps this (soon stale) version.
        slow_read = service.PLANS.get(slow, user_id, plan_id)
        assert slow_read.version == 1
        # Another writer commits meanwhile (on the same connection here, so as a bare UPDATE).
        bump = update(Plan).where(Plan.id == plan_id).values(version=Plan.version + 1)
        slow.execute(bump, execution_options={"synchronize_session": False})

        with sql_sent(engine) as statements, pytest.raises(Stale):
            service.PLANS.update(slow, user_id, plan_id, {"days": [day("Slow")]}, if_match=None)

    assert not [s for s in statements if s.lstrip().upper().startswith("DELETE")]
    assert client_view(app, user, plan["id"])["days"] == plan["days"]


# --------------------------------------------------------------------- activation


# Steps on plans "a" (mine, active), "b" (mine, made by the step if it is "create b ..."),
# and the plans left active, mine then another user's ("t", active throughout).
ACTIVATIONS = {
    "creating an active plan": (["create b active"], ["b"]),
    "creating an inactive plan": (["create b inactive"], ["a"]),
    "activating by patch": (["create b inactive", "patch b active"], ["b"]),
    "reactivating the active plan": (["patch a active"], ["a"]),
    "deactivating": (["patch a inactive"], []),
}


@pytest.mark.parametrize(("steps", "active"), ACTIVATIONS.values(), ids=ACTIVATIONS)
def test_one_plan_at_most_is_active_and_another_users_is_left_alone(
    client, user, other_user, create_plan, steps, active
):
    theirs = create_plan(other_user, is_active=True)
    made = {"a": create_plan(user, name="a", is_active=True)}
    for step in steps:
        verb, name, state = step.split()
        if verb == "create":
            made[name] = create_plan(user, name=name, is_active=state == "active")
        else:
            patch = {"is_active": state == "active"}
            response = client.patch(item_url(made[name]["id"]), json=patch, headers=user.headers)
            assert response.json["is_active"] is (state == "active")

    assert active_ids(client, user) == [made[name]["id"] for name in active]
    shown = {n: client.get(item_url(p["id"]), headers=user.headers).json for n, p in made.items()}
    assert {n for n, plan in shown.items() if plan["is_active"]} == set(active)
    assert active_ids(client, other_user) == [theirs["id"]]


def test_the_deactivated_plan_gets_a_new_etag(client, user, create_plan):
    first = create_plan(user, name="First", is_active=True)
    client.get(item_url(first["id"]), headers=user.headers)
    create_plan(user, name="Second", is_active=True)

    response = client.get(
        item_url(first["id"]), headers={**user.headers, "If-None-Match": first["_etag"]}
    )

    assert response.status_code == 200
    assert response.headers["ETag"] != first["_etag"]


def test_a_failed_activation_deactivates_nothing(
    client, user, other_user, own_exercise, create_plan
):
    active = create_plan(user, name="Active", is_active=True)
    theirs = own_exercise(other_user)

    client.post(
        URL,
        json={"name": "Bad", "is_active": True, "days": [day("A", theirs)]},
        headers=user.headers,
    )

    assert active_ids(client, user) == [active["id"]]


@pytest.fixture
def lost_race(monkeypatch: pytest.MonkeyPatch) -> None:
    """Another request activated a plan after this one looked for the active plan to deactivate."""
    monkeypatch.setattr(service, "_deactivate_others", lambda *args: None)


def test_concurrent_activation_by_patch_or_create_gets_409_and_changes_nothing(
    client, user, create_plan, lost_race
):
    winner = create_plan(user, name="Winner", is_active=True)
    loser = create_plan(user, name="Loser")

    patched = client.patch(item_url(loser["id"]), json={"is_active": True}, headers=user.headers)
    created = client.post(URL, json={"name": "Late", "is_active": True}, headers=user.headers)

    assert [(r.status_code, r.mimetype) for r in (patched, created)] == [
        (409, "application/problem+json")
    ] * 2
    assert active_ids(client, user) == [winner["id"]]
    assert sorted(ids(listing(client, user))) == sorted([winner["id"], loser["id"]])
