"""GET /v1/export: everything a user owns, as one JSON document or a ZIP of CSV files."""

from __future__ import annotations

import csv
import io
import uuid
import zipfile
from typing import Any

import pytest
from conftest import WEIGHT
from flask.testing import FlaskClient
from sqlalchemy import event
from test_conformance import OWNED, Items

from grau.portability.export import CSV_FILES, columns
from grau.workouts.models import WorkoutSet

# The document's list for each resource of the conformance suite (sets: in their workout).
LISTS = {
    "body stat": "body_stats",
    "nutrition entry": "nutrition_entries",
    "mood tag": "mood_tags",
    "mood": "moods",
    "equipment": "equipment",
    "exercise": "exercises",
    "workout": "workouts",
    "plan": "plans",
}


def export(client: FlaskClient, account: Any, **query: str) -> Any:
    return client.get("/v1/export", query_string=query, headers=account.headers)


def one_of_each(client: FlaskClient, account: Any) -> dict[str, Items]:
    """An item of every kind (the workout set's workout too), as the API made them."""
    made = {}
    for name in OWNED:
        items = Items(client, OWNED[name], account)
        items.make()
        made[name] = items
    return made


def test_the_export_holds_every_item_exactly_as_its_get_shows_it(client, user):
    made = one_of_each(client, user)

    response = export(client, user)

    assert response.status_code == 200
    assert response.mimetype == "application/json"
    assert response.headers["Content-Disposition"].startswith('attachment; filename="grau-export-')
    document = response.json
    assert (document["format"], document["version"]) == ("grau-export", 1)
    assert document["profile"] == client.get("/v1/users/me", headers=user.headers).json
    for name, items in made.items():
        if name == "workout set":
            continue
        listed = items.list(page_size=100).json["items"]
        assert sorted(document[LISTS[name]], key=lambda i: i["id"]) == sorted(
            listed, key=lambda i: i["id"]
        ), name
    # The set is in the workout it was made under, as that workout's GET shows it.
    workouts = {w["id"]: w for w in document["workouts"]}
    set_collection = made["workout set"].collection
    parent = set_collection.split("/")[3]
    assert workouts[parent] == client.get(f"/v1/workouts/{parent}", headers=user.headers).json
    assert len(workouts[parent]["sets"]) == 1


def test_the_export_holds_only_the_users_own_items(client, user, other_user):
    one_of_each(client, other_user)

    document = export(client, user).json

    assert all(document[name] == [] for name in LISTS.values())
    assert document["profile"]["id"] == user.id


def test_an_export_lists_items_oldest_first(client, user, create_stat):
    first = create_stat(user, recorded_at="2026-11-22T07:30:00+00:00")
    second = create_stat(user, recorded_at="2026-11-01T07:30:00+00:00")

    document = export(client, user).json

    assert [s["id"] for s in document["body_stats"]] == [first["id"], second["id"]]


def test_the_export_is_streamed_in_chunks(client, user, monkeypatch):
    monkeypatch.setattr("grau.portability.export.CHUNK", 256)
    monkeypatch.setattr("grau.portability.export.BATCH", 2)
    for day in range(1, 8):
        client.post(
            "/v1/body-stats",
            json={**WEIGHT, "recorded_at": f"2026-11-{day:02d}T07:30:00+00:00"},
            headers=user.headers,
        )

    response = client.get("/v1/export", headers=user.headers, buffered=False)
    chunks = list(response.response)

    assert len(chunks) > 3
    assert len(__import__("orjson").loads(b"".join(chunks))["body_stats"]) == 7


def test_the_export_needs_a_token(client):
    assert client.get("/v1/export").status_code == 401


def test_an_unknown_format_is_a_422(client, user):
    assert export(client, user, format="xml").status_code == 422


# ---------------------------------------------------------------------------- CSV


def unzipped(response: Any) -> dict[str, list[dict[str, str]]]:
    with zipfile.ZipFile(io.BytesIO(response.data)) as archive:
        return {
            name.removesuffix(".csv"): list(
                csv.DictReader(io.StringIO(archive.read(name).decode("utf-8-sig")))
            )
            for name in archive.namelist()
        }


@pytest.mark.parametrize("ask", [{"format": "csv"}, {"Accept": "application/zip"}])
def test_a_csv_export_is_a_zip_of_one_file_per_kind_of_item(client, user, ask):
    one_of_each(client, user)
    query = {"format": "csv"} if "format" in ask else {}
    headers = {**user.headers, **({} if query else ask)}

    response = client.get("/v1/export", query_string=query, headers=headers)

    assert response.status_code == 200
    assert response.mimetype == "application/zip"
    files = unzipped(response)
    assert list(files) == list(CSV_FILES)
    counts = {name: len(rows) for name, rows in files.items()}
    assert counts == {name: 2 if name == "workouts" else 1 for name in CSV_FILES}  # the set's too
    workouts = {workout["id"] for workout in files["workouts"]}
    assert files["workout_sets"][0]["workout_id"] in workouts
    assert "sets" not in files["workouts"][0]


def test_every_csv_file_has_its_documented_columns_in_order(client, user):
    one_of_each(client, user)

    with zipfile.ZipFile(io.BytesIO(export(client, user, format="csv").data)) as archive:
        for name in CSV_FILES:
            header = next(csv.reader(io.StringIO(archive.read(f"{name}.csv").decode("utf-8-sig"))))
            assert header == columns(name), name


def test_csv_cells_say_what_the_json_says(client, user):
    stat = client.post(
        "/v1/body-stats",
        json={**WEIGHT, "note": 'Before breakfast, "fasted"\nsecond line'},
        headers=user.headers,
    ).json

    row = unzipped(export(client, user, format="csv"))["body_stats"][0]

    assert row["id"] == stat["id"]
    assert float(row["value"]) == stat["value"]
    assert row["note"] == stat["note"]
    assert row["recorded_at"] == stat["recorded_at"]
    assert row["source"] == ""  # null is an empty cell


@pytest.mark.parametrize("note", ['=HYPERLINK("http://x")', "+1", "-2+3", "@SUM(A1)", "\tx"])
def test_a_cell_a_spreadsheet_would_run_as_a_formula_is_defused(client, user, note):
    client.post("/v1/body-stats", json={**WEIGHT, "note": note}, headers=user.headers)

    row = unzipped(export(client, user, format="csv"))["body_stats"][0]

    assert row["note"] == "'" + note


def test_a_moods_tags_are_one_cell_of_ids(client, user):
    tags = [
        client.post(
            "/v1/mood-tags", json={"label": label, "category": "weather"}, headers=user.headers
        ).json["id"]
        for label in ("Gym", "Walk")
    ]
    client.post(
        "/v1/moods",
        json={"value": 4, "recorded_at": "2026-11-20T07:30:00+00:00", "tag_ids": tags},
        headers=user.headers,
    )

    row = unzipped(export(client, user, format="csv"))["moods"][0]

    assert sorted(row["tag_ids"].split(";")) == sorted(tags)


def test_a_zip_reads_each_set_once(client, user):
    """workouts.csv has no column for a workout's sets: only workout_sets.csv reads them."""
    sets = Items(client, OWNED["workout set"], user)
    for _ in range(3):
        sets.make()
    loaded: list[Any] = []

    def count(item: Any, _context: Any) -> None:
        loaded.append(item.id)

    event.listen(WorkoutSet, "load", count)
    try:
        rows = unzipped(export(client, user, format="csv"))["workout_sets"]
    finally:
        event.remove(WorkoutSet, "load", count)

    assert len(rows) == 3
    assert sorted(loaded) == sorted(uuid.UUID(row["id"]) for row in rows)
