"""The benchmark's report says whether its run can be trusted (bench/run.py)."""

from __future__ import annotations

from typing import Any

from bench import run


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
    assert "item 0.90 (>= 0.7); create 0.31 (>= 0.3)." in held
    assert "health" not in held
    assert held.endswith("every round met its target.")
    # A median over the line is not enough: one round under it is named.
    short = run.lowest_rounds(_data(_row("create", [0.29, 0.31, 0.32], target=0.3)))
    assert short.endswith("not met in every round: create.")
