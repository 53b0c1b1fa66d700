"""The benchmark's report says whether its run can be trusted (bench/run.py)."""

from __future__ import annotations

from typing import Any

from bench import run


def _data(*ceilings: list[float]) -> dict[str, Any]:
    return {"scenarios": [{"ceiling_cpu_us_runs": runs} for runs in ceilings]}


def test_a_run_whose_ceiling_holds_still_is_steady() -> None:
    said = run.steadiness(_data([200, 205, 210], [198, 204]))
    assert "198 to 210 µs" in said
    assert said.endswith("a steady run.")
    assert "unsteady" not in said


def test_a_run_whose_ceiling_moves_is_unsteady() -> None:
    said = run.steadiness(_data([236, 300, 519], [340]))
    assert "236 to 519 µs" in said
    assert "**an unsteady run**" in said


def test_the_line_is_the_ceilings_spread_over_its_median() -> None:
    assert run.STEADY_APART == 0.25
    # 25 apart over a median of 100: on the line, steady; 26: past it.
    assert "unsteady" not in run.steadiness(_data([100, 100, 125]))
    assert "unsteady" in run.steadiness(_data([100, 100], [126]))
    # Over the median, not the mean (110.4) or the highest (126): 26% apart, unsteady.
    assert "unsteady" in run.steadiness(_data([100, 100, 100, 126, 126]))
    # Nor over the lowest (100, which would make it 30%): 23% of the median 130, steady.
    assert "unsteady" not in run.steadiness(_data([100, 126], [130, 130, 130]))


def test_a_run_from_before_the_ceilings_runs_were_kept_says_nothing() -> None:
    assert run.steadiness({"scenarios": [{"ceiling_cpu_us": 200}]}) == ""
