"""The demo notebook runs cleanly from top to bottom against the test database, and shows what it promises."""

from __future__ import annotations

import os

import pytest

from conftest import REPO

NOTEBOOK = REPO / "notebooks" / "explore_demo.ipynb"


@pytest.mark.slow
def test_explore_demo_notebook_runs(scanned_demo):
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(NOTEBOOK, as_version=4)
    # The kernel inherits this process's environment: the session's database and Data Steward home.
    assert os.environ["FIFTYONE_DATABASE_NAME"].startswith("datasteward_test_")
    client = NotebookClient(nb, kernel_name="python3", timeout=900,
                            resources={"metadata": {"path": str(NOTEBOOK.parent)}})
    client.execute()  # raises CellExecutionError, naming the cell, if any cell fails

    outputs = [o for cell in nb.cells if cell.cell_type == "code" for o in cell.get("outputs", [])]
    assert not [o for o in outputs if o.get("output_type") == "error"]
    text = "\n".join(o.get("text", "") for o in outputs if o.get("output_type") == "stream")
    text += "\n".join(o.get("data", {}).get("text/plain", "") for o in outputs if "data" in o)
    assert "2,304 samples" in text  # the scanned demo, not an empty or re-imported copy
    assert "open flags" in text and "in the saved view 'notebook-dark'" in text
    charts = [o for o in outputs if "application/vnd.vegalite.v5+json" in o.get("data", {})
              or "application/vnd.vegalite.v6+json" in o.get("data", {})
              or "text/html" in o.get("data", {}) and "vega" in o["data"]["text/html"]]
    assert len(charts) >= 4  # size, ownership by batch, drift of the degraded language, annotator accuracy
    # The demo degrades Swahili's later batches (noisier audio): the drift section finds it.
    assert "degraded language: sw; metric: snr_db (owner data_ops)" in text
    tables = [o for o in outputs if "text/html" in o.get("data", {}) and "<table" in o["data"]["text/html"]]
    assert len(tables) >= 4  # modality counts, flags by check, by status, queue, scorecard
