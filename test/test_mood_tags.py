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


# (who holds the label "Rainy" first, the label the user's new tag takes)
FREE_LABELS = {
    "a label differing in case": ("me", "rainy"),
    "another user's label": ("another user", "Rainy"),
    "the label of a deleted tag": ("a deleted tag of mine", "Rainy"),
}


@pytest.mark.parametrize(("holder", "label"), FREE_LABELS.values(), ids=FREE_LABELS)
def test_a_label_is_free_unless_one_of_the_users_tags_has_it(
    client, user, other_user, create_tag, holder, label
):
    held = create_tag(other_user if holder == "another user" else user)
    if holder == "a deleted tag of mine":
        client.delete(item_url(held["id"]), headers=user.headers)

    response = post(client, user, {**RAINY, "label": label})

    assert response.status_code == 201


def test_renaming_to_a_taken_label_gets_409_and_changes_nothing_and_to_its_own_200(
    client, user, create_tag
):
    create_tag(user)
    sunny = create_tag(user, label="Sunny")

    taken = client.patch(item_url(sunny["id"]), json={"label": "Rainy"}, headers=user.headers)
    unchanged = client.get(item_url(sunny["id"]), headers=user.headers).json
    own = client.patch(item_url(sunny["id"]), json={"label": "Sunny"}, headers=user.headers)

    assert (taken.status_code, unchanged) == (409, public(sunny))
    assert own.status_code == 200  # a tag's own label is not taken


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


def test_deleting_a_tag_removes_it_from_its_cached_mood_with_a_new_version(
    client, user, create_tag, create_mood
):
    """Else a client holding the old ETag would get 304 for a body that changed, or write
    over it."""
    rainy, tired = create_tag(user), create_tag(user, label="Tired", category="sleep")
    mood = create_mood(user, tag_ids=[rainy["id"], tired["id"]])
    assert client.get(mood_url(mood["id"]), headers=user.headers).status_code == 200  # cached
    client.delete(item_url(rainy["id"]), headers=user.headers)

    read = client.get(
        mood_url(mood["id"]), headers={**user.headers, "If-None-Match": mood["_etag"]}
    )
    write = client.patch(
        mood_url(mood["id"]), json={"value": 5}, headers={**user.headers, "If-Match": mood["_etag"]}
    )

    assert (read.status_code, read.json["tag_ids"], write.status_code) == (200, [tired["id"]], 412)
    assert datetime.fromisoformat(read.json["updated_at"]) > datetime.fromisoformat(
        mood["updated_at"]
    )


def test_deleting_a_tag_keeps_its_moods_and_empties_the_cached_list_filtered_by_it(
    client, user, create_tag, create_mood
):
    tag = create_tag(user)
    mood = create_mood(user, tag_ids=[tag["id"]])
    query = {"tag_id": tag["id"]}
    assert client.get(MOODS_URL, query_string=query, headers=user.headers).json["items"]
    client.delete(item_url(tag["id"]), headers=user.headers)

    listed = client.get(MOODS_URL, headers=user.headers)
    filtered = client.get(MOODS_URL, query_string=query, headers=user.headers)

    assert [item["id"] for item in listed.json["items"]] == [mood["id"]]
    assert filtered.json["items"] == []


def test_deleting_an_unused_tag_leaves_moods_versions_alone(client, user, create_tag, create_mood):
    used, unused = create_tag(user), create_tag(user, label="Unused")
    mood = create_mood(user, tag_ids=[used["id"]])
    client.delete(item_url(unused["id"]), headers=user.headers)

    response = client.get(
        mood_url(mood["id"]), headers={**user.headers, "If-None-Match": mood["_etag"]}
    )

    assert response.status_code == 304
