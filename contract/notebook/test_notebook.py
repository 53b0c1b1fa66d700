"""Execute development/api_interaction.ipynb against the running grau at GRAU_BASE_URL.

`make notebook` runs this inside the live stack (grau.server + PostgreSQL + Redis),
so the notebook cannot rot: any cell that raises fails CI. The executed copy and
its plot land in build/notebook/.
"""

from __future__ import annotations

import os
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOK = ROOT / "development" / "api_interaction.ipynb"
OUT = ROOT / "build" / "notebook"


@pytest.fixture(scope="module")
def executed() -> nbformat.NotebookNode:
    if not os.environ.get("GRAU_BASE_URL"):
        pytest.fail("GRAU_BASE_URL is not set: run `make notebook` (it starts a live stack)")
    OUT.mkdir(parents=True, exist_ok=True)
    plot = OUT / "weekly_weight.png"
    plot.unlink(missing_ok=True)
    os.environ["GRAU_PLOT_PATH"] = str(plot)  # the kernel inherits this process's environment
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    NotebookClient(
        notebook, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(OUT)}}
    ).execute()
    nbformat.write(notebook, OUT / NOTEBOOK.name)
    return notebook


def test_the_committed_notebook_carries_no_outputs() -> None:
    """Outputs belong to a run, not to the repository (they would hold a run's emails and ids)."""
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert code
    assert all(not cell.outputs and cell.execution_count is None for cell in code)


def test_every_cell_runs_without_an_error(executed: nbformat.NotebookNode) -> None:
    errors = [
        output
        for cell in executed.cells
        if cell.cell_type == "code"
        for output in cell.outputs
        if output.output_type == "error"
    ]
    assert not errors  # nbclient raises on the first one; this guards allow_errors


def test_the_weekly_summary_is_plotted(executed: nbformat.NotebookNode) -> None:
    images = [
        output
        for cell in executed.cells
        if cell.cell_type == "code"
        for output in cell.outputs
        if "image/png" in output.get("data", {})
    ]
    assert len(images) == 1
    plot = OUT / "weekly_weight.png"
    assert plot.read_bytes().startswith(b"\x89PNG")
    assert plot.stat().st_size > 10_000  # an axis frame alone is smaller


def test_the_summary_counted_every_recorded_weight(executed: nbformat.NotebookNode) -> None:
    printed = "".join(
        output.get("text", "")
        for cell in executed.cells
        if cell.cell_type == "code"
        for output in cell.outputs
        if output.output_type == "stream"
    )
    assert "21 weights recorded" in printed
    assert "Push day" in printed and "set 3: 6 x 65" in printed
