"""GET /v1/exercises/{exercise_id}/progress: best set, Epley e1RM and volume per workout.

Sets are written straight into the database (the workouts API is built
elsewhere); every expectation is computed by hand in the test.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from grau.workouts.models import Workout, WorkoutSet

LB_PER_KG = 2.20462262185
EXERCISES = "/v1/exercises"


def progress_url(exercise_id: str) -> str:
    return f"{EXERCISES}/{exercise_id}/progress"


@pytest.fixture
def exercise_id(client, user) -> str:
    """A catalog exercise everyone can log."""
    response = client.get(EXERCISES, query_string={"q": "Barbell Back Squat"}, headers=user.headers)
    return next(e["id"] for e in response.json["items"] if e["slug"] == "barbell_back_squat")


@pytest.fixture
def log_workout(db_session) -> Callable[..., str]:
    """A workout of `account` at `started_at` with sets of (weight_kg, reps) of the exercise."""

    def log(
        account: Any,
        exercise_id: str,
        started_at: datetime,
        sets: list[tuple[float | None, int | None]],
    ) -> str:
        owner = uuid.UUID(account.id)
        workout = Workout(user_id=owner, name="Leg day", started_at=started_at)
        workout.sets = [
            WorkoutSet(
                user_id=owner,
                exercise_id=uuid.UUID(exercise_id),
                sequence=number,
                reps=reps,
                weight=weight,
                weight_unit=None if weight is None else "kg",
                weight_kg=weight,
            )
            for number, (weight, reps) in enumerate(sets, start=1)
        ]
        db_session.add(workout)
        db_session.commit()
        return str(workout.id)

    return log


def day(n: int, hour: int = 17) -> datetime:
    return datetime(2025, 3, n, hour, tzinfo=UTC)


def get(client: Any, account: Any, exercise_id: str, **query: Any) -> Any:
    return client.get(progress_url(exercise_id), query_string=query, headers=account.headers)


# -------------------------------------------------------------------------- e1RM


E1RM_100_KG_X_5 = pytest.approx(116.667, abs=1e-3)  # 100 * (1 + 5/30)
# (a workout's sets as (weight in kg, reps), its best e1RM): Epley's weight x (1 + reps / 30),
# for 1 to 12 reps of a weight.
E1RMS = {
    "100 kg for 5": ([(100.0, 5)], E1RM_100_KG_X_5),
    "a single rep is its own one-rep max": ([(140.0, 1)], 140.0),  # not 140 * (1 + 1/30)
    "12 reps count, 13 do not": ([(60.0, 12), (80.0, 13)], pytest.approx(84.0)),  # 60 * 1.4
    **{f"none for {sets}": (sets, None)
       for sets in [[(None, 5)], [(0.0, 5)], [(80.0, 20)], [(80.0, 0)], [(80.0, None)]]},
}  # fmt: skip


@pytest.mark.parametrize(("sets", "e1rm"), E1RMS.values(), ids=E1RMS)
def test_a_sessions_best_e1rm(client, user, exercise_id, log_workout, sets, e1rm):
    log_workout(user, exercise_id, day(1), sets)

    session = get(client, user, exercise_id).json["sessions"][0]

    assert (session["best_e1rm"], session["set_count"]) == (e1rm, len(sets))


# ------------------------------------------------------------------ per session


def test_a_session_sums_volume_and_counts_sets(client, user, exercise_id, log_workout):
    workout = log_workout(user, exercise_id, day(1), [(100.0, 5), (90.0, 8), (80.0, 10)])

    session = get(client, user, exercise_id).json["sessions"][0]

    assert session == {
        "workout_id": workout,
        "started_at": "2025-03-01T17:00:00+00:00",
        "date": "2025-03-01",
        "set_count": 3,
        "volume": 2020.0,  # 500 + 720 + 800
        "top_weight": 100.0,
        # max(116.667, 90 * (1 + 8/30) = 114, 80 * (1 + 10/30) = 106.667)
        "best_e1rm": pytest.approx(116.667, abs=1e-3),
    }


def test_volume_leaves_out_sets_without_weight_or_reps(client, user, exercise_id, log_workout):
    log_workout(user, exercise_id, day(1), [(100.0, 5), (None, 10), (70.0, None), (50.0, 20)])

    session = get(client, user, exercise_id).json["sessions"][0]

    assert (session["volume"], session["set_count"]) == (1500.0, 4)  # 500 + 50 * 20


def test_sessions_are_per_workout_oldest_first(client, user, exercise_id, log_workout):
    later = log_workout(user, exercise_id, day(8), [(105.0, 5)])
    earlier = log_workout(user, exercise_id, day(1), [(100.0, 5), (100.0, 5)])

    sessions = get(client, user, exercise_id).json["sessions"]

    assert [(s["workout_id"], s["set_count"], s["volume"]) for s in sessions] == [
        (earlier, 2, 1000.0),
        (later, 1, 525.0),
    ]
    assert sessions[1]["best_e1rm"] == pytest.approx(122.5)  # 105 * (1 + 5/30)


def test_sets_of_other_exercises_do_not_count(client, user, exercise_id, log_workout):
    response = client.get(EXERCISES, query_string={"q": "Deadlift"}, headers=user.headers)
    other = response.json["items"][0]["id"]
    log_workout(user, other, day(1), [(200.0, 3)])
    log_workout(user, exercise_id, day(2), [(100.0, 5)])

    body = get(client, user, exercise_id).json

    assert [s["top_weight"] for s in body["sessions"]] == [100.0]
    assert body["best_set"]["weight"] == 100.0


def test_no_sets_means_no_best_set_and_no_sessions(client, user, exercise_id):
    body = get(client, user, exercise_id).json

    assert body == {"exercise_id": exercise_id, "unit": "kg", "best_set": None, "sessions": []}


# ---------------------------------------------------------------------- best set


# (workouts as {day: sets}, the best set's (weight, reps, e1RM), the day of its workout)
BEST_SETS = {
    "the heaviest": ({1: [(100.0, 10)], 2: [(110.0, 1)]}, (110.0, 1, 110.0), 2),
    "of equal weights, the most reps": (
        {1: [(100.0, 3), (100.0, 5), (100.0, 4)]}, (100.0, 5, E1RM_100_KG_X_5), 1
    ),
    "of equal sets, the earliest": (
        {9: [(100.0, 5)], 2: [(100.0, 5)]}, (100.0, 5, E1RM_100_KG_X_5), 2
    ),
    "beyond 12 reps, without an e1RM": ({1: [(100.0, 15)]}, (100.0, 15, None), 1),
    "never a set without reps": (
        {1: [(200.0, None), (200.0, 0), (90.0, 5)]}, (90.0, 5, pytest.approx(105.0)), 1
    ),
}  # fmt: skip


@pytest.mark.parametrize(("workouts", "shown", "on_day"), BEST_SETS.values(), ids=BEST_SETS)
def test_the_best_set_is_the_heaviest_then_the_most_reps_then_the_earliest(
    client, user, exercise_id, log_workout, workouts, shown, on_day
):
    logged = {n: log_workout(user, exercise_id, day(n), sets) for n, sets in workouts.items()}

    best = get(client, user, exercise_id).json["best_set"]

    assert (best["weight"], best["reps"], best["e1rm"]) == shown
    assert (best["workout_id"], best["started_at"]) == (logged[on_day], day(on_day).isoformat())


# ------------------------------------------------------------------------ units


def test_unit_lb_converts_every_weight(client, user, exercise_id, log_workout):
    log_workout(user, exercise_id, day(1), [(100.0, 5), (90.0, 8), (80.0, 10)])

    body = get(client, user, exercise_id, unit="lb").json

    session, best = body["sessions"][0], body["best_set"]
    assert body["unit"] == "lb"
    assert best["weight"] == pytest.approx(100 * LB_PER_KG, abs=1e-3)  # 220.462
    assert best["e1rm"] == pytest.approx(100 * (1 + 5 / 30) * LB_PER_KG, abs=1e-3)  # 257.206
    assert session["volume"] == pytest.approx(2020 * LB_PER_KG, abs=1e-3)  # 4453.338
    assert session["top_weight"] == pytest.approx(220.462, abs=1e-3)


def test_a_weight_logged_in_lb_reads_back_in_lb(client, user, exercise_id, log_workout):
    log_workout(user, exercise_id, day(1), [(225 / LB_PER_KG, 5)])

    best = get(client, user, exercise_id, unit="lb").json["best_set"]

    assert best["weight"] == 225.0
    assert best["e1rm"] == 262.5  # 225 * (1 + 5/30)


@pytest.mark.parametrize(
    ("preferred", "query", "unit"),
    [("lb", {}, "lb"), ("kg", {}, "kg"), ("st", {}, "kg"), ("lb", {"unit": "kg"}, "kg")],
)
def test_the_unit_is_the_asked_one_or_the_users_weight_unit_if_kg_or_lb(
    client, register, exercise_id, preferred, query, unit
):
    account = register(weight_unit=preferred)

    body = get(client, account, exercise_id, **query).json

    assert body["unit"] == unit


# ------------------------------------------------------------------------ dates


@pytest.fixture
def vienna_user(register):
    return register(timezone="Europe/Vienna")


def test_session_date_is_the_local_day(client, vienna_user, exercise_id, log_workout):
    # 23:30 UTC on 1 March is 00:30 on 2 March in Vienna.
    log_workout(vienna_user, exercise_id, datetime(2025, 3, 1, 23, 30, tzinfo=UTC), [(100, 5)])

    session = get(client, vienna_user, exercise_id).json["sessions"][0]

    assert (session["started_at"], session["date"]) == ("2025-03-01T23:30:00+00:00", "2025-03-02")


@pytest.mark.parametrize(
    ("query", "dates"),
    [
        ({"date_from": "2025-03-02"}, ["2025-03-02", "2025-03-03"]),
        ({"date_to": "2025-03-02"}, ["2025-03-01", "2025-03-02"]),
        ({"date_from": "2025-03-02", "date_to": "2025-03-02"}, ["2025-03-02"]),
        ({"date_from": "2025-03-04"}, []),
    ],
)
def test_date_range_includes_both_local_days(
    client, vienna_user, exercise_id, log_workout, query, dates
):
    # Local days 1, 2 and 3 March; the middle one starts 00:30 local (23:30 UTC the day before).
    log_workout(vienna_user, exercise_id, datetime(2025, 3, 1, 10, tzinfo=UTC), [(100, 5)])
    log_workout(vienna_user, exercise_id, datetime(2025, 3, 1, 23, 30, tzinfo=UTC), [(100, 5)])
    log_workout(vienna_user, exercise_id, datetime(2025, 3, 3, 22, 30, tzinfo=UTC), [(100, 5)])

    sessions = get(client, vienna_user, exercise_id, **query).json["sessions"]

    assert [s["date"] for s in sessions] == dates


def test_best_set_is_the_best_within_the_dates(client, user, exercise_id, log_workout):
    log_workout(user, exercise_id, day(1), [(150.0, 1)])
    log_workout(user, exercise_id, day(5), [(120.0, 3)])

    best = get(client, user, exercise_id, date_from="2025-03-02").json["best_set"]

    assert best["weight"] == 120.0


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"date_from": "2025-03-05", "date_to": "2025-03-04"}, "date_to"),
        ({"date_from": "1899-12-31"}, "date_from"),
        ({"date_to": "3000-01-01"}, "date_to"),
        ({"date_to": "yesterday"}, "date_to"),
        ({"unit": "st"}, "unit"),
    ],
)
def test_invalid_progress_query_gets_422_naming_it(client, user, exercise_id, query, field):
    response = get(client, user, exercise_id, **query)

    assert response.status_code == 422
    assert field in response.json["errors"]


# ------------------------------------------------------------------- visibility


def test_progress_of_my_own_exercise(client, user, log_workout):
    mine = client.post(
        EXERCISES,
        json={"name": "Zercher Squat", "category": "strength", "primary_muscles": ["quads"]},
        headers=user.headers,
    ).json["id"]
    log_workout(user, mine, day(1), [(80.0, 5)])

    response = get(client, user, mine)

    assert response.json["best_set"]["weight"] == 80.0


@pytest.mark.parametrize("whose", ["another user's", "no one's"])
def test_progress_of_another_users_or_an_unknown_exercise_gets_404(client, user, other_user, whose):
    theirs = client.post(
        EXERCISES,
        json={"name": "Secret Lift", "category": "strength", "primary_muscles": ["quads"]},
        headers=other_user.headers,
    ).json["id"]

    response = get(client, user, theirs if whose == "another user's" else str(uuid.uuid4()))

    assert (response.status_code, response.mimetype) == (404, "application/problem+json")
