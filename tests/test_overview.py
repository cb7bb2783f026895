"""Overview numbers on a tiny dataset flagged by hand, in the library and through the page (AppTest)."""

from __future__ import annotations

from datetime import datetime

import pytest
from streamlit.testing.v1 import AppTest

from conftest import REPO
from datasteward import overview, store

# Ten items: b1 holds six photos (en en en fr en fr), b2 four clips (en en fr fr).
ITEMS = [("b1", "image", "en"), ("b1", "image", "en"), ("b1", "image", "en"), ("b1", "image", "fr"),
         ("b1", "image", "en"), ("b1", "image", "fr"),
         ("b2", "audio", "en"), ("b2", "audio", "en"), ("b2", "audio", "fr"), ("b2", "audio", "fr")]
# item -> flags as (check, owner, severity, status)
FLAGS = {
    0: [("dark", "data_ops", "medium", "open"), ("model_disagreement", "ml", "high", "open")],
    1: [("dark", "data_ops", "medium", "open")],
    2: [("dark", "data_ops", "medium", "dismissed")],
    3: [("annotator_disagreement", "annotation", "medium", "open"), ("label_outlier", "annotation", "medium", "open")],
    6: [("clipping", "data_ops", "high", "open")],
    8: [("empty_transcript", "annotation", "high", "open")],
}
DARK = [0.05, 0.10, 0.12, 0.30, 0.50, 0.20]          # scores.dark of the photos (fires below)
BRIGHTNESS = [0.10, 0.20, 0.25, 0.50, 0.60, 0.70]    # quality.brightness of the photos
SPEECH_RATE = [1.0, 4.0, 5.0, 2.0]                   # scores.speech_rate_outlier of the clips (fires above)


def build_tiny(name: str):
    """The dataset above, written straight to the store; returns it and its sample ids in item order."""
    ds = store.open_dataset(name, create=True)
    store.ensure_label_field(ds, "classification")
    store.add_samples(ds, [
        {"filepath": f"/nowhere/{b}/{i}.{'jpg' if m == 'image' else 'png'}",
         "media_path": f"/nowhere/{b}/{i}.{'jpg' if m == 'image' else 'wav'}", "modality": m, "batch": b,
         "language": lang, "vendor": "acme", "label": "cat", "collected_at": datetime(2026, 1, 1 if b == "b1" else 2)}
        for i, (b, m, lang) in enumerate(ITEMS)])
    store.ensure_scan_fields(ds)
    by_path = store.sample_ids_by(ds, "media_path")
    ids = [by_path[f"/nowhere/{b}/{i}.{'jpg' if m == 'image' else 'wav'}"] for i, (b, m, _) in enumerate(ITEMS)]
    rows = {}
    for i, sid in enumerate(ids[:6]):
        rows[sid] = {"quality": {"brightness": BRIGHTNESS[i]}, "scores": {"dark": DARK[i]}}
    for i, sid in enumerate(ids[6:8]):
        rows[sid] = {"quality": {"rms": 0.1 * (i + 1)}, "scores": {"speech_rate_outlier": SPEECH_RATE[i]}}
    for i, sid in enumerate(ids[8:], start=2):
        rows[sid] = {"scores": {"speech_rate_outlier": SPEECH_RATE[i]}}
    store.write_fields(ds, rows, embedded={"quality", "scores"})
    updates = []
    for i, flags in FLAGS.items():
        docs = [{"check": c, "owner": o, "severity": s, "status": st, "score": 1.0, "threshold": 0.5, "version": 1,
                 "history": []} for c, o, s, st in flags]
        updates.append((ids[i], 0, docs, sorted({f"flag:{c}" for c, *_ in flags})))
    assert store.write_flags(ds, updates) == []
    store.set_info(ds, "scan", {"alpha_dataset": 0.61, "alpha_by_batch": {"b1": 0.7, "b2": 0.4}})
    return ds, ids


@pytest.fixture
def tiny(dataset_name):
    return build_tiny(dataset_name)


def test_kpis_count_open_flags_and_items(tiny):
    ds, _ = tiny
    k = overview.kpis(ds)
    assert (k["samples"], k["scanned"], k["scanned_share"]) == (10, 8, 0.8)
    assert (k["open_flags"], k["items_flagged"], k["flagged_share"]) == (7, 5, 0.5)
    assert (k["open_high"], k["items_high"], k["alpha"]) == (3, 3, 0.61)


def test_top_problems_rank_checks_by_open_flags(tiny):
    ds, _ = tiny
    top = overview.top_problems(ds)
    assert list(top["check"]) == ["dark", "annotator_disagreement", "clipping", "empty_transcript", "label_outlier",
                                  "model_disagreement"]
    assert list(top["open_flags"]) == [2, 1, 1, 1, 1, 1]
    assert top.iloc[0]["owner"] == "data_ops" and top.iloc[0]["share"] == pytest.approx(0.2)
    assert list(overview.top_problems(ds, limit=2)["check"]) == ["dark", "annotator_disagreement"]


def cells(frame, by):
    return {(r["owner"], r[by]): (r["open_flags"], r["items_flagged"], r["items"], r["rate"])
            for r in frame.to_dict("records")}


def test_ownership_matrix_by_batch_and_language(tiny):
    ds, _ = tiny
    matrix = overview.ownership(ds)
    batch = cells(matrix["batch"], "batch")
    assert len(batch) == 4 * 2  # every layer x every batch, zeros included
    assert batch[("data_ops", "b1")] == (2, 2, 6, pytest.approx(2 / 6))
    assert batch[("ml", "b1")] == (1, 1, 6, pytest.approx(1 / 6))
    assert batch[("annotation", "b1")] == (2, 1, 6, pytest.approx(1 / 6))  # two flags on one item
    assert batch[("data_ops", "b2")] == (1, 1, 4, 0.25) and batch[("annotation", "b2")] == (1, 1, 4, 0.25)
    assert batch[("product", "b1")] == (0, 0, 6, 0.0) and batch[("ml", "b2")] == (0, 0, 4, 0.0)
    assert list(matrix["batch"]["batch"].unique()) == ["b1", "b2"]
    language = cells(matrix["language"], "language")
    assert language[("data_ops", "en")] == (3, 3, 6, 0.5)
    assert language[("ml", "en")] == (1, 1, 6, pytest.approx(1 / 6))
    assert language[("annotation", "fr")] == (3, 2, 4, 0.5)
    assert language[("annotation", "en")] == (0, 0, 6, 0.0)


def test_an_unscanned_dataset_has_an_empty_matrix_of_zeros(dataset_name):
    ds = store.open_dataset(dataset_name, create=True)
    store.add_samples(ds, [{"filepath": "/nowhere/a.jpg", "media_path": "/nowhere/a.jpg", "modality": "image",
                            "batch": "b1"}])
    assert overview.kpis(ds)["open_flags"] == 0 and overview.top_problems(ds).empty
    frame = overview.ownership(ds)["language"]
    assert list(frame["language"].unique()) == [store.MISSING] and frame["open_flags"].sum() == 0


def test_link_table_links_each_cell_to_its_review_filter_and_escapes_names():
    import pandas as pd

    frame = pd.DataFrame([{"owner": "ml", "batch": "*b|1*", "open_flags": 3, "items_flagged": 2, "items": 4,
                           "rate": 0.5},
                          {"owner": "ml", "batch": "b2", "open_flags": 0, "items_flagged": 0, "items": 4, "rate": 0.0}])
    text = overview.link_table(frame, "batch", "my data")
    assert r"\*b\|1\*" in text
    assert "[3 · 50%](review?dataset=my+data&owner=ml&batch=%2Ab%7C1%2A&status=open)" in text
    assert text.splitlines()[-1].endswith("| – |")


def open_page(name: str, page: str) -> AppTest:
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=120)
    at.query_params["dataset"] = name
    at.run()
    at.switch_page(page).run()
    assert not at.exception
    return at


def test_overview_page_shows_the_kpis_and_matrix_cells(tiny):
    ds, _ = tiny
    at = open_page(ds.name, "pages/overview.py")
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Samples"] == "10" and metrics["Scanned"] == "80%"
    assert metrics["Open flags"] == "7" and metrics["Items with open flags"] == "5"
    assert metrics["Share of items flagged"] == "50.0%" and metrics["Open high-severity"] == "3"
    assert metrics["Agreement (alpha)"] == "0.61"
    text = "\n".join(m.value for m in at.markdown)
    link = f"review?dataset={ds.name}&owner=data_ops&batch=b1&status=open"
    assert f"[2 · 33%]({link})" in text
    assert f"[3 · 75%](review?dataset={ds.name}&owner=annotation&language=fr&status=open)" not in text
    assert f"[3 · 50%](review?dataset={ds.name}&owner=annotation&language=fr&status=open)" in text
    assert "Pipelines and files" in text  # one line per owning layer
    [problems] = [d.value for d in at.dataframe]  # the top-problems table is the only one
    assert list(problems["check"][:1]) == ["dark"] and list(problems["open_flags"][:1]) == [2]
