"""The notebooks run, top to bottom, in a real Jupyter kernel (nbclient), at small sizes.

They are committed without outputs (checked here too). Each one uses only ``sim.api``.
"""

from __future__ import annotations

import os

import pytest

from helpers import ROOT

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

NOTEBOOKS = ROOT / "notebooks"


def _params():
    for path in sorted(NOTEBOOKS.glob("*.ipynb")):
        yield pytest.param(path, id=path.stem)


def test_the_four_notebooks_are_there():
    assert {p.stem for p in NOTEBOOKS.glob("*.ipynb")} == {
        "retry-policy-comparison", "sync-vs-async", "psp-outage-anatomy", "explorer-double-charge"}


@pytest.mark.parametrize("path", list(_params()))
def test_notebook_is_committed_without_outputs_and_runs(path, monkeypatch):
    book = nbformat.read(path, as_version=4)
    code = [cell for cell in book.cells if cell.cell_type == "code"]
    assert code and all(not cell.outputs and cell.execution_count is None for cell in code)
    # the kernel imports this checkout's `sim`, whatever is installed
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
    monkeypatch.setenv("MPLBACKEND", "Agg")
    client = nbclient.NotebookClient(book, kernel_name="python3", timeout=120,
                                     resources={"metadata": {"path": str(NOTEBOOKS)}})
    client.execute()
    assert all(output.get("output_type") != "error" for cell in code for output in cell.outputs)
