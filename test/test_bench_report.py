"""The benchmark's report says whether its run can be trusted (bench/run.py)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import psycopg
import pytest
from conftest import Database
from sqlalchemy import make_url

from bench import run, snapshots


def _row(
    label: str,
    ratios: list[float],
    ceilings: list[float] | None = None,
    target: float | None = None,
) -> dict[str, Any]:
    return {
        "label": label,
        "target": target,
        "cost_ratio_runs": ratios,
        "ceiling_cpu_us_runs": ceilings or [200.0] * len(ratios),
    }


def _data(*rows: dict[str, Any]) -> dict[str, Any]:
    return {"scenarios": list(rows)}


def test_a_run_whose_ratios_hold_still_is_steady_however_the_ceiling_drifts() -> None:
    said = run.steadiness(
        _data(
            _row("item", [1.0, 1.02, 0.98], [213, 280, 344]),
            _row("list", [0.8, 0.81, 0.8], [220, 230, 240]),
        )
    )
    assert "213 to 344 µs" in said
    assert "(56% of their median apart: the machine's drift, past the 25%" in said
    assert "at most 4% of their median apart" in said
    assert "(the most: item)" in said
    assert said.endswith("a steady run.")
    assert "unsteady" not in said


def test_a_run_whose_ratios_move_is_unsteady_and_names_the_scenario() -> None:
    said = run.steadiness(_data(_row("item", [1.0, 1.0, 1.0]), _row("create", [0.23, 0.26, 0.33])))
    assert "38% of their median apart" in said
    assert "(the most: create)" in said
    assert "**an unsteady run**" in said


def test_the_line_is_the_ratios_spread_over_their_median() -> None:
    assert run.STEADY_APART == 0.25
    # 0.25 apart over a median of 1.0: on the line, steady; 0.26: past it.
    assert "unsteady" not in run.steadiness(_data(_row("a", [1.0, 1.0, 1.25])))
    assert "unsteady" in run.steadiness(_data(_row("a", [1.0, 1.0, 1.26])))
    # Over the median, not the mean or the highest: 0.26 over 1.0 is 26%, unsteady.
    assert "unsteady" in run.steadiness(_data(_row("a", [1.0, 1.0, 1.0, 1.26, 1.26])))
    # Nor over the lowest (which would make it 30%): 23% of the median 1.3, steady.
    assert "unsteady" not in run.steadiness(_data(_row("a", [1.0, 1.3, 1.3])))
    # Scenarios are judged each on its own rounds: two steady ones are not one unsteady one.
    assert "unsteady" not in run.steadiness(
        _data(_row("a", [1.0, 1.1, 1.05]), _row("b", [0.5, 0.55, 0.52]))
    )


def test_a_run_from_before_each_rounds_ratios_were_kept_says_nothing() -> None:
    assert run.steadiness({"scenarios": [{"ceiling_cpu_us_runs": [200.0]}]}) == ""


def test_the_ceilings_drift_is_judged_by_the_rule_before_beside_the_verdict() -> None:
    said = run.steadiness(_data(_row("item", [1.0, 1.0, 1.0], [200, 210, 220])))
    assert "(10% of their median apart: the machine's drift, within the 25%" in said
    assert said.endswith("a steady run.")


def test_fewer_than_three_rounds_give_no_verdict() -> None:
    assert run.MIN_ROUNDS == 3
    for ratios in ([1.0], [1.0, 1.5]):
        said = run.steadiness(_data(_row("item", ratios)))
        assert "cannot say whether its ratios hold still" in said
        assert "steady run" not in said
    assert "With 1 round," in run.steadiness(_data(_row("item", [1.0])))


def test_each_target_is_shown_against_its_lowest_round() -> None:
    held = run.lowest_rounds(
        _data(
            _row("item", [1.0, 0.9, 1.1], target=0.7),
            _row("create", [0.31, 0.34, 0.32], target=0.3),
            _row("health", [2.0, 2.1, 2.2]),
        )
    )
    assert "item 0.900, target 0.7; create 0.310, target 0.3." in held
    assert "health" not in held
    assert held.endswith("every round met its target.")
    # A median over the line is not enough: one round under it is named.
    short = run.lowest_rounds(_data(_row("create", [0.2996, 0.31, 0.32], target=0.3)))
    assert "create 0.300, target 0.3: below." in short
    assert short.endswith("not met in every round: create.")


def _summary(key: str, ratios: list[float], target: float | None = None) -> dict[str, Any]:
    median = sorted(ratios)[len(ratios) // 2]
    row = _row(key, ratios, target=target)
    return {
        **row,
        "key": key,
        "cost_ratio": {"median": median, "min": min(ratios), "max": max(ratios)},
        "cpu_us_total": 100.0,
    }


def test_a_target_met_by_the_median_but_not_in_every_round_is_listed() -> None:
    data = _data(_summary("create", [0.29, 0.35, 0.34], 0.3), _summary("item", [0.9, 1, 1], 0.7))
    data["latency"] = {"ratio": 1.2}
    assert run.misses(data) == [
        "- create: met by the median (0.34), not in every round (the lowest 0.290, target 0.3)"
    ]
    data = {**_data(_summary("create", [0.25, 0.26, 0.27], 0.3)), "latency": {"ratio": 1.2}}
    assert run.misses(data) == ["- create: cost ratio 0.26, target 0.3 (short by 0.04)"]


def test_grau_is_set_against_a_floor_round_by_round_through_the_ratios() -> None:
    # Raw µs say 1.00x (both 100); per round the floor's ratio over grau's says 1.10x.
    data = _data(
        _summary("create", [0.30, 0.30, 0.30]), _summary("stack-create", [0.33, 0.33, 0.33])
    )
    assert run.against_floors(data) == [
        '- create: 1.10 (1.10-1.10)x "stack-create" (cost ratios 0.30 and 0.33)'
    ]


def test_one_second_runs_add_up_and_the_ceiling_is_charged_its_server_alone() -> None:
    slices = [
        {
            "requests": 1000,
            "duration_us": 1_000_000,
            "p50_us": p50,
            "p99_us": p99,
            "cpu_s": {"server": 0.2, "postgres": 0.001, "redis": 0.0},
        }
        for p50, p99 in ((100, 900), (300, 400), (200, 500))
    ]
    ceiling = run._summed(slices, charged=("server",))
    assert ceiling["requests"] == 3000
    assert ceiling["rps"] == 1000
    assert ceiling["p50_us"] == 200  # the median of the runs' p50
    assert ceiling["p99_us"] == 900  # the highest of their p99
    assert round(ceiling["cpu_us_total"], 6) == 200  # the server's alone
    assert round(ceiling["cpu_us"]["postgres"], 6) == 1
    assert round(run._summed(slices)["cpu_us_total"], 6) == 201  # a scenario's: all of it
    said = run.left_over(_data({"label": "create", "ceiling_databases_us": 1.04}))
    assert "at most 1.0 µs per ceiling request, median of the rounds (create)" in said


def test_turns_swing_ceiling_scenario_scenario_ceiling(monkeypatch: Any) -> None:
    order: list[str] = []

    def measured(server: Any, requests: Any, seconds: float, connections: int) -> dict:
        order.append(server.name)
        # The databases work 0.5 ms in the ceiling's turns too: the scenario's leftovers.
        return {
            "requests": 10,
            "duration_us": 1_000_000,
            "p50_us": 1,
            "p99_us": 2,
            "cpu_s": {"server": 0.001, "postgres": 0.0005, "redis": 0.0},
        }

    monkeypatch.setattr(run, "_measured", measured)
    monkeypatch.setattr(run, "run", lambda *a, **k: {})
    args = type("Args", (), {"duration": 4, "warmup": 1})()
    ceiling = run.Running("C", "http://ceiling", 1)
    grau = run.Running("G", "http://grau", 2)
    ceiling_run, grau_run = run.measure_pair(ceiling, [], grau, [], args)  # type: ignore[arg-type]
    assert order == ["C", "G", "G", "C", "C", "G", "G", "C"]
    assert round(ceiling_run["cpu_us_total"], 6) == 100  # 4 ms over 40 requests
    # The scenario's own 2 ms of PostgreSQL, and the 2 ms in the ceiling's turns.
    assert round(grau_run["cpu_us"]["postgres"], 6) == 100
    assert round(grau_run["cpu_us_total"], 6) == 200


def test_the_sequential_latency_shows_the_median_round_of_grau_and_of_each_floor(
    monkeypatch: Any,
) -> None:
    # p50s (µs) per call of measure_pair, in the order grau, stack, per round.
    turns = iter([(330, 220), (470, 280), (360, 300), (460, 270), (390, 210), (450, 300)])

    def pair(*args: Any) -> tuple[dict, dict]:
        side, top = next(turns)
        return {"p50_us": top}, {"p50_us": side}

    monkeypatch.setattr(run, "measure_pair", pair)
    args = type("Args", (), {"rounds": 3})()
    user = run.BenchUser("token", "stat", "workout")
    stack = run.Running("stack", "http://stack", 3)
    found = run.sequential_latency(None, None, {"stack": stack}, [user], args)  # type: ignore[arg-type]
    # grau's rounds: 1.50, 1.20, 1.857; the median round is the first, and its pair shown.
    assert [round(r, 3) for r in found["ratio_runs"]] == [1.5, 1.2, 1.857]
    assert (found["ratio"], found["grau_p50_ms"], found["ceiling_p50_ms"]) == (1.5, 0.33, 0.22)
    # The stack floor's rounds: 1.679, 1.704, 1.5; its median round is the first.
    assert (round(found["stack_ratio"], 3), found["stack_p50_ms"]) == (1.679, 0.47)
    assert run.latency_line(found) == (
        "Sequential keep-alive latency (one connection), cached item: p50 0.33 ms against the "
        "ceiling's 0.22 ms: 1.50x, 1.20x to 1.86x over the rounds (target at most 1.5x: met)."
        " The stack floor: 0.47 ms, 1.68x the ceiling's in its own turns."
    )
    assert run.misses({"scenarios": [], "latency": found}) == [
        "- Sequential latency of a cached item: met by the median (1.50x), not in every round "
        "(the highest 1.857x, target at most 1.5x)"
    ]
    found["ratio_runs"] = [1.2, 1.2, 1.4]
    assert run.misses({"scenarios": [], "latency": found}) == []


def test_a_latency_from_before_the_turns_still_renders() -> None:
    latency = {"grau_p50_ms": 0.35, "ceiling_p50_ms": 0.26, "floor_p50_ms": 0.39, "ratio": 1.35}
    assert run.latency_line(latency) == (
        "Sequential keep-alive latency (one connection), cached item: p50 0.35 ms against the "
        "ceiling's 0.26 ms: 1.35x (target at most 1.5x: met). The floor (bare Flask and the "
        "one query): 0.39 ms, 1.50x."
    )
    assert run.misses({"scenarios": [], "latency": latency}) == []


def test_what_holds_back_pruning_through_the_measured_runs_is_seen_and_reported(
    new_database: Callable[[], Database],
) -> None:
    db = new_database()
    if not db.is_postgres:
        pytest.skip("a PostgreSQL snapshot (the embedded default runs SQLite)")
    url = make_url(db.url).set(drivername="postgresql").render_as_string(hide_password=False)
    # A transaction older than the watch whose statements each take a new snapshot, with
    # another's commits between them (so each new snapshot's horizon has moved on).
    with (
        psycopg.connect(url, autocommit=True) as other,
        psycopg.connect(url, autocommit=True) as busy,
        busy.transaction(),
        snapshots.SnapshotWatch(url, every_s=0.05) as alone,
    ):
        for _ in range(5):
            busy.execute("SELECT pg_sleep(0.1)")
            other.execute("SELECT pg_current_xact_id()")
    assert alone.longest_s < 0.5
    with psycopg.connect(url) as holder:
        holder.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        holder.execute("SELECT 1")  # the transaction's snapshot, held until it ends
        # The watch has sampled once when its block starts, and once more as it ends.
        with snapshots.SnapshotWatch(url, every_s=0.05) as watch:
            time.sleep(1.0)
    assert watch.longest_s >= 1.0
    assert snapshots.verdict(0.0).endswith(": 0.0 s, so nothing did.")
    assert "**pruning was held back** (more than 10 s)" in snapshots.verdict(12.5)
