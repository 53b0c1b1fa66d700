"""/v1/body-stats: recording, listing, changing and removing one's own measurements."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from conftest import WEIGHT

from grau.body_stats.schemas import MEASUREMENT_RULES

# A whole measurement, as every PATCH that changes one must send it.
MEASUREMENT = {"type": "weight", "value": 72.5, "unit": "kg"}

URL = "/v1/body-stats"
SERVER_OWNED = {
    "id": str(uuid.uuid4()),
    "user_id": str(uuid.uuid4()),
    "created_at": "2025-01-01T00:00:00+00:00",
    "updated_at": "2025-01-01T00:00:00+00:00",
    "version": 7,
}


def item_url(stat_id: str) -> str:
    return f"{URL}/{stat_id}"


def post(client: Any, account: Any, body: Any, **headers: str) -> Any:
    return client.post(URL, json=body, headers={**account.headers, **headers})


def post_raw(
    client: Any, account: Any, data: str | bytes, content_type: str = "application/json"
) -> Any:
    return client.post(URL, data=data, content_type=content_type, headers=account.headers)


def listing(client: Any, account: Any, **query: Any) -> Any:
    return client.get(URL, query_string=query, headers=account.headers)


def ids(response: Any) -> list[str]:
    return [item["id"] for item in response.json["items"]]


def public(stat: dict[str, Any]) -> dict[str, Any]:
    """A stat as the API returns it (without the factory's `_etag`)."""
    return {k: v for k, v in stat.items() if k != "_etag"}


def at(day: int, hour: int = 8) -> str:
    return f"2025-03-{day:02d}T{hour:02d}:00:00+00:00"


# ------------------------------------------------------------------------- create

VALID = [
    ("weight", "kg", 72.5),
    ("weight", "lb", 160.0),
    ("weight", "st", 11.5),
    ("height", "cm", 180.0),
    ("height", "in", 70.0),
    ("body_fat", "%", 18.5),
    ("waist", "cm", 80.0),
    ("waist", "in", 32.0),
    ("chest", "cm", 100.0),
    ("chest", "in", 40.0),
    ("hips", "cm", 95.0),
    ("hips", "in", 38.0),
]


@pytest.mark.parametrize(("stat_type", "unit", "value"), VALID)
def test_create_each_type_in_each_unit_gets_201_with_location_and_etag(
    client, user, stat_type, unit, value
):
    response = post(client, user, {**WEIGHT, "type": stat_type, "unit": unit, "value": value})

    assert response.status_code == 201
    assert response.headers["Location"] == item_url(response.json["id"])
    assert response.headers["ETag"].startswith('"')


def test_create_returns_the_stat_as_stored(client, user):
    response = post(client, user, {**WEIGHT, "note": "Morning"})

    assert {k: response.json[k] for k in ("type", "value", "unit", "recorded_at", "note")} == {
        "type": "weight",
        "value": 72.5,
        "unit": "kg",
        "recorded_at": "2026-11-20T06:30:00+00:00",
        "note": "Morning",
    }


def test_create_does_not_expose_internal_columns(client, user):
    response = post(client, user, WEIGHT)

    assert set(response.json) == {
        "id",
        "type",
        "value",
        "unit",
        "recorded_at",
        "note",
        "created_at",
        "updated_at",
    }


@pytest.mark.parametrize("value", [0.5, 650.0], ids=["lightest", "heaviest"])
def test_weight_range_bounds_are_accepted(client, user, value):
    response = post(client, user, {**WEIGHT, "value": value})

    assert response.status_code == 201


@pytest.mark.parametrize(
    ("stat_type", "unit"),
    [("weight", "cm"), ("weight", "%"), ("body_fat", "kg"), ("height", "lb"), ("waist", "st")],
)
def test_unit_not_valid_for_the_type_gets_422_on_unit(client, user, stat_type, unit):
    response = post(client, user, {**WEIGHT, "type": stat_type, "unit": unit})

    assert response.status_code == 422
    assert "unit" in response.json["errors"]


@pytest.mark.parametrize(
    ("stat_type", "unit", "value"),
    [
        ("weight", "kg", -3),
        ("weight", "kg", 0),
        ("weight", "kg", 10000),
        ("weight", "lb", 1500),
        ("body_fat", "%", 0),
        ("body_fat", "%", 100),
        ("height", "cm", 5000),
        ("weight", "kg", 10**400),
    ],
    ids=["-3 kg", "0 kg", "10000 kg", "1500 lb", "0 %", "100 %", "5000 cm", "10^400 kg"],
)
def test_implausible_value_gets_422_on_value(client, user, stat_type, unit, value):
    response = post(client, user, {**WEIGHT, "type": stat_type, "unit": unit, "value": value})

    assert response.status_code == 422
    assert "value" in response.json["errors"]


@pytest.mark.parametrize("token", ["NaN", "Infinity", "-Infinity", "1e999"])
def test_non_finite_json_number_gets_422_on_value(client, user, token):
    body = json.dumps({**WEIGHT, "value": 0}).replace('"value": 0', f'"value": {token}')

    response = post_raw(client, user, body)

    assert response.status_code == 422
    assert "value" in response.json["errors"]


@pytest.mark.parametrize(
    "value",
    ["heavy", "72.5", True, None, [72.5], {"kg": 72.5}],
    ids=["word", "numeric string", "boolean", "null", "list", "object"],
)
def test_value_that_is_not_a_json_number_gets_422_on_value(client, user, value):
    response = post(client, user, {**WEIGHT, "value": value})

    assert response.status_code == 422
    assert "value" in response.json["errors"]


def test_unknown_type_gets_422_on_type(client, user):
    response = post(client, user, {**WEIGHT, "type": "mood"})

    assert response.status_code == 422
    assert "type" in response.json["errors"]


@pytest.mark.parametrize("missing", ["type", "value", "unit", "recorded_at"])
def test_create_without_a_required_field_gets_422_naming_it(client, user, missing):
    body = {k: v for k, v in WEIGHT.items() if k != missing}

    response = post(client, user, body)

    assert response.status_code == 422
    assert missing in response.json["errors"]


@pytest.mark.parametrize(
    "recorded_at",
    [
        "2025-03-01T07:30:00",
        "3000-01-01T00:00:00+00:00",
        "1800-01-01T00:00:00+00:00",
        "0001-01-01T00:00:00+01:00",
        "yesterday",
        "2025-02-30T07:30:00+00:00",
    ],
    ids=["naive", "year 3000", "year 1800", "year 1 with offset", "not a date", "30 February"],
)
def test_unacceptable_recorded_at_gets_422_on_recorded_at(client, user, recorded_at):
    response = post(client, user, {**WEIGHT, "recorded_at": recorded_at})

    assert response.status_code == 422
    assert "recorded_at" in response.json["errors"]


def test_recorded_at_is_returned_in_utc(client, user):
    response = post(client, user, {**WEIGHT, "recorded_at": "2025-03-01T07:30:00-05:00"})

    assert response.json["recorded_at"] == "2025-03-01T12:30:00+00:00"


@pytest.mark.parametrize(
    "note", ["before\x00after", "x" * 1001], ids=["NUL byte", "1001 characters"]
)
def test_unacceptable_note_gets_422_on_note(client, user, note):
    response = post(client, user, {**WEIGHT, "note": note})

    assert response.status_code == 422
    assert "note" in response.json["errors"]


def test_note_of_1000_characters_is_accepted(client, user):
    response = post(client, user, {**WEIGHT, "note": "x" * 1000})

    assert response.status_code == 201


@pytest.mark.parametrize("field", SERVER_OWNED)
def test_server_owned_field_in_create_gets_422_naming_it(client, user, field):
    response = post(client, user, {**WEIGHT, field: SERVER_OWNED[field]})

    assert response.status_code == 422
    assert field in response.json["errors"]


def test_unknown_field_in_create_gets_422_naming_it(client, user):
    response = post(client, user, {**WEIGHT, "mood": "great"})

    assert response.status_code == 422
    assert "mood" in response.json["errors"]


def test_create_without_a_token_gets_401(client):
    response = client.post(URL, json=WEIGHT)

    assert response.status_code == 401


# ------------------------------------------------------------------- request bodies


@pytest.mark.parametrize(
    "content_type", ["text/plain", "application/x-www-form-urlencoded", "application/xml"]
)
def test_body_that_is_not_json_gets_415(client, user, content_type):
    response = post_raw(client, user, "type=weight&value=72.5", content_type)

    assert response.status_code == 415
    assert response.mimetype == "application/problem+json"


@pytest.mark.parametrize("data", ['{"type": "weight",', "{'type': 'weight'}", "\x00\x01"])
def test_invalid_json_gets_400(client, user, data):
    response = post_raw(client, user, data)

    assert response.status_code == 400
    assert response.mimetype == "application/problem+json"


def test_empty_body_gets_422(client, user):
    response = post_raw(client, user, b"")

    assert response.status_code == 422


def test_empty_json_object_gets_422_naming_the_required_fields(client, user):
    response = post(client, user, {})

    assert response.status_code == 422
    assert {"type", "value", "unit", "recorded_at"} <= set(response.json["errors"])


@pytest.mark.parametrize(
    "body", [[], "weight", 72.5, None], ids=["array", "string", "number", "null"]
)
def test_json_body_that_is_not_an_object_gets_422(client, user, body):
    response = post_raw(client, user, json.dumps(body))

    assert response.status_code == 422


# --------------------------------------------------------------------------- list


def test_list_returns_items_and_pagination(client, user, create_stat):
    stat = create_stat(user)

    response = listing(client, user)

    assert response.json == {
        "items": [public(stat)],
        "pagination": {"page": 1, "page_size": 20, "total": 1, "total_pages": 1},
    }


def test_empty_list_has_zero_pages(client, user):
    response = listing(client, user)

    assert response.json == {
        "items": [],
        "pagination": {"page": 1, "page_size": 20, "total": 0, "total_pages": 0},
    }


def test_45_items_in_pages_of_20_make_3_pages(client, user, create_stat):
    for i in range(45):
        create_stat(user, recorded_at=at(1 + i % 28, 1 + i // 28))

    response = listing(client, user, page=3, page_size=20)

    assert response.json["pagination"] == {
        "page": 3,
        "page_size": 20,
        "total": 45,
        "total_pages": 3,
    }
    assert len(response.json["items"]) == 5


def test_page_size_100_is_accepted(client, user):
    response = listing(client, user, page_size=100)

    assert response.status_code == 200


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("page_size", 101),
        ("page_size", 0),
        ("page", 0),
        ("page", -1),
        ("page", 100_001),
        ("page", "two"),
    ],
)
def test_page_argument_out_of_range_gets_422_naming_it(client, user, name, value):
    response = listing(client, user, **{name: value})

    assert response.status_code == 422
    assert name in response.json["errors"]


def test_page_beyond_the_last_is_empty_but_counts_the_whole_list(client, user, create_stat):
    for day in (1, 2, 3):
        create_stat(user, recorded_at=at(day))

    response = listing(client, user, page=5, page_size=2)

    assert response.json == {
        "items": [],
        "pagination": {"page": 5, "page_size": 2, "total": 3, "total_pages": 2},
    }


def test_list_filters_by_type(client, user, create_stat):
    create_stat(user)
    height = create_stat(user, type="height", value=180, unit="cm")

    response = listing(client, user, type="height")

    assert ids(response) == [height["id"]]


def test_list_with_an_unknown_type_gets_422(client, user):
    response = listing(client, user, type="mood")

    assert response.status_code == 422
    assert "type" in response.json["errors"]


def test_recorded_from_includes_its_own_moment(client, user, create_stat):
    create_stat(user, recorded_at=at(1))
    on_bound = create_stat(user, recorded_at=at(2))
    later = create_stat(user, recorded_at=at(3))

    response = listing(client, user, recorded_from="2025-03-02T09:00:00+01:00")

    assert ids(response) == [later["id"], on_bound["id"]]


def test_recorded_to_includes_its_own_moment(client, user, create_stat):
    earlier = create_stat(user, recorded_at=at(1))
    on_bound = create_stat(user, recorded_at=at(2))
    create_stat(user, recorded_at=at(3))

    response = listing(client, user, recorded_to="2025-03-02T08:00:00Z")

    assert ids(response) == [on_bound["id"], earlier["id"]]


def test_recorded_from_and_to_at_the_same_moment_select_it(client, user, create_stat):
    create_stat(user, recorded_at=at(1))
    middle = create_stat(user, recorded_at=at(2))
    create_stat(user, recorded_at=at(3))

    response = listing(client, user, recorded_from=at(2), recorded_to=at(2))

    assert ids(response) == [middle["id"]]


def test_recorded_from_after_recorded_to_gets_422(client, user):
    response = listing(client, user, recorded_from=at(3), recorded_to=at(2))

    assert response.status_code == 422
    assert "recorded_to" in response.json["errors"]


def test_naive_recorded_from_gets_422(client, user):
    response = listing(client, user, recorded_from="2025-03-02T08:00:00")

    assert response.status_code == 422
    assert "recorded_from" in response.json["errors"]


@pytest.fixture
def three_stats(user, create_stat) -> dict[str, str]:
    """Created in order a, b, c; every sort key orders them differently."""
    a = create_stat(user, recorded_at=at(3), value=71.0)
    b = create_stat(user, recorded_at=at(1), value=70.0)
    c = create_stat(user, recorded_at=at(2), value=72.0)
    return {"a": a["id"], "b": b["id"], "c": c["id"]}


@pytest.mark.parametrize(
    ("sort", "order"),
    [
        ("recorded_at", "bca"),
        ("-recorded_at", "acb"),
        ("created_at", "abc"),
        ("-created_at", "cba"),
        ("value", "bac"),
        ("-value", "cab"),
    ],
)
def test_list_sorts_by_each_allowed_key(client, user, three_stats, sort, order):
    response = listing(client, user, sort=sort)

    assert ids(response) == [three_stats[name] for name in order]


@pytest.mark.parametrize(
    ("sort", "order"), [("value", ["lb", "kg", "st"]), ("-value", ["st", "kg", "lb"])]
)
def test_sort_by_value_orders_by_the_quantity_whatever_its_unit(
    client, user, create_stat, sort, order
):
    """160 lb is 72.57 kg and 11.5 st is 73.03 kg: the numbers alone would sort them wrong."""
    created = {
        unit: create_stat(user, value=value, unit=unit)["id"]
        for unit, value in (("kg", 72.6), ("lb", 160.0), ("st", 11.5))
    }

    response = listing(client, user, sort=sort)

    assert ids(response) == [created[unit] for unit in order]


def test_default_order_is_newest_recorded_first(client, user, three_stats):
    response = listing(client, user)

    assert ids(response) == [three_stats[name] for name in "acb"]


@pytest.mark.parametrize("sort", ["note", "user_id", "password_hash", "recorded_at,value", ""])
def test_unknown_sort_gets_422(client, user, sort):
    response = listing(client, user, sort=sort)

    assert response.status_code == 422
    assert "sort" in response.json["errors"]


def test_stats_recorded_at_the_same_moment_are_ordered_by_id(client, user, create_stat):
    same = [create_stat(user, recorded_at=at(1))["id"] for _ in range(5)]

    response = listing(client, user)

    assert ids(response) == sorted(same, reverse=True)


def test_stats_recorded_at_the_same_moment_page_without_repeats_or_gaps(client, user, create_stat):
    same = {create_stat(user, recorded_at=at(1))["id"] for _ in range(5)}

    walked = [i for page in (1, 2, 3) for i in ids(listing(client, user, page=page, page_size=2))]

    assert sorted(walked) == sorted(same)


def test_list_without_a_token_gets_401(client):
    response = client.get(URL)

    assert response.status_code == 401


# ----------------------------------------------------------------------- read one


def test_get_returns_the_stat(client, user, create_stat):
    stat = create_stat(user)

    response = client.get(item_url(stat["id"]), headers=user.headers)

    assert response.status_code == 200
    assert response.json == public(stat)


def test_get_returns_the_etag_of_the_create(client, user, create_stat):
    stat = create_stat(user)

    response = client.get(item_url(stat["id"]), headers=user.headers)

    assert response.headers["ETag"] == stat["_etag"]


def test_get_with_a_matching_if_none_match_gets_304(client, user, create_stat):
    stat = create_stat(user)

    response = client.get(
        item_url(stat["id"]), headers={**user.headers, "If-None-Match": stat["_etag"]}
    )

    assert response.status_code == 304
    assert response.get_data() == b""


def test_get_with_an_outdated_if_none_match_gets_200(client, user, create_stat):
    stat = create_stat(user)
    client.patch(item_url(stat["id"]), json={**MEASUREMENT, "value": 73.0}, headers=user.headers)

    response = client.get(
        item_url(stat["id"]), headers={**user.headers, "If-None-Match": stat["_etag"]}
    )

    assert response.status_code == 200


def test_list_with_a_matching_if_none_match_gets_304(client, user, create_stat):
    create_stat(user)
    etag = listing(client, user).headers["ETag"]

    response = client.get(URL, headers={**user.headers, "If-None-Match": etag})

    assert response.status_code == 304


def test_list_etag_changes_after_a_create(client, user, create_stat):
    create_stat(user)
    before = listing(client, user).headers["ETag"]
    create_stat(user, value=73.0)

    after = listing(client, user).headers["ETag"]

    assert after != before


def test_get_of_an_unknown_id_gets_404(client, user):
    response = client.get(item_url(str(uuid.uuid4())), headers=user.headers)

    assert response.status_code == 404
    assert response.mimetype == "application/problem+json"


# ------------------------------------------------------------------------- change


def test_patch_changes_only_the_fields_sent(client, user, create_stat):
    stat = create_stat(user, note="Morning")

    response = client.patch(
        item_url(stat["id"]), json={**MEASUREMENT, "value": 71.0}, headers=user.headers
    )

    changed = {k for k, v in public(stat).items() if response.json[k] != v}
    assert changed == {"value", "updated_at"}
    assert response.json["value"] == 71.0


def test_patch_returns_a_new_etag(client, user, create_stat):
    stat = create_stat(user)

    response = client.patch(
        item_url(stat["id"]), json={**MEASUREMENT, "value": 71.0}, headers=user.headers
    )

    assert response.headers["ETag"] != stat["_etag"]


def test_patch_can_clear_the_note(client, user, create_stat):
    stat = create_stat(user, note="Morning")

    response = client.patch(item_url(stat["id"]), json={"note": None}, headers=user.headers)

    assert response.json["note"] is None


def test_patch_to_another_type_and_unit_together_is_accepted(client, user, create_stat):
    stat = create_stat(user)

    response = client.patch(
        item_url(stat["id"]),
        json={"type": "waist", "unit": "cm", "value": 80.0},
        headers=user.headers,
    )

    assert response.status_code == 200


@pytest.mark.parametrize(
    "partial", [{"unit": "lb"}, {"value": 71.0}, {"type": "waist", "unit": "cm"}]
)
def test_patch_with_part_of_a_measurement_gets_422_naming_what_is_missing(
    client, user, create_stat, partial
):
    stat = create_stat(user)

    response = client.patch(item_url(stat["id"]), json=partial, headers=user.headers)

    assert response.status_code == 422
    assert set(response.json["errors"]) == {"type", "value", "unit"} - set(partial)


def test_patch_making_the_unit_invalid_for_the_type_gets_422_on_unit(client, user, create_stat):
    stat = create_stat(user)

    response = client.patch(
        item_url(stat["id"]), json={**MEASUREMENT, "unit": "cm"}, headers=user.headers
    )

    assert response.status_code == 422
    assert "unit" in response.json["errors"]


def test_patch_making_the_unit_invalid_for_the_type_changes_nothing(client, user, create_stat):
    stat = create_stat(user)
    client.patch(item_url(stat["id"]), json={**MEASUREMENT, "unit": "cm"}, headers=user.headers)

    response = client.get(item_url(stat["id"]), headers=user.headers)

    assert response.json == public(stat)


def test_patch_making_the_value_implausible_gets_422_on_value(client, user, create_stat):
    stat = create_stat(user, value=300.0)  # 300 kg is plausible, 300 st (1905 kg) is not

    response = client.patch(
        item_url(stat["id"]),
        json={**MEASUREMENT, "value": 300.0, "unit": "st"},
        headers=user.headers,
    )

    assert response.status_code == 422
    assert "value" in response.json["errors"]


def test_patch_with_a_stale_if_match_gets_412(client, user, create_stat):
    stat = create_stat(user)
    client.patch(item_url(stat["id"]), json={**MEASUREMENT, "value": 71.0}, headers=user.headers)

    response = client.patch(
        item_url(stat["id"]),
        json={**MEASUREMENT, "value": 70.0},
        headers={**user.headers, "If-Match": stat["_etag"]},
    )

    assert response.status_code == 412


def test_patch_with_a_stale_if_match_changes_nothing(client, user, create_stat):
    stat = create_stat(user)
    first = client.patch(
        item_url(stat["id"]), json={**MEASUREMENT, "value": 71.0}, headers=user.headers
    )
    client.patch(
        item_url(stat["id"]),
        json={**MEASUREMENT, "value": 70.0},
        headers={**user.headers, "If-Match": stat["_etag"]},
    )

    response = client.get(item_url(stat["id"]), headers=user.headers)

    assert response.json == first.json


def test_patch_with_the_current_if_match_gets_200(client, user, create_stat):
    stat = create_stat(user)

    response = client.patch(
        item_url(stat["id"]),
        json={**MEASUREMENT, "value": 71.0},
        headers={**user.headers, "If-Match": stat["_etag"]},
    )

    assert response.status_code == 200


@pytest.mark.parametrize("field", SERVER_OWNED)
def test_server_owned_field_in_patch_gets_422_naming_it(client, user, create_stat, field):
    stat = create_stat(user)

    response = client.patch(
        item_url(stat["id"]), json={field: SERVER_OWNED[field]}, headers=user.headers
    )

    assert response.status_code == 422
    assert field in response.json["errors"]


@pytest.mark.parametrize(
    ("field", "value"),
    [("recorded_at", "3000-01-01T00:00:00+00:00"), ("note", "a\x00b"), ("value", "NaN")],
)
def test_patch_with_an_invalid_field_gets_422_naming_it(client, user, create_stat, field, value):
    stat = create_stat(user)

    response = client.patch(item_url(stat["id"]), json={field: value}, headers=user.headers)

    assert response.status_code == 422
    assert field in response.json["errors"]


# ------------------------------------------------------------------------- remove


def test_delete_gets_204(client, user, create_stat):
    stat = create_stat(user)

    response = client.delete(item_url(stat["id"]), headers=user.headers)

    assert response.status_code == 204
    assert response.get_data() == b""


def test_deleted_stat_gets_404(client, user, create_stat):
    stat = create_stat(user)
    client.delete(item_url(stat["id"]), headers=user.headers)

    response = client.get(item_url(stat["id"]), headers=user.headers)

    assert response.status_code == 404


def test_deleting_twice_gets_404(client, user, create_stat):
    stat = create_stat(user)
    client.delete(item_url(stat["id"]), headers=user.headers)

    response = client.delete(item_url(stat["id"]), headers=user.headers)

    assert response.status_code == 404


def test_delete_with_a_stale_if_match_gets_412(client, user, create_stat):
    stat = create_stat(user)
    client.patch(item_url(stat["id"]), json={**MEASUREMENT, "value": 71.0}, headers=user.headers)

    response = client.delete(
        item_url(stat["id"]), headers={**user.headers, "If-Match": stat["_etag"]}
    )

    assert response.status_code == 412


def test_delete_with_a_stale_if_match_keeps_the_stat(client, user, create_stat):
    stat = create_stat(user)
    client.patch(item_url(stat["id"]), json={**MEASUREMENT, "value": 71.0}, headers=user.headers)
    client.delete(item_url(stat["id"]), headers={**user.headers, "If-Match": stat["_etag"]})

    response = client.get(item_url(stat["id"]), headers=user.headers)

    assert response.status_code == 200


def test_delete_with_the_current_if_match_gets_204(client, user, create_stat):
    stat = create_stat(user)

    response = client.delete(
        item_url(stat["id"]), headers={**user.headers, "If-Match": stat["_etag"]}
    )

    assert response.status_code == 204


# ------------------------------------------------------------------ cache freshness


def test_cached_list_shows_a_patch(client, user, create_stat):
    stat = create_stat(user)
    listing(client, user)
    client.patch(item_url(stat["id"]), json={**MEASUREMENT, "value": 71.0}, headers=user.headers)

    response = listing(client, user)

    assert [item["value"] for item in response.json["items"]] == [71.0]


def test_cached_list_drops_a_deleted_stat(client, user, create_stat):
    stat = create_stat(user)
    listing(client, user)
    client.delete(item_url(stat["id"]), headers=user.headers)

    response = listing(client, user)

    assert response.json["items"] == []


def test_cached_list_shows_a_create(client, user, create_stat):
    listing(client, user)
    stat = create_stat(user)

    response = listing(client, user)

    assert ids(response) == [stat["id"]]


def test_cached_item_shows_a_patch(client, user, create_stat):
    stat = create_stat(user)
    client.get(item_url(stat["id"]), headers=user.headers)
    client.patch(item_url(stat["id"]), json={**MEASUREMENT, "value": 71.0}, headers=user.headers)

    response = client.get(item_url(stat["id"]), headers=user.headers)

    assert response.json["value"] == 71.0


def test_cached_item_is_gone_after_delete(client, user, create_stat):
    stat = create_stat(user)
    client.get(item_url(stat["id"]), headers=user.headers)
    client.delete(item_url(stat["id"]), headers=user.headers)

    response = client.get(item_url(stat["id"]), headers=user.headers)

    assert response.status_code == 404


# -------------------------------------------------------------------- idempotency


def test_retry_with_the_same_idempotency_key_returns_the_first_response(client, user):
    key = str(uuid.uuid4())
    first = post(client, user, WEIGHT, **{"Idempotency-Key": key})

    retry = post(client, user, WEIGHT, **{"Idempotency-Key": key})

    assert (retry.status_code, retry.json["id"]) == (201, first.json["id"])


def test_retry_with_the_same_idempotency_key_replays_location_and_etag(client, user):
    key = str(uuid.uuid4())
    first = post(client, user, WEIGHT, **{"Idempotency-Key": key})

    retry = post(client, user, WEIGHT, **{"Idempotency-Key": key})

    assert (retry.headers["Location"], retry.headers["ETag"]) == (
        first.headers["Location"],
        first.headers["ETag"],
    )


def test_retry_with_the_same_idempotency_key_creates_one_stat(client, user):
    key = str(uuid.uuid4())
    for _ in range(3):
        post(client, user, WEIGHT, **{"Idempotency-Key": key})

    response = listing(client, user)

    assert response.json["pagination"]["total"] == 1


def test_same_idempotency_key_with_another_body_gets_422(client, user):
    key = str(uuid.uuid4())
    post(client, user, WEIGHT, **{"Idempotency-Key": key})

    response = post(client, user, {**WEIGHT, "value": 80.0}, **{"Idempotency-Key": key})

    assert response.status_code == 422
    assert "Idempotency-Key" in response.json["errors"]


def test_same_idempotency_key_with_another_body_creates_nothing(client, user):
    key = str(uuid.uuid4())
    post(client, user, WEIGHT, **{"Idempotency-Key": key})
    post(client, user, {**WEIGHT, "value": 80.0}, **{"Idempotency-Key": key})

    response = listing(client, user)

    assert response.json["pagination"]["total"] == 1


def test_idempotency_keys_are_per_user(client, user, other_user):
    key = str(uuid.uuid4())
    mine = post(client, user, WEIGHT, **{"Idempotency-Key": key})

    theirs = post(client, other_user, WEIGHT, **{"Idempotency-Key": key})

    assert theirs.status_code == 201
    assert theirs.json["id"] != mine.json["id"]


def test_another_users_key_creates_a_stat_in_their_list(client, user, other_user):
    key = str(uuid.uuid4())
    post(client, user, WEIGHT, **{"Idempotency-Key": key})
    theirs = post(client, other_user, WEIGHT, **{"Idempotency-Key": key})

    response = listing(client, other_user)

    assert ids(response) == [theirs.json["id"]]


@pytest.mark.parametrize(
    "invalid",
    [{**WEIGHT, "unit": "cm"}, {**WEIGHT, "value": "heavy"}],
    ids=["refused by the service", "refused by the schema"],
)
def test_failed_request_does_not_burn_its_idempotency_key(client, user, invalid):
    key = str(uuid.uuid4())
    assert post(client, user, invalid, **{"Idempotency-Key": key}).status_code == 422

    response = post(client, user, WEIGHT, **{"Idempotency-Key": key})

    assert response.status_code == 201


@pytest.mark.parametrize(
    "key",
    ["", "x" * 256, "tab\there", "inner space", "schl\u00fcssel"],
    ids=["empty", "256 chars", "tab", "space", "not ASCII"],
)
def test_unusable_idempotency_key_gets_422(client, user, key):
    response = post(client, user, WEIGHT, **{"Idempotency-Key": key})

    assert response.status_code == 422


def test_patch_without_a_body_gets_422(client, user, create_stat):
    stat = create_stat(user)

    response = client.patch(item_url(stat["id"]), headers=user.headers)

    assert response.status_code == 422
    assert "_schema" in response.json["errors"]


def _documented_ranges():
    """(type, unit, minimum, maximum) as the spec's cross-field rules state them."""
    for rule in MEASUREMENT_RULES["allOf"]:
        stat_type = rule["if"]["properties"]["type"]["const"]
        for per_unit in rule["then"]["allOf"]:
            unit = per_unit["if"]["properties"]["unit"]["const"]
            value = per_unit["then"]["properties"]["value"]
            yield stat_type, unit, value["minimum"], value["maximum"]


@pytest.mark.parametrize(("stat_type", "unit", "low", "high"), list(_documented_ranges()))
def test_documented_value_range_is_exactly_what_is_accepted(
    client, user, stat_type, unit, low, high
):
    """The spec's ranges are what generated clients and the fuzzer trust: the API must agree."""
    statuses = [
        post(client, user, {**WEIGHT, "type": stat_type, "unit": unit, "value": value}).status_code
        for value in (low, high, low - 0.01, high + 0.01)
    ]

    assert statuses == [201, 201, 422, 422]


# ------------------------------------------------------------------ reads in a unit

# Known values: 1 lb = 0.45359237 kg, 1 st = 14 lb = 6.35029318 kg, 1 in = 2.54 cm.
CONVERSIONS = [
    # (type, stored value, stored unit, asked unit, shown value)
    ("weight", 45.359237, "kg", "lb", 100.0),
    ("weight", 63.5029318, "kg", "st", 10.0),
    ("weight", 100.0, "lb", "kg", 45.359237),
    ("weight", 10.0, "st", "kg", 63.5029318),
    ("weight", 10.0, "st", "lb", 140.0),
    ("weight", 140.0, "lb", "st", 10.0),
    ("height", 177.8, "cm", "in", 70.0),
    ("height", 70.0, "in", "cm", 177.8),
    ("waist", 81.28, "cm", "in", 32.0),
    ("chest", 40.0, "in", "cm", 101.6),
    ("hips", 38.0, "in", "cm", 96.52),
]


def stat_of(stat_type: str, value: float, unit: str) -> dict[str, Any]:
    return {"type": stat_type, "value": value, "unit": unit, "recorded_at": at(3)}


@pytest.mark.parametrize(("stat_type", "value", "unit", "asked", "shown"), CONVERSIONS)
def test_get_in_a_unit_converts_the_value(
    client, user, create_stat, stat_type, value, unit, asked, shown
):
    stat = create_stat(user, **stat_of(stat_type, value, unit))

    response = client.get(item_url(stat["id"]), query_string={"unit": asked}, headers=user.headers)

    assert response.status_code == 200
    assert (response.json["value"], response.json["unit"]) == (pytest.approx(shown), asked)


@pytest.mark.parametrize(("stat_type", "value", "unit", "asked", "shown"), CONVERSIONS)
def test_list_in_a_unit_converts_the_value(
    client, user, create_stat, stat_type, value, unit, asked, shown
):
    create_stat(user, **stat_of(stat_type, value, unit))

    item = listing(client, user, unit=asked).json["items"][0]

    assert (item["value"], item["unit"]) == (pytest.approx(shown), asked)


def test_reading_in_a_unit_changes_nothing_stored(client, user, create_stat):
    stat = create_stat(user, **stat_of("weight", 100.0, "lb"))
    client.get(item_url(stat["id"]), query_string={"unit": "kg"}, headers=user.headers)
    listing(client, user, unit="st")

    response = client.get(item_url(stat["id"]), headers=user.headers)

    assert response.json == public(stat)
    assert response.headers["ETag"] == stat["_etag"]


def test_value_converted_back_to_its_own_unit_reads_as_entered(client, user, create_stat):
    stat = create_stat(user, **stat_of("weight", 160.0, "lb"))

    response = client.get(item_url(stat["id"]), query_string={"unit": "lb"}, headers=user.headers)

    assert response.json["value"] == 160.0  # not 160.00000000000003 by way of kg


def test_list_in_lb_leaves_body_fat_and_lengths_in_their_own_unit(client, user, create_stat):
    create_stat(user, **stat_of("weight", 45.359237, "kg"))
    create_stat(user, **stat_of("body_fat", 18.5, "%"))
    create_stat(user, **stat_of("height", 180.0, "cm"))
    create_stat(user, **stat_of("waist", 32.0, "in"))

    items = listing(client, user, unit="lb", sort="value").json["items"]

    assert sorted((i["type"], i["value"], i["unit"]) for i in items) == [
        ("body_fat", 18.5, "%"),
        ("height", 180.0, "cm"),
        ("waist", 32.0, "in"),
        ("weight", pytest.approx(100.0), "lb"),
    ]


def test_list_in_cm_converts_every_length_and_leaves_weights(client, user, create_stat):
    create_stat(user, **stat_of("weight", 100.0, "lb"))
    create_stat(user, **stat_of("height", 70.0, "in"))
    create_stat(user, **stat_of("hips", 95.0, "cm"))

    items = listing(client, user, unit="cm").json["items"]

    assert sorted((i["type"], i["value"], i["unit"]) for i in items) == [
        ("height", pytest.approx(177.8), "cm"),
        ("hips", 95.0, "cm"),
        ("weight", 100.0, "lb"),
    ]


def test_get_of_a_stat_whose_type_has_no_such_unit_is_as_stored(client, user, create_stat):
    stat = create_stat(user, **stat_of("body_fat", 18.5, "%"))

    response = client.get(item_url(stat["id"]), query_string={"unit": "lb"}, headers=user.headers)

    assert response.json == public(stat)
    assert response.headers["ETag"] == stat["_etag"]  # the same representation


@pytest.mark.parametrize("unit", ["g", "ml", "kcal", "KG", "pounds", ""])
def test_get_in_a_unit_no_type_uses_gets_422_on_unit(client, user, create_stat, unit):
    stat = create_stat(user)

    response = client.get(item_url(stat["id"]), query_string={"unit": unit}, headers=user.headers)

    assert response.status_code == 422
    assert list(response.json["errors"]) == ["unit"]


@pytest.mark.parametrize("unit", ["g", "oz", "fl_oz", "pounds"])
def test_list_in_a_unit_no_type_uses_gets_422_on_unit(client, user, unit):
    response = listing(client, user, unit=unit)

    assert response.status_code == 422
    assert list(response.json["errors"]) == ["unit"]


def test_each_unit_of_an_item_has_its_own_etag(client, user, create_stat):
    stat = create_stat(user)

    etags = {
        unit: client.get(
            item_url(stat["id"]), query_string={"unit": unit}, headers=user.headers
        ).headers["ETag"]
        for unit in ("lb", "st")
    }

    assert len({stat["_etag"], etags["lb"], etags["st"]}) == 3


def test_etag_of_another_unit_does_not_give_304(client, user, create_stat):
    stat = create_stat(user)

    response = client.get(
        item_url(stat["id"]),
        query_string={"unit": "lb"},
        headers={**user.headers, "If-None-Match": stat["_etag"]},
    )

    assert response.status_code == 200
    assert response.json["unit"] == "lb"


def test_etag_of_the_same_unit_gives_304(client, user, create_stat):
    stat = create_stat(user)
    url = item_url(stat["id"])
    etag = client.get(url, query_string={"unit": "lb"}, headers=user.headers).headers["ETag"]

    response = client.get(
        url, query_string={"unit": "lb"}, headers={**user.headers, "If-None-Match": etag}
    )

    assert response.status_code == 304


def test_cached_item_in_a_unit_shows_a_patch(client, user, create_stat):
    stat = create_stat(user)
    url = item_url(stat["id"])
    before = client.get(url, query_string={"unit": "lb"}, headers=user.headers)
    client.patch(url, json={**MEASUREMENT, "value": 45.359237}, headers=user.headers)

    after = client.get(url, query_string={"unit": "lb"}, headers=user.headers)

    assert after.json["value"] == pytest.approx(100.0)
    assert after.headers["ETag"] != before.headers["ETag"]


def test_cached_list_in_a_unit_shows_a_create(client, user, create_stat):
    create_stat(user)
    listing(client, user, unit="lb")
    create_stat(user, value=45.359237)

    response = listing(client, user, unit="lb")

    assert pytest.approx(100.0) in [item["value"] for item in response.json["items"]]


def test_other_user_never_sees_my_stat_in_their_list_in_a_unit(
    client, user, other_user, create_stat
):
    create_stat(user)

    response = listing(client, other_user, unit="lb")

    assert response.json["items"] == []
