"""GET /v1/body-stats/summary: min, max, average and count per local day, week or month.

Expectations are computed by hand from the unit definitions (1 lb = 0.45359237
kg, 1 st = 14 lb = 6.35029318 kg, 1 in = 2.54 cm) and the calendar: 2025-03-03
and 2025-03-10 are Mondays.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest
from conftest import selects, sql_sent
from sqlalchemy import literal, select

from grau.db.buckets import bucket_start, local_bucket
from grau.db.model import UTCDateTime

URL = "/v1/body-stats/summary"
LB = 0.45359237  # kg
ST = 6.35029318  # kg, = 14 lb


def summary(client: Any, account: Any, **query: Any) -> Any:
    return client.get(URL, query_string=query, headers=account.headers)


def record(
    create_stat: Any,
    account: Any,
    recorded_at: str,
    value: float,
    unit: str = "kg",
    stat_type: str = "weight",
) -> None:
    create_stat(account, type=stat_type, value=value, unit=unit, recorded_at=recorded_at)


def buckets(response: Any) -> list[tuple[str, float, float, float, int]]:
    assert response.status_code == 200, response.json
    return [
        (b["period_start"], b["min"], b["max"], b["average"], b["count"])
        for b in response.json["buckets"]
    ]


def approx(rows: list[tuple[str, float, float, float, int]]) -> Any:
    return [
        (p, pytest.approx(lo), pytest.approx(hi), pytest.approx(avg), n)
        for p, lo, hi, avg, n in rows
    ]


@pytest.fixture
def mixed_weeks(client, user, create_stat) -> None:
    """Weights over three weeks (one empty between), recorded in kg, lb and st."""
    record(create_stat, user, "2025-03-03T08:00:00+00:00", 80, "kg")  # Monday
    record(create_stat, user, "2025-03-05T08:00:00+00:00", 165, "lb")  # 74.84274105 kg
    record(create_stat, user, "2025-03-09T23:00:00+00:00", 12, "st")  # Sunday; 76.20351816 kg
    record(create_stat, user, "2025-03-10T00:00:00+00:00", 78, "kg")  # Monday, first instant
    record(create_stat, user, "2025-03-16T12:00:00+00:00", 77, "kg")  # Sunday
    record(create_stat, user, "2025-03-26T08:00:00+00:00", 200, "lb")  # 90.718474 kg


# ------------------------------------------------------------------------- buckets


def test_weekly_summary_of_mixed_units_in_kg(client, user, mixed_weeks):
    response = summary(client, user, type="weight", bucket="week")
    assert buckets(response) == approx(
        [
            ("2025-03-03", 74.84274105, 80.0, (80 + 74.84274105 + 76.20351816) / 3, 3),
            ("2025-03-10", 77.0, 78.0, 77.5, 2),
            ("2025-03-24", 90.718474, 90.718474, 90.718474, 1),
        ]
    )


def test_weekly_summary_of_mixed_units_in_lb(client, user, mixed_weeks):
    response = summary(client, user, type="weight", bucket="week", unit="lb")
    assert buckets(response) == approx(
        [
            # 80 kg = 176.36980975 lb, 12 st = 168 lb
            ("2025-03-03", 165.0, 80 / LB, (80 / LB + 165 + 168) / 3, 3),
            ("2025-03-10", 77 / LB, 78 / LB, 77.5 / LB, 2),
            ("2025-03-24", 200.0, 200.0, 200.0, 1),
        ]
    )


def test_summary_names_its_type_bucket_unit_and_time_zone(client, user, mixed_weeks):
    response = summary(client, user, type="weight", bucket="week", unit="lb")
    assert {k: v for k, v in response.json.items() if k != "buckets"} == {
        "type": "weight",
        "bucket": "week",
        "unit": "lb",
        "timezone": "UTC",
    }


def test_values_recorded_in_the_asked_unit_read_back_exactly(client, user, mixed_weeks):
    # 165 lb and 200 lb went through kg and back: no 165.00000000000003.
    rows = buckets(summary(client, user, type="weight", bucket="week", unit="lb"))
    assert rows[0][1] == 165.0
    assert rows[2][1:4] == (200.0, 200.0, 200.0)


def test_unit_st(client, user, mixed_weeks):
    response = summary(client, user, type="weight", bucket="week", unit="st")
    assert response.json["unit"] == "st"
    assert buckets(response) == approx(
        [
            # 165 lb = 165/14 st; 80 kg = 80/6.35029318 st
            ("2025-03-03", 165 / 14, 80 / ST, (165 / 14 + 80 / ST + 12) / 3, 3),
            ("2025-03-10", 77 / ST, 78 / ST, 77.5 / ST, 2),
            ("2025-03-24", 200 / 14, 200 / 14, 200 / 14, 1),
        ]
    )


def test_week_starts_on_monday_at_midnight(client, user, create_stat):
    record(create_stat, user, "2025-03-09T23:59:59+00:00", 70)  # Sunday, last second
    record(create_stat, user, "2025-03-10T00:00:00+00:00", 71)  # Monday, first instant
    rows = buckets(summary(client, user, type="weight", bucket="week"))
    assert rows == [("2025-03-03", 70.0, 70.0, 70.0, 1), ("2025-03-10", 71.0, 71.0, 71.0, 1)]


def test_default_bucket_is_week(client, user, mixed_weeks):
    response = summary(client, user, type="weight")
    assert response.json["bucket"] == "week"
    assert [row[0] for row in buckets(response)] == ["2025-03-03", "2025-03-10", "2025-03-24"]


def test_day_buckets(client, user, create_stat):
    record(create_stat, user, "2025-03-05T06:00:00+00:00", 70)
    record(create_stat, user, "2025-03-05T21:00:00+00:00", 71)
    record(create_stat, user, "2025-03-07T08:00:00+00:00", 72)
    rows = buckets(summary(client, user, type="weight", bucket="day"))
    assert rows == approx([("2025-03-05", 70, 71, 70.5, 2), ("2025-03-07", 72, 72, 72, 1)])


def test_month_buckets(client, user, create_stat):
    record(create_stat, user, "2025-01-01T00:00:00+00:00", 80)  # first instant of January
    record(create_stat, user, "2025-01-31T23:59:59+00:00", 79)  # last second of January
    record(create_stat, user, "2025-02-01T00:00:00+00:00", 78)
    record(create_stat, user, "2025-02-28T12:00:00+00:00", 75)
    record(create_stat, user, "2025-04-15T12:00:00+00:00", 74)  # March left empty
    rows = buckets(summary(client, user, type="weight", bucket="month"))
    assert rows == approx(
        [
            ("2025-01-01", 79, 80, 79.5, 2),
            ("2025-02-01", 75, 78, 76.5, 2),
            ("2025-04-01", 74, 74, 74, 1),
        ]
    )


# ---------------------------------------------------------------------- time zones


def test_monday_0030_in_tokyo_is_in_that_local_week_though_sunday_in_utc(
    client, register, create_stat
):
    tokyo = register(timezone="Asia/Tokyo")  # UTC+9
    record(create_stat, tokyo, "2025-03-09T15:30:00+00:00", 70)  # Mon 2025-03-10 00:30 local
    record(create_stat, tokyo, "2025-03-09T14:30:00+00:00", 71)  # Sun 2025-03-09 23:30 local
    response = summary(client, tokyo, type="weight", bucket="week")
    assert response.json["timezone"] == "Asia/Tokyo"
    assert buckets(response) == [
        ("2025-03-03", 71.0, 71.0, 71.0, 1),
        ("2025-03-10", 70.0, 70.0, 70.0, 1),
    ]


def test_the_same_moments_fall_in_one_week_in_utc(client, user, create_stat):
    record(create_stat, user, "2025-03-09T15:30:00+00:00", 70)
    record(create_stat, user, "2025-03-09T14:30:00+00:00", 71)
    rows = buckets(summary(client, user, type="weight", bucket="week"))
    assert rows == [("2025-03-03", 70.0, 71.0, 70.5, 2)]


def test_sunday_2330_in_new_york_is_in_the_week_before_though_monday_in_utc(
    client, register, create_stat
):
    new_york = register(timezone="America/New_York")  # EDT (UTC-4) since 2025-03-09
    record(create_stat, new_york, "2025-03-10T03:30:00+00:00", 70)  # Sun 23:30 local
    record(create_stat, new_york, "2025-03-10T04:30:00+00:00", 71)  # Mon 00:30 local
    rows = buckets(summary(client, new_york, type="weight", bucket="week"))
    assert rows == [("2025-03-03", 70.0, 70.0, 70.0, 1), ("2025-03-10", 71.0, 71.0, 71.0, 1)]


def test_month_follows_the_local_calendar(client, register, create_stat):
    tokyo = register(timezone="Asia/Tokyo")
    record(create_stat, tokyo, "2025-01-31T14:59:59+00:00", 70)  # Jan 31 23:59:59 local
    record(create_stat, tokyo, "2025-01-31T15:00:00+00:00", 71)  # Feb 1 00:00 local
    rows = buckets(summary(client, tokyo, type="weight", bucket="month"))
    assert rows == [("2025-01-01", 70.0, 70.0, 70.0, 1), ("2025-02-01", 71.0, 71.0, 71.0, 1)]


# Both sides of DST changes, a half-hour zone, a +14 zone and a leap day: the
# database's answer (PostgreSQL's AT TIME ZONE, or SQLite's Python function)
# is the hand-computed local date, and the same as `bucket_start` says.
LOCAL_BUCKETS = [
    ("2025-03-09T15:30:00", "Asia/Tokyo", "week", date(2025, 3, 10)),
    ("2025-03-09T14:30:00", "Asia/Tokyo", "week", date(2025, 3, 3)),
    ("2025-03-10T03:30:00", "America/New_York", "week", date(2025, 3, 3)),  # EDT
    ("2025-03-09T04:30:00", "America/New_York", "day", date(2025, 3, 8)),  # EST, before 2 am
    ("2025-11-03T04:30:00", "America/New_York", "day", date(2025, 11, 2)),  # EST again
    ("2025-11-02T04:30:00", "America/New_York", "day", date(2025, 11, 2)),  # still EDT
    ("2025-03-09T18:45:00", "Asia/Kolkata", "week", date(2025, 3, 10)),  # UTC+5:30
    ("2025-12-31T10:00:00", "Pacific/Kiritimati", "month", date(2026, 1, 1)),  # UTC+14
    ("2025-01-31T15:30:00", "UTC", "month", date(2025, 1, 1)),
    ("2024-02-29T12:00:00", "Europe/Berlin", "month", date(2024, 2, 1)),
    ("2024-02-29T12:00:00", "Europe/Berlin", "week", date(2024, 2, 26)),
    ("2024-12-31T23:30:00", "Europe/Berlin", "week", date(2024, 12, 30)),  # Wed Jan 1 00:30
]


@pytest.mark.parametrize(("moment", "zone", "bucket", "expected"), LOCAL_BUCKETS)
def test_local_bucket_in_sql_is_the_local_period_start(db_session, moment, zone, bucket, expected):
    utc = datetime.fromisoformat(moment).replace(tzinfo=UTC)
    in_sql = db_session.scalar(select(local_bucket(literal(utc, UTCDateTime()), zone, bucket)))
    assert in_sql == expected == bucket_start(utc, zone, bucket)


def test_local_bucket_refuses_an_unknown_bucket():
    with pytest.raises(ValueError, match="bucket"):
        local_bucket(literal(datetime.now(UTC), UTCDateTime()), "UTC", "year")


# ------------------------------------------------------------------------- units


KG_110_LB, CM_70_IN = pytest.approx(110 * LB), pytest.approx(177.8)
# (profile, stats of 3 and 4 March as (value, unit), query, unit shown, (min, max, average, count))
PREFERENCES = {
    "lb preferred": ({"weight_unit": "lb"}, [(45.359237, "kg"), (110, "lb")], {"type": "weight"},
                     "lb", (100.0, 110.0, 105.0, 2)),
    "st preferred": ({"weight_unit": "st"}, [(63.5029318, "kg"), (154, "lb")], {"type": "weight"},
                     "st", (10.0, 11.0, 10.5, 2)),
    "kg asked, lb preferred": ({"weight_unit": "lb"}, [(110, "lb")],
                               {"type": "weight", "unit": "kg"}, "kg", (KG_110_LB,) * 3 + (1,)),
    "in preferred": ({"height_unit": "in"}, [(81.28, "cm"), (34, "in")], {"type": "waist"},
                     "in", (32.0, 34.0, 33.0, 2)),
    "cm asked, in preferred": ({"height_unit": "in"}, [(70, "in")],
                               {"type": "height", "unit": "cm"}, "cm", (CM_70_IN,) * 3 + (1,)),
    "body fat whatever the preferences": ({"weight_unit": "lb", "height_unit": "in"},
                                          [(20, "%"), (21, "%")], {"type": "body_fat"},
                                          "%", (20.0, 21.0, 20.5, 2)),
}  # fmt: skip


@pytest.mark.parametrize(
    ("profile", "stats", "query", "unit", "bucket"),
    PREFERENCES.values(), ids=PREFERENCES,
)  # fmt: skip
def test_summary_is_in_the_asked_or_preferred_unit(
    client, register, create_stat, profile, stats, query, unit, bucket
):
    account = register(**profile)
    for day, (value, stat_unit) in enumerate(stats, start=3):
        record(create_stat, account, f"2025-03-0{day}T08:00:00+00:00", value, stat_unit,
               query["type"])  # fmt: skip

    response = summary(client, account, **query)

    assert response.json["unit"] == unit
    assert buckets(response) == [("2025-03-03", *bucket)]


@pytest.mark.parametrize(
    ("stat_type", "unit"),
    [("weight", "cm"), ("weight", "%"), ("height", "kg"), ("waist", "lb"), ("body_fat", "kg"),
     *[("weight", unit) for unit in ("g", "ml", "KG", "pounds", "")]],
)  # fmt: skip
def test_unit_not_valid_for_the_type_or_unknown_gets_422_on_unit(client, user, stat_type, unit):
    response = summary(client, user, type=stat_type, unit=unit)
    assert response.status_code == 422
    assert list(response.json["errors"]) == ["unit"]


# ----------------------------------------------------------------- what is counted


def test_only_the_asked_type_is_summarized(client, user, create_stat):
    record(create_stat, user, "2025-03-03T08:00:00+00:00", 80)
    record(create_stat, user, "2025-03-03T09:00:00+00:00", 180, "cm", "height")
    assert buckets(summary(client, user, type="weight")) == [("2025-03-03", 80.0, 80.0, 80.0, 1)]


def test_empty_result(client, user):
    response = summary(client, user, type="weight", bucket="month")
    assert response.status_code == 200
    assert response.json == {
        "type": "weight",
        "bucket": "month",
        "unit": "kg",
        "timezone": "UTC",
        "buckets": [],
    }


# -------------------------------------------------------------------- date range


def test_from_and_to_are_inclusive_local_dates(client, register, create_stat):
    tokyo = register(timezone="Asia/Tokyo")
    record(create_stat, tokyo, "2025-03-09T14:59:59+00:00", 70)  # Sun 03-09 23:59:59 local
    record(create_stat, tokyo, "2025-03-09T15:00:00+00:00", 71)  # Mon 03-10 00:00 local
    record(create_stat, tokyo, "2025-03-10T14:59:59+00:00", 72)  # Mon 03-10 23:59:59 local
    record(create_stat, tokyo, "2025-03-10T15:00:00+00:00", 73)  # Tue 03-11 00:00 local
    one_day = summary(
        client, tokyo, type="weight", bucket="day", **{"from": "2025-03-10"}, to="2025-03-10"
    )
    assert buckets(one_day) == [("2025-03-10", 71.0, 72.0, 71.5, 2)]


def test_from_alone_keeps_everything_after_it(client, user, mixed_weeks):
    response = summary(client, user, type="weight", **{"from": "2025-03-10"})
    assert [row[0] for row in buckets(response)] == ["2025-03-10", "2025-03-24"]


def test_to_alone_keeps_everything_before_it(client, user, mixed_weeks):
    response = summary(client, user, type="weight", to="2025-03-09")
    assert [(row[0], row[4]) for row in buckets(response)] == [("2025-03-03", 3)]


def test_a_week_cut_by_from_counts_only_the_days_in_range(client, user, mixed_weeks):
    # From Wednesday: the week of 2025-03-03 keeps only the 12 st of Sunday.
    response = summary(client, user, type="weight", **{"from": "2025-03-06"}, to="2025-03-12")
    assert buckets(response) == approx(
        [("2025-03-03", 12 * ST, 12 * ST, 12 * ST, 1), ("2025-03-10", 78, 78, 78, 1)]
    )


def test_from_after_to_gets_422_on_to(client, user):
    response = summary(client, user, type="weight", **{"from": "2025-03-10"}, to="2025-03-09")
    assert response.status_code == 422
    assert list(response.json["errors"]) == ["to"]


def test_five_years_is_the_longest_range(client, user):
    five_years = summary(client, user, type="weight", **{"from": "2020-01-01"}, to="2025-01-01")
    assert five_years.status_code == 200  # 1827 days, with two leap days
    longer = summary(client, user, type="weight", **{"from": "2020-01-01"}, to="2025-01-02")
    assert longer.status_code == 422
    assert list(longer.json["errors"]) == ["to"]


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("from", "2025-13-01"),
        ("from", "yesterday"),
        ("to", "2025-03-10T00:00:00+00:00"),
        ("from", "1899-12-31"),
        ("to", "3000-01-01"),
        ("from", "0001-01-01"),
    ],
)
def test_invalid_date_gets_422_naming_it(client, user, name, value):
    response = summary(client, user, type="weight", **{name: value})
    assert response.status_code == 422
    assert list(response.json["errors"]) == [name]


def test_earliest_and_latest_dates_are_accepted(client, register):
    kiritimati = register(timezone="Pacific/Kiritimati")  # midnight of 1900-01-01 is 1899 in UTC
    response = summary(client, kiritimati, type="weight", **{"from": "1900-01-01"}, to="1900-12-31")
    assert response.status_code == 200
    response = summary(client, kiritimati, type="weight", **{"from": "2995-01-01"}, to="2999-12-31")
    assert response.status_code == 200


# ---------------------------------------------------------------------- the query


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({}, "type"),
        ({"type": "mood"}, "type"),
        ({"type": "weight", "bucket": "year"}, "bucket"),
        ({"type": "weight", "bucket": "Week"}, "bucket"),
    ],
)
def test_invalid_query_gets_422_naming_the_parameter(client, user, query, field):
    response = summary(client, user, **query)
    assert response.status_code == 422
    assert field in response.json["errors"]


def test_summary_is_not_taken_for_a_stat_id(client, user):
    # /summary is its own route: the item route only matches UUIDs.
    response = summary(client, user, type="weight")
    assert response.status_code == 200
    assert "buckets" in response.json


def test_summary_is_one_grouped_query(client, user, create_stat, engine):
    for day in range(1, 29):
        record(create_stat, user, f"2025-02-{day:02d}T08:00:00+00:00", 70 + day / 10)
    with sql_sent(engine) as seen:
        response = summary(client, user, type="weight", bucket="week")
    # 2025-02-01 is a Saturday: its week starts in January, then four whole weeks.
    assert [b["count"] for b in response.json["buckets"]] == [2, 7, 7, 7, 5]
    queries = selects(seen)
    aggregates = [s for s in queries if "GROUP BY" in s.upper()]
    assert len(aggregates) == 1
    assert "avg(" in aggregates[0].lower()
    # The aggregate, the profile read (zone and units), at most auth's session check.
    assert len(queries) <= 3


# ------------------------------------------------------------------ cache, ETags


def test_each_unit_has_its_own_etag(client, user, mixed_weeks):
    kg = summary(client, user, type="weight").headers["ETag"]
    lb = summary(client, user, type="weight", unit="lb").headers["ETag"]
    assert kg != lb


def test_cached_summary_drops_a_deleted_stat(client, user, create_stat):
    record(create_stat, user, "2025-03-03T08:00:00+00:00", 70)
    stat = create_stat(user, value=72, recorded_at="2025-03-04T08:00:00+00:00")
    assert buckets(summary(client, user, type="weight"))[0][4] == 2
    assert client.delete(f"/v1/body-stats/{stat['id']}", headers=user.headers).status_code == 204
    assert buckets(summary(client, user, type="weight")) == [("2025-03-03", 70.0, 70.0, 70.0, 1)]


def test_cached_summary_follows_a_new_time_zone(client, user, create_stat):
    record(create_stat, user, "2025-03-09T15:30:00+00:00", 70)  # Sunday in UTC
    assert buckets(summary(client, user, type="weight"))[0][0] == "2025-03-03"
    changed = client.patch("/v1/users/me", json={"timezone": "Asia/Tokyo"}, headers=user.headers)
    assert changed.status_code == 200, changed.json
    response = summary(client, user, type="weight")
    assert response.json["timezone"] == "Asia/Tokyo"
    assert buckets(response)[0][0] == "2025-03-10"  # Monday 00:30 in Tokyo


def test_cached_summary_follows_a_new_preferred_unit(client, user, create_stat):
    record(create_stat, user, "2025-03-03T08:00:00+00:00", 110, "lb")
    assert summary(client, user, type="weight").json["unit"] == "kg"
    changed = client.patch("/v1/users/me", json={"weight_unit": "lb"}, headers=user.headers)
    assert changed.status_code == 200, changed.json
    response = summary(client, user, type="weight")
    assert response.json["unit"] == "lb"
    assert buckets(response) == [("2025-03-03", 110.0, 110.0, 110.0, 1)]
