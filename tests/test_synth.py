"""The synthetic dataset generator: FiftyOne and the library read its datasets, and its flags keep their promises."""

from __future__ import annotations

import math
import sys

import numpy as np
import pytest

from conftest import REPO

sys.path.insert(0, str(REPO / "benchmarks"))
import synth  # noqa: E402

N = 2000


@pytest.fixture(scope="module")
def synthetic():
    from datasteward import store

    name = "synth-test"
    report = synth.generate(name, N, seed=7, replace=True)
    yield name, report
    store.delete_dataset(name)


@pytest.fixture(scope="module")
def tables(synthetic):
    from datasteward import exports, store

    ds = store.open_dataset(synthetic[0])
    return exports.samples_table(ds), exports.flags_table(ds)


def test_fiftyone_loads_it(synthetic):
    from fiftyone import ViewField as F

    from datasteward import store

    ds = store.open_dataset(synthetic[0])
    assert ds.count() == N
    batches = ds.count_values("batch")
    assert len(batches) == synth.N_BATCHES and sum(batches.values()) == N
    assert store.batch_order(ds) == [f"b{i:02d}" for i in range(1, synth.N_BATCHES + 1)]
    brightness = F("quality.brightness_mean")
    dark = ds.match(brightness.exists() & (brightness < 0.15))  # a corrupt image has none, and null < 0.15
    flagged = ds.match(F("flags").filter(F("check") == "dark").length() > 0)
    assert dark.count() == flagged.count() > 0
    assert 0 < len(ds.match_tags("flag:dark")) <= flagged.count()  # dismissed and fixed flags leave the tag mirror
    first = ds.first()  # FiftyOne builds a Sample from the raw document
    assert first.modality in ("image", "audio") and first.ground_truth.label


def test_summary_queue_and_exports(synthetic, tables):
    from datasteward import review, scorecard, store

    ds = store.open_dataset(synthetic[0])
    summary = store.summary(ds)
    assert summary["modality"]["samples"].sum() == N
    assert set(summary["vendor"]["vendor"]) == set(synth.VENDORS)
    samples, flags = tables
    missing = int((flags["check"] == "missing_metadata").sum())
    language = summary["language"].set_index("language")["samples"]
    assert int(language.get(store.MISSING, 0)) == missing
    total, rows = review.queue(ds, limit=20, status="open")
    assert total == int((flags["status"] == "open").sum()) and len(rows) == 20
    assert rows[0]["severity"] == "high"
    assert set(flags["status"]) == {"open", "confirmed", "dismissed", "fixed", "sent_back"}
    assert flags.loc[flags["status"] == "confirmed", "assignee"].notna().any()
    assert len(review.history(ds)) == int((flags["status"] != "open").sum())
    vendors = scorecard.vendor_scorecard(ds)
    assert set(vendors["vendor"]) == set(synth.VENDORS)
    assert vendors["flags"].sum() == len(flags)


def test_flag_rates_match_the_configuration(synthetic, tables):
    from datasteward.checks import REGISTRY

    samples, flags = tables
    counts = flags.groupby("check").size()
    multi = samples["agreement"].notna()
    for check, rate in synth.RATES.items():
        modality = REGISTRY[check].modality
        eligible = (multi if check == "annotator_disagreement"
                    else samples["modality"] == modality if modality != "any" else samples["modality"].notna())
        n = int(eligible.sum())
        expected, sd = rate * n, math.sqrt(n * rate * (1 - rate))
        # Corrupt files can carry no signal flag, and dark excludes overexposed: a little under, never over.
        assert abs(int(counts.get(check, 0)) - expected) <= 4 * sd + 2, check
    assert synthetic[1].flags == counts.reindex(list(synth.RATES), fill_value=0).to_dict()


def test_flags_agree_with_scores(tables):
    """Every flag's score crosses its threshold, and no unflagged item's score does."""
    from datasteward.checks import REGISTRY

    samples, flags = tables
    for check in synth.RATES:
        spec = REGISTRY[check]
        column = samples.get(f"score.{check}")
        assert column is not None, check
        firing = {sid for sid, score in zip(samples["sample_id"], column) if spec.fires(score, spec.default_threshold)}
        assert firing == set(flags.loc[flags["check"] == check, "sample_id"]), check


def test_metrics_are_the_scans(tables):
    """The quality metrics are named as the real per-item checks name them."""
    from datasteward.checks import audio, image, text

    rng = np.random.default_rng(0)
    image_names = set(image.image_metrics(rng.integers(0, 255, (64, 64, 3), dtype=np.uint8)))
    audio_names = set(audio.audio_metrics(rng.normal(0, 0.1, 16000).astype(np.float32), 16000))
    audio_names |= set(text.transcript_metrics("hello", "en"))
    assert set(synth.IMAGE_METRICS) == image_names
    assert set(synth.AUDIO_METRICS) == audio_names
    samples, _ = tables
    ok_images = samples[(samples["modality"] == "image") & samples["brightness_mean"].notna()]
    assert ok_images[list(image_names)].notna().all().all()


def test_tags_mirror_flags(synthetic):
    from datasteward import flags as flaglib
    from datasteward import store

    ds = store.open_dataset(synthetic[0])
    for doc in ds._sample_collection.find({}, {"tags": 1, "flags": 1}):
        assert doc["tags"] == flaglib.derived_tags([], doc["flags"])


def test_scan_info_reads_like_a_scan(synthetic):
    from datasteward import store

    info = store.open_dataset(synthetic[0]).info["scan"]
    assert 0 < info["alpha_dataset"] < 1
    assert len(info["vendors"]) == len(synth.VENDORS)
    careless = min((a for a in info["annotators"] if a["multi_items"]), key=lambda a: a["ds_accuracy"])
    assert careless["vendor"] == "polyglot-data"
    imbalanced = [f["batch"] for f in info["batch_findings"] if f["score"] < 0.01]
    assert set(imbalanced) == {synth.IMBALANCED_BATCH}
