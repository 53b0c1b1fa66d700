"""Readings pushed from health platforms: `source` and `external_id` on body stats and
nutrition entries keep each reading once, however often and from however many devices
it is pushed."""

from __future__ import annotations

from typing import Any

import pytest
from conftest import ids

READING = {
    "/v1/body-stats": {"type": "weight", "value": 72.5, "unit": "kg"},
    "/v1/nutrition-entries": {"type": "water", "value": 250.0, "unit": "ml"},
}
CHANGED = {
    "/v1/body-stats": {"type": "weight", "value": 160.0, "unit": "lb"},
    "/v1/nutrition-entries": {"type": "water", "value": 0.5, "unit": "l"},
}
URLS = pytest.mark.parametrize("url", list(READING))


def reading(url: str, external_id: str | None = "HK-1", day: int = 20, **more: Any) -> dict:
    body = {**READING[url], "recorded_at": f"2026-11-{day:02d}T07:30:00+01:00", **more}
    if external_id is not None:
        body.update(source="apple_health", external_id=external_id)
    return body


def push(client: Any, account: Any, url: str, body: dict, **headers: str) -> Any:
    return client.post(url, json=body, headers={**account.headers, **headers})


@URLS
def test_a_reading_is_created_with_its_source_and_external_id(client, user, url):
    created = push(client, user, url, reading(url))

    assert created.status_code == 201
    assert (created.json["source"], created.json["external_id"]) == ("apple_health", "HK-1")
    assert client.get(created.headers["Location"], headers=user.headers).json == created.json


@URLS
def test_a_reading_without_them_shows_both_as_null(client, user, url):
    created = push(client, user, url, reading(url, external_id=None))

    assert (created.json["source"], created.json["external_id"]) == (None, None)


@URLS
def test_pushing_the_same_reading_again_keeps_it_once_and_unchanged(client, user, url):
    first = push(client, user, url, reading(url))
    again = push(client, user, url, reading(url))

    assert again.status_code == 200
    assert again.json == first.json
    assert again.headers["ETag"] == first.headers["ETag"]  # not written again
    assert ids(client.get(url, headers=user.headers)) == [first.json["id"]]


@URLS
def test_a_changed_reading_updates_the_one_it_names(client, user, url):
    first = push(client, user, url, reading(url, note="first"))
    changed = push(client, user, url, reading(url, **CHANGED[url]))

    assert changed.status_code == 200
    assert changed.json["id"] == first.json["id"]
    assert {k: changed.json[k] for k in ("value", "unit", "note")} == {
        "value": CHANGED[url]["value"],
        "unit": CHANGED[url]["unit"],
        "note": "first",  # the fields sent change; the others stay
    }
    assert changed.headers["ETag"] != first.headers["ETag"]
    shown = client.get(f"{url}/{first.json['id']}", headers=user.headers)
    assert shown.json == changed.json


@URLS
def test_a_week_pushed_from_two_devices_ends_with_each_reading_once(client, user, url):
    week = [reading(url, external_id=f"HK-{day}", day=day) for day in range(14, 21)]
    first_device = [push(client, user, url, body) for body in week]
    second_device = [push(client, user, url, body) for body in reversed(week)]

    assert {r.status_code for r in first_device} == {201}
    assert {r.status_code for r in second_device} == {200}
    listed = client.get(url, query_string={"source": "apple_health"}, headers=user.headers)
    assert sorted(ids(listed)) == sorted(r.json["id"] for r in first_device)


@URLS
def test_the_same_external_id_from_another_source_is_another_reading(client, user, url):
    health = push(client, user, url, reading(url))
    connect = push(client, user, url, {**reading(url), "source": "health_connect"})

    assert (health.status_code, connect.status_code) == (201, 201)
    assert health.json["id"] != connect.json["id"]


@URLS
def test_another_users_reading_with_the_same_external_id_is_theirs(client, user, other_user, url):
    mine = push(client, user, url, reading(url))
    theirs = push(client, other_user, url, reading(url))

    assert (mine.status_code, theirs.status_code) == (201, 201)
    assert client.get(f"{url}/{mine.json['id']}", headers=user.headers).json == mine.json


@URLS
def test_a_list_filters_by_source(client, user, url):
    apple = push(client, user, url, reading(url))
    push(client, user, url, reading(url, external_id=None))
    typed = push(client, user, url, {**reading(url, external_id=None), "source": "manual"})

    def listed(source: str) -> list[str]:
        page = client.get(url, query_string={"source": source}, headers=user.headers)
        return ids(page)

    assert listed("apple_health") == [apple.json["id"]]
    assert listed("manual") == [typed.json["id"]]
    assert listed("garmin") == []


@URLS
@pytest.mark.parametrize(
    ("sent", "field"),
    [
        ({"external_id": "HK-1"}, "source"),  # an id means nothing without its source
        ({"source": "Apple Health"}, "source"),
        ({"source": "a" * 33}, "source"),
        ({"source": "apple_health", "external_id": ""}, "external_id"),
        ({"source": "apple_health", "external_id": "x" * 129}, "external_id"),
        ({"source": "apple_health", "external_id": 7}, "external_id"),
    ],
)
def test_a_malformed_source_or_external_id_is_a_422_naming_it(client, user, url, sent, field):
    refused = push(client, user, url, {**reading(url, external_id=None), **sent})

    assert refused.status_code == 422
    assert list(refused.json["errors"]) == [field]


@URLS
def test_a_list_refuses_a_malformed_source(client, user, url):
    refused = client.get(url, query_string={"source": "Apple"}, headers=user.headers)

    assert refused.status_code == 422


@URLS
def test_an_update_keeps_the_source_and_external_id(client, user, url):
    first = push(client, user, url, reading(url))
    patched = client.patch(
        f"{url}/{first.json['id']}", json={"note": "edited"}, headers=user.headers
    )

    assert (patched.json["source"], patched.json["external_id"]) == ("apple_health", "HK-1")
    refused = client.patch(
        f"{url}/{first.json['id']}", json={"external_id": "HK-2"}, headers=user.headers
    )
    assert refused.status_code == 422  # set when made, never changed


@URLS
def test_an_update_through_a_push_is_replayed_by_its_idempotency_key(client, user, url):
    push(client, user, url, reading(url))
    key = {"Idempotency-Key": "6a1b1f0e-8d1e-4f8e-9a63-1c1f2d3e4b5a"}
    changed = push(client, user, url, reading(url, note="again"), **key)
    replayed = push(client, user, url, reading(url, note="again"), **key)

    assert (changed.status_code, replayed.status_code) == (200, 200)
    assert replayed.headers["Idempotent-Replayed"] == "true"
    assert replayed.json == changed.json


@URLS
def test_a_push_that_updates_is_in_the_changes_feed_once(client, user, url):
    push(client, user, url, reading(url))
    feed = client.get("/v1/changes", headers=user.headers).json
    cursor = feed["next_cursor"]
    changed = push(client, user, url, reading(url, note="later"))
    unchanged = push(client, user, url, reading(url, note="later"))

    later = client.get("/v1/changes", query_string={"cursor": cursor}, headers=user.headers)
    assert (changed.status_code, unchanged.status_code) == (200, 200)
    assert [c["data"]["id"] for c in later.json["changes"]] == [changed.json["id"]]


@URLS
def test_a_null_source_is_refused_as_its_schema_says(client, user, url):
    """JSON Schema's dependentRequired counts a sent null as present: the schema says a
    create's source is a string, so `{"source": null, "external_id": ...}` is a 422 there
    too, naming source."""
    body = {**reading(url, external_id=None), "source": None, "external_id": "HK-9"}

    refused = push(client, user, url, body)

    assert refused.status_code == 422
    assert "source" in refused.json["errors"]
