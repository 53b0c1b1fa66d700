"""What every owned resource does alike, checked once for all of them.

Each resource's own test file keeps only its own rules; the behaviour they all
share is here, parametrized over `OWNED`: one entry per resource, with a body
that creates an item and one that changes it. This part pins ownership: an
item is its owner's alone, and to anyone else it looks exactly like an id
that does not exist.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import pytest
from flask.testing import FlaskClient


@dataclass(frozen=True)
class Owned:
    collection: str
    create: dict[str, Any]
    change: dict[str, Any]  # a valid PATCH for its owner
    read_query: str = ""  # a query the item GET also takes (another representation)

    def item(self, item_id: str) -> str:
        return f"{self.collection}/{item_id}"


OWNED = {
    "body stat": Owned(
        "/v1/body-stats",
        {"type": "weight", "value": 72.5, "unit": "kg", "recorded_at": "2026-11-20T07:30:00Z"},
        {"type": "weight", "value": 99.0, "unit": "kg"},
        read_query="unit=lb",
    ),
    "nutrition entry": Owned(
        "/v1/nutrition-entries",
        {"type": "water", "value": 250.0, "unit": "ml", "recorded_at": "2026-11-20T07:30:00Z"},
        {"type": "water", "value": 1.0, "unit": "ml"},
        read_query="unit=l",
    ),
    "mood tag": Owned(
        "/v1/mood-tags", {"category": "weather", "label": "Rainy"}, {"label": "Mine now"}
    ),
    "mood": Owned("/v1/moods", {"value": 4, "recorded_at": "2025-03-01T19:30:00Z"}, {"value": 0}),
    "equipment": Owned(
        "/v1/equipment", {"name": "Sandbag", "category": "free_weights"}, {"name": "Stolen"}
    ),
    "exercise": Owned(
        "/v1/exercises",
        {"name": "Sandbag Shouldering", "category": "strength", "primary_muscles": ["glutes"]},
        {"name": "Stolen"},
    ),
    "plan": Owned("/v1/plans", {"name": "Full body"}, {"name": "Mine now", "days": []}),
    "workout": Owned(
        "/v1/workouts",
        {"name": "Push day", "started_at": "2025-03-01T18:00:00+01:00"},
        {"name": "Mine now"},
    ),
}


def _create(client: FlaskClient, resource: Owned, account: Any) -> dict[str, Any]:
    response = client.post(resource.collection, json=resource.create, headers=account.headers)
    assert response.status_code == 201, response.json
    return dict(response.json)


def _attempts(resource: Owned) -> dict[str, Any]:
    """What another user might try on an item's URL: (method, query, body)."""
    attempts = {"GET": ("GET", "", None), "PATCH": ("PATCH", "", resource.change)}
    if resource.read_query:
        attempts["GET another representation"] = ("GET", resource.read_query, None)
    attempts["DELETE"] = ("DELETE", "", None)
    return attempts


CASES = [
    pytest.param(name, attempt, id=f"{name}: {attempt}")
    for name, resource in OWNED.items()
    for attempt in _attempts(resource)
]


@pytest.mark.parametrize(("name", "attempt"), CASES)
def test_another_users_item_is_404_and_looks_like_a_missing_id(
    client: FlaskClient, user: Any, other_user: Any, name: str, attempt: str
) -> None:
    resource = OWNED[name]
    mine = _create(client, resource, user)
    method, query, body = _attempts(resource)[attempt]

    def answer(item_id: str) -> Any:
        url = resource.item(item_id)
        return client.open(
            url, method=method, query_string=query, json=body, headers=other_user.headers
        )

    theirs, missing = answer(mine["id"]), answer(str(uuid.uuid4()))

    assert theirs.status_code == missing.status_code == 404
    assert {k: v for k, v in theirs.json.items() if k != "instance"} == {
        k: v for k, v in missing.json.items() if k != "instance"
    }


@pytest.mark.parametrize("name", OWNED)
def test_another_user_never_sees_my_items_in_their_list(
    client: FlaskClient, user: Any, other_user: Any, name: str
) -> None:
    resource = OWNED[name]
    mine = _create(client, resource, user)

    seen, page, pages = [], 1, 1
    while page <= pages:  # grau's catalog rows are in everyone's list: read every page
        query = {"page": page, "page_size": 100}
        listed = client.get(resource.collection, query_string=query, headers=other_user.headers)
        assert listed.status_code == 200
        seen += [item["id"] for item in listed.json["items"]]
        page, pages = page + 1, listed.json["pagination"]["total_pages"]

    assert mine["id"] not in seen


@pytest.mark.parametrize("name", OWNED)
def test_my_item_is_unchanged_after_another_user_tries_to_change_and_delete_it(
    client: FlaskClient, user: Any, other_user: Any, name: str
) -> None:
    resource = OWNED[name]
    mine = _create(client, resource, user)
    url = resource.item(mine["id"])
    before = client.get(url, headers=user.headers)

    client.patch(url, json=resource.change, headers=other_user.headers)
    client.delete(url, headers=other_user.headers)

    after = client.get(url, headers=user.headers)
    assert after.status_code == 200
    assert after.json == before.json
    assert after.headers["ETag"] == before.headers["ETag"]
