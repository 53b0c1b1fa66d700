"""/v1/moods: values and their labels, the user's own tags by id, filters, and query counts."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from conftest import at, ids, public
from flask.testing import FlaskClient

URL = "/v1/moods"
TAGS_URL = "/v1/mood-tags"
MOOD = {"value": 4, "recorded_at": "2025-03-01T19:30:00+01:00"}
LABELS = ["awful", "bad", "meh", "okay", "good", "great", "amazing"]


def item_url(mood_id: str) -> str:
    return f"{URL}/{mood_id}"


def post(client: FlaskClient, account: Any, body: Any, **headers: str) -> Any:
    return client.post(URL, json=body, headers={**account.headers, **headers})


def patch(client: FlaskClient, account: Any, mood_id: str, body: Any, **headers: str) -> Any:
    return client.patch(item_url(mood_id), json=body, headers={**account.headers, **headers})


def listing(client: FlaskClient, account: Any, **query: Any) -> Any:
    return client.get(URL, query_string=query, headers=account.headers)


@pytest.fixture
def create_tag(client):
    def make(account: Any, label: str = "Rainy", category: str = "weather") -> str:
        body = {"label": label, "category": category}
        response = client.post(TAGS_URL, json=body, headers=account.headers)
        assert response.status_code == 201, response.json
        return str(response.json["id"])

    return make


@pytest.fixture
def create_mood(client):
    def make(account: Any, **fields: Any) -> dict[str, Any]:
        response = post(client, account, {**MOOD, **fields})
        assert response.status_code == 201, response.json
        return {**response.json, "_etag": response.headers["ETag"]}

    return make


# ------------------------------------------------------------------------- create


def test_create_returns_the_mood_as_stored(client, user):
    response = post(client, user, {**MOOD, "note": "Long walk"})

    assert {
        k: v for k, v in response.json.items() if k not in ("id", "created_at", "updated_at")
    } == {
        "value": 4,
        "label": "good",
        "recorded_at": "2025-03-01T18:30:00+00:00",
        "note": "Long walk",
        "tag_ids": [],
    }


@pytest.mark.parametrize(("value", "label"), list(enumerate(LABELS)))
def test_each_value_gets_its_label(client, user, value, label):
    response = post(client, user, {**MOOD, "value": value})

    assert (response.status_code, response.json["label"]) == (201, label)


# (what a create changes in a valid mood, the field the 422 names)
REFUSED = {
    **{f"value {v!r}": ({"value": v}, "value")
       for v in [-1, 7, 4.5, "4", True, None, [4], 10**30, 1e300]},
    **{f"recorded_at {r}": ({"recorded_at": r}, "recorded_at")
       for r in ["2025-03-01T07:30:00", "3000-01-01T00:00:00+00:00", "1800-01-01T00:00:00+00:00",
                 "today"]},
    "note with a NUL byte": ({"note": "a\x00b"}, "note"),
    "note of 1001 characters": ({"note": "x" * 1001}, "note"),
    "tags for tag_ids": ({"tags": []}, "tags"),
    **{f"tag_ids {t!r:.20}": ({"tag_ids": t}, "tag_ids")
       for t in [None, "a", ["not-a-uuid"], [7], [str(uuid.uuid4()) for _ in range(51)]]},
}  # fmt: skip


@pytest.mark.parametrize(("change", "field"), REFUSED.values(), ids=REFUSED)
def test_ill_formed_mood_gets_422_naming_the_field(client, user, change, field):
    response = post(client, user, {**MOOD, **change})

    assert response.status_code == 422
    assert field in response.json["errors"]


def test_a_whole_number_written_with_a_fraction_is_an_integer(client, user):
    """JSON Schema's `integer` includes 4.0, so the API takes it as 4."""
    response = post(client, user, {**MOOD, "value": 4.0})

    assert (response.status_code, response.json["value"]) == (201, 4)


# ----------------------------------------------------------------------- tag ids


def test_a_moods_tags_are_ordered_by_label_in_the_write_and_in_later_reads(
    client, user, create_tag, create_mood
):
    """By code point ("Z" before "a"), whatever the database's collation."""
    tags = {label: create_tag(user, label) for label in ("Tired", "apple", "Rainy", "Banana")}
    mood = create_mood(user, tag_ids=list(tags.values()))

    read = client.get(item_url(mood["id"]), headers=user.headers).json["tag_ids"]
    listed = listing(client, user).json["items"][0]["tag_ids"]

    expected = [tags[label] for label in ("Banana", "Rainy", "Tired", "apple")]
    assert mood["tag_ids"] == read == listed == expected


def test_another_users_or_an_unknown_tag_id_gets_422_on_it_and_refuses_the_whole_mood(
    client, user, other_user, create_tag
):
    mine, theirs, unknown = create_tag(user), create_tag(other_user), str(uuid.uuid4())

    refused = [
        post(client, user, {**MOOD, "tag_ids": tag_ids})
        for tag_ids in ([theirs], [unknown], [mine, theirs])
    ]

    assert [r.status_code for r in refused] == [422] * 3
    assert [r.json["errors"] for r in refused] == [
        {"tag_ids": [f"Not one of your mood tags: {theirs}."]},
        {"tag_ids": [f"Not one of your mood tags: {unknown}."]},
        {"tag_ids": [f"Not one of your mood tags: {theirs}."]},
    ]
    assert listing(client, user).json["pagination"]["total"] == 0


def test_the_same_tag_id_twice_gets_422_on_tag_ids(client, user, create_tag):
    """Duplicates are refused, not merged: the spec says `uniqueItems`, and a repeat is a bug."""
    tag = create_tag(user)

    response = post(client, user, {**MOOD, "tag_ids": [tag, tag]})

    assert response.status_code == 422
    assert "tag_ids" in response.json["errors"]


def test_50_of_my_tags_are_accepted(client, user, create_tag):
    tags = [create_tag(user, f"tag {n:02d}") for n in range(50)]

    response = post(client, user, {**MOOD, "tag_ids": tags})

    assert response.json["tag_ids"] == tags


def test_patch_with_tag_ids_replaces_the_whole_set(client, user, create_tag, create_mood):
    a, b, c = (create_tag(user, label) for label in ("A", "B", "C"))
    mood = create_mood(user, tag_ids=[a, b])

    response = patch(client, user, mood["id"], {"tag_ids": [c, b]})

    assert response.json["tag_ids"] == [b, c]


def test_patch_with_an_empty_list_removes_every_tag(client, user, create_tag, create_mood):
    mood = create_mood(user, tag_ids=[create_tag(user)])

    response = patch(client, user, mood["id"], {"tag_ids": []})

    assert response.json["tag_ids"] == []


def test_patch_without_tag_ids_keeps_the_tags(client, user, create_tag, create_mood):
    tag = create_tag(user)
    mood = create_mood(user, tag_ids=[tag])

    response = patch(client, user, mood["id"], {"value": 1})

    assert (response.json["tag_ids"], response.json["label"]) == ([tag], "bad")


def test_patch_with_another_users_tag_gets_422_and_changes_nothing(
    client, user, other_user, create_tag, create_mood
):
    mood = create_mood(user, tag_ids=[create_tag(user)])

    refused = patch(client, user, mood["id"], {"tag_ids": [create_tag(other_user)], "value": 0})

    assert (refused.status_code, list(refused.json["errors"])) == (422, ["tag_ids"])
    assert client.get(item_url(mood["id"]), headers=user.headers).json == public(mood)


def test_changing_only_the_tags_gives_a_new_etag_and_shows_in_the_cached_read(
    client, user, create_tag, create_mood
):
    mood = create_mood(user)
    client.get(item_url(mood["id"]), headers=user.headers)
    tag = create_tag(user)

    response = patch(client, user, mood["id"], {"tag_ids": [tag]})

    assert response.headers["ETag"] != mood["_etag"]
    assert client.get(item_url(mood["id"]), headers=user.headers).json["tag_ids"] == [tag]


# --------------------------------------------------------------------------- list


@pytest.fixture
def week(user, create_tag, create_mood) -> dict[str, Any]:
    """Five days of moods; `rain` on days 1, 3 and 5, `work` on 2 and 3."""
    rain, work = create_tag(user, "Rain"), create_tag(user, "Work", "work")
    tags = {1: [rain], 2: [work], 3: [rain, work], 4: [], 5: [rain]}
    values = {1: 0, 2: 3, 3: 2, 4: 6, 5: 5}
    moods = {
        day: create_mood(user, recorded_at=at(day), value=values[day], tag_ids=tags[day])["id"]
        for day in range(1, 6)
    }
    return {"rain": rain, "work": work, "moods": moods}


def days(response: Any, week: dict[str, Any]) -> list[int]:
    by_id = {mood_id: day for day, mood_id in week["moods"].items()}
    return [by_id[mood_id] for mood_id in ids(response)]


# (a list's query, with a tag of `week` by name, the days of the moods it lists)
FILTERS = {
    "tag rain": ({"tag_id": "rain"}, [5, 3, 1]),
    "tag work": ({"tag_id": "work"}, [3, 2]),  # each mood once, though it has both tags
    "tag and dates": ({"tag_id": "rain", "recorded_from": at(2), "recorded_to": at(4)}, [3]),
    "at least 3": ({"value_min": 3}, [5, 4, 2]),
    "at most 2": ({"value_max": 2}, [3, 1]),
    "2 to 5": ({"value_min": 2, "value_max": 5}, [5, 3, 2]),
    "exactly 6": ({"value_min": 6, "value_max": 6}, [4]),
    "exactly 1": ({"value_min": 1, "value_max": 1}, []),
}


@pytest.mark.parametrize(("query", "expected"), FILTERS.values(), ids=FILTERS)
def test_list_filters_by_tag_dates_and_value(client, user, week, query, expected):
    response = listing(client, user, **{k: week.get(v, v) for k, v in query.items()})

    assert days(response, week) == expected
    assert response.json["pagination"]["total"] == len(expected)


def test_filtering_by_another_users_tag_matches_nothing(client, user, other_user, week):
    response = listing(client, other_user, tag_id=week["rain"])

    assert response.json["items"] == []


@pytest.mark.parametrize(
    ("query", "named"),
    [
        ({"value_min": -1}, "value_min"),
        ({"value_max": 7}, "value_max"),
        ({"value_min": "good"}, "value_min"),
        ({"value_min": 4, "value_max": 3}, "value_max"),
        ({"tag_id": "rain"}, "tag_id"),
    ],
)
def test_invalid_list_filter_gets_422_naming_it(client, user, query, named):
    response = listing(client, user, **query)

    assert response.status_code == 422
    assert named in response.json["errors"]


# ---------------------------------------------------------------- read and change


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("value", 7),
        ("value", None),
        ("recorded_at", None),
        ("recorded_at", "3000-01-01T00:00:00+00:00"),
        ("note", "a\x00b"),
        ("tag_ids", None),
    ],
)
def test_patch_with_an_invalid_field_gets_422_naming_it(client, user, create_mood, field, value):
    mood = create_mood(user)

    response = patch(client, user, mood["id"], {field: value})

    assert response.status_code == 422
    assert field in response.json["errors"]


def test_deleting_a_mood_keeps_its_tags(client, user, create_tag, create_mood):
    tag = create_tag(user)
    mood = create_mood(user, tag_ids=[tag])
    client.delete(item_url(mood["id"]), headers=user.headers)

    response = client.get(f"{TAGS_URL}/{tag}", headers=user.headers)

    assert response.status_code == 200
