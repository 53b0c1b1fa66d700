"""POST /v1/imports?source=grau: a grau export brought into an account, whole, once."""

from __future__ import annotations

import copy
import json
import re
import uuid
from typing import Any

import pytest
from flask.testing import FlaskClient
from test_export import LISTS, one_of_each
from test_imports import SAMPLES

UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
# What the server sets, and who the account is: what a round trip may change.
SERVER_SET = {"created_at", "updated_at", "exported_at", "version"}
ACCOUNT = {"email", "username", "status", "premium"}


def export(client: FlaskClient, account: Any) -> dict[str, Any]:
    response = client.get("/v1/export", headers=account.headers)
    assert response.status_code == 200
    return dict(response.json)


def restore(client: FlaskClient, account: Any, document: Any, **query: str) -> Any:
    return client.post(
        "/v1/imports",
        query_string={"source": "grau", **query},
        data=json.dumps(document),
        content_type="application/json",
        headers=account.headers,
    )


def a_full_account(client: FlaskClient, account: Any) -> None:
    """An item of every kind, an exercise an import made (no muscles), a mood with tags,
    an exercise with equipment, a plan that plans it, and a profile with preferences."""
    one_of_each(client, account)
    h = account.headers
    strong = (SAMPLES / "strong_numbered.csv").read_bytes()
    client.post(
        "/v1/imports",
        query_string={"source": "strong"},
        data=strong,
        content_type="text/csv",
        headers=h,
    )
    tag = client.post("/v1/mood-tags", json={"label": "Gym", "category": "weather"}, headers=h)
    client.post(
        "/v1/moods",
        json={"value": 5, "recorded_at": "2026-11-21T20:00:00Z", "tag_ids": [tag.json["id"]]},
        headers=h,
    )
    bench = client.post(
        "/v1/equipment", json={"name": "My bench", "category": "accessories"}, headers=h
    )
    exercise = client.post(
        "/v1/exercises",
        json={
            "name": "Bench step-up",
            "category": "strength",
            "primary_muscles": ["quads"],
            "equipment_ids": [bench.json["id"]],
        },
        headers=h,
    )
    client.post(
        "/v1/plans",
        json={
            "name": "Legs",
            "days": [
                {"name": "A", "exercises": [{"exercise_id": exercise.json["id"], "target_sets": 3}]}
            ],
        },
        headers=h,
    )
    client.patch(
        "/v1/users/me",
        json={"first_name": "Ana", "weight_unit": "lb", "timezone": "Europe/Berlin"},
        headers=h,
    )


def comparable(document: dict[str, Any]) -> dict[str, Any]:
    """The document with what may differ taken out: each id an item refers to is the item's
    name (a tag's label, an exercise's name, a catalog slug), every other id is "ID", the
    server's timestamps and versions and the account's identity are gone, and each list
    is sorted, since items made in one transaction may tie on `created_at`."""
    names = {
        str(i): f"catalog:{slug}"
        for part in document["catalog"].values()
        for i, slug in part.items()
    }
    for part, label in (("mood_tags", "label"), ("equipment", "name"), ("exercises", "name")):
        for item in document[part]:
            names[item["id"]] = f"{part}:{item[label]}"

    def plain(value: Any, key: str = "") -> Any:
        if isinstance(value, dict):
            return {k: plain(v, k) for k, v in value.items() if k not in SERVER_SET | ACCOUNT}
        if isinstance(value, list):
            return sorted(
                (plain(v, key) for v in value), key=lambda v: json.dumps(v, sort_keys=True)
            )
        if isinstance(value, str) and UUID.match(value):
            return names.get(value, "ID") if key != "id" else "ID"
        return value

    shown = {k: v for k, v in document.items() if k != "catalog"}
    return plain(shown)


def test_an_export_imported_into_a_new_account_exports_the_same(client, user, other_user):
    a_full_account(client, user)
    original = export(client, user)

    report = restore(client, other_user, original)

    assert report.status_code == 200, report.json.get("errors")
    assert report.json["errors"] == []
    again = export(client, other_user)
    assert comparable(again) == comparable(original)
    assert all(again[name] for name in LISTS.values())  # every kind came over


def test_the_report_counts_every_kind(client, user, other_user):
    a_full_account(client, user)
    original = export(client, user)

    created = restore(client, other_user, original).json["created"]

    for name in LISTS.values():
        assert created[name] == len(original[name]), name
    assert created["workout_sets"] == sum(len(w["sets"]) for w in original["workouts"])


def test_the_same_export_imported_again_adds_nothing(client, user, other_user):
    a_full_account(client, user)
    original = export(client, user)
    first = restore(client, other_user, original).json

    again = restore(client, other_user, original).json

    assert set(again["created"].values()) == {0}
    assert again["skipped"] == {**first["created"], "profile": 0}
    assert comparable(export(client, other_user)) == comparable(original)


def test_a_newer_export_adds_only_what_is_new(client, user, other_user):
    client.post(
        "/v1/body-stats",
        json={"type": "weight", "value": 70, "unit": "kg", "recorded_at": "2026-11-01T07:00:00Z"},
        headers=user.headers,
    )
    restore(client, other_user, export(client, user))
    client.post(
        "/v1/body-stats",
        json={"type": "weight", "value": 71, "unit": "kg", "recorded_at": "2026-11-02T07:00:00Z"},
        headers=user.headers,
    )

    report = restore(client, other_user, export(client, user)).json

    assert (report["created"]["body_stats"], report["skipped"]["body_stats"]) == (1, 1)
    values = sorted(s["value"] for s in export(client, other_user)["body_stats"])
    assert values == [70, 71]


def test_catalog_references_are_found_by_slug_on_another_server(client, user, other_user):
    """An export from another server: its catalog has the same slugs under other ids."""
    one_of_each(client, user)
    original = export(client, user)
    moved = json.dumps(original)
    for kind in ("exercises", "equipment"):
        for item_id in original["catalog"][kind]:
            moved = moved.replace(item_id, str(uuid.uuid4()))
    elsewhere = json.loads(moved)

    report = restore(client, other_user, elsewhere)

    assert report.status_code == 200, report.json.get("errors")
    assert comparable(export(client, other_user)) == comparable(original)


def test_an_item_the_rules_refuse_refuses_the_import_naming_its_place(client, user, other_user):
    one_of_each(client, user)
    broken = export(client, user)
    broken["body_stats"][0]["value"] = -5

    refused = restore(client, other_user, broken)

    assert refused.status_code == 422
    assert list(refused.json["errors"]) == ["body_stats[0]"]
    assert "value" in refused.json["errors"]["body_stats[0]"][0]
    assert all(export(client, other_user)[name] == [] for name in LISTS.values())


def test_on_error_skip_imports_the_rest_and_lists_the_item(client, user, other_user):
    one_of_each(client, user)
    broken = export(client, user)
    broken["body_stats"][0]["value"] = -5

    report = restore(client, other_user, broken, on_error="skip").json

    assert [(e["line"], e["item"]) for e in report["errors"]] == [(None, "body_stats[0]")]
    assert report["created"]["body_stats"] == 0
    assert report["created"]["workouts"] == 2


def test_a_reference_to_nothing_in_the_export_is_an_error(client, user, other_user):
    tag = client.post(
        "/v1/mood-tags", json={"label": "Rain", "category": "weather"}, headers=user.headers
    )
    client.post(
        "/v1/moods",
        json={"value": 3, "recorded_at": "2026-11-21T20:00:00Z", "tag_ids": [tag.json["id"]]},
        headers=user.headers,
    )
    document = export(client, user)
    document["mood_tags"] = []

    refused = restore(client, other_user, document)

    assert refused.status_code == 422
    assert "moods[0]" in refused.json["errors"]


def test_a_dry_run_keeps_nothing(client, user, other_user):
    one_of_each(client, user)

    report = restore(client, other_user, export(client, user), dry_run="true")

    assert report.status_code == 200
    assert report.json["created"]["workouts"] == 2
    assert all(export(client, other_user)[name] == [] for name in LISTS.values())


def test_the_profiles_preferences_come_over_but_not_who_the_account_is(client, user, other_user):
    client.patch(
        "/v1/users/me", json={"first_name": "Ana", "height_unit": "in"}, headers=user.headers
    )

    report = restore(client, other_user, export(client, user)).json

    profile = client.get("/v1/users/me", headers=other_user.headers).json
    assert (profile["first_name"], profile["height_unit"]) == ("Ana", "in")
    assert profile["email"] == other_user.email
    assert report["updated"]["profile"] == 1


@pytest.mark.parametrize(
    "document",
    [
        [],
        {"format": "strong"},
        {"format": "grau-export", "version": 2},
        {"format": "grau-export", "version": 1, "moods": {}},
    ],
)
def test_a_document_that_is_not_a_grau_export_is_a_422(client, user, document):
    refused = restore(client, user, document)

    assert refused.status_code == 422
    assert "file" in refused.json["errors"]


def test_a_body_that_is_not_json_is_a_422(client, user):
    refused = client.post(
        "/v1/imports",
        query_string={"source": "grau"},
        data=b"{nope",
        content_type="application/json",
        headers=user.headers,
    )

    assert refused.status_code == 422
    assert "file" in refused.json["errors"]


def test_an_export_uploaded_as_a_form_imports_too(client, user, other_user):
    import io

    one_of_each(client, user)
    data = json.dumps(export(client, user)).encode()

    report = client.post(
        "/v1/imports",
        query_string={"source": "grau"},
        data={"file": (io.BytesIO(data), "grau-export.json")},
        content_type="multipart/form-data",
        headers=other_user.headers,
    )

    assert report.status_code == 200
    assert report.json["created"]["workouts"] == 2


def test_the_export_is_not_changed_by_reading_it(client, user):
    one_of_each(client, user)
    first = export(client, user)

    assert comparable(copy.deepcopy(first)) == comparable(export(client, user))


def test_a_newer_export_adds_the_sets_a_workout_gained(client, user, other_user):
    one_of_each(client, user)
    restore(client, other_user, export(client, user))
    workout = export(client, user)["workouts"][-1]  # the one that holds the set
    sets_url = f"/v1/workouts/{workout['id']}/sets"
    exercise = workout["sets"][0]["exercise_id"]
    client.post(sets_url, json={"exercise_id": exercise, "reps": 3}, headers=user.headers)

    report = restore(client, other_user, export(client, user)).json

    assert (report["created"]["workout_sets"], report["skipped"]["workout_sets"]) == (1, 1)
    assert comparable(export(client, other_user)) == comparable(export(client, user))
