"""What every owned resource does alike, checked once for all of them.

Each resource's own test file keeps only its own rules; the behaviour they all
share is here, parametrized over `OWNED`: one entry per resource, with the
data a behaviour needs (a body that creates an item, one that changes it,
three items that each sort orders differently, ...). Where resources differ,
the difference is data in their entry, never a branch in a test.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import pytest
from conftest import at
from flask.testing import FlaskClient

# A body value the tests replace with the id of an exercise of grau's catalog.
SYSTEM_EXERCISE = "<a system exercise>"
SERVER_OWNED = {
    "id": str(uuid.uuid4()),
    "user_id": str(uuid.uuid4()),
    "created_at": "2025-01-01T00:00:00+00:00",
    "updated_at": "2025-01-01T00:00:00+00:00",
    "version": 7,
}
NOT_SORT_KEYS = ("user_id", "version", "password_hash", "no_such_field", "", "-", "id,id")


@dataclass(frozen=True)
class Owned:
    collection: str  # `{parent}`: the id of an item of the `parent` resource
    create: dict[str, Any]
    change: dict[str, Any]  # a valid PATCH that changes the item
    required: tuple[str, ...]  # what a create must send
    # Three items, created in order a, b, c, as changes to `create`: how the list orders
    # them by default, and by each sort key (ascending; "-key" lists them in reverse).
    three: tuple[dict[str, Any], dict[str, Any], dict[str, Any]]
    default_order: str
    sorts: dict[str, str]
    not_sort_keys: tuple[str, ...] = ()  # fields the item has that lists do not sort on
    server_owned: tuple[str, ...] = ()  # beyond SERVER_OWNED: more fields only grau sets
    derived: tuple[str, ...] = ()  # fields `change` changes too, computed from what it sends
    clearable: tuple[str, Any] | None = None  # a field a PATCH of null clears, and a value
    read_query: str = ""  # a query item and list GETs take: another representation of `create`
    own_query: dict[str, str] = field(default_factory=dict)  # lists only the user's own items
    time_range: tuple[str, str, str] | None = None  # (field, from filter, to filter)
    parent: str = ""


BY_CREATION = {"created_at": "abc"}

OWNED = {
    "body stat": Owned(
        "/v1/body-stats",
        {"type": "weight", "value": 72.5, "unit": "kg", "recorded_at": "2026-11-20T07:30:00Z"},
        {"type": "weight", "value": 99.0, "unit": "kg"},
        required=("type", "value", "unit", "recorded_at"),
        three=(
            {"recorded_at": at(3), "value": 71.0},
            {"recorded_at": at(1), "value": 70.0},
            {"recorded_at": at(2), "value": 72.0},
        ),
        default_order="acb",
        sorts={"recorded_at": "bca", "value": "bac", **BY_CREATION},
        not_sort_keys=("note", "recorded_at,value"),
        clearable=("note", "Morning"),
        read_query="unit=lb",
        time_range=("recorded_at", "recorded_from", "recorded_to"),
    ),
    "nutrition entry": Owned(
        "/v1/nutrition-entries",
        {"type": "water", "value": 250.0, "unit": "ml", "recorded_at": "2026-11-20T07:30:00Z"},
        {"type": "water", "value": 1.0, "unit": "ml"},
        required=("type", "value", "unit", "recorded_at"),
        # Sorted by amount, not by number: 1 l, 500 ml, 2 fl_oz (59.1 ml).
        three=(
            {"recorded_at": at(3), "value": 1, "unit": "l"},
            {"recorded_at": at(1), "value": 500, "unit": "ml"},
            {"recorded_at": at(2), "value": 2, "unit": "fl_oz"},
        ),
        default_order="acb",
        sorts={"recorded_at": "bca", "value": "cba", **BY_CREATION},
        not_sort_keys=("note", "canonical_value"),
        server_owned=("canonical_value",),
        clearable=("note", "Gym"),
        read_query="unit=l",
        time_range=("recorded_at", "recorded_from", "recorded_to"),
    ),
    "mood tag": Owned(
        "/v1/mood-tags",
        {"category": "weather", "label": "Rainy"},
        {"label": "Mine now"},
        required=("category", "label"),
        three=(
            {"label": "Beach", "category": "places"},
            {"label": "Commute", "category": "chores"},
            {"label": "Anxious", "category": "emotions"},
        ),
        default_order="cab",
        sorts={"label": "cab", "category": "bca", **BY_CREATION},
        not_sort_keys=("icon", "label,category"),
        clearable=("icon", "cloud-rain"),
    ),
    "mood": Owned(
        "/v1/moods",
        {"value": 4, "recorded_at": "2025-03-01T19:30:00Z"},
        {"value": 0},
        required=("value", "recorded_at"),
        three=(
            {"recorded_at": at(3), "value": 2},
            {"recorded_at": at(1), "value": 6},
            {"recorded_at": at(2), "value": 0},
        ),
        default_order="acb",
        sorts={"recorded_at": "bca", "value": "cab", **BY_CREATION},
        not_sort_keys=("label", "note"),
        server_owned=("label",),
        derived=("label",),
        clearable=("note", "Long walk"),
        time_range=("recorded_at", "recorded_from", "recorded_to"),
    ),
    "equipment": Owned(
        "/v1/equipment",
        {"name": "Sandbag", "category": "free_weights"},
        {"name": "Stolen"},
        required=("name", "category"),
        three=(
            {"name": "Bravo Bag", "category": "free_weights"},
            {"name": "Charlie Cable", "category": "cables"},
            {"name": "Alpha Mat", "category": "accessories"},
        ),
        default_order="cab",
        sorts={"name": "cab", "category": "cba", **BY_CREATION},
        not_sort_keys=("description", "slug"),
        server_owned=("slug", "system"),
        clearable=("description", "A bag of sand."),
        own_query={"source": "own"},  # lists hold grau's catalog too
    ),
    "exercise": Owned(
        "/v1/exercises",
        {"name": "Sandbag Shouldering", "category": "strength", "primary_muscles": ["glutes"]},
        {"name": "Stolen"},
        required=("name", "category", "primary_muscles"),
        three=(
            {"name": "Bravo Row", "category": "strength"},
            {"name": "Charlie Stretch", "category": "mobility"},
            {"name": "Alpha Jump", "category": "plyometrics"},
        ),
        default_order="cab",
        sorts={"name": "cab", "category": "bca", **BY_CREATION},
        not_sort_keys=("slug", "name,category"),
        server_owned=("slug", "system"),
        own_query={"source": "own"},  # lists hold grau's catalog too
    ),
    "plan": Owned(
        "/v1/plans",
        {"name": "Full body", "days": [{"name": "Day A"}]},
        {"name": "Mine now", "days": []},  # a PATCH with days replaces them all
        required=("name",),
        three=({"name": "Beta"}, {"name": "Gamma"}, {"name": "Alpha"}),
        default_order="cab",
        sorts={"name": "cab", **BY_CREATION},
        not_sort_keys=("is_active", "description"),
        clearable=("description", "Three days a week."),
    ),
    "workout": Owned(
        "/v1/workouts",
        {"name": "Push day", "started_at": "2025-03-01T18:00:00+01:00"},
        {"name": "Mine now"},
        required=("name", "started_at"),
        three=(
            {"name": "Bench", "started_at": at(3)},
            {"name": "Squat", "started_at": at(1)},
            {"name": "Arms", "started_at": at(2)},
        ),
        default_order="acb",
        sorts={"started_at": "bca", "name": "cab", **BY_CREATION},
        not_sort_keys=("note", "ended_at", "sequence"),
        server_owned=("sets",),
        clearable=("note", "Felt strong"),
        time_range=("started_at", "started_from", "started_to"),
    ),
    "workout set": Owned(
        "/v1/workouts/{parent}/sets",
        {"exercise_id": SYSTEM_EXERCISE, "reps": 8, "weight": 100.0, "weight_unit": "kg"},
        {"reps": 10},
        required=("exercise_id",),
        three=({"sequence": 3}, {"sequence": 1}, {"sequence": 2}),
        default_order="bca",
        sorts={"sequence": "bca"},
        not_sort_keys=("reps", "created_at", "weight"),
        server_owned=("workout_id", "weight_kg"),
        clearable=("note", "Paused reps"),
        read_query="unit=lb",
        parent="workout",
    ),
}


class Items:
    """One user's side of one resource: its URLs (under an item of theirs when the resource
    is nested) and the requests the tests send, with their token."""

    def __init__(self, client: FlaskClient, resource: Owned, account: Any) -> None:
        self.client, self.resource, self.account = client, resource, account
        self.collection = resource.collection
        if resource.parent:
            parent = Items(client, OWNED[resource.parent], account).make()
            self.collection = resource.collection.format(parent=parent["id"])

    def url(self, item_id: str) -> str:
        return f"{self.collection}/{item_id}"

    def headers(self, **extra: str) -> dict[str, str]:
        return {**self.account.headers, **extra}

    def body(self, **fields: Any) -> dict[str, Any]:
        body = {**self.resource.create, **fields}
        if SYSTEM_EXERCISE in body.values():
            exercise = self.client.get(
                "/v1/exercises", query_string={"source": "system"}, headers=self.headers()
            ).json["items"][0]["id"]
            body = {k: exercise if v == SYSTEM_EXERCISE else v for k, v in body.items()}
        return body

    def post(self, body: Any, **headers: str) -> Any:
        return self.client.post(self.collection, json=body, headers=self.headers(**headers))

    def make(self, **fields: Any) -> dict[str, Any]:
        """A new item (the create body with `fields` changed), as the create returned it."""
        response = self.post(self.body(**fields))
        assert response.status_code == 201, response.json
        return dict(response.json)

    def make_three(self) -> dict[str, str]:
        return {
            name: self.make(**fields)["id"]
            for name, fields in zip("abc", self.resource.three, strict=True)
        }

    def get(self, item_id: str, query: str = "", **headers: str) -> Any:
        return self.client.get(
            self.url(item_id), query_string=query, headers=self.headers(**headers)
        )

    def patch(self, item_id: str, body: Any, **headers: str) -> Any:
        return self.client.patch(self.url(item_id), json=body, headers=self.headers(**headers))

    def delete(self, item_id: str, **headers: str) -> Any:
        return self.client.delete(self.url(item_id), headers=self.headers(**headers))

    def list(self, headers: dict[str, str] | None = None, **query: Any) -> Any:
        """A page of the user's own items (`own_query` leaves grau's catalog rows out)."""
        return self.client.get(
            self.collection,
            query_string={**self.resource.own_query, **query},
            headers=self.headers(**(headers or {})),
        )

    def ids(self, **query: Any) -> list[str]:
        return [item["id"] for item in self.list(**query).json["items"]]


@pytest.fixture
def items(client: FlaskClient, user: Any, name: str) -> Items:
    return Items(client, OWNED[name], user)


def cases(values: Callable[[Owned], Iterable[Any]]) -> list[Any]:
    """(resource name, value) for each resource and each of `values(resource)`."""
    return [
        pytest.param(name, value, id=f"{name}: {value}")
        for name, resource in OWNED.items()
        for value in values(resource)
    ]


def with_(attribute: str) -> list[str]:
    return [name for name, resource in OWNED.items() if getattr(resource, attribute)]


# ------------------------------------------------------------------------ ownership


def _attempts(resource: Owned) -> dict[str, Any]:
    """What another user might try on an item's URL: (method, query, body)."""
    attempts = {"GET": ("GET", "", None), "PATCH": ("PATCH", "", resource.change)}
    if resource.read_query:
        attempts["GET another representation"] = ("GET", resource.read_query, None)
    attempts["DELETE"] = ("DELETE", "", None)
    return attempts


@pytest.mark.parametrize(("name", "attempt"), cases(_attempts))
def test_another_users_item_is_404_and_looks_like_a_missing_id(
    client: FlaskClient, items: Items, other_user: Any, attempt: str
) -> None:
    mine = items.make()
    method, query, body = _attempts(items.resource)[attempt]
    items.get(mine["id"], query)  # cached for me, where grau caches

    def answer(item_id: str) -> Any:
        return client.open(
            items.url(item_id),
            method=method,
            query_string=query,
            json=body,
            headers=other_user.headers,
        )

    theirs, missing = answer(mine["id"]), answer(str(uuid.uuid4()))

    assert theirs.status_code == missing.status_code == 404
    assert {k: v for k, v in theirs.json.items() if k != "instance"} == {
        k: v for k, v in missing.json.items() if k != "instance"
    }


@pytest.mark.parametrize("name", OWNED)
def test_another_user_never_sees_my_items_in_their_list(
    client: FlaskClient, items: Items, other_user: Any, name: str
) -> None:
    mine = items.make()
    theirs = Items(client, OWNED[name], other_user)

    seen, page, pages = [], 1, 1
    while page <= pages:  # without `own_query`: grau's catalog rows too, on every page
        listed = client.get(
            theirs.collection,
            query_string={"page": page, "page_size": 100},
            headers=other_user.headers,
        )
        assert listed.status_code == 200
        seen += [item["id"] for item in listed.json["items"]]
        page, pages = page + 1, listed.json["pagination"]["total_pages"]

    assert mine["id"] not in seen


@pytest.mark.parametrize("name", OWNED)
def test_my_item_is_unchanged_after_another_user_tries_to_change_and_delete_it(
    client: FlaskClient, items: Items, other_user: Any
) -> None:
    mine = items.make()
    before = items.get(mine["id"])

    client.patch(items.url(mine["id"]), json=items.resource.change, headers=other_user.headers)
    client.delete(items.url(mine["id"]), headers=other_user.headers)

    after = items.get(mine["id"])
    assert after.status_code == 200
    assert after.json == before.json
    assert after.headers["ETag"] == before.headers["ETag"]


OPERATIONS = ["list", "create", "get", "patch", "delete"]


@pytest.mark.parametrize(("name", "operation"), cases(lambda _: OPERATIONS))
def test_every_operation_without_a_token_gets_401_with_www_authenticate(
    client: FlaskClient, items: Items, operation: str
) -> None:
    url = items.url(items.make()["id"])
    method, path, body = {
        "list": ("GET", items.collection, None),
        "create": ("POST", items.collection, items.body()),
        "get": ("GET", url, None),
        "patch": ("PATCH", url, items.resource.change),
        "delete": ("DELETE", url, None),
    }[operation]

    response = client.open(path, method=method, json=body)

    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert response.mimetype == "application/problem+json"


@pytest.mark.parametrize(("name", "method"), cases(lambda _: ["GET", "PATCH", "DELETE"]))
def test_an_unknown_id_gets_404_problem(client: FlaskClient, items: Items, method: str) -> None:
    body = items.resource.change if method == "PATCH" else None

    response = client.open(
        items.url(str(uuid.uuid4())), method=method, json=body, headers=items.headers()
    )

    assert response.status_code == 404
    assert response.mimetype == "application/problem+json"


# --------------------------------------------------------------------------- create


@pytest.mark.parametrize("name", OWNED)
def test_create_gets_201_with_a_location_that_reads_the_same_item_and_etag(items: Items) -> None:
    created = items.post(items.body())

    read = items.client.get(created.headers["Location"], headers=items.headers())

    assert created.status_code == 201
    assert created.headers["Location"] == items.url(created.json["id"])
    assert (read.json, read.headers["ETag"]) == (created.json, created.headers["ETag"])


@pytest.mark.parametrize(("name", "missing"), cases(lambda resource: resource.required))
def test_create_without_a_required_field_gets_422_naming_it(items: Items, missing: str) -> None:
    response = items.post({k: v for k, v in items.body().items() if k != missing})

    assert response.status_code == 422
    assert missing in response.json["errors"]


@pytest.mark.parametrize("name", OWNED)
def test_empty_json_object_gets_422_naming_every_required_field(items: Items) -> None:
    response = items.post({})

    assert response.status_code == 422
    assert set(items.resource.required) <= set(response.json["errors"])


def _server_owned(resource: Owned) -> list[str]:
    return [*SERVER_OWNED, *resource.server_owned]


def _value_of(server_owned: str) -> Any:
    return SERVER_OWNED.get(server_owned, "set by a client")


def _server_owned_on_create(resource: Owned) -> list[str]:
    return [name for name in _server_owned(resource) if name != "id"]  # an app may choose it


@pytest.mark.parametrize(("name", "server_owned"), cases(_server_owned_on_create))
def test_server_owned_field_in_create_gets_422_naming_it(items: Items, server_owned: str) -> None:
    response = items.post(items.body(**{server_owned: _value_of(server_owned)}))

    assert response.status_code == 422
    assert server_owned in response.json["errors"]


@pytest.mark.parametrize(("name", "server_owned"), cases(_server_owned))
def test_server_owned_field_in_patch_gets_422_naming_it(items: Items, server_owned: str) -> None:
    item = items.make()

    response = items.patch(item["id"], {server_owned: _value_of(server_owned)})

    assert response.status_code == 422
    assert server_owned in response.json["errors"]


@pytest.mark.parametrize("name", OWNED)
def test_unknown_field_in_create_or_patch_gets_422_naming_it(items: Items) -> None:
    item = items.make()

    created = items.post(items.body(mood_swing="great"))
    patched = items.patch(item["id"], {"mood_swing": "great"})

    assert (created.status_code, patched.status_code) == (422, 422)
    assert "mood_swing" in created.json["errors"]
    assert "mood_swing" in patched.json["errors"]


@pytest.mark.parametrize("name", OWNED)
def test_body_that_is_not_json_gets_415_problem(items: Items) -> None:
    responses = [
        items.client.post(
            items.collection,
            data="name=x&value=1",
            content_type=content_type,
            headers=items.headers(),
        )
        for content_type in ("text/plain", "application/x-www-form-urlencoded", "application/xml")
    ]

    assert [(r.status_code, r.mimetype) for r in responses] == [
        (415, "application/problem+json")
    ] * 3


@pytest.mark.parametrize("name", OWNED)
def test_invalid_json_gets_400_problem(items: Items) -> None:
    responses = [
        items.client.post(
            items.collection, data=data, content_type="application/json", headers=items.headers()
        )
        for data in ('{"name": "x",', "{'name': 'x'}", "\x00\x01")
    ]

    assert [(r.status_code, r.mimetype) for r in responses] == [
        (400, "application/problem+json")
    ] * 3


@pytest.mark.parametrize("name", OWNED)
def test_empty_or_non_object_json_body_gets_422(items: Items) -> None:
    bodies = [b"", *(json.dumps(body) for body in ([], "weight", 72.5, None))]

    statuses = [
        items.client.post(
            items.collection, data=data, content_type="application/json", headers=items.headers()
        ).status_code
        for data in bodies
    ]

    assert statuses == [422] * 5


# -------------------------------------------------------------------- read, change


@pytest.mark.parametrize(("name", "form"), cases(lambda _: ["exact", "weak", "in a list", "*"]))
def test_get_with_a_matching_if_none_match_gets_304_without_a_body(items: Items, form: str) -> None:
    item = items.make()
    etag = items.get(item["id"]).headers["ETag"]
    if_none_match = {
        "exact": etag,
        "weak": f"W/{etag}",
        "in a list": f'"other", {etag}',
        "*": "*",
    }[form]

    response = items.get(item["id"], **{"If-None-Match": if_none_match})

    assert (response.status_code, response.get_data()) == (304, b"")


@pytest.mark.parametrize("name", OWNED)
def test_get_with_an_outdated_if_none_match_gets_200_with_the_new_etag(items: Items) -> None:
    item = items.make()
    etag = items.get(item["id"]).headers["ETag"]
    changed = items.patch(item["id"], items.resource.change)

    response = items.get(item["id"], **{"If-None-Match": etag})

    assert response.status_code == 200
    assert response.headers["ETag"] == changed.headers["ETag"] != etag


@pytest.mark.parametrize("name", OWNED)
def test_patch_changes_only_the_fields_sent_and_returns_what_a_read_returns(
    items: Items,
) -> None:
    before = items.get(items.make()["id"])
    change = items.resource.change

    response = items.patch(before.json["id"], change)
    read = items.get(before.json["id"])

    changed = {k for k, v in before.json.items() if response.json[k] != v}
    sent = {k for k in change if change[k] != before.json[k]}
    assert changed == sent | {*items.resource.derived, "updated_at"}
    assert (response.json, response.headers["ETag"]) == (read.json, read.headers["ETag"])
    assert response.headers["ETag"] != before.headers["ETag"]


@pytest.mark.parametrize("name", with_("clearable"))
def test_patch_of_null_clears_an_optional_field(items: Items) -> None:
    clearable, value = items.resource.clearable  # type: ignore[misc]
    item = items.make(**{clearable: value})

    response = items.patch(item["id"], {clearable: None})

    assert (item[clearable], response.json[clearable]) == (value, None)


@pytest.mark.parametrize("name", OWNED)
def test_patch_without_a_body_gets_422_on_the_body(items: Items) -> None:
    item = items.make()

    response = items.client.patch(items.url(item["id"]), headers=items.headers())

    assert response.status_code == 422
    assert "_schema" in response.json["errors"]


@pytest.mark.parametrize("name", OWNED)
def test_patch_without_if_match_is_accepted_and_the_last_write_wins(items: Items) -> None:
    item = items.make()
    items.patch(item["id"], items.resource.change)

    back = {k: v for k, v in items.resource.create.items() if k in items.resource.change}
    last = items.patch(item["id"], back)

    assert last.status_code == 200
    assert items.get(item["id"]).json == last.json


# How a PATCH's If-Match names the item's current ETag, and the answer. If-Match compares
# strongly (RFC 9110, 13.1.1): a weak tag never matches.
IF_MATCH = {"exact": 200, "in a list": 200, "*": 200, "weak": 412}


@pytest.mark.parametrize(("name", "form"), cases(lambda _: IF_MATCH))
def test_patch_with_the_current_if_match_gets_200_unless_it_is_weak(
    items: Items, form: str
) -> None:
    item = items.make()
    etag = items.get(item["id"]).headers["ETag"]
    if_match = {"exact": etag, "in a list": f'"other", {etag}', "*": "*", "weak": f"W/{etag}"}[form]

    response = items.patch(item["id"], items.resource.change, **{"If-Match": if_match})

    assert response.status_code == IF_MATCH[form]


@pytest.mark.parametrize("name", with_("read_query"))
def test_patch_with_the_etag_of_another_representation_gets_200(items: Items) -> None:
    item = items.make()
    etag = items.get(item["id"], items.resource.read_query).headers["ETag"]

    response = items.patch(item["id"], items.resource.change, **{"If-Match": etag})

    assert response.status_code == 200


@pytest.mark.parametrize(
    ("name", "read"), cases(lambda r: ["", r.read_query] if r.read_query else [""])
)
def test_patch_with_a_stale_if_match_gets_412_and_changes_nothing(items: Items, read: str) -> None:
    item = items.make()
    stale = items.get(item["id"], read).headers["ETag"]
    items.patch(item["id"], items.resource.change)
    before = items.get(item["id"])

    response = items.patch(item["id"], items.resource.change, **{"If-Match": stale})

    after = items.get(item["id"])
    assert response.status_code == 412
    assert response.mimetype == "application/problem+json"
    assert (after.json, after.headers["ETag"]) == (before.json, before.headers["ETag"])
    # What an app needs to merge its edit: the item as it is now, and its ETag.
    assert (response.json["current"], response.headers["ETag"]) == (
        after.json,
        after.headers["ETag"],
    )
    deleted = items.delete(item["id"], **{"If-Match": stale})
    assert (deleted.status_code, deleted.json["current"]) == (412, after.json)


@pytest.mark.parametrize("name", OWNED)
def test_a_create_may_choose_its_id_and_sending_it_again_replays_the_first_answer(
    items: Items, client: FlaskClient, other_user: Any
) -> None:
    chosen = str(uuid.uuid4())
    first = items.post(items.body(id=chosen))
    assert first.status_code == 201, first.json
    assert first.json["id"] == chosen and first.headers["Location"].endswith(chosen)
    assert items.get(chosen).json == first.json

    again = items.post(items.body(id=chosen))  # the answer was lost: the app sends it again
    assert (again.status_code, again.json) == (201, first.json)
    assert again.headers["Idempotent-Replayed"] == "true"
    assert [item_id for item_id in items.ids() if item_id == chosen] == [chosen]


@pytest.mark.parametrize("name", OWNED)
def test_an_id_in_use_is_409_whoever_uses_it_and_not_a_uuid_is_422(
    items: Items, client: FlaskClient, other_user: Any
) -> None:
    chosen = items.make(id=str(uuid.uuid4()))["id"]
    changed = items.post(items.body(id=chosen, note="another body"))
    theirs = Items(client, items.resource, other_user)
    taken = theirs.post(theirs.body(id=chosen))
    for answer in (changed, taken):  # the same answer: it tells nothing about the owner
        assert answer.status_code == 409, answer.json
        assert answer.json["errors"] == {"id": ["Already used by another item."]}
    assert items.get(chosen).json["id"] == chosen  # unchanged, and still the user's

    assert items.post(items.body(id="not-a-uuid")).status_code == 422


@pytest.mark.parametrize("name", OWNED)
def test_delete_gets_204_without_a_body_and_then_the_item_is_404(items: Items) -> None:
    item = items.make()

    response = items.delete(item["id"])

    assert (response.status_code, response.get_data()) == (204, b"")
    assert items.get(item["id"]).status_code == 404
    assert items.delete(item["id"]).status_code == 404


@pytest.mark.parametrize("name", OWNED)
def test_delete_with_a_stale_if_match_gets_412_and_keeps_the_item_and_with_the_current_204(
    items: Items,
) -> None:
    item = items.make()
    stale = items.get(item["id"]).headers["ETag"]
    current = items.patch(item["id"], items.resource.change).headers["ETag"]

    refused = items.delete(item["id"], **{"If-Match": stale})
    kept = items.get(item["id"]).status_code
    deleted = items.delete(item["id"], **{"If-Match": current})

    assert (refused.status_code, kept, deleted.status_code) == (412, 200, 204)


# ------------------------------------------------------------- reads after writes


@pytest.mark.parametrize("name", OWNED)
def test_reads_made_before_a_patch_and_a_delete_show_each_after(items: Items) -> None:
    item = items.make()
    items.get(item["id"]), items.list()  # cached now, where grau caches
    changed = items.patch(item["id"], items.resource.change).json

    patched = (items.get(item["id"]).json, items.list().json["items"])
    items.delete(item["id"])

    assert patched == (changed, [changed])
    assert (items.get(item["id"]).status_code, items.list().json["items"]) == (404, [])


@pytest.mark.parametrize("name", OWNED)
def test_a_list_read_before_a_create_shows_it_after(items: Items) -> None:
    items.list()

    item = items.make()

    assert items.ids() == [item["id"]]


WRITES = {
    "create": lambda items, item: items.make(**items.resource.three[0]),
    "patch": lambda items, item: items.patch(item["id"], items.resource.change),
    "delete": lambda items, item: items.delete(item["id"]),
}


@pytest.mark.parametrize(("name", "write"), cases(lambda _: WRITES))
def test_list_etag_changes_after_a_write(items: Items, write: str) -> None:
    item = items.make()
    before = items.list().headers["ETag"]

    WRITES[write](items, item)

    assert items.list().headers["ETag"] != before


@pytest.mark.parametrize("name", OWNED)
def test_list_with_a_matching_if_none_match_gets_304(items: Items) -> None:
    items.make()
    etag = items.list().headers["ETag"]

    response = items.list(headers={"If-None-Match": etag})

    assert (response.status_code, response.get_data()) == (304, b"")


# ---------------------------------------------------------------------------- lists


@pytest.mark.parametrize("name", OWNED)
def test_list_returns_items_and_pagination_and_an_empty_one_zero_pages(items: Items) -> None:
    empty = items.list().json

    item = items.make()

    assert empty == {
        "items": [],
        "pagination": {"page": 1, "page_size": 20, "total": 0, "total_pages": 0},
    }
    assert items.list().json == {
        "items": [item],
        "pagination": {"page": 1, "page_size": 20, "total": 1, "total_pages": 1},
    }


@pytest.mark.parametrize("name", OWNED)
def test_pages_hold_every_item_once_and_count_the_whole_list(items: Items) -> None:
    made = items.make_three()

    pages = [items.list(page=page, page_size=2).json for page in (1, 2, 3)]

    assert [len(page["items"]) for page in pages] == [2, 1, 0]
    assert sorted(i["id"] for page in pages for i in page["items"]) == sorted(made.values())
    assert pages[2]["pagination"] == {"page": 3, "page_size": 2, "total": 3, "total_pages": 2}


@pytest.mark.parametrize("name", OWNED)
def test_page_size_from_1_to_100_is_accepted(items: Items) -> None:
    statuses = [items.list(page_size=size).status_code for size in (1, 100)]

    assert statuses == [200, 200]


PAGE_ARGUMENTS = [
    ("page_size", 101),
    ("page_size", 0),
    ("page", 0),
    ("page", -1),
    ("page", 100_001),
    ("page", "two"),
    ("page_size", "ten"),
]


@pytest.mark.parametrize("name", OWNED)
def test_page_argument_out_of_range_gets_422_naming_it(items: Items) -> None:
    answers = [items.list(**{arg: value}) for arg, value in PAGE_ARGUMENTS]

    assert [
        (r.status_code, arg in r.json["errors"])
        for r, (arg, _) in zip(answers, PAGE_ARGUMENTS, strict=True)
    ] == [(422, True)] * len(PAGE_ARGUMENTS)


def _orders(resource: Owned) -> dict[str, str]:
    """Each sort the list takes, and the order it lists the three items in."""
    ascending = resource.sorts.items()
    return {**resource.sorts, **{f"-{key}": order[::-1] for key, order in ascending}}


@pytest.mark.parametrize("name", OWNED)
def test_list_default_order(items: Items) -> None:
    made = items.make_three()

    assert items.ids() == [made[name] for name in items.resource.default_order]


@pytest.mark.parametrize(("name", "sort"), cases(_orders))
def test_list_sorts_by_each_allowed_key_and_its_reverse(items: Items, sort: str) -> None:
    made = items.make_three()

    listed = items.ids(sort=sort)

    assert listed == [made[name] for name in _orders(items.resource)[sort]]


@pytest.mark.parametrize(
    ("name", "sort"), cases(lambda resource: [*NOT_SORT_KEYS, *resource.not_sort_keys])
)
def test_unknown_sort_gets_422(items: Items, sort: str) -> None:
    response = items.list(sort=sort)

    assert response.status_code == 422
    assert "sort" in response.json["errors"]


# ------------------------------------------------------------------- time ranges


@pytest.mark.parametrize("name", with_("time_range"))
def test_time_range_filters_include_both_bounds(items: Items) -> None:
    moment, start, end = items.resource.time_range  # type: ignore[misc]
    made = items.make_three()
    by_moment = {
        fields[moment]: made[n] for n, fields in zip("abc", items.resource.three, strict=True)
    }
    first, middle, last = (by_moment[m] for m in sorted(by_moment))
    mid = sorted(by_moment)[1]
    mid_in_paris = mid.replace("T08:00:00+00:00", "T09:00:00+01:00")  # the same moment

    selected = [
        set(items.ids(**query))
        for query in ({start: mid, end: mid}, {start: mid_in_paris}, {end: mid_in_paris})
    ]

    assert selected == [{middle}, {middle, last}, {first, middle}]


@pytest.mark.parametrize("name", with_("time_range"))
def test_time_range_that_ends_before_it_starts_or_lacks_an_offset_gets_422_naming_it(
    items: Items,
) -> None:
    _, start, end = items.resource.time_range  # type: ignore[misc]
    no_offset = "2025-03-02T08:00:00"

    answers = [
        items.list(**query)
        for query in ({start: at(3), end: at(2)}, {start: no_offset}, {end: no_offset})
    ]

    assert [(r.status_code, list(r.json["errors"])) for r in answers] == [
        (422, [end]),
        (422, [start]),
        (422, [end]),
    ]


# -------------------------------------------------- another representation (a unit)


@pytest.mark.parametrize("name", with_("read_query"))
def test_another_representation_has_its_own_etag_for_if_none_match(items: Items) -> None:
    item = items.make()
    plain, other = items.get(item["id"]), items.get(item["id"], items.resource.read_query)
    query = dict(pair.split("=") for pair in items.resource.read_query.split("&"))

    def status(etag: str) -> int:
        return items.get(
            item["id"], items.resource.read_query, **{"If-None-Match": etag}
        ).status_code

    assert other.json != plain.json
    assert other.headers["ETag"] != plain.headers["ETag"]
    assert (status(other.headers["ETag"]), status(plain.headers["ETag"])) == (304, 200)
    assert items.list(**query).headers["ETag"] != items.list().headers["ETag"]  # and a list's


@pytest.mark.parametrize("name", with_("read_query"))
def test_reading_another_representation_changes_nothing_stored(items: Items) -> None:
    item = items.make()
    before = items.get(item["id"])

    items.get(item["id"], items.resource.read_query)

    after = items.get(item["id"])
    assert (after.json, after.headers["ETag"]) == (before.json, before.headers["ETag"])


@pytest.mark.parametrize("name", with_("read_query"))
def test_reads_of_another_representation_made_before_a_write_show_it_after(items: Items) -> None:
    item = items.make()
    query = dict(pair.split("=") for pair in items.resource.read_query.split("&"))
    before = items.get(item["id"], items.resource.read_query)
    items.list(**query)
    items.patch(item["id"], items.resource.change)
    added = items.make(**items.resource.three[0])

    after = items.get(item["id"], items.resource.read_query)

    assert (after.json, after.headers["ETag"]) != (before.json, before.headers["ETag"])
    assert after.json["updated_at"] != before.json["updated_at"]
    assert sorted(items.ids(**query)) == sorted([item["id"], added["id"]])


# -------------------------------------------------------------------- idempotency


def _key() -> dict[str, str]:
    return {"Idempotency-Key": str(uuid.uuid4())}


@pytest.mark.parametrize("name", OWNED)
def test_retries_with_the_same_idempotency_key_replay_the_first_response_and_create_one_item(
    items: Items,
) -> None:
    key, body = _key(), items.body()
    first = items.post(body, **key)

    retries = [items.post(body, **key) for _ in range(2)]

    for retry in retries:
        assert retry.status_code == first.status_code == 201
        assert retry.json == first.json
        assert (retry.headers["Location"], retry.headers["ETag"]) == (
            first.headers["Location"],
            first.headers["ETag"],
        )
    assert items.list().json["pagination"]["total"] == 1


@pytest.mark.parametrize("name", OWNED)
def test_same_idempotency_key_with_another_body_gets_422_and_creates_nothing(
    items: Items,
) -> None:
    key = _key()
    items.post(items.body(), **key)

    response = items.post(items.body(**items.resource.three[0]), **key)

    assert response.status_code == 422
    assert "Idempotency-Key" in response.json["errors"]
    assert items.list().json["pagination"]["total"] == 1


@pytest.mark.parametrize("name", OWNED)
def test_idempotency_keys_are_per_user(
    client: FlaskClient, items: Items, other_user: Any, name: str
) -> None:
    theirs = Items(client, OWNED[name], other_user)
    key = _key()
    mine = items.post(items.body(), **key)

    response = theirs.post(theirs.body(), **key)

    assert response.status_code == 201
    assert response.json["id"] != mine.json["id"]
    assert theirs.ids() == [response.json["id"]]


@pytest.mark.parametrize("name", OWNED)
def test_a_refused_request_does_not_burn_its_idempotency_key(items: Items) -> None:
    key = _key()
    refused = items.post(items.body(mood_swing="great"), **key)

    response = items.post(items.body(), **key)

    assert (refused.status_code, response.status_code) == (422, 201)


@pytest.mark.parametrize("name", OWNED)
def test_unusable_idempotency_key_gets_422(items: Items) -> None:
    keys = ["", "x" * 256, "tab\there", "inner space", "schl\u00fcssel"]

    statuses = [items.post(items.body(), **{"Idempotency-Key": key}).status_code for key in keys]

    assert statuses == [422] * len(keys)


# ------------------------------------------------------------------ computed reads


@dataclass(frozen=True)
class Computed:
    """A read computed from a user's items of one resource (`source`, in OWNED)."""

    path: str  # `{exercise}`: the exercise the source's body logs
    query: dict[str, str]
    source: str


COMPUTED = {
    "body stats summary": Computed("/v1/body-stats/summary", {"type": "weight"}, "body stat"),
    "nutrition daily totals": Computed(
        "/v1/nutrition-entries/daily-totals",
        {"date_from": "2026-11-20", "date_to": "2026-11-20"},
        "nutrition entry",
    ),
    "exercise progress": Computed("/v1/exercises/{exercise}/progress", {}, "workout set"),
}


class ComputedRead:
    """A computed read as one user asks for it, and how to add to what it computes."""

    def __init__(self, client: FlaskClient, computed: Computed, account: Any) -> None:
        self.client, self.computed, self.account = client, computed, account
        self.source = Items(client, OWNED[computed.source], account)
        exercise = self.source.body().get("exercise_id", "")
        self.url = computed.path.format(exercise=exercise)

    def get(self, **headers: str) -> Any:
        return self.client.get(
            self.url, query_string=self.computed.query, headers=self.source.headers(**headers)
        )


@pytest.fixture
def computed(client: FlaskClient, user: Any, read: str) -> ComputedRead:
    return ComputedRead(client, COMPUTED[read], user)


@pytest.mark.parametrize("read", COMPUTED)
def test_a_computed_read_without_a_token_gets_401_with_www_authenticate(
    client: FlaskClient, computed: ComputedRead
) -> None:
    response = client.get(computed.url, query_string=computed.computed.query)

    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize("read", COMPUTED)
def test_a_computed_read_with_a_matching_if_none_match_gets_304(computed: ComputedRead) -> None:
    computed.source.make()
    etag = computed.get().headers["ETag"]

    response = computed.get(**{"If-None-Match": etag})

    assert (response.status_code, response.get_data()) == (304, b"")


@pytest.mark.parametrize("read", COMPUTED)
def test_a_computed_read_shows_an_item_added_after_it_was_read(computed: ComputedRead) -> None:
    before = computed.get()

    computed.source.make()

    after = computed.get(**{"If-None-Match": before.headers["ETag"]})
    assert after.status_code == 200
    assert after.json != before.json


@pytest.mark.parametrize("read", COMPUTED)
def test_a_computed_read_counts_none_of_another_users_items(
    client: FlaskClient, computed: ComputedRead, other_user: Any, read: str
) -> None:
    theirs = ComputedRead(client, COMPUTED[read], other_user)
    before = theirs.get().json

    computed.source.make()

    assert theirs.get().json == before
