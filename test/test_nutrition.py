"""/v1/nutrition-entries: logging, listing, converting, changing and removing one's own entries,
and the daily totals per local day and type."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from conftest import at, ids, public, selects, sql_sent
from spec_cases import measurement_bounds

from grau.nutrition.models import NutritionEntry

URL = "/v1/nutrition-entries"
TOTALS_URL = f"{URL}/daily-totals"
WATER = {"type": "water", "value": 250.0, "unit": "ml", "recorded_at": "2026-11-20T07:30:00+01:00"}
AMOUNT = {"type": "water", "value": 250.0, "unit": "ml"}
# Exact by definition (grau.core.units): what conversions are checked against.
ML_PER_FL_OZ = 29.5735295625
KJ_PER_KCAL = 4.184
G_PER_OZ = 28.349523125


def item_url(entry_id: str) -> str:
    return f"{URL}/{entry_id}"


def post(client: Any, account: Any, body: Any, **headers: str) -> Any:
    return client.post(URL, json=body, headers={**account.headers, **headers})


def listing(client: Any, account: Any, **query: Any) -> Any:
    return client.get(URL, query_string=query, headers=account.headers)


def read(client: Any, account: Any, entry_id: str, **query: Any) -> Any:
    return client.get(item_url(entry_id), query_string=query, headers=account.headers)


def totals(client: Any, account: Any, **query: Any) -> Any:
    return client.get(TOTALS_URL, query_string=query, headers=account.headers)


@pytest.fixture
def create_entry(client: Any) -> Callable[..., dict[str, Any]]:
    def make(account: Any, **fields: Any) -> dict[str, Any]:
        response = post(client, account, {**WATER, **fields})
        assert response.status_code == 201, response.json
        return {**response.json, "_etag": response.headers["ETag"]}

    return make


def store_entries(db_session: Any, user_id: str, count: int) -> None:
    """`count` water entries of one user, an hour apart, written directly."""
    start = datetime(2025, 1, 1, tzinfo=UTC)
    db_session.add_all(
        NutritionEntry(
            user_id=uuid.UUID(user_id),
            type="water",
            value=250.0,
            unit="ml",
            canonical_value=250.0,
            recorded_at=start + timedelta(hours=n),
        )
        for n in range(count)
    )
    db_session.commit()
    db_session.expunge_all()


# ------------------------------------------------------------------------- create


def test_create_returns_the_entry_as_stored_in_the_unit_sent(client, user):
    response = post(client, user, {**WATER, "value": 8.0, "unit": "fl_oz", "note": "Gym"})

    assert {k: response.json[k] for k in ("type", "value", "unit", "recorded_at", "note")} == {
        "type": "water",
        "value": 8.0,
        "unit": "fl_oz",
        "recorded_at": "2026-11-20T06:30:00+00:00",
        "note": "Gym",
    }


@pytest.mark.parametrize(
    ("unit", "value", "canonical"),
    [("fl_oz", 8.0, 8 * ML_PER_FL_OZ), ("l", 1.5, 1500.0), ("ml", 250.0, 250.0)],
)
def test_create_stores_the_canonical_amount(client, user, db_session, unit, value, canonical):
    response = post(client, user, {**WATER, "unit": unit, "value": value})

    stored = db_session.get(NutritionEntry, uuid.UUID(response.json["id"]))
    assert stored.canonical_value == pytest.approx(canonical, rel=1e-12)


# (what a create changes in a valid water entry, the field the 422 names)
REFUSED = {
    **{f"{t} in {u}": ({"type": t, "unit": u, "value": 1}, "unit")
       for t, u in [("water", "kcal"), ("water", "g"), ("calories", "ml"), ("protein", "kj"),
                    ("fiber", "l")]},
    **{f"{v} {u} of {t}": ({"type": t, "unit": u, "value": v}, "value")
       for t, u, v in [("water", "l", 20.01), ("water", "ml", 20_001), ("water", "fl_oz", 677),
                       ("calories", "kcal", 20_001), ("calories", "kj", 83_681),
                       ("protein", "g", 2_001), ("fat", "mg", 2_000_001), ("fiber", "oz", 71),
                       ("water", "ml", -1), ("water", "ml", 10**400)]},
    **{f"value {v!r}": ({"value": v}, "value") for v in ["250", True, None, [250]]},
    "unknown type": ({"type": "sugar"}, "type"),
    "recorded in 3000": ({"recorded_at": "3000-01-01T00:00:00+00:00"}, "recorded_at"),
    "recorded_at without offset": ({"recorded_at": "2025-03-01T08:00:00"}, "recorded_at"),
    "note with a NUL byte": ({"note": "a\x00b"}, "note"),
    "note of 1001 characters": ({"note": "x" * 1001}, "note"),
}  # fmt: skip


@pytest.mark.parametrize(("change", "field"), REFUSED.values(), ids=REFUSED)
def test_implausible_or_ill_formed_entry_gets_422_naming_the_field(client, user, change, field):
    response = post(client, user, {**WATER, **change})

    assert response.status_code == 422
    assert field in response.json["errors"]


@pytest.mark.parametrize(
    ("entry_type", "unit", "high"),
    [(kind, unit, high) for kind, unit, _, high in measurement_bounds("NutritionEntryCreate")],
)
def test_documented_value_range_is_exactly_what_is_accepted(client, user, entry_type, unit, high):
    """The spec's ranges are what generated clients and the fuzzer trust: the API must agree."""
    statuses = [
        post(client, user, {**WATER, "type": entry_type, "unit": unit, "value": v}).status_code
        for v in (0, high, -0.01, high + 0.01)
    ]

    assert statuses == [201, 201, 422, 422]


def test_documented_maxima_are_the_issues_limits():
    maxima = {(t, u): high for t, u, _, high in measurement_bounds("NutritionEntryCreate")}

    assert (maxima["water", "l"], maxima["water", "ml"]) == (20, 20_000)
    assert (maxima["calories", "kcal"], maxima["calories", "kj"]) == (20_000, 83_680)
    assert (maxima["protein", "g"], maxima["fiber", "mg"]) == (2_000, 2_000_000)
    # Rounded down to 4 decimals: 20 l is 676.28045... fl_oz, 2 kg is 70.54792... oz.
    assert (maxima["water", "fl_oz"], maxima["fat", "oz"]) == (676.2804, 70.5479)


# --------------------------------------------------------------------------- list


def test_list_filters_by_type(client, user, create_entry):
    create_entry(user)
    calories = create_entry(user, type="calories", value=500, unit="kcal")

    response = listing(client, user, type="calories")

    assert ids(response) == [calories["id"]]


def test_list_in_a_unit_converts_the_entries_of_that_quantity_and_keeps_the_others(
    client, user, create_entry
):
    create_entry(user, value=500, unit="ml", recorded_at=at(4))
    create_entry(user, value=8, unit="fl_oz", recorded_at=at(3))
    create_entry(user, type="calories", value=500, unit="kcal", recorded_at=at(2))
    create_entry(user, type="protein", value=1, unit="oz", recorded_at=at(1))

    response = listing(client, user, unit="l")

    assert [(i["type"], i["value"], i["unit"]) for i in response.json["items"]] == [
        ("water", 0.5, "l"),
        ("water", pytest.approx(8 * ML_PER_FL_OZ / 1000, rel=1e-12), "l"),
        ("calories", 500.0, "kcal"),
        ("protein", 1.0, "oz"),
    ]


# ----------------------------------------------------------------------- read one


KNOWN_CONVERSIONS = [
    ("water", 1, "fl_oz", "ml", ML_PER_FL_OZ),
    ("water", 1000, "ml", "fl_oz", 1000 / ML_PER_FL_OZ),
    ("water", 1, "l", "ml", 1000),
    ("water", 250, "ml", "l", 0.25),
    ("calories", 1, "kcal", "kj", KJ_PER_KCAL),
    ("calories", KJ_PER_KCAL, "kj", "kcal", 1),
    ("protein", 1, "oz", "g", G_PER_OZ),
    ("fat", 500, "mg", "g", 0.5),
    ("fiber", 1, "g", "mg", 1000),
]


@pytest.mark.parametrize(("entry_type", "value", "unit", "target", "expected"), KNOWN_CONVERSIONS)
def test_get_in_a_unit_converts_by_the_units_definition(
    client, user, create_entry, entry_type, value, unit, target, expected
):
    entry = create_entry(user, type=entry_type, value=value, unit=unit, note="Gym")

    response = read(client, user, entry["id"], unit=target)

    assert {k for k, v in public(entry).items() if response.json[k] != v} == {"value", "unit"}
    assert response.json["unit"] == target
    # Rounded to 12 significant digits: at most 5e-12 off.
    assert response.json["value"] == pytest.approx(expected, rel=1e-11)


def test_get_in_a_unit_drops_float_noise(client, user, create_entry):
    entry = create_entry(user, type="calories", value=1, unit="kcal")

    response = read(client, user, entry["id"], unit="kj")

    assert response.json["value"] == 4.184  # not 4.183999999999999


@pytest.mark.parametrize("unit", ["ml", "kcal", "g"], ids=["its own", "energy", "mass"])
def test_get_in_its_own_or_another_quantitys_unit_is_the_stored_entry(
    client, user, create_entry, unit
):
    entry = create_entry(user)

    response = read(client, user, entry["id"], unit=unit)

    assert response.json == public(entry)
    assert response.headers["ETag"] == entry["_etag"]


@pytest.mark.parametrize("read", ["item", "list"])
@pytest.mark.parametrize("unit", ["kg", "lb", "cm", "%", "litre"])
def test_a_unit_no_nutrition_type_accepts_gets_422_on_unit(client, user, create_entry, read, unit):
    url = item_url(create_entry(user)["id"]) if read == "item" else URL

    response = client.get(url, query_string={"unit": unit}, headers=user.headers)

    assert response.status_code == 422
    assert list(response.json["errors"]) == ["unit"]


# ------------------------------------------------------------------------- change


def test_patch_to_another_type_stores_its_canonical_amount(client, user, create_entry, db_session):
    entry = create_entry(user)

    response = client.patch(
        item_url(entry["id"]),
        json={"type": "protein", "value": 2, "unit": "oz"},
        headers=user.headers,
    )

    assert response.status_code == 200
    stored = db_session.get(NutritionEntry, uuid.UUID(entry["id"]))
    assert stored.canonical_value == pytest.approx(2 * G_PER_OZ / 1000, rel=1e-12)  # kg


# (the PATCH, the fields its 422 names): an amount changes whole, and stays plausible.
REFUSED_PATCHES = {
    "unit alone": ({"unit": "l"}, {"type", "value"}),
    "value alone": ({"value": 1.0}, {"type", "unit"}),
    "type and unit without value": ({"type": "calories", "unit": "kcal"}, {"value"}),
    "unit not of the type": ({**AMOUNT, "unit": "kcal"}, {"unit"}),
    "21 l": ({**AMOUNT, "value": 21, "unit": "l"}, {"value"}),
}


@pytest.mark.parametrize(("change", "named"), REFUSED_PATCHES.values(), ids=REFUSED_PATCHES)
def test_refused_patch_gets_422_naming_the_fields_and_changes_nothing(
    client, user, create_entry, change, named
):
    entry = create_entry(user)

    response = client.patch(item_url(entry["id"]), json=change, headers=user.headers)

    assert response.status_code == 422
    assert set(response.json["errors"]) == named
    assert read(client, user, entry["id"]).json == public(entry)


# ------------------------------------------------------------------- daily totals


def day_totals(response: Any) -> dict[str, list[dict[str, Any]]]:
    return {day["date"]: day["totals"] for day in response.json["days"]}


def test_daily_totals_report_each_type_in_its_unit_in_a_fixed_order(client, user, create_entry):
    noon = "2025-03-01T12:00:00+00:00"
    for entry_type, value, unit in [
        ("fiber", 10, "g"),
        ("protein", 30, "g"),
        ("protein", 1, "oz"),
        ("protein", 500, "mg"),
        ("calories", 500, "kcal"),
        ("calories", 418.4, "kj"),
        ("water", 1, "l"),
        ("water", 500, "ml"),
        ("water", 8, "fl_oz"),
    ]:
        create_entry(user, type=entry_type, value=value, unit=unit, recorded_at=noon)

    response = totals(client, user, **{"date_from": "2025-03-01", "date_to": "2025-03-01"})

    # Water: 1000 ml + 500 ml + 8 x 29.5735295625 ml.
    assert day_totals(response)["2025-03-01"] == [
        {"type": "water", "total": 1736.5882365, "unit": "ml", "count": 3},
        {"type": "calories", "total": 600.0, "unit": "kcal", "count": 2},  # 500 + 418.4 / 4.184
        {"type": "protein", "total": 58.849523125, "unit": "g", "count": 3},  # 30 + 28.35 + 0.5
        {"type": "fiber", "total": 10.0, "unit": "g", "count": 1},
    ]


def test_daily_totals_list_every_day_of_the_range(client, user, create_entry):
    create_entry(user, recorded_at="2025-03-02T12:00:00+00:00")

    response = totals(client, user, **{"date_from": "2025-03-01", "date_to": "2025-03-03"})

    assert response.json == {
        "date_from": "2025-03-01",
        "date_to": "2025-03-03",
        "from": "2025-03-01",  # the deprecated names, until 0.2
        "to": "2025-03-03",
        "timezone": "UTC",
        "days": [
            {"date": "2025-03-01", "totals": []},
            {"date": "2025-03-02", "totals": [
                {"type": "water", "total": 250.0, "unit": "ml", "count": 1}
            ]},
            {"date": "2025-03-03", "totals": []},
        ],
    }  # fmt: skip


def test_daily_totals_filter_by_type(client, user, create_entry):
    create_entry(user, recorded_at="2025-03-01T12:00:00+00:00")
    create_entry(user, type="calories", value=500, unit="kcal", recorded_at="2025-03-01T13:00:00Z")

    response = totals(
        client, user, **{"date_from": "2025-03-01", "date_to": "2025-03-01", "type": "calories"}
    )

    assert [t["type"] for t in day_totals(response)["2025-03-01"]] == ["calories"]


# (the user's time zone, entries' moments, from, to, the entries each day counts)
LOCAL_DAYS = {
    "days outside the range left out": (
        "UTC",
        ["2025-02-28T23:59:59+00:00", "2025-03-01T00:00:00+00:00", "2025-03-02T23:59:59+00:00",
         "2025-03-03T00:00:00+00:00"],
        "2025-03-01", "2025-03-02", {"2025-03-01": [1], "2025-03-02": [1]},
    ),
    # Auckland is UTC+12 in June: both entries are on 10 June in UTC, on two days locally.
    "23:30 in Auckland": (
        "Pacific/Auckland", ["2025-06-10T23:30:00+12:00", "2025-06-11T00:30:00+12:00"],
        "2025-06-10", "2025-06-11", {"2025-06-10": [1], "2025-06-11": [1]},
    ),
    "the same entries in UTC": (
        "UTC", ["2025-06-10T23:30:00+12:00", "2025-06-11T00:30:00+12:00"],
        "2025-06-10", "2025-06-11", {"2025-06-10": [2], "2025-06-11": []},
    ),
    # Los Angeles leaves DST at 02:00 on 2 November 2025 (UTC-7, then UTC-8). One fixed
    # offset gets one of these wrong: with -7, 07:30Z on the 3rd would be the 3rd; with -8,
    # 07:30Z on the 2nd would be the 1st.
    "daylight saving time in Los Angeles": (
        "America/Los_Angeles",
        ["2025-11-01T23:30:00-07:00",  # 2 Nov 06:30 UTC: 1 Nov
         "2025-11-02T00:30:00-07:00",  # 2 Nov 07:30 UTC: 2 Nov
         "2025-11-02T23:30:00-08:00",  # 3 Nov 07:30 UTC: 2 Nov
         "2025-11-03T00:30:00-08:00"],  # 3 Nov 08:30 UTC: 3 Nov
        "2025-11-01", "2025-11-03", {"2025-11-01": [1], "2025-11-02": [2], "2025-11-03": [1]},
    ),
}  # fmt: skip


@pytest.mark.parametrize(
    ("zone", "moments", "start", "end", "counts"), LOCAL_DAYS.values(), ids=LOCAL_DAYS
)
def test_an_entry_counts_for_the_local_day_it_was_recorded_on(
    client, register, create_entry, zone, moments, start, end, counts
):
    account = register(timezone=zone)
    for moment in moments:
        create_entry(account, recorded_at=moment)

    response = totals(client, account, **{"date_from": start, "date_to": end})

    assert response.json["timezone"] == zone
    assert {day: [t["count"] for t in ts] for day, ts in day_totals(response).items()} == counts


def test_daily_totals_follow_a_time_zone_change(client, user, create_entry):
    create_entry(user, recorded_at="2025-06-11T00:30:00+12:00")  # 10 June 12:30 UTC
    query = {"date_from": "2025-06-10", "date_to": "2025-06-11"}
    before = totals(client, user, **query)
    client.patch("/v1/users/me", json={"timezone": "Pacific/Auckland"}, headers=user.headers)

    after = totals(client, user, **query)

    assert [len(ts) for ts in day_totals(before).values()] == [1, 0]
    assert [len(ts) for ts in day_totals(after).values()] == [0, 1]
    assert after.json["timezone"] == "Pacific/Auckland"


def test_daily_totals_are_one_grouped_sum_in_sql_however_many_entries(
    client, engine, db_session, register
):
    few, many = register(), register()
    store_entries(db_session, few.id, 2)
    store_entries(db_session, many.id, 200)  # an hour apart: 9 days
    query = {"date_from": "2025-01-01", "date_to": "2025-01-10"}
    for account in (few, many):  # a token's first check may query; not what is counted
        listing(client, account)

    counts, seen_sql = [], []
    for account in (few, many):
        with sql_sent(engine) as sent:
            response = totals(client, account, **query)
        counts.append(len(selects(sent)))
        seen_sql.extend(sent)

    assert counts[0] == counts[1] == 2  # the user's time zone, the grouped sums
    assert sum(t["count"] for ts in day_totals(response).values() for t in ts) == 200
    assert any("GROUP BY" in s and "sum(" in s.lower() for s in seen_sql)


def test_a_span_of_366_days_is_accepted(client, user):
    response = totals(client, user, **{"date_from": "2024-01-01", "date_to": "2024-12-31"})

    assert response.status_code == 200
    assert len(response.json["days"]) == 366


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"date_from": "2024-01-01", "date_to": "2025-01-02"}, "date_to"),  # 367 days apart
        ({"date_from": "2025-03-02", "date_to": "2025-03-01"}, "date_to"),
        ({"date_to": "2025-03-01"}, "date_from"),
        ({"date_from": "2025-03-01"}, "date_to"),
        ({"date_from": "2025-03-01T00:00:00Z", "date_to": "2025-03-01"}, "date_from"),
        ({"date_from": "01.03.2025", "date_to": "2025-03-01"}, "date_from"),
        ({"date_from": "1899-12-31", "date_to": "1900-01-01"}, "date_from"),
        ({"date_from": "2999-12-31", "date_to": "3000-01-01"}, "date_to"),
        ({"date_from": "2025-03-01", "date_to": "2025-03-01", "type": "sugar"}, "type"),
    ],
    ids=["367 days", "reversed", "no from", "no to", "datetime", "not ISO", "before 1900",
         "after 2999", "unknown type"],
)  # fmt: skip
def test_invalid_daily_totals_query_gets_422_naming_the_field(client, user, query, field):
    response = totals(client, user, **query)

    assert response.status_code == 422
    assert field in response.json["errors"]


def test_daily_totals_are_not_taken_for_an_entry_id(client, user):
    """`/daily-totals` is its own route, not `/{entry_id}` with a bad id."""
    response = client.get(TOTALS_URL, headers=user.headers)

    assert response.status_code == 422
    assert {"date_from", "date_to"} <= set(response.json["errors"])


# ----------------------------------------------------------- deprecated names


def test_the_old_from_and_to_still_work_and_say_they_are_deprecated(client, user):
    current = totals(client, user, date_from="2025-03-01", date_to="2025-03-03")
    old = totals(client, user, **{"from": "2025-03-01", "to": "2025-03-03"})
    both = totals(
        client, user, **{"from": "2024-01-01", "date_from": "2025-03-01"}, date_to="2025-03-03"
    )

    assert old.status_code == both.status_code == current.status_code == 200
    assert old.json == both.json == current.json
    assert "Deprecation" not in current.headers
    for response in (old, both):
        assert response.headers["Deprecation"] == "@1796515200"  # RFC 9745: 2026-12-06
        assert response.headers["Sunset"] == "Wed, 30 Jun 2027 00:00:00 GMT"  # RFC 8594
        assert 'rel="deprecation"' in response.headers["Link"]


def test_an_old_name_sent_beside_its_new_one_is_checked_and_the_new_one_used(client, user):
    both = dict(date_from="2025-03-01", date_to="2025-03-03")

    used = totals(client, user, **both, **{"from": "2024-01-01"})
    refused = totals(client, user, **both, **{"from": "yesterday"})

    assert used.status_code == 200 and used.json["date_from"] == "2025-03-01"
    assert refused.status_code == 422 and list(refused.json["errors"]) == ["from"]
