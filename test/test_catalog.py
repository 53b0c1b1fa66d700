"""/v1/equipment and /v1/exercises: grau's read-only catalog beside each user's own entries."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from conftest import ids, public

from grau.catalog.models import MUSCLES, Equipment, Exercise, catalog_id
from grau.catalog.seed import _free_id, load_data
from grau.workouts.models import Workout, WorkoutSet

EXERCISES = "/v1/exercises"
EQUIPMENT = "/v1/equipment"
SYSTEM_EXERCISES = load_data("exercises.json")
SYSTEM_EQUIPMENT = load_data("equipment.json")

EXERCISE = {
    "name": "Sandbag Shouldering",
    "category": "strength",
    "primary_muscles": ["hamstrings", "glutes"],
    "secondary_muscles": ["lower_back"],
    "laterality": "unilateral",
    "difficulty": "intermediate",
    "instructions": ["Hinge over the bag.", "Lap it.", "Drive it onto one shoulder."],
}
GEAR = {"name": "Sandbag", "category": "free_weights", "description": "A bag of sand."}
BODIES = {EXERCISES: EXERCISE, EQUIPMENT: GEAR}  # a valid body to create each


def url(base: str, item_id: str) -> str:
    return f"{base}/{item_id}"


def names(response: Any) -> list[str]:
    return [item["name"] for item in response.json["items"]]


@pytest.fixture
def listing(client) -> Callable[..., Any]:
    def get(base: str, account: Any, **query: Any) -> Any:
        response = client.get(base, query_string=query, headers=account.headers)
        assert response.status_code == 200, response.json
        return response

    return get


@pytest.fixture
def make(client) -> Callable[..., dict[str, Any]]:
    """A user's own exercise or equipment (`base` is EXERCISES or EQUIPMENT), as created."""

    def create(base: str, account: Any, **fields: Any) -> dict[str, Any]:
        body = {**BODIES[base], **fields}
        response = client.post(base, json=body, headers=account.headers)
        assert response.status_code == 201, response.json
        return {**response.json, "_etag": response.headers["ETag"]}

    return create


@pytest.fixture
def system_exercise(client, user) -> dict[str, Any]:
    response = client.get(
        EXERCISES, query_string={"q": "Barbell Bench Press"}, headers=user.headers
    )
    return next(e for e in response.json["items"] if e["slug"] == "barbell_bench_press")


@pytest.fixture
def system_equipment(client, user) -> dict[str, Any]:
    response = client.get(EQUIPMENT, query_string={"q": "barbell"}, headers=user.headers)
    return next(e for e in response.json["items"] if e["slug"] == "barbell")


def log_a_set(db_session: Any, user_id: str, exercise_id: str) -> None:
    """A logged set of the exercise (the workouts API is built elsewhere)."""
    workout = Workout(
        user_id=uuid.UUID(user_id),
        name="Push day",
        started_at=datetime(2025, 3, 1, 17, tzinfo=UTC),
    )
    workout.sets = [
        WorkoutSet(
            user_id=workout.user_id,
            exercise_id=uuid.UUID(exercise_id),
            sequence=1,
            reps=5,
            weight=100.0,
            weight_unit="kg",
            weight_kg=100.0,
        )
    ]
    db_session.add(workout)
    db_session.commit()


# ------------------------------------------------------------------ the catalog


def test_fresh_install_lists_every_system_exercise(client, user, listing):
    response = listing(EXERCISES, user, source="system", page_size=100)

    assert response.json["pagination"]["total"] == len(SYSTEM_EXERCISES) >= 100
    assert response.json["pagination"]["total_pages"] == 2


def test_fresh_install_lists_every_system_equipment(client, user, listing):
    response = listing(EQUIPMENT, user, source="system", page_size=100)

    assert sorted(e["slug"] for e in response.json["items"]) == sorted(
        e["slug"] for e in SYSTEM_EQUIPMENT
    )


@pytest.mark.parametrize("muscle", MUSCLES)
def test_every_muscle_group_has_system_exercises(client, user, listing, muscle):
    response = listing(EXERCISES, user, muscle=muscle, page_size=100)

    items = response.json["items"]
    assert items
    assert all(muscle in e["primary_muscles"] + e["secondary_muscles"] for e in items)


def test_system_exercise_is_shown_as_in_the_catalog_data(client, user, system_exercise):
    data = next(e for e in SYSTEM_EXERCISES if e["slug"] == "barbell_bench_press")

    assert {k: system_exercise[k] for k in ("name", "category", "instructions", "system")} == {
        "name": data["name"],
        "category": data["category"],
        "instructions": data["instructions"],
        "system": True,
    }
    assert system_exercise["primary_muscles"] == sorted(data["primary_muscles"])
    assert system_exercise["secondary_muscles"] == sorted(data["secondary_muscles"])


def test_system_exercise_lists_its_equipment_by_id(client, user, listing, system_exercise):
    data = next(e for e in SYSTEM_EXERCISES if e["slug"] == "barbell_bench_press")
    gear = listing(EQUIPMENT, user, source="system", page_size=100).json["items"]
    by_slug = {e["slug"]: e["id"] for e in gear}

    assert system_exercise["equipment_ids"] == sorted(by_slug[s] for s in data["equipment"])


def test_every_user_sees_the_same_catalog(client, user, other_user, listing):
    mine = listing(EXERCISES, user, source="system", page=2, page_size=50)
    theirs = listing(EXERCISES, other_user, source="system", page=2, page_size=50)

    assert ids(mine) == ids(theirs)


# ---------------------------------------------------------- catalog is read-only


@pytest.mark.parametrize("method", ["PATCH", "DELETE"])
@pytest.mark.parametrize("base", [EXERCISES, EQUIPMENT])
def test_writes_to_grau_catalog_rows_get_403_problem_and_change_nothing(
    client, user, listing, base, method
):
    row = listing(base, user, source="system").json["items"][0]

    response = client.open(
        url(base, row["id"]), method=method, json={"name": "Mine now"}, headers=user.headers
    )

    assert (response.status_code, response.mimetype) == (403, "application/problem+json")
    assert client.get(url(base, row["id"]), headers=user.headers).json == row


# ---------------------------------------------------------------- own exercises


def test_create_exercise_returns_it_as_stored(client, user, make):
    exercise = make(EXERCISES, user)

    assert public(exercise) | {"id": "-", "created_at": "-", "updated_at": "-"} == {
        "id": "-",
        "slug": None,
        "system": False,
        "name": "Sandbag Shouldering",
        "category": "strength",
        "primary_muscles": ["glutes", "hamstrings"],
        "secondary_muscles": ["lower_back"],
        "equipment_ids": [],
        "laterality": "unilateral",
        "difficulty": "intermediate",
        "instructions": EXERCISE["instructions"],
        "created_at": "-",
        "updated_at": "-",
    }


def test_create_exercise_with_only_the_required_fields_gets_the_defaults(client, user):
    body = {"name": "Odd Lift", "category": "strength", "primary_muscles": ["abs"]}

    defaults = {"secondary_muscles": [], "equipment_ids": [], "instructions": []}
    defaults |= {"laterality": "bilateral", "difficulty": "beginner"}

    response = client.post(EXERCISES, json=body, headers=user.headers)

    assert {k: response.json[k] for k in defaults} == defaults


def test_exercise_may_use_system_and_own_equipment(client, user, make, system_equipment):
    mine = make(EQUIPMENT, user)

    exercise = make(EXERCISES, user, equipment_ids=[mine["id"], system_equipment["id"]])

    assert exercise["equipment_ids"] == sorted([mine["id"], system_equipment["id"]])


def test_another_users_equipment_gets_the_same_422_on_equipment_ids_as_an_unknown_id(
    client, user, other_user, make
):
    theirs = make(EQUIPMENT, other_user)["id"]
    unknown = str(uuid.uuid4())
    exercise = make(EXERCISES, user, name="Mine")

    answers = [
        client.post(EXERCISES, json={**EXERCISE, "equipment_ids": [i]}, headers=user.headers)
        for i in (theirs, unknown)
    ]
    patched = client.patch(
        url(EXERCISES, exercise["id"]), json={"equipment_ids": [theirs]}, headers=user.headers
    )

    assert [(a.status_code, list(a.json["errors"])) for a in [*answers, patched]] == [
        (422, ["equipment_ids"])
    ] * 3
    messages = [
        a.json["errors"]["equipment_ids"][0].replace(i, "ID")
        for a, i in zip(answers, (theirs, unknown), strict=True)
    ]
    assert messages[0] == messages[1]


# {the items: [(a change to a valid body, the field its 422 names)]}
INVALID_ITEMS = {
    EXERCISES: [
        ({"primary_muscles": ["chest", "chest"]}, "primary_muscles"),
        ({"primary_muscles": []}, "primary_muscles"),
        ({"primary_muscles": ["wings"]}, "primary_muscles"),
        ({"secondary_muscles": ["abs", "abs"]}, "secondary_muscles"),
        ({"category": "yoga"}, "category"),
        ({"laterality": "both"}, "laterality"),
        ({"difficulty": "easy"}, "difficulty"),
        ({"name": ""}, "name"),
        ({"name": "x" * 81}, "name"),
        ({"name": "Bench\x00Press"}, "name"),
        ({"instructions": ["step"] * 31}, "instructions"),
        ({"instructions": ["x" * 501]}, "instructions"),
        ({"instructions": [""]}, "instructions"),
        ({"instructions": "Just do it."}, "instructions"),
        ({"equipment_ids": ["not-a-uuid"]}, "equipment_ids"),
        ({"equipment_ids": [str(uuid.uuid4())] * 2}, "equipment_ids"),
    ],
    EQUIPMENT: [
        ({"category": "weights"}, "category"),
        ({"name": ""}, "name"),
        ({"name": "x" * 81}, "name"),
        ({"description": "x" * 1001}, "description"),
        ({"description": "a\x00b"}, "description"),
        ({"name": None}, "name"),
    ],
}


@pytest.mark.parametrize(
    ("base", "change", "field"),
    [(base, *case) for base, cases in INVALID_ITEMS.items() for case in cases],
    ids=lambda v: str(v)[:40] if isinstance(v, dict) else v,
)
def test_invalid_exercise_or_equipment_gets_422_naming_the_field(client, user, base, change, field):
    body = {**BODIES[base], **change}

    response = client.post(base, json=body, headers=user.headers)

    assert response.status_code == 422
    assert field in response.json["errors"]


# (the items, who holds a name already, the status of the user's new item of that name)
NAME_HOLDERS = {
    "my exercise's": (EXERCISES, "me", 409),
    "another user's exercise's": (EXERCISES, "another user", 201),
    "a catalog exercise's": (EXERCISES, "catalog", 201),
    "my equipment's": (EQUIPMENT, "me", 409),
}


@pytest.mark.parametrize(("base", "holder", "status"), NAME_HOLDERS.values(), ids=NAME_HOLDERS)
def test_a_name_need_only_be_unique_among_a_users_own_items(
    client, user, other_user, make, system_exercise, base, holder, status
):
    holders = {"me": user, "another user": other_user}
    name = system_exercise["name"] if holder == "catalog" else make(base, holders[holder])["name"]

    response = client.post(base, json={**BODIES[base], "name": name}, headers=user.headers)

    problem = "application/problem+json" if status == 409 else "application/json"
    assert (response.status_code, response.mimetype) == (status, problem)


# ---------------------------------------------------------------------- listing


@pytest.mark.parametrize("base", [EXERCISES, EQUIPMENT])
@pytest.mark.parametrize("source", ["own", "system", None])
def test_source_lists_only_own_or_only_catalog_items_and_both_by_default(
    client, user, listing, make, base, source
):
    mine = {make(base, user, name=name)["id"] for name in ("Bravo Row", "Alpha Jump")}
    catalog = {EXERCISES: SYSTEM_EXERCISES, EQUIPMENT: SYSTEM_EQUIPMENT}[base]
    counts = {"own": len(mine), "system": len(catalog)}

    response = listing(base, user, page_size=100, **({"source": source} if source else {}))

    total = sum(n for kind, n in counts.items() if source in (kind, None))
    assert response.json["pagination"]["total"] == total
    if source:
        assert {e["system"] for e in response.json["items"]} == {source == "system"}


NECK, ABS = {"primary_muscles": ["neck"]}, {"primary_muscles": ["abs"]}
# (own exercises as changes to EXERCISE, the list's query, which of them it finds)
OWN_FILTERS = {
    "muscle: primary or secondary": (
        [NECK, {**ABS, "secondary_muscles": ["neck"]}, {**ABS, "secondary_muscles": []}],
        {"muscle": "neck"}, [0, 1],
    ),
    "primary_muscle: primary only": (
        [NECK, {**ABS, "secondary_muscles": ["neck"]}], {"primary_muscle": "neck"}, [0],
    ),
    "category": ([{"category": "plyometrics"}, {}], {"category": "plyometrics"}, [0]),
    "difficulty": ([{"difficulty": "advanced"}, {}], {"difficulty": "advanced"}, [0]),
    "laterality": (
        [{"laterality": "unilateral"}, {"laterality": "bilateral"}], {"laterality": "bilateral"},
        [1],
    ),
    "q: any case, a substring": (
        [{"name": "Sandbag Carry"}, {"name": "Farmer Walk"}], {"q": "BAG car"}, [0],
    ),
    "q: % literally": ([{"name": "Row 100%"}, {"name": "Row 1000"}], {"q": "100%"}, [0]),
    "q: _ literally": ([{"name": "Row 100_"}, {"name": "Row 1000"}], {"q": "100_"}, [0]),
    "q: \\ literally": ([{"name": "Push\\Pull"}, {"name": "Push Pull"}], {"q": "h\\P"}, [0]),
}  # fmt: skip


GEAR_FILTERS = {
    "equipment category": ([{"category": "cables"}, {"category": "accessories"}],
                           {"category": "cables"}, [0]),
    "equipment q": ([{"name": "Sand Bag"}, {"name": "Mat"}], {"q": "BAG"}, [0]),
}  # fmt: skip


@pytest.mark.parametrize(
    ("base", "made", "query", "found"),
    [(EXERCISES, *case) for case in OWN_FILTERS.values()]
    + [(EQUIPMENT, *case) for case in GEAR_FILTERS.values()],
    ids=[*OWN_FILTERS, *GEAR_FILTERS],
)
def test_own_exercise_and_equipment_list_filters(
    client, user, listing, make, base, made, query, found
):
    ids_made = [make(base, user, **{"name": f"Move {n}", **fields})["id"]
                for n, fields in enumerate(made)]  # fmt: skip

    response = listing(base, user, source="own", **query)

    assert ids(response) == [ids_made[n] for n in found]


def test_equipment_filter(client, user, listing, make, system_equipment):
    bag = make(EQUIPMENT, user)
    with_bag = make(EXERCISES, user, name="Bag", equipment_ids=[bag["id"]])
    make(EXERCISES, user, name="Bar", equipment_ids=[system_equipment["id"]])

    response = listing(EXERCISES, user, equipment_id=bag["id"])

    assert ids(response) == [with_bag["id"]]


def test_system_equipment_filter_finds_catalog_exercises(client, user, listing, system_equipment):
    expected = sum("barbell" in e["equipment"] for e in SYSTEM_EXERCISES)

    response = listing(EXERCISES, user, equipment_id=system_equipment["id"])

    assert response.json["pagination"]["total"] == expected > 0


def test_another_users_equipment_filter_finds_nothing(client, user, other_user, listing, make):
    bag = make(EQUIPMENT, other_user)
    make(EXERCISES, other_user, equipment_ids=[bag["id"]])

    response = listing(EXERCISES, user, equipment_id=bag["id"])

    assert response.json["pagination"]["total"] == 0


def test_catalog_filters_combine(client, user, listing):
    expected = [
        e["name"]
        for e in SYSTEM_EXERCISES
        if e["category"] == "strength"
        and e["difficulty"] == "beginner"
        and "chest" in e["primary_muscles"] + e["secondary_muscles"]
    ]

    response = listing(
        EXERCISES, user, muscle="chest", category="strength", difficulty="beginner", page_size=100
    )

    assert sorted(names(response)) == sorted(expected)


def test_q_finds_catalog_exercises(client, user, listing):
    expected = sorted(e["name"] for e in SYSTEM_EXERCISES if "squat" in e["name"].lower())

    response = listing(EXERCISES, user, source="system", q="Squat", page_size=100)

    assert sorted(names(response)) == expected != []


# {the list: [(an argument, a value it refuses)]}
INVALID_LIST_ARGUMENTS = {
    EXERCISES: [
        ("q", "a\x00b"),
        ("q", ""),
        ("q", "x" * 81),
        ("muscle", "wings"),
        ("primary_muscle", "wings"),
        ("equipment_id", "bar"),
        ("category", "yoga"),
        ("difficulty", "easy"),
        ("laterality", "both"),
        ("source", "theirs"),
        ("page_size", 101),
    ],
    EQUIPMENT: [("q", "a\x00b"), ("category", "weights"), ("source", "x"), ("sort", "description")],
}


@pytest.mark.parametrize(
    ("base", "name", "value"),
    [(base, *case) for base, cases in INVALID_LIST_ARGUMENTS.items() for case in cases],
)
def test_invalid_list_argument_gets_422_naming_it(client, user, base, name, value):
    response = client.get(base, query_string={name: value}, headers=user.headers)

    assert response.status_code == 422
    assert name in response.json["errors"]


# ------------------------------------------------------------- changing exercises


# (a PATCH of an exercise made with primary glutes and hamstrings and secondary lower_back,
# the primary and secondary muscles it leaves): sorted, and a muscle in both is primary only.
MUSCLE_PATCHES = {
    "both lists": (
        {"primary_muscles": ["lower_back", "glutes"], "secondary_muscles": ["hamstrings"]},
        (["glutes", "lower_back"], ["hamstrings"]),
    ),
    "primary alone": ({"primary_muscles": ["lower_back", "quads"]}, (["lower_back", "quads"], [])),
    "secondary alone": (
        {"secondary_muscles": ["glutes", "calves"]}, (["glutes", "hamstrings"], ["calves"])
    ),
    "a muscle in both": (
        {"primary_muscles": ["chest", "triceps"], "secondary_muscles": ["chest", "front_delts"]},
        (["chest", "triceps"], ["front_delts"]),
    ),
}  # fmt: skip


@pytest.mark.parametrize(("patch", "muscles"), MUSCLE_PATCHES.values(), ids=MUSCLE_PATCHES)
def test_patched_muscles_are_stored_and_read_back_the_same(client, user, make, patch, muscles):
    exercise = make(EXERCISES, user)

    patched = client.patch(url(EXERCISES, exercise["id"]), json=patch, headers=user.headers)

    assert (patched.json["primary_muscles"], patched.json["secondary_muscles"]) == muscles
    read = client.get(url(EXERCISES, exercise["id"]), headers=user.headers)
    assert (read.json, read.headers["ETag"]) == (patched.json, patched.headers["ETag"])


def test_a_muscle_in_both_lists_of_a_new_exercise_is_primary_only(client, user, make):
    exercise = make(
        EXERCISES,
        user,
        primary_muscles=["chest", "triceps"],
        secondary_muscles=["chest", "front_delts"],
    )

    assert (exercise["primary_muscles"], exercise["secondary_muscles"]) == (
        ["chest", "triceps"],
        ["front_delts"],
    )


def test_patch_can_clear_the_equipment(client, user, make, system_equipment):
    exercise = make(EXERCISES, user, equipment_ids=[system_equipment["id"]])

    response = client.patch(
        url(EXERCISES, exercise["id"]), json={"equipment_ids": []}, headers=user.headers
    )

    assert response.json["equipment_ids"] == []


def test_patch_to_a_duplicate_name_gets_409(client, user, make):
    make(EXERCISES, user, name="Taken")
    exercise = make(EXERCISES, user, name="Free")

    response = client.patch(
        url(EXERCISES, exercise["id"]), json={"name": "Taken"}, headers=user.headers
    )

    assert response.status_code == 409


# ------------------------------------------------------------ deleting exercises


def test_deleting_an_exercise_used_in_a_logged_set_gets_409_and_keeps_it(
    client, user, make, db_session
):
    exercise = make(EXERCISES, user)
    log_a_set(db_session, user.id, exercise["id"])

    response = client.delete(url(EXERCISES, exercise["id"]), headers=user.headers)

    assert response.status_code == 409
    assert "logged sets" in response.json["detail"]
    assert client.get(url(EXERCISES, exercise["id"]), headers=user.headers).json == public(exercise)


def test_deleting_an_account_removes_its_exercises_and_their_sets(client, user, make, db_session):
    exercise = make(EXERCISES, user)
    log_a_set(db_session, user.id, exercise["id"])

    response = client.delete("/v1/users/me", headers=user.headers)

    assert response.status_code == 204
    db_session.expire_all()
    assert db_session.get(Exercise, uuid.UUID(exercise["id"])) is None


# ---------------------------------------------------------------- own equipment


def test_create_equipment_returns_it_as_stored(client, user, make):
    gear = make(EQUIPMENT, user)

    assert {k: gear[k] for k in ("slug", "system", "name", "category", "description")} == {
        "slug": None,
        "system": False,
        **GEAR,
    }


def test_deleted_equipment_leaves_the_exercises_that_used_it(
    client, user, listing, make, system_equipment
):
    bag = make(EQUIPMENT, user)
    exercise = make(EXERCISES, user, equipment_ids=[bag["id"], system_equipment["id"]])
    listing(EXERCISES, user, source="own")  # cached before the delete
    client.get(url(EXERCISES, exercise["id"]), headers=user.headers)

    client.delete(url(EQUIPMENT, bag["id"]), headers=user.headers)

    listed = listing(EXERCISES, user, source="own").json["items"][0]
    read = client.get(url(EXERCISES, exercise["id"]), headers=user.headers)
    assert listed["equipment_ids"] == read.json["equipment_ids"] == [system_equipment["id"]]
    assert read.headers["ETag"] != exercise["_etag"]


# ------------------------------------------------- the curated data's own rules


def _check_catalog(data_dir: Any) -> Any:
    """scripts/check_catalog.py, the curated catalog's rules, on `data_dir`."""
    import subprocess
    import sys
    from pathlib import Path

    script = Path(__file__).resolve().parent.parent / "scripts" / "check_catalog.py"
    return subprocess.run(
        [sys.executable, str(script), str(data_dir)], capture_output=True, text=True
    )


def test_the_shipped_catalog_keeps_its_curation_rules() -> None:
    from pathlib import Path

    import grau.catalog

    checked = _check_catalog(Path(grau.catalog.__file__).parent / "data")
    assert checked.returncode == 0, checked.stderr
    assert "catalog check passed" in checked.stdout


def test_the_catalog_rules_refuse_an_exercise_with_unknown_equipment(tmp_path: Any) -> None:
    import json

    exercises = [dict(e) for e in SYSTEM_EXERCISES]
    exercises[0]["equipment"] = ["no-such-equipment"]
    (tmp_path / "exercises.json").write_text(json.dumps(exercises))
    (tmp_path / "equipment.json").write_text(json.dumps(load_data("equipment.json")))
    checked = _check_catalog(tmp_path)
    assert checked.returncode == 1
    assert "no-such-equipment" in checked.stderr


# ----------------------------------------------------------------- catalog ids


def test_a_fresh_server_seeds_each_catalog_item_under_the_id_its_slug_names(client, user):
    """Documentation examples name catalog items by these ids (e.g. the bench press)."""
    bench = catalog_id("exercise", "barbell_bench_press")

    response = client.get(f"/v1/exercises/{bench}", headers=user.headers)

    assert response.status_code == 200 and response.json["slug"] == "barbell_bench_press"


def test_an_id_a_user_took_first_makes_the_seed_choose_another(client, user, db_session):
    """A client chooses its items' ids, so it may take the one a future catalog item's slug
    names: seeding that item must not fail on it (a start-up would)."""
    taken = catalog_id("equipment", "a_future_sled")
    made = client.post(
        "/v1/equipment",
        json={"id": str(taken), "name": "Sled", "category": "accessories"},
        headers=user.headers,
    )

    chosen = _free_id(db_session, Equipment, "a_future_sled")

    assert made.status_code == 201
    assert chosen != taken and _free_id(db_session, Equipment, "another_future") == catalog_id(
        "equipment", "another_future"
    )
