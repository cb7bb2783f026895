"""The scale benchmark's smoke run (benchmarks/scale.py at 2,000 samples and 40 scan items) and its pure parts."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "benchmarks"))
# The benchmark chooses its own database and home on import; this session keeps the ones conftest chose.
_environment = dict(os.environ)
import scale  # noqa: E402

os.environ.clear()
os.environ.update(_environment)


def test_growth_table_gives_each_size_and_the_ratio_between_neighbours():
    lines = scale.growth_table({"kpis": [0.1, 0.5, 6.0], "slow page": [1.0, 2.5, None]}, [10_000, 100_000, 1_000_000],
                               "measurement", {"slow page": 2.0})
    assert lines[0] == "| measurement | 10k | 100k | 1M | 100k ÷ 10k | 1M ÷ 100k |"
    assert lines[2] == "| kpis | 0.10 | 0.50 | 6.00 | 5.0x | 12.0x |"
    assert lines[3] == "| slow page | 1.00 | **2.50** | – | 2.5x | – |"


@pytest.mark.parametrize("extra", [0, 1], ids=["one repeat", "two repeats"])
def test_replicated_demo_repeats_whole_demo_with_distinct_names(tmp_path, extra):
    from datasteward.demo import demo_dir

    files = pd.read_csv(demo_dir() / "manifest.csv", dtype=str, keep_default_na=False)["filepath"].nunique()
    manifest = pd.read_csv(scale.replicated_demo(files + extra, tmp_path), dtype=str, keep_default_na=False)
    copies = 1 + extra
    assert manifest["filepath"].nunique() == copies * files
    assert sorted({p.split("/")[0] for p in manifest["filepath"]}) == [f"r{k}" for k in range(copies)]
    first = manifest["filepath"].iloc[0]
    assert (tmp_path / first).stat().st_ino == (demo_dir() / first.split("/", 1)[1]).stat().st_ino  # a hard link


def test_replicated_demo_takes_fewer_items_across_both_modalities(tmp_path):
    manifest = pd.read_csv(scale.replicated_demo(40, tmp_path), dtype=str, keep_default_na=False)
    paths = manifest["filepath"].unique()
    assert len(paths) == 40
    assert {p.split("/")[1] for p in paths} == {"audio", "images"}


@pytest.fixture
def smoke_run(tmp_path):
    uri = os.environ.get("FIFTYONE_DATABASE_URI")
    if not uri:
        pytest.skip("needs FIFTYONE_DATABASE_URI (a running mongod); the embedded one belongs to another session")
    database = f"datasteward_scale_smoke_{os.getpid()}"
    output, results = tmp_path / "benchmarks.md", tmp_path / "scale.json"
    output.write_text("# Benchmarks\n\n## Earlier section\n\nkept\n", encoding="utf-8")
    try:
        done = subprocess.run(
            [sys.executable, str(REPO / "benchmarks" / "scale.py"), "--sizes", "2000", "--repeats", "1",
             "--scan-items", "40", "--ray-workers", "--database", database, "--output", str(output),
             "--results", str(results)],
            cwd=REPO, capture_output=True, text=True, timeout=1500, env=os.environ.copy())
        assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
        yield output.read_text(encoding="utf-8"), json.loads(results.read_text(encoding="utf-8")), database
    finally:
        import pymongo

        pymongo.MongoClient(uri).drop_database(database)


def test_smoke_run_measures_every_part_and_writes_the_scale_section(smoke_run):
    text, results, database = smoke_run
    size = results["sizes"]["2000"]
    assert size["flags"] > 0
    assert set(size["pages"]) == {"Overview", "Review", "Drift"}
    for title, timing in size["pages"].items():
        assert timing["cold"] is not None and len(timing["warm"]) == 1, title
        assert timing["errors"] == [], title
    assert len(size["pages"]["Review"]["interaction"]) == 1  # the Owner drop-down
    assert {k for k in size["queries"] if k.startswith("review.queue")} == {
        f"review.queue: {label}" for label in scale.queue_filters()}
    assert all(len(q["runs"]) == 1 for q in size["queries"].values())
    assert {"CLI: datasteward export (CSV)", "CLI: datasteward drift (kept tables)", "CLI: datasteward gate",
            "library: gate.run_gate"} <= set(size["tools"])
    scan = results["scan"]
    assert scan["items"] == 40
    assert [(r["engine"], r["workers"], r.get("error")) for r in scan["runs"]] == [("local", 2, None)]
    assert scan["runs"][0]["items"] == 40 and scan["runs"][0]["decoded"] == 40
    # The section replaces nothing else in the document, and has a table per measurement.
    assert text.startswith("# Benchmarks\n\n## Earlier section\n\nkept\n")
    for heading in ("## Scale", "### Datasets", "### Pages", "### Flag queries", "### Export, drift and gate",
                    "### Scan throughput"):
        assert heading in text
    assert "| Review: interaction |" in text
    # Nothing is left behind in the benchmark's database.
    import pymongo

    names = pymongo.MongoClient(os.environ["FIFTYONE_DATABASE_URI"])[database]["datasets"].distinct("name")
    assert not [n for n in names if n.startswith("scale-")]
