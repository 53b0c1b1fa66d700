"""/v1/body-stats: recording, listing, changing and removing one's own measurements."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from conftest import WEIGHT, at, ids, public
from spec_cases import measurement_bounds

# A whole measurement, as every PATCH that changes one must send it.
MEASUREMENT = {"type": "weight", "value": 72.5, "unit": "kg"}

URL = "/v1/body-stats"


def item_url(stat_id: str) -> str:
    return f"{URL}/{stat_id}"


def post(client: Any, account: Any, body: Any, **headers: str) -> Any:
    return client.post(URL, json=body, headers={**account.headers, **headers})


def listing(client: Any, account: Any, **query: Any) -> Any:
    return client.get(URL, query_string=query, headers=account.headers)


# ------------------------------------------------------------------------- create


def test_create_returns_the_stat_as_stored(client, user):
    response = post(client, user, {**WEIGHT, "note": "Morning"})

    assert {k: response.json[k] for k in ("type", "value", "unit", "recorded_at", "note")} == {
        "type": "weight",
        "value": 72.5,
        "unit": "kg",
        "recorded_at": "2026-11-20T06:30:00+00:00",
        "note": "Morning",
    }


# (what a create changes in a valid weight, the field the 422 names)
REFUSED = {
    **{f"{t} in {u}": ({"type": t, "unit": u}, "unit")
       for t, u in [("weight", "cm"), ("weight", "%"), ("body_fat", "kg"), ("height", "lb"),
                    ("waist", "st")]},
    **{f"{v} {u} of {t}": ({"type": t, "unit": u, "value": v}, "value")
       for t, u, v in [("weight", "kg", -3), ("weight", "kg", 0), ("weight", "kg", 10000),
                       ("weight", "lb", 1500), ("body_fat", "%", 0), ("body_fat", "%", 100),
                       ("height", "cm", 5000), ("weight", "kg", 10**400)]},
    **{f"value {v!r}": ({"value": v}, "value")
       for v in ["heavy", "72.5", True, None, [72.5], {"kg": 72.5}]},
    "unknown type": ({"type": "mood"}, "type"),
    **{f"recorded_at {r}": ({"recorded_at": r}, "recorded_at")
       for r in ["2025-03-01T07:30:00", "3000-01-01T00:00:00+00:00", "1800-01-01T00:00:00+00:00",
                 "0001-01-01T00:00:00+01:00", "yesterday", "2025-02-30T07:30:00+00:00"]},
    "note with a NUL byte": ({"note": "before\x00after"}, "note"),
    "note of 1001 characters": ({"note": "x" * 1001}, "note"),
}  # fmt: skip


@pytest.mark.parametrize(("change", "field"), REFUSED.values(), ids=REFUSED)
def test_implausible_or_ill_formed_stat_gets_422_naming_the_field(client, user, change, field):
    response = post(client, user, {**WEIGHT, **change})

    assert response.status_code == 422
    assert field in response.json["errors"]


def test_note_of_1000_characters_is_accepted(client, user):
    response = post(client, user, {**WEIGHT, "note": "x" * 1000})

    assert response.status_code == 201


# --------------------------------------------------------------------------- list


def test_list_filters_by_type(client, user, create_stat):
    create_stat(user)
    height = create_stat(user, type="height", value=180, unit="cm")

    response = listing(client, user, type="height")

    assert ids(response) == [height["id"]]


def test_list_with_an_unknown_type_gets_422(client, user):
    response = listing(client, user, type="mood")

    assert response.status_code == 422
    assert "type" in response.json["errors"]


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


def test_stats_recorded_at_the_same_moment_are_ordered_by_id_and_page_without_repeats_or_gaps(
    client, user, create_stat
):
    same = [create_stat(user, recorded_at=at(1))["id"] for _ in range(5)]

    walked = [i for page in (1, 2, 3) for i in ids(listing(client, user, page=page, page_size=2))]

    assert ids(listing(client, user)) == sorted(same, reverse=True)
    assert walked == sorted(same, reverse=True)


# ------------------------------------------------------------------------- change


def test_patch_to_another_type_and_unit_together_is_accepted(client, user, create_stat):
    stat = create_stat(user)

    response = client.patch(
        item_url(stat["id"]),
        json={"type": "waist", "unit": "cm", "value": 80.0},
        headers=user.headers,
    )

    assert response.status_code == 200


# (the PATCH, the fields its 422 names): a measurement changes whole, and stays plausible.
REFUSED_PATCHES = {
    "unit alone": ({"unit": "lb"}, {"type", "value"}),
    "value alone": ({"value": 71.0}, {"type", "unit"}),
    "type and unit without value": ({"type": "waist", "unit": "cm"}, {"value"}),
    "unit not of the type": ({**MEASUREMENT, "unit": "cm"}, {"unit"}),
    "300 st": ({**MEASUREMENT, "value": 300.0, "unit": "st"}, {"value"}),  # 300 kg is fine
    "recorded in 3000": ({"recorded_at": "3000-01-01T00:00:00+00:00"}, {"recorded_at"}),
    "note with a NUL byte": ({"note": "a\x00b"}, {"note"}),
    "value NaN": ({"value": "NaN"}, {"value"}),
}


@pytest.mark.parametrize(("change", "named"), REFUSED_PATCHES.values(), ids=REFUSED_PATCHES)
def test_refused_patch_gets_422_naming_the_fields_and_changes_nothing(
    client, user, create_stat, change, named
):
    stat = create_stat(user, value=300.0)

    response = client.patch(item_url(stat["id"]), json=change, headers=user.headers)

    assert response.status_code == 422
    assert set(response.json["errors"]) == named
    assert client.get(item_url(stat["id"]), headers=user.headers).json == public(stat)


# ------------------------------------------------------------ idempotency, ranges


def test_a_request_the_service_refuses_does_not_burn_its_idempotency_key(client, user):
    """A weight in cm passes the schema; the service refuses it (test_conformance.py covers
    a request the schema refuses)."""
    key = str(uuid.uuid4())
    assert (
        post(client, user, {**WEIGHT, "unit": "cm"}, **{"Idempotency-Key": key}).status_code == 422
    )

    response = post(client, user, WEIGHT, **{"Idempotency-Key": key})

    assert response.status_code == 201


def test_a_timestamp_or_etag_list_longer_than_the_spec_allows_gets_422(client, user):
    """The spec bounds every string (OWASP API4); these bounds are checked, not only stated."""
    long_time = "2026-11-20T06:30:00." + "1" * 40 + "+00:00"  # Python would parse it
    created = post(client, user, WEIGHT)
    etags = ", ".join(['"0123456789abcdef0123"'] * 50)  # 1,198 characters

    refused = post(client, user, {**WEIGHT, "recorded_at": long_time})
    read = client.get(
        item_url(created.json["id"]), headers={**user.headers, "If-None-Match": etags}
    )
    write = client.patch(
        item_url(created.json["id"]),
        json={"note": "x"},
        headers={**user.headers, "If-Match": etags},
    )

    assert [r.status_code for r in (refused, read, write)] == [422, 422, 422]
    assert "recorded_at" in refused.json["errors"]
    assert list(read.json["errors"]) == ["If-None-Match"]
    assert list(write.json["errors"]) == ["If-Match"]


@pytest.mark.parametrize(
    ("stat_type", "unit", "low", "high"), list(measurement_bounds("BodyStatCreate"))
)
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
def test_get_and_list_in_a_unit_convert_the_value(
    client, user, create_stat, stat_type, value, unit, asked, shown
):
    stat = create_stat(user, **stat_of(stat_type, value, unit))

    response = client.get(item_url(stat["id"]), query_string={"unit": asked}, headers=user.headers)
    item = listing(client, user, unit=asked).json["items"][0]

    assert response.status_code == 200
    assert (response.json["value"], response.json["unit"]) == (pytest.approx(shown), asked)
    assert (item["value"], item["unit"]) == (pytest.approx(shown), asked)


def test_value_converted_back_to_its_own_unit_reads_as_entered(client, user, create_stat):
    stat = create_stat(user, **stat_of("weight", 160.0, "lb"))

    response = client.get(item_url(stat["id"]), query_string={"unit": "lb"}, headers=user.headers)

    assert response.json["value"] == 160.0  # not 160.00000000000003 by way of kg


MIXED = [("weight", 45.359237, "kg"), ("body_fat", 18.5, "%"), ("height", 70.0, "in"),
         ("hips", 95.0, "cm")]  # fmt: skip
# (a unit, what a list in it shows of MIXED): only the stats of that unit's quantity change.
MIXED_IN = {
    "lb": [("body_fat", 18.5, "%"), ("height", 70.0, "in"), ("hips", 95.0, "cm"),
           ("weight", pytest.approx(100.0), "lb")],
    "cm": [("body_fat", 18.5, "%"), ("height", pytest.approx(177.8), "cm"), ("hips", 95.0, "cm"),
           ("weight", 45.359237, "kg")],
}  # fmt: skip


@pytest.mark.parametrize("unit", MIXED_IN)
def test_a_list_in_a_unit_converts_only_the_stats_of_its_quantity(client, user, create_stat, unit):
    for stat in MIXED:
        create_stat(user, **stat_of(*stat))

    items = listing(client, user, unit=unit).json["items"]

    assert sorted((i["type"], i["value"], i["unit"]) for i in items) == MIXED_IN[unit]


def test_get_of_a_stat_whose_type_has_no_such_unit_is_as_stored(client, user, create_stat):
    stat = create_stat(user, **stat_of("body_fat", 18.5, "%"))

    response = client.get(item_url(stat["id"]), query_string={"unit": "lb"}, headers=user.headers)

    assert response.json == public(stat)
    assert response.headers["ETag"] == stat["_etag"]  # the same representation


@pytest.mark.parametrize("read", ["item", "list"])
@pytest.mark.parametrize("unit", ["g", "ml", "kcal", "KG", "pounds", "", "oz", "fl_oz"])
def test_a_unit_no_type_uses_gets_422_on_unit(client, user, create_stat, read, unit):
    url = item_url(create_stat(user)["id"]) if read == "item" else URL

    response = client.get(url, query_string={"unit": unit}, headers=user.headers)

    assert response.status_code == 422
    assert list(response.json["errors"]) == ["unit"]


def test_other_user_never_sees_my_stat_in_their_list_in_a_unit(
    client, user, other_user, create_stat
):
    create_stat(user)

    response = listing(client, other_user, unit="lb")

    assert response.json["items"] == []


def test_head_answers_a_reads_headers_without_its_body(client, user, create_stat):
    """JSON answers are sent with the headers grau set (`JsonResponse`): HEAD still gets
    them, its Content-Length that of the GET's body, and no body."""
    stat = create_stat(user)
    url = f"/v1/body-stats/{stat['id']}"
    got = client.get(url, headers=user.headers)
    head = client.head(url, headers=user.headers)

    assert head.status_code == 200
    assert head.data == b""
    assert head.headers["Content-Length"] == str(len(got.data))
    assert head.headers["ETag"] == got.headers["ETag"]
    assert head.headers["Content-Type"] == "application/json"


def test_a_json_answers_headers_are_werkzeugs_own(app):
    """`json_response` hands Werkzeug its list of headers as it is: they read, change and
    go out as those of any response (a CORS or deprecation hook adds to them later)."""
    from werkzeug.datastructures import Headers

    from grau.http.views import json_response

    response = json_response(b'{"a":1}', 201, '"tag"', {"Location": "/v1/body-stats/x"})
    expected = Headers(
        [
            ("ETag", '"tag"'),
            ("Location", "/v1/body-stats/x"),
            ("Content-Type", "application/json"),
            ("Content-Length", "7"),
        ]
    )
    assert response.headers == expected
    assert response.headers["content-length"] == "7"
    response.headers.add("Vary", "Origin")
    response.headers["ETag"] = '"other"'
    with app.test_request_context("/"):
        sent = response.get_wsgi_headers({})
    assert list(sent) == [
        ("ETag", '"other"'),
        ("Location", "/v1/body-stats/x"),
        ("Content-Type", "application/json"),
        ("Content-Length", "7"),
        ("Vary", "Origin"),
    ]
    assert response.status_code == 201 and response.get_data() == b'{"a":1}'
