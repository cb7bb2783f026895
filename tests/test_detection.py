"""Detection on the bundled demo: every check's flags in the store, scored against the ground-truth file.

The figures are written to tests/artifacts/detection.csv on every run.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from browser import ARTIFACTS
from datasteward import evaluation, exports, store
from datasteward.checks import REGISTRY
from datasteward.checks.agreement import majority_vote
from datasteward.demo import demo_dir

pytestmark = pytest.mark.slow
ROOT = demo_dir()


@pytest.fixture(scope="module")
def results(scanned_demo):
    ds = store.open_dataset(scanned_demo)
    truth = evaluation.load_ground_truth(ROOT)
    fired = evaluation.fired_flags(exports.flags_table(ds), ROOT)
    table = evaluation.score_checks(fired, truth, list(REGISTRY))
    ARTIFACTS.mkdir(exist_ok=True)
    table.to_csv(ARTIFACTS / "detection.csv", float_format="%.3f")
    return {"ds": ds, "truth": truth, "fired": fired, "table": table}


@pytest.mark.parametrize("check", evaluation.SIGNAL_CHECKS)
def test_signal_checks_find_what_was_injected(results, check):
    row = results["table"].loc[check]
    precision, recall = evaluation.SIGNAL_BAR
    assert row["positives"] >= 10
    assert row["recall"] >= recall, f"{check}: recall {row['recall']:.2f} ({row['TP']} of {row['positives']})"
    assert row["precision"] >= precision, f"{check}: precision {row['precision']:.2f} of {row['flagged']} flagged"


@pytest.mark.parametrize("check", ["model_disagreement", "speech_rate_outlier", "transcript_duplicate"])
def test_semantic_checks_beat_the_bar_and_a_random_baseline(results, check):
    row = results["table"].loc[check]
    assert row["precision"] >= 0.5 and row["recall"] >= 0.5, row.to_dict()
    ds = results["ds"]
    modality = "image" if check == "model_disagreement" else "audio"
    prefix = str(ROOT.resolve()) + "/"
    candidates = [p.removeprefix(prefix) for p in ds.match({"modality": modality}).values("media_path")]
    positives = set(results["truth"].loc[results["truth"]["check"] == check, "filepath"])
    random_precision, _ = evaluation.random_baseline(candidates, int(row["flagged"]), positives)
    assert row["precision"] >= 5 * random_precision


def test_model_disagreement_beats_flagging_every_disagreeing_prediction(results):
    ds = results["ds"]
    labels, predictions = ds.values("ground_truth.label"), ds.values("prediction.label")
    naive = sum(1 for l, p in zip(labels, predictions) if p is not None and l is not None and p != l)
    row = results["table"].loc["model_disagreement"]
    positives = row["positives"]
    # Flagging every disagreement finds all flips but at the base rate of model errors.
    assert row["precision"] > 2 * positives / naive


@pytest.mark.xfail(strict=True, reason="hand-made colour/gradient features separate look-alike clothing classes too "
                                       "weakly (out-of-fold accuracy ~55%); needs learned embeddings")
def test_label_outlier_meets_the_semantic_bar(results):
    row = results["table"].loc["label_outlier"]
    assert row["precision"] >= 0.5 and row["recall"] >= 0.5


def test_label_outlier_beats_random(results):
    row = results["table"].loc["label_outlier"]
    images = results["ds"].match({"modality": "image"}).count()
    assert row["flagged"] > 0 and row["precision"] >= 3 * row["positives"] / images


def spammer_truth(truth: pd.DataFrame, manifest: pd.DataFrame, spammer: str = "ann07") -> pd.Series:
    """The true class of photos the spammer labelled: the ground truth lists the wrong answers with `true=`."""
    wrong = truth[truth["check"] == "annotator_quality"].set_index("filepath")["detail"].str.extract(r"true=([^;]+)")[0]
    rows = manifest[(manifest["annotator"] == spammer) & manifest["filepath"].str.startswith("images/")]
    known = rows.set_index("filepath")["label"]
    known.update(wrong)
    return known


def test_dawid_skene_consensus_beats_majority_vote_where_a_spammer_answered(results):
    manifest = pd.read_csv(ROOT / "manifest.csv", dtype=str, keep_default_na=False)
    known = spammer_truth(results["truth"], manifest)
    assert len(known) >= 40
    prefix = str(ROOT.resolve()) + "/"
    ds = results["ds"]
    paths, consensus = ds.values("media_path"), ds.values("consensus_label")
    by_path = {p.removeprefix(prefix): c for p, c in zip(paths, consensus)}
    answers = manifest[manifest["filepath"].isin(known.index)].rename(columns={"filepath": "item"})
    ds_accuracy = np.mean([by_path[p] == t for p, t in known.items()])
    mv_accuracy = np.mean(majority_vote(answers).reindex(known.index) == known)
    assert ds_accuracy >= mv_accuracy + 0.03


def test_the_spammer_stands_out_and_alpha_is_recorded_per_batch(results):
    info = results["ds"].info["scan"]
    cards = pd.DataFrame(info["annotators"])
    cards = cards[cards["multi_items"] > 0].set_index("annotator")
    assert cards["ds_accuracy"].idxmin() == "ann07" and cards.loc["ann07", "ds_accuracy"] < 0.25
    assert cards.drop("ann07")["ds_accuracy"].min() > 0.8
    assert set(info["alpha_by_batch"]) == {f"b0{i}" for i in range(1, 7)}
    assert 0 < info["alpha_dataset"] < 1
    # The vendor batch with flipped labels has the lowest agreement.
    assert min(info["alpha_by_batch"], key=info["alpha_by_batch"].get) == "b05"


def test_flags_carry_owner_threshold_and_severity(results):
    flags = exports.flags_table(results["ds"])
    assert not flags.empty and flags[["owner", "threshold", "severity", "status", "version"]].notna().all().all()
    owners = flags.groupby("check")["owner"].first()
    assert owners["dark"] == "data_ops" and owners["model_disagreement"] == "ml"
    assert owners["script_mismatch"] == "annotation"


def test_the_gate_fails_the_bad_delivery_only(results):
    from datasteward.gate import run_gate

    failed = {r.batch for r in run_gate(results["ds"].name) if not r.passed}
    assert failed == {"b05"}


def test_scorecard_and_checks_commands(results, capsys):
    from datasteward.cli import main

    assert main(["scorecard", results["ds"].name]) == 0
    out = capsys.readouterr().out
    assert "ann07" in out and "acme-annotations" in out and "Krippendorff's alpha" in out
    assert main(["checks"]) == 0
    listing = capsys.readouterr().out
    assert all(name in listing for name in REGISTRY)
