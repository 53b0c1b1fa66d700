"""POST /v1/imports: workout history from Strong and Hevy exports, in one transaction,
never twice (the samples in test/samples/, described in its README)."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient

from grau.portability.routes import STRONG_SAMPLE

SAMPLES = Path(__file__).parent / "samples"
URL = "/v1/imports"

# What each sample holds (test/samples/README.md) and the unit it is read in.
SAMPLE = {
    "strong_comma.csv": ("strong", 40, 420, "lb"),
    "strong_semicolon.csv": ("strong", 40, 420, "kg"),
    "strong_numbered.csv": ("strong", 6, 66, "kg"),
    "hevy_kg.csv": ("hevy", 30, 318, "kg"),
    "hevy_lb.csv": ("hevy", 30, 318, "kg"),
}
# Names grau's catalog does not know (it has treadmill running, not running): each
# becomes the user's own exercise.
UNKNOWN = {"Landmine Press", "Ünterarm Curl", "Zercher Squat", "Übung 🏋️", "Running"}


def upload(
    client: FlaskClient, account: Any, name: str, *, as_form: bool = True, **query: Any
) -> Any:
    data = (SAMPLES / name).read_bytes()
    query.setdefault("source", SAMPLE.get(name, ("strong",))[0])
    if as_form:
        return client.post(
            URL,
            query_string=query,
            data={"file": (io.BytesIO(data), name)},
            content_type="multipart/form-data",
            headers=account.headers,
        )
    return client.post(
        URL, query_string=query, data=data, content_type="text/csv", headers=account.headers
    )


def workouts(client: FlaskClient, account: Any) -> list[dict[str, Any]]:
    found, page = [], 1
    while True:
        listed = client.get(
            "/v1/workouts",
            query_string={"page": page, "page_size": 100, "sort": "started_at"},
            headers=account.headers,
        ).json
        found += listed["items"]
        if page >= listed["pagination"]["total_pages"]:
            return found
        page += 1


@pytest.mark.parametrize("name", SAMPLE)
def test_a_sample_imports_every_workout_and_set(client, user, name):
    source, workout_count, set_count, _ = SAMPLE[name]

    report = upload(client, user, name)

    assert report.status_code == 200, report.json
    assert report.json["source"] == source
    assert report.json["created"]["workouts"] == workout_count
    assert report.json["created"]["workout_sets"] == set_count
    assert report.json["errors"] == []
    imported = workouts(client, user)
    assert len(imported) == workout_count
    assert sum(len(w["sets"]) for w in imported) == set_count


@pytest.mark.parametrize("name", ["strong_comma.csv", "hevy_kg.csv"])
def test_importing_the_same_file_again_adds_nothing(client, user, name):
    first = upload(client, user, name).json
    again = upload(client, user, name)

    assert again.status_code == 200
    assert set(again.json["created"].values()) == {0}
    assert again.json["skipped"]["workouts"] == first["created"]["workouts"]
    assert again.json["skipped"]["workout_sets"] == first["created"]["workout_sets"]
    assert len(workouts(client, user)) == first["created"]["workouts"]


def test_a_newer_export_that_overlaps_adds_only_what_is_new(client, user):
    lines = (SAMPLES / "strong_comma.csv").read_text("utf-8").splitlines(keepends=True)
    older = "".join(lines[:100])  # the header and the first workouts' rows
    first = client.post(
        URL,
        query_string={"source": "strong"},
        data=older.encode(),
        content_type="text/csv",
        headers=user.headers,
    ).json

    newer = upload(client, user, "strong_comma.csv").json

    assert newer["created"]["workouts"] + newer["skipped"]["workouts"] == 40
    assert first["created"]["workout_sets"] + newer["created"]["workout_sets"] == 420
    assert newer["created"]["workouts"] < 40
    assert len(workouts(client, user)) == 40


def test_a_deleted_workout_comes_back_with_the_next_import(client, user):
    upload(client, user, "strong_numbered.csv")
    first = workouts(client, user)[0]
    client.delete(f"/v1/workouts/{first['id']}", headers=user.headers)

    again = upload(client, user, "strong_numbered.csv").json

    assert again["created"]["workouts"] == 1
    assert again["created"]["workout_sets"] == len(first["sets"])


def test_exercise_names_are_matched_to_the_catalog_or_made_the_users_own(client, user):
    report = upload(client, user, "strong_comma.csv").json

    matches = {m["name"]: m for m in report["exercises"]}
    assert {n for n, m in matches.items() if m["match"] == "created"} == UNKNOWN
    assert report["created"]["exercises"] == len(UNKNOWN)
    catalog = client.get(
        "/v1/exercises",
        query_string={"source": "system", "page_size": 100, "q": "Bench"},
        headers=user.headers,
    ).json["items"]
    barbell_bench = next(e for e in catalog if e["name"] == "Barbell Bench Press")
    assert matches["Bench Press (Barbell)"]["exercise_id"] == barbell_bench["id"]
    assert matches["Bench Press (Barbell)"]["match"] in ("exact", "alias")
    own = client.get(
        "/v1/exercises", query_string={"source": "own", "page_size": 100}, headers=user.headers
    ).json["items"]
    assert {e["name"] for e in own} == UNKNOWN


def test_a_second_import_reuses_the_exercises_the_first_made(client, user):
    upload(client, user, "strong_comma.csv")

    report = upload(client, user, "hevy_kg.csv").json

    matches = {m["name"]: m["match"] for m in report["exercises"]}
    assert matches["Landmine Press"] == "own"
    assert report["created"]["exercises"] == 0


def test_sets_keep_their_weights_units_kinds_distances_and_notes(client, user):
    client.patch("/v1/users/me", json={"timezone": "Europe/Berlin"}, headers=user.headers)
    upload(client, user, "strong_comma.csv", weight_unit="lb")

    first = workouts(client, user)[0]
    warmup, working = first["sets"][0], first["sets"][1]
    assert (warmup["kind"], warmup["weight"], warmup["weight_unit"]) == ("warmup", 40.0, "lb")
    assert (working["kind"], working["reps"], working["sequence"]) == ("normal", 5, 2)
    assert first["name"] == "Push, heavy"
    assert first["started_at"] == "2023-01-02T17:30:00+00:00"  # 18:30 in Berlin, in winter
    conditioning = workouts(client, user)[3]
    run = conditioning["sets"][0]
    assert run["distance_meters"] > 0 and run["duration_seconds"] > 0
    fifth = workouts(client, user)[4]
    assert fifth["note"].startswith('Slept badly, but "ok"\n')


def test_times_are_read_in_the_profiles_time_zone(client, user):
    client.patch("/v1/users/me", json={"timezone": "America/New_York"}, headers=user.headers)

    upload(client, user, "strong_numbered.csv")

    started = workouts(client, user)[0]["started_at"]
    assert started.endswith("+00:00") and started[11:13] in ("23", "22")  # 18:30 in New York


def test_a_dry_run_answers_the_report_and_keeps_nothing(client, user):
    report = upload(client, user, "hevy_kg.csv", dry_run="true")

    assert report.status_code == 200
    assert report.json["dry_run"] is True
    assert report.json["created"]["workouts"] == 30
    assert workouts(client, user) == []
    created = [m for m in report.json["exercises"] if m["match"] == "created"]
    assert created and all(m["exercise_id"] is None for m in created)
    assert upload(client, user, "hevy_kg.csv").json["created"]["workouts"] == 30


@pytest.mark.parametrize(
    ("name", "lines"),
    [("strong_broken.csv", {3, 5, 8, 9, 10, 11}), ("hevy_broken.csv", {3, 4, 5, 6})],
)
def test_a_file_with_broken_rows_imports_nothing_and_names_their_lines(client, user, name, lines):
    source = "hevy" if name.startswith("hevy") else "strong"

    refused = upload(client, user, name, source=source)

    assert refused.status_code == 422
    assert {int(key.split()[1]) for key in refused.json["errors"]} == lines
    assert workouts(client, user) == []


def test_on_error_skip_imports_the_other_rows_and_lists_those_left_out(client, user):
    report = upload(client, user, "strong_broken.csv", on_error="skip")

    assert report.status_code == 200
    assert {e["line"] for e in report.json["errors"]} == {3, 5, 8, 9, 10, 11}
    assert (
        report.json["created"]["workout_sets"]
        == sum(len(w["sets"]) for w in workouts(client, user))
        > 0
    )


def test_a_set_grau_refuses_is_a_row_error(client, user):
    header = (SAMPLES / "strong_comma.csv").read_text("utf-8").splitlines(keepends=True)[0]
    rows = (
        '2024-05-01 18:00:00,"Heavy",1h,"Squat (Barbell)",1,100,5,0,0,"","",\n'
        '2024-05-01 18:00:00,"Heavy",1h,"Squat (Barbell)",2,1500,5,0,0,"","",\n'  # over 1000 kg
        '2024-05-01 18:00:00,"Heavy",1h,"Squat (Barbell)",3,100,5000,0,0,"","",\n'  # reps
    )
    body = (header + rows).encode()

    refused = client.post(
        URL,
        query_string={"source": "strong"},
        data=body,
        content_type="text/csv",
        headers=user.headers,
    )

    assert refused.status_code == 422
    assert set(refused.json["errors"]) == {"line 3", "line 4"}
    assert "weight" in refused.json["errors"]["line 3"][0]
    assert workouts(client, user) == []


def test_a_raw_csv_body_imports_like_a_form(client, user):
    report = upload(client, user, "strong_numbered.csv", as_form=False)

    assert report.status_code == 200
    assert report.json["created"]["workouts"] == 6


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"source": "fitbod"}, "source"),
        ({}, "source"),
        ({"source": "strong", "dry_run": "yes"}, "dry_run"),
    ],
)
def test_a_bad_query_is_a_422_naming_it(client, user, query, field):
    refused = client.post(
        URL, query_string=query, data=b"x", content_type="text/csv", headers=user.headers
    )

    assert refused.status_code == 422
    assert field in refused.json["errors"]


@pytest.mark.parametrize(
    ("body", "content_type", "status"),
    [
        (b"", "text/csv", 422),  # empty
        (b"\xff\xfe\x00bad", "text/csv", 422),  # not UTF-8
        (b"a,b,c\n1,2,3\n", "text/csv", 422),  # not an export
        (b"{}", "application/json", 422),  # JSON, but not a Strong file
        (b"<x/>", "application/xml", 415),
    ],
)
def test_a_file_that_is_not_an_export_is_refused(client, user, body, content_type, status):
    refused = client.post(
        URL,
        query_string={"source": "strong"},
        data=body,
        content_type=content_type,
        headers=user.headers,
    )

    assert refused.status_code == status
    if status == 422:
        assert "file" in refused.json["errors"]


def test_a_hevy_file_sent_as_strong_says_so(client, user):
    refused = upload(client, user, "hevy_kg.csv", source="strong")

    assert refused.status_code == 422
    assert "Hevy" in refused.json["errors"]["file"][0]


def test_a_form_without_its_file_field_is_a_422(client, user):
    refused = client.post(
        URL,
        query_string={"source": "strong"},
        data={"other": (io.BytesIO(b"x"), "x.csv")},
        content_type="multipart/form-data",
        headers=user.headers,
    )

    assert refused.status_code == 422
    assert "file" in refused.json["errors"]


def test_a_file_over_the_limit_is_a_413(client, user, app):
    app.config["IMPORT_MAX_MB"] = 1
    try:
        refused = client.post(
            URL,
            query_string={"source": "strong"},
            data=b"x" * (1024 * 1024 + 1),
            content_type="text/csv",
            headers=user.headers,
        )
    finally:
        app.config["IMPORT_MAX_MB"] = 20

    assert refused.status_code == 413


def test_a_file_over_the_json_limit_but_under_the_import_limit_is_read(client, user, app):
    body = (SAMPLES / "strong_comma.csv").read_bytes()
    app.config["MAX_CONTENT_LENGTH"], limit = len(body) // 2, app.config["MAX_CONTENT_LENGTH"]
    try:
        report = client.post(
            URL,
            query_string={"source": "strong"},
            data=body,
            content_type="text/csv",
            headers=user.headers,
        )
    finally:
        app.config["MAX_CONTENT_LENGTH"] = limit

    assert report.status_code == 200, report.json
    assert report.json["created"]["workouts"] == 40


def test_an_import_needs_a_token(client):
    assert client.post(URL, query_string={"source": "strong"}).status_code == 401


def test_imports_are_the_users_own(client, user, other_user):
    upload(client, user, "strong_numbered.csv")

    assert workouts(client, other_user) == []
    assert upload(client, other_user, "strong_numbered.csv").json["created"]["workouts"] == 6


def test_the_documented_example_imports(client, user):
    """The spec's example file (what "Try it out" and the Postman request send)."""
    report = client.post(
        URL,
        query_string={"source": "strong"},
        data=STRONG_SAMPLE.encode(),
        content_type="text/csv",
        headers=user.headers,
    )

    assert report.status_code == 200, report.json
    created = report.json["created"]
    assert (created["workouts"], created["workout_sets"], created["exercises"]) == (2, 5, 1)


def test_a_file_of_more_rows_than_an_import_reads_is_a_413(client, user, monkeypatch):
    monkeypatch.setattr("grau.portability.records.MAX_ROWS", 100)

    refused = upload(client, user, "strong_comma.csv")

    assert refused.status_code == 413
    assert "100 rows" in refused.json["detail"]
    assert workouts(client, user) == []
