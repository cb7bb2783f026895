"""The bundled demo loads idempotently and tells its stories; the app serves it."""

from __future__ import annotations

import csv

import pytest
from streamlit.testing.v1 import AppTest

from conftest import REPO
from datasteward import store
from datasteward.demo import demo_dir, load_demo

pytestmark = pytest.mark.slow


def manifest_items() -> dict[str, dict]:
    with open(demo_dir() / "manifest.csv", newline="", encoding="utf-8") as fh:
        return {row["filepath"]: row for row in csv.DictReader(fh)}


def test_demo_is_within_budget():
    size = sum(p.stat().st_size for p in demo_dir().rglob("*") if p.is_file())
    assert size <= 50 * 2**20


def test_demo_loads_every_item_once(demo_dataset):
    ds = store.open_dataset(demo_dataset)
    items = manifest_items()
    assert ds.count() == len(items)
    again = load_demo(demo_dataset)
    assert (again.added, again.already_present) == (0, len(items))
    summary = store.summary(ds)
    modality = summary["modality"].set_index("modality")["samples"].to_dict()
    assert modality == {
        "image": sum(p.startswith("images/") for p in items),
        "audio": sum(p.startswith("audio/") for p in items),
    }
    assert store.batch_order(ds) == ["b01", "b02", "b03", "b04", "b05", "b06"]
    assert {"en", "th", "vi", "id", "sw", "hi"} <= set(summary["language"]["language"])
    assert set(summary["vendor"]["vendor"]) >= {"acme-annotations", "polyglot-data"}


def test_demo_has_multi_annotator_items_and_predictions(demo_dataset):
    ds = store.open_dataset(demo_dataset)
    three = ds.match({"$expr": {"$gte": [{"$size": {"$ifNull": ["$annotations", []]}}, 3]}})
    assert three.count() >= 100
    assert ds.match({"modality": "image", "prediction": {"$ne": None}}).count() >= 500
    assert ds.match({"modality": "audio", "prediction": {"$ne": None}}).count() >= 500


def test_every_language_and_batch_has_enough_items_for_drift(demo_dataset):
    ds = store.open_dataset(demo_dataset).match({"modality": "audio"})
    languages, batches = ds.values("language"), ds.values("batch")
    counts = {}
    for lang, batch in zip(languages, batches):
        counts[(lang, batch)] = counts.get((lang, batch), 0) + 1
    for lang in ("th", "vi", "id", "sw", "hi"):
        for batch in ("b01", "b02", "b03", "b04", "b05", "b06"):
            assert counts.get((lang, batch), 0) >= 30, (lang, batch)


def test_corrupt_demo_files_are_imported_with_a_reason(demo_dataset):
    ds = store.open_dataset(demo_dataset)
    with open(demo_dir() / "ground_truth.csv", newline="", encoding="utf-8") as fh:
        corrupt = {r["filepath"] for r in csv.DictReader(fh) if r["check"] == "corrupt_file"}
    root = str(demo_dir().resolve())
    flagged = {p.removeprefix(root + "/") for p in ds.match({"media_error": {"$ne": None}}).values("media_path")}
    assert len(flagged & corrupt) >= 0.9 * len(corrupt)
    assert flagged <= corrupt


def test_home_page_shows_the_demo(demo_dataset):
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=120)
    at.query_params["dataset"] = demo_dataset
    at.run()
    assert not at.exception
    assert at.selectbox(key="dataset").value == demo_dataset
    n = store.open_dataset(demo_dataset).count()
    assert any(h.value == f"{demo_dataset}: {n:,} samples" for h in at.subheader)
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Batches"] == "6" and metrics["Vendors"] == "2"


def test_streamlit_serves_the_home_page(streamlit_server, chromium):
    from browser import ARTIFACTS

    page = chromium.new_page(viewport={"width": 1400, "height": 1000})
    page.goto(f"{streamlit_server}/?dataset=demo", timeout=120_000)
    page.get_by_text("demo:", exact=False).first.wait_for(timeout=120_000)
    page.wait_for_function("document.querySelectorAll('.vega-embed canvas, .vega-embed svg').length >= 4", timeout=60_000)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "home.png"), full_page=True)
    assert "samples" in page.inner_text("body")
    page.close()
