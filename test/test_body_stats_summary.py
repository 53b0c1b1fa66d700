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

IN_KG = [
    ("2025-03-03", 165 * LB, 80.0, (80 + 165 * LB + 12 * ST) / 3, 3),
    ("2025-03-10", 77.0, 78.0, 77.5, 2),
    ("2025-03-24", 200 * LB, 200 * LB, 200 * LB, 1),
]
# (a query besides type=weight, the buckets of `mixed_weeks` it answers): weeks by default,
# in kg by default; `from` and `to` keep the local days in their range, both included.
MIXED_WEEKS = {
    "kg, weeks by default": ({}, IN_KG),
    # 80 kg = 176.36980975 lb, 12 st = 168 lb
    "lb": ({"unit": "lb", "bucket": "week"}, [
        ("2025-03-03", 165.0, 80 / LB, (80 / LB + 165 + 168) / 3, 3),
        ("2025-03-10", 77 / LB, 78 / LB, 77.5 / LB, 2),
        ("2025-03-24", 200.0, 200.0, 200.0, 1),
    ]),
    # 165 lb = 165/14 st; 80 kg = 80/6.35029318 st
    "st": ({"unit": "st"}, [
        ("2025-03-03", 165 / 14, 80 / ST, (165 / 14 + 80 / ST + 12) / 3, 3),
        ("2025-03-10", 77 / ST, 78 / ST, 77.5 / ST, 2),
        ("2025-03-24", 200 / 14, 200 / 14, 200 / 14, 1),
    ]),
    "from alone": ({"date_from": "2025-03-10"}, IN_KG[1:]),
    "to alone": ({"date_to": "2025-03-09"}, IN_KG[:1]),
    # From Wednesday: the week of 2025-03-03 keeps only the 12 st of Sunday.
    "a week cut by from": ({"date_from": "2025-03-06", "date_to": "2025-03-12"}, [
        ("2025-03-03", 12 * ST, 12 * ST, 12 * ST, 1), ("2025-03-10", 78, 78, 78, 1)
    ]),
}  # fmt: skip


@pytest.mark.parametrize(("query", "expected"), MIXED_WEEKS.values(), ids=MIXED_WEEKS)
def test_summary_of_weights_in_mixed_units(client, user, mixed_weeks, query, expected):
    response = summary(client, user, type="weight", **query)

    assert buckets(response) == approx(expected)
    assert {k: v for k, v in response.json.items() if k != "buckets"} == {
        "type": "weight",
        "bucket": "week",
        "unit": query.get("unit", "kg"),
        "timezone": "UTC",
    }


def test_values_recorded_in_the_asked_unit_read_back_exactly(client, user, mixed_weeks):
    # 165 lb and 200 lb went through kg and back: no 165.00000000000003.
    rows = buckets(summary(client, user, type="weight", bucket="week", unit="lb"))
    assert rows[0][1] == 165.0
    assert rows[2][1:4] == (200.0, 200.0, 200.0)


# (the user's time zone, weights as (moment, value), the bucket, the buckets answered)
PERIODS = {
    "a week starts on Monday at midnight": (
        "UTC", [("2025-03-09T23:59:59+00:00", 70), ("2025-03-10T00:00:00+00:00", 71)], "week",
        [("2025-03-03", 70, 70, 70, 1), ("2025-03-10", 71, 71, 71, 1)],
    ),
    "days": (
        "UTC",
        [("2025-03-05T06:00:00+00:00", 70), ("2025-03-05T21:00:00+00:00", 71),
         ("2025-03-07T08:00:00+00:00", 72)],
        "day", [("2025-03-05", 70, 71, 70.5, 2), ("2025-03-07", 72, 72, 72, 1)],
    ),
    "months, March left empty": (
        "UTC",
        [("2025-01-01T00:00:00+00:00", 80), ("2025-01-31T23:59:59+00:00", 79),
         ("2025-02-01T00:00:00+00:00", 78), ("2025-02-28T12:00:00+00:00", 75),
         ("2025-04-15T12:00:00+00:00", 74)],
        "month",
        [("2025-01-01", 79, 80, 79.5, 2), ("2025-02-01", 75, 78, 76.5, 2),
         ("2025-04-01", 74, 74, 74, 1)],
    ),
    # Mon 2025-03-10 00:30 and Sun 23:30 in Tokyo (UTC+9): both on Sunday in UTC.
    "Tokyo's Monday 00:30": (
        "Asia/Tokyo", [("2025-03-09T15:30:00+00:00", 70), ("2025-03-09T14:30:00+00:00", 71)],
        "week", [("2025-03-03", 71, 71, 71, 1), ("2025-03-10", 70, 70, 70, 1)],
    ),
    "the same moments in UTC": (
        "UTC", [("2025-03-09T15:30:00+00:00", 70), ("2025-03-09T14:30:00+00:00", 71)], "week",
        [("2025-03-03", 70, 71, 70.5, 2)],
    ),
    # Sun 23:30 and Mon 00:30 in New York, on EDT (UTC-4) since 2025-03-09.
    "New York's Sunday 23:30": (
        "America/New_York",
        [("2025-03-10T03:30:00+00:00", 70), ("2025-03-10T04:30:00+00:00", 71)], "week",
        [("2025-03-03", 70, 70, 70, 1), ("2025-03-10", 71, 71, 71, 1)],
    ),
    # Jan 31 23:59:59 and Feb 1 00:00 in Tokyo.
    "Tokyo's months": (
        "Asia/Tokyo", [("2025-01-31T14:59:59+00:00", 70), ("2025-01-31T15:00:00+00:00", 71)],
        "month", [("2025-01-01", 70, 70, 70, 1), ("2025-02-01", 71, 71, 71, 1)],
    ),
}  # fmt: skip


@pytest.mark.parametrize(("zone", "weights", "bucket", "expected"), PERIODS.values(), ids=PERIODS)
def test_a_weight_counts_in_the_local_day_week_or_month_it_was_recorded_in(
    client, register, create_stat, zone, weights, bucket, expected
):
    account = register(timezone=zone)
    for moment, value in weights:
        record(create_stat, account, moment, value)

    response = summary(client, account, type="weight", bucket=bucket)

    assert response.json["timezone"] == zone
    assert buckets(response) == approx(expected)


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
    ("2025-11-02T06:30:00", "America/Los_Angeles", "day", date(2025, 11, 1)),  # 23:30 PDT
    ("2025-11-02T07:30:00", "America/Los_Angeles", "day", date(2025, 11, 2)),  # 00:30 PDT
    ("2025-11-03T07:30:00", "America/Los_Angeles", "day", date(2025, 11, 2)),  # Sun 23:30 PST
    ("2025-11-03T07:30:00", "America/Los_Angeles", "week", date(2025, 10, 27)),  # its Monday
    ("2025-11-03T08:30:00", "America/Los_Angeles", "week", date(2025, 11, 3)),  # Mon 00:30 PST
    ("2025-03-09T18:45:00", "Asia/Kolkata", "week", date(2025, 3, 10)),  # UTC+5:30
    ("2024-12-31T23:59:59", "Asia/Kolkata", "day", date(2025, 1, 1)),  # 05:29:59 IST
    ("2024-12-31T23:59:59", "Asia/Kolkata", "week", date(2024, 12, 30)),  # across the year
    ("2025-12-31T10:00:00", "Pacific/Kiritimati", "month", date(2026, 1, 1)),  # UTC+14
    ("2025-06-30T12:30:00", "Pacific/Auckland", "month", date(2025, 7, 1)),  # 1 July 00:30 NZST
    ("2025-06-30T12:30:00", "UTC", "month", date(2025, 6, 1)),
    ("2025-01-31T15:30:00", "UTC", "month", date(2025, 1, 1)),
    ("2024-02-29T12:00:00", "Europe/Berlin", "month", date(2024, 2, 1)),
    ("2024-02-29T12:00:00", "Europe/Berlin", "week", date(2024, 2, 26)),
    ("2024-12-31T23:30:00", "Europe/Berlin", "week", date(2024, 12, 30)),  # Wed Jan 1 00:30
]


def in_sql(db_session: Any, moment: datetime, zone: str, bucket: str) -> date:
    return db_session.scalar(select(local_bucket(literal(moment, UTCDateTime()), zone, bucket)))


@pytest.mark.parametrize(("moment", "zone", "bucket", "expected"), LOCAL_BUCKETS)
def test_local_bucket_in_sql_is_the_local_period_start(db_session, moment, zone, bucket, expected):
    utc = datetime.fromisoformat(moment).replace(tzinfo=UTC)
    assert in_sql(db_session, utc, zone, bucket) == expected == bucket_start(utc, zone, bucket)


@pytest.mark.parametrize("bucket", ["day", "week", "month"])
@pytest.mark.parametrize("zone", ["UTC", "America/Los_Angeles", "Pacific/Auckland", "Asia/Kolkata"])
def test_local_bucket_in_sql_agrees_with_python(db_session, zone, bucket):
    moments = [datetime.fromisoformat(m).replace(tzinfo=UTC) for m, *_ in LOCAL_BUCKETS]
    assert [in_sql(db_session, m, zone, bucket) for m in moments] == [
        bucket_start(m, zone, bucket) for m in moments
    ]


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


# -------------------------------------------------------------------- the query


def test_from_and_to_are_inclusive_local_dates(client, register, create_stat):
    tokyo = register(timezone="Asia/Tokyo")
    record(create_stat, tokyo, "2025-03-09T14:59:59+00:00", 70)  # Sun 03-09 23:59:59 local
    record(create_stat, tokyo, "2025-03-09T15:00:00+00:00", 71)  # Mon 03-10 00:00 local
    record(create_stat, tokyo, "2025-03-10T14:59:59+00:00", 72)  # Mon 03-10 23:59:59 local
    record(create_stat, tokyo, "2025-03-10T15:00:00+00:00", 73)  # Tue 03-11 00:00 local
    one_day = summary(
        client, tokyo, type="weight", bucket="day", date_from="2025-03-10", date_to="2025-03-10"
    )
    assert buckets(one_day) == [("2025-03-10", 71.0, 72.0, 71.5, 2)]


def test_the_old_from_and_to_are_read_as_date_from_and_date_to_with_deprecation_headers(
    client, user, create_stat
):
    record(create_stat, user, "2025-03-05T08:00:00+00:00", 70)
    record(create_stat, user, "2025-03-12T08:00:00+00:00", 71)
    current = summary(client, user, type="weight", date_from="2025-03-10", date_to="2025-03-16")

    old = summary(client, user, type="weight", **{"from": "2025-03-10", "to": "2025-03-16"})

    assert old.status_code == current.status_code == 200
    assert old.json == current.json and [b["count"] for b in old.json["buckets"]] == [1]
    assert "Deprecation" in old.headers and "Sunset" in old.headers
    assert "Deprecation" not in current.headers


def test_five_years_and_the_earliest_and_latest_dates_are_accepted(client, register):
    kiritimati = register(timezone="Pacific/Kiritimati")  # midnight of 1900-01-01 is 1899 in UTC
    ranges = [
        ("2020-01-01", "2025-01-01"),
        ("1900-01-01", "1900-12-31"),
        ("2995-01-01", "2999-12-31"),
    ]

    statuses = [
        summary(client, kiritimati, type="weight", date_from=start, date_to=end).status_code
        for start, end in ranges
    ]

    assert statuses == [200] * 3  # the first is 1827 days, with two leap days


# (a query, the one parameter its 422 names)
REFUSED = {
    **{f"{name} {value}": ({"type": "weight", name: value}, name)
       for name, value in [("date_from", "2025-13-01"), ("date_from", "yesterday"),
                           ("date_to", "2025-03-10T00:00:00+00:00"), ("date_from", "1899-12-31"),
                           ("date_to", "3000-01-01"), ("date_from", "0001-01-01")]},
    "from after to": (
        {"type": "weight", "date_from": "2025-03-10", "date_to": "2025-03-09"}, "date_to"
    ),
    "a day over five years": (
        {"type": "weight", "date_from": "2020-01-01", "date_to": "2025-01-02"}, "date_to"
    ),
    "no type": ({}, "type"),
    "type mood": ({"type": "mood"}, "type"),
    **{f"bucket {b}": ({"type": "weight", "bucket": b}, "bucket") for b in ["year", "Week"]},
    **{f"{t} in {u!r}": ({"type": t, "unit": u}, "unit")
       for t, u in [("weight", "cm"), ("weight", "%"), ("height", "kg"), ("waist", "lb"),
                    ("body_fat", "kg"), *[("weight", u) for u in ("g", "ml", "KG", "pounds", "")]]},
}  # fmt: skip


@pytest.mark.parametrize(("query", "field"), REFUSED.values(), ids=REFUSED)
def test_invalid_query_gets_422_naming_the_parameter(client, user, query, field):
    response = summary(client, user, **query)
    assert response.status_code == 422
    assert list(response.json["errors"]) == [field]


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
