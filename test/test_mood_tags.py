"""/v1/mood-tags: a user's own tags, unique by label, and what deleting one does to moods."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
from conftest import ids, public
from flask.testing import FlaskClient

from grau.moods.models import TAG_CATEGORIES

URL = "/v1/mood-tags"
MOODS_URL = "/v1/moods"
RAINY = {"category": "weather", "label": "Rainy", "icon": "cloud-rain"}
MOOD = {"value": 4, "recorded_at": "2025-03-01T19:30:00+01:00"}


def item_url(tag_id: str) -> str:
    return f"{URL}/{tag_id}"


def mood_url(mood_id: str) -> str:
    return f"{MOODS_URL}/{mood_id}"


def post(client: FlaskClient, account: Any, body: Any, **headers: str) -> Any:
    return client.post(URL, json=body, headers={**account.headers, **headers})


def listing(client: FlaskClient, account: Any, **query: Any) -> Any:
    return client.get(URL, query_string=query, headers=account.headers)


@pytest.fixture
def create_tag(client):
    def make(account: Any, **fields: Any) -> dict[str, Any]:
        response = post(client, account, {**RAINY, **fields})
        assert response.status_code == 201, response.json
        return {**response.json, "_etag": response.headers["ETag"]}

    return make


@pytest.fixture
def create_mood(client):
    def make(account: Any, **fields: Any) -> dict[str, Any]:
        response = client.post(MOODS_URL, json={**MOOD, **fields}, headers=account.headers)
        assert response.status_code == 201, response.json
        return {**response.json, "_etag": response.headers["ETag"]}

    return make


# ------------------------------------------------------------------------- create


def test_create_returns_the_tag_as_stored(client, user):
    response = post(client, user, RAINY)

    assert set(response.json) == {
        "id",
        "category",
        "label",
        "icon",
        "created_at",
        "updated_at",
    }
    assert {k: response.json[k] for k in RAINY} == RAINY


# (the tag sent, what is stored of it)
ACCEPTED = {
    **{f"category {c}": ({**RAINY, "category": c}, {"category": c}) for c in TAG_CATEGORIES},
    "no icon": ({"category": "sleep", "label": "Slept well"}, {"icon": None}),
    "emoji": ({"category": "emotions", "label": "Grateful 🙏", "icon": "🙏"},
              {"label": "Grateful 🙏", "icon": "🙏"}),
    **{f"label of {n}": ({**RAINY, "label": "x" * n}, {"label": "x" * n}) for n in (1, 50)},
}  # fmt: skip


@pytest.mark.parametrize(("body", "stored"), ACCEPTED.values(), ids=ACCEPTED)
def test_acceptable_tag_is_stored_as_sent(client, user, body, stored):
    response = post(client, user, body)

    assert response.status_code == 201
    assert {k: response.json[k] for k in stored} == stored


# (what a create changes in a valid tag, the field the 422 names)
REFUSED = {
    **{f"label {v!r:.12}": ({"label": v}, "label")
       for v in ["", "   ", "\t\n", "x" * 51, "rain\x00y", None, 7]},
    **{f"icon {v!r:.12}": ({"icon": v}, "icon") for v in ["x" * 65, "a\x00b", 3]},
    **{f"category {v!r}": ({"category": v}, "category") for v in ["mood", "Weather", "", None]},
    "color": ({"color": "blue"}, "color"),
}  # fmt: skip


@pytest.mark.parametrize(("change", "field"), REFUSED.values(), ids=REFUSED)
def test_ill_formed_tag_gets_422_naming_the_field(client, user, change, field):
    response = post(client, user, {**RAINY, **change})

    assert response.status_code == 422
    assert field in response.json["errors"]


# ------------------------------------------------------------------ unique labels


def test_a_second_tag_with_the_same_label_gets_409_problem_and_creates_nothing(
    client, user, create_tag
):
    create_tag(user)

    response = post(client, user, {**RAINY, "category": "places"})

    assert response.status_code == 409
    assert response.mimetype == "application/problem+json"
    assert listing(client, user).json["pagination"]["total"] == 1


def test_labels_differing_in_case_are_different_labels(client, user, create_tag):
    create_tag(user)

    response = post(client, user, {**RAINY, "label": "rainy"})

    assert response.status_code == 201


def test_another_user_may_use_the_same_label(client, user, other_user, create_tag):
    create_tag(user)

    response = post(client, other_user, RAINY)

    assert response.status_code == 201


def test_renaming_to_a_label_already_taken_gets_409_and_changes_nothing(client, user, create_tag):
    create_tag(user)
    sunny = create_tag(user, label="Sunny")

    response = client.patch(item_url(sunny["id"]), json={"label": "Rainy"}, headers=user.headers)

    assert response.status_code == 409
    assert client.get(item_url(sunny["id"]), headers=user.headers).json == public(sunny)


def test_renaming_a_tag_to_its_own_label_is_accepted(client, user, create_tag):
    tag = create_tag(user)

    response = client.patch(item_url(tag["id"]), json={"label": "Rainy"}, headers=user.headers)

    assert response.status_code == 200


def test_a_deleted_tags_label_can_be_used_again(client, user, create_tag):
    tag = create_tag(user)
    client.delete(item_url(tag["id"]), headers=user.headers)

    response = post(client, user, RAINY)

    assert response.status_code == 201


# --------------------------------------------------------------------------- list


def test_list_filters_by_category(client, user, create_tag):
    create_tag(user)
    office = create_tag(user, category="work", label="Office")
    create_tag(user, category="places", label="Home office")

    response = listing(client, user, category="work")

    assert ids(response) == [office["id"]]


def test_list_with_an_unknown_category_gets_422(client, user):
    response = listing(client, user, category="mood")

    assert response.status_code == 422
    assert "category" in response.json["errors"]


# ---------------------------------------------------------------- read and change


@pytest.mark.parametrize(
    ("field", "value"), [("category", "mood"), ("label", " "), ("label", None), ("icon", "x" * 65)]
)
def test_patch_with_an_invalid_field_gets_422_naming_it(client, user, create_tag, field, value):
    tag = create_tag(user)

    response = client.patch(item_url(tag["id"]), json={field: value}, headers=user.headers)

    assert response.status_code == 422
    assert field in response.json["errors"]


# ------------------------------------------------------------- deleting a used tag


def test_deleting_a_tag_removes_it_from_its_moods(client, user, create_tag, create_mood):
    rainy, tired = create_tag(user), create_tag(user, label="Tired", category="sleep")
    mood = create_mood(user, tag_ids=[rainy["id"], tired["id"]])
    client.delete(item_url(rainy["id"]), headers=user.headers)

    response = client.get(mood_url(mood["id"]), headers=user.headers)

    assert response.json["tag_ids"] == [tired["id"]]


def test_deleting_a_tag_keeps_its_moods(client, user, create_tag, create_mood):
    tag = create_tag(user)
    mood = create_mood(user, tag_ids=[tag["id"]])
    client.delete(item_url(tag["id"]), headers=user.headers)

    response = client.get(MOODS_URL, headers=user.headers)

    assert [item["id"] for item in response.json["items"]] == [mood["id"]]


def test_cached_mood_read_drops_a_deleted_tag(client, user, create_tag, create_mood):
    tag = create_tag(user)
    mood = create_mood(user, tag_ids=[tag["id"]])
    assert client.get(mood_url(mood["id"]), headers=user.headers).json["tag_ids"] == [tag["id"]]
    client.delete(item_url(tag["id"]), headers=user.headers)

    response = client.get(mood_url(mood["id"]), headers=user.headers)

    assert response.json["tag_ids"] == []


def test_cached_mood_list_filtered_by_a_deleted_tag_becomes_empty(
    client, user, create_tag, create_mood
):
    tag = create_tag(user)
    create_mood(user, tag_ids=[tag["id"]])
    query = {"tag_id": tag["id"]}
    assert client.get(MOODS_URL, query_string=query, headers=user.headers).json["items"]
    client.delete(item_url(tag["id"]), headers=user.headers)

    response = client.get(MOODS_URL, query_string=query, headers=user.headers)

    assert response.json["items"] == []


def test_a_mood_gets_a_new_etag_when_its_tag_is_deleted(client, user, create_tag, create_mood):
    """Else a client holding the old ETag would get 304 for a body that changed."""
    tag = create_tag(user)
    mood = create_mood(user, tag_ids=[tag["id"]])
    client.delete(item_url(tag["id"]), headers=user.headers)

    response = client.get(
        mood_url(mood["id"]), headers={**user.headers, "If-None-Match": mood["_etag"]}
    )

    assert response.status_code == 200
    assert datetime.fromisoformat(response.json["updated_at"]) > datetime.fromisoformat(
        mood["updated_at"]
    )


def test_a_write_to_a_mood_read_before_its_tag_was_deleted_gets_412(
    client, user, create_tag, create_mood
):
    tag = create_tag(user)
    mood = create_mood(user, tag_ids=[tag["id"]])
    client.delete(item_url(tag["id"]), headers=user.headers)

    response = client.patch(
        mood_url(mood["id"]), json={"value": 5}, headers={**user.headers, "If-Match": mood["_etag"]}
    )

    assert response.status_code == 412


def test_deleting_an_unused_tag_leaves_moods_versions_alone(client, user, create_tag, create_mood):
    used, unused = create_tag(user), create_tag(user, label="Unused")
    mood = create_mood(user, tag_ids=[used["id"]])
    client.delete(item_url(unused["id"]), headers=user.headers)

    response = client.get(
        mood_url(mood["id"]), headers={**user.headers, "If-None-Match": mood["_etag"]}
    )

    assert response.status_code == 304
