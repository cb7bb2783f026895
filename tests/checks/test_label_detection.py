"""End to end on the bundled demo: the label checks find the injected flipped labels and the spammer.

Builds the table the way ``benchmarks/evaluate_labels.py`` does (decoding every
file, about half a minute on two cores) and holds its numbers to the bars.
"""

from __future__ import annotations

import importlib.util
import sys

import numpy as np
import pandas as pd
import pytest

from conftest import REPO

pytestmark = pytest.mark.slow

SAMPLE = REPO / "sample_data"


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("evaluate_labels", REPO / "benchmarks" / "evaluate_labels.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["evaluate_labels"] = module  # so its worker function pickles for the process pool
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def demo(bench):
    from datasteward.checks.labels import label_scores

    table = bench.build_table(SAMPLE, jobs=2)
    manifest = pd.read_csv(SAMPLE / "manifest.csv", dtype=str, keep_default_na=False)
    ground_truth = pd.read_csv(SAMPLE / "ground_truth.csv", dtype=str, keep_default_na=False)
    truth = bench.consensus_truth(manifest, ground_truth)
    result = label_scores(table)
    return dict(table=table, manifest=manifest, result=result, truth=truth,
                metrics=bench.evaluate(table, result, ground_truth, truth))


def test_model_disagreement_meets_the_bar_on_flipped_labels(demo):
    m = demo["metrics"]["model_disagreement"]
    assert m["precision"] >= 0.5 and m["recall"] >= 0.5
    assert m["random_precision"] < m["precision"] / 5  # random flags hit the base rate (~2%)
    assert m["simple_precision"] < m["precision"]  # flagging every disagreeing prediction is far noisier


def test_label_outlier_beats_random_clearly(demo):
    m = demo["metrics"]["label_outlier"]
    assert m["flagged"] > 0
    assert m["precision"] >= 3 * max(m["random_precision"], m["base_rate"])
    assert m["precision"] > m["simple_precision"]  # the plain kNN majority rule flags half the dataset


@pytest.mark.xfail(strict=True, reason="colour/gradient features of real clothing photos separate look-alike "
                                       "classes too weakly (out-of-fold accuracy ~55%); needs learned embeddings")
def test_label_outlier_meets_the_bar_on_flipped_labels(demo):
    m = demo["metrics"]["label_outlier"]
    assert m["precision"] >= 0.5 and m["recall"] >= 0.5


def test_dawid_skene_beats_majority_vote_on_the_spammers_photos(demo):
    truth = demo["truth"]
    items = demo["result"].items.set_index("id")
    answers = demo["manifest"][demo["manifest"]["filepath"].isin(truth.index)].rename(columns={"filepath": "item"})
    from datasteward.checks.agreement import majority_vote

    ds = np.mean(items.loc[truth.index, "consensus_label"] == truth)
    mv = np.mean(majority_vote(answers).reindex(truth.index) == truth)
    assert len(truth) >= 40
    assert ds >= mv + 0.03


def test_the_spammer_stands_out_in_the_scorecard(demo):
    cards = demo["result"].annotators
    cards = cards[cards["multi_items"] > 0].set_index("annotator")
    assert cards["ds_accuracy"].idxmin() == "ann07"
    assert cards.loc["ann07", "ds_accuracy"] < 0.25  # random answers over 10 classes: about 0.1
    assert cards.drop("ann07")["ds_accuracy"].min() > 0.8
    vendors = demo["result"].vendors.set_index("vendor")
    assert vendors.loc["polyglot-data", "ds_accuracy"] < vendors.loc["acme-annotations", "ds_accuracy"]


def test_alpha_is_defined_overall_and_per_batch(demo):
    result = demo["result"]
    assert 0 < result.alpha_dataset < 1
    assert set(result.alpha_by_batch.index) == {f"b0{i}" for i in range(1, 7)}
    assert result.alpha_by_batch.notna().all()
