"""Label checks on small synthetic tables whose answers are known."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.stats import chi2

from datasteward.checks import agreement
from datasteward.checks.findings import decide, default_thresholds
from datasteward.checks.labels import (
    SPECS,
    LabelResult,
    class_mix_test,
    label_scores,
    neighbour_bayes_factor,
)
from datasteward.checks.registry import Registry

REGISTRY = Registry(SPECS)


def item(id, *, modality="image", batch="b1", vendor="v1", label=None, annotations=(), prediction=None,
         confidence=np.nan, features=None, media_error=None):
    return dict(id=id, modality=modality, batch=batch, vendor=vendor, label=label,
                annotations=[dict(a) for a in annotations], prediction=prediction, confidence=confidence,
                features=features, media_error=media_error)


def answers(*pairs, field="label"):
    return [{"annotator": a, field: v} for a, v in pairs]


def scores_of(result: LabelResult, check: str) -> pd.Series:
    rows = result.scores[result.scores["check"] == check]
    return rows.set_index("id")["score"]


def clusters(rng, *, per_class=30, classes=("cat", "dog", "fox"), dims=8, spread=0.3):
    """Well-separated Gaussian clusters, one per class, along different axes."""
    rows = []
    for c, name in enumerate(classes):
        centre = np.zeros(dims)
        centre[c] = 5.0
        for i in range(per_class):
            rows.append((f"{name}{i:02d}", name, centre + rng.normal(0, spread, dims)))
    return rows


# --------------------------------------------------------------------------- specs
def test_specs_have_the_agreed_ids_owners_and_directions():
    expected = {"annotator_disagreement": ("annotation", "below"), "label_outlier": ("annotation", "above"),
                "model_disagreement": ("ml", "above"), "class_imbalance": ("product", "below")}
    assert {s.name: (s.owner, s.direction) for s in SPECS} == expected
    assert all(s.level == "dataset" and s.modality == "any" for s in SPECS)


# --------------------------------------------------------------------------- annotator disagreement
def test_annotator_disagreement_scores_items_with_two_or_more_answers():
    table = pd.DataFrame([
        item("majority", annotations=answers(("a", "cat"), ("b", "cat"), ("c", "dog"))),
        item("no-majority", annotations=answers(("a", "cat"), ("b", "dog"), ("c", "fox"))),
        item("pair-split", annotations=answers(("a", "cat"), ("b", "dog"))),
        item("single", label="cat", annotations=answers(("a", "cat"))),
    ])
    result = label_scores(table)
    scores = scores_of(result, "annotator_disagreement")
    assert scores.to_dict() == pytest.approx({"majority": 2 / 3, "no-majority": 1 / 3, "pair-split": 0.5})
    fired = decide(result.scores, REGISTRY, default_thresholds(REGISTRY))
    fired = fired[fired["check"] == "annotator_disagreement"].set_index("id")["fired"]
    assert fired.to_dict() == {"majority": False, "no-majority": True, "pair-split": True}


def test_items_table_uses_dawid_skene_for_several_answers_and_the_label_otherwise():
    table = pd.DataFrame([
        item("multi", annotations=answers(("a", "cat"), ("b", "cat"), ("c", "dog"))),
        item("single", label="fox", annotations=answers(("d", "fox"))),
        item("unlabelled-single", annotations=answers(("d", "owl"))),
        item("nothing"),
    ])
    items = label_scores(table).items.set_index("id")
    assert items["consensus_label"].drop("nothing").to_dict() == {"multi": "cat", "single": "fox",
                                                                  "unlabelled-single": "owl"}
    assert pd.isna(items.loc["nothing", "consensus_label"])
    assert items.loc["multi", "agreement"] == pytest.approx(2 / 3)
    assert 0.5 < items.loc["multi", "consensus_confidence"] <= 1.0
    assert np.isnan(items.loc["single", "agreement"]) and np.isnan(items.loc["single", "consensus_confidence"])
    assert items["answers"].to_dict() == {"multi": 3, "single": 1, "unlabelled-single": 1, "nothing": 0}


def test_transcripts_from_several_annotators_are_compared_after_normalisation():
    table = pd.DataFrame([
        item("clip1", modality="audio", annotations=answers(("a", "One two."), ("b", "one two"), ("c", "one too"),
                                                             field="transcript")),
        item("clip2", modality="audio", annotations=answers(("a", "three"), ("b", "four"), field="transcript")),
    ])
    result = label_scores(table)
    assert scores_of(result, "annotator_disagreement").to_dict() == pytest.approx({"clip1": 2 / 3, "clip2": 0.5})
    items = result.items.set_index("id")
    assert items.loc["clip1", "consensus_transcript"] == "one two"
    assert items["consensus_label"].isna().all()  # transcription-only: no label checks
    assert set(result.scores["check"]) == {"annotator_disagreement"}


# --------------------------------------------------------------------------- label outliers
def test_neighbour_bayes_factor_by_hand():
    """Two classes, one neighbour each: items 0,1 labelled 0 see 0; item 2 labelled 1 sees 1; item 3 labelled 1 sees 0.

    Witness rates (add-one): N[0] = (2+1, 0+1)/4 = (0.75, 0.25), N[1] = (1+1, 1+1)/4 = (0.5, 0.5);
    class shares (add-one) (0.5, 0.5). Item 3: log10 N[0,0] - max(log10 N[1,0], log10 0.5) = log10 1.5.
    """
    bf, best = neighbour_bayes_factor(np.array([[0], [0], [1], [0]]), np.array([0, 0, 1, 1]), n_classes=2)
    assert bf[3] == pytest.approx(np.log10(1.5))
    assert best.tolist() == [1, 1, 0, 0]
    # item 0: the other class explains its neighbour with 0.5, its own label with 0.75
    assert bf[0] == pytest.approx(np.log10(0.5) - np.log10(0.75))


def test_a_mixed_neighbourhood_is_not_evidence_for_another_label():
    """With reliable witnesses (neighbours share labels), neighbours of every class at once
    are better explained by an uninformative neighbourhood than by any other label."""
    labels = np.repeat(np.arange(4), 10)
    neighbours = np.repeat(labels[:, None], 4, axis=1)  # everyone sees only its own class ...
    neighbours[0] = [1, 2, 3, 1]  # ... except item 0, which sees a bit of everything else
    bf, _ = neighbour_bayes_factor(neighbours, labels, n_classes=4)
    assert bf[0] < 0
    neighbours[0] = [1, 1, 1, 1]  # whereas a neighbourhood of one other class is strong evidence
    bf, best = neighbour_bayes_factor(neighbours, labels, n_classes=4)
    assert bf[0] > 2 and best[0] == 1


def test_design_effect_is_one_for_independent_witnesses_and_grows_when_they_move_together(rng):
    from datasteward.checks.labels import design_effect

    labels = np.zeros(4000, dtype=int)
    independent = (rng.random((4000, 10)) < 0.8).sum(axis=1)  # binomial(10, 0.8) neighbours agree
    counts = np.stack([independent, 10 - independent], axis=1).astype(float)
    # Restricted to consistent items the binomial is truncated, so allow a little either way.
    assert design_effect(counts, labels) == pytest.approx(1.0, abs=0.35)
    together = np.where(rng.random(4000) < 0.8, 10, 6)  # whole neighbourhoods right, or a block of them wrong
    counts = np.stack([together, 10 - together], axis=1).astype(float)
    assert design_effect(counts, labels) > 3


def test_label_outlier_finds_a_mislabelled_item_in_a_clean_cluster(rng):
    rows = clusters(rng)
    rows[5] = (rows[5][0], "dog", rows[5][2])  # a cat labelled dog
    table = pd.DataFrame([item(i, label=lab, features=f.astype(np.float32)) for i, lab, f in rows])
    found = decide(label_scores(table).scores, REGISTRY, default_thresholds(REGISTRY))
    outliers = found[found["check"] == "label_outlier"]
    assert len(outliers) == len(rows)  # every labelled item with features is scored, firing or not
    assert set(outliers.loc[outliers["fired"], "id"]) == {"cat05"}
    assert "'cat'" in outliers.set_index("id").loc["cat05", "detail"]


def test_label_outlier_skips_undecodable_and_unlabelled_items_and_compares_within_modality(rng):
    rows = clusters(rng, per_class=15)
    table = pd.DataFrame(
        [item(i, label=lab, features=f) for i, lab, f in rows]
        + [item("broken", label="cat", media_error="zero-byte file"), item("unlabelled", features=rows[0][2]),
           # same features as a cat, but audio: never a neighbour of the images
           *[item(f"clip{j}", modality="audio", label=["one", "two"][j % 2], features=rows[j][2])
             for j in range(6)]])
    scores = scores_of(label_scores(table), "label_outlier")
    assert "broken" not in scores and "unlabelled" not in scores
    assert {f"clip{j}" for j in range(6)} <= set(scores.index)
    assert len(scores) == len(rows) + 6


# --------------------------------------------------------------------------- model disagreement
def test_model_disagreement_with_imported_predictions_by_hand():
    """Two classes, so the probability of the class not predicted is 1 - confidence.

    Class thresholds (mean probability of the labelled class over its items):
    t_a = (10 * 0.9 + 0.05) / 11 (ten a's, and 'wrong' whose p_a = 1 - 0.95);
    t_b = (10 * 0.8 + 0.4) / 11 (ten b's, and 'unsure' whose p_b = 1 - 0.6).
    'wrong' (labelled a, b at 0.95) scores 0.95 / t_b; 'unsure' (labelled b, a at 0.6) 0.6 / t_a.
    """
    rows = [item(f"a{i}", label="a", prediction="a", confidence=0.9) for i in range(10)]
    rows += [item(f"b{i}", label="b", prediction="b", confidence=0.8) for i in range(10)]
    rows += [item("wrong", label="a", prediction="b", confidence=0.95),
             item("unsure", label="b", prediction="a", confidence=0.6)]
    t_a, t_b = (10 * 0.9 + 0.05) / 11, (10 * 0.8 + 0.4) / 11
    result = label_scores(pd.DataFrame(rows))
    scores = scores_of(result, "model_disagreement")
    assert scores["wrong"] == pytest.approx(0.95 / t_b)
    assert scores["unsure"] == pytest.approx(0.6 / t_a)
    assert scores["a0"] == 0.0 and len(scores) == 22
    found = decide(result.scores, REGISTRY, default_thresholds(REGISTRY))
    fired = found[(found["check"] == "model_disagreement") & found["fired"]]
    assert fired["id"].tolist() == ["wrong"]
    assert "'b' (0.95" in fired["detail"].iloc[0]


def test_model_disagreement_without_predictions_uses_an_out_of_fold_model(rng):
    rows = clusters(rng)
    rows[40] = (rows[40][0], "fox", rows[40][2])  # a dog labelled fox
    table = pd.DataFrame([item(i, label=lab, features=f) for i, lab, f in rows])
    result = label_scores(table)
    found = decide(result.scores, REGISTRY, default_thresholds(REGISTRY))
    model = found[found["check"] == "model_disagreement"]
    assert len(model) == len(rows)
    assert set(model.loc[model["fired"], "id"]) == {"dog10"}
    assert "out-of-fold" in model.set_index("id").loc["dog10", "detail"]


def test_model_disagreement_is_deterministic(rng):
    rows = clusters(rng, per_class=20)
    table = pd.DataFrame([item(i, label=lab, features=f) for i, lab, f in rows])
    a, b = label_scores(table).scores, label_scores(table).scores
    pd.testing.assert_frame_equal(a, b)


# --------------------------------------------------------------------------- class imbalance
def test_class_mix_test_by_hand():
    """Perfect association in a 2 x 2 table of 20 items: chi2 = N * phi^2 = 20 on 1 dof."""
    stat, p = class_mix_test(np.array([10, 0]), np.array([0, 10]))
    assert stat == pytest.approx(20.0)
    assert p == pytest.approx(chi2.sf(20.0, 1))
    assert class_mix_test(np.array([5, 5, 0]), np.array([10, 10, 0])) == pytest.approx((0.0, 1.0))


def test_class_imbalance_flags_the_batch_whose_mix_differs():
    rows = []
    for b in ("b1", "b2", "b3", "b4"):
        mix = ["cat"] * 20 + ["dog"] * 20 if b != "b4" else ["cat"] * 38 + ["dog"] * 2
        rows += [item(f"{b}-{i}", batch=b, label=lab) for i, lab in enumerate(mix)]
    batches = label_scores(pd.DataFrame(rows)).batches.set_index("batch")
    spec = REGISTRY["class_imbalance"]
    fired = {b: spec.fires(s, spec.default_threshold) for b, s in batches["score"].items()}
    assert fired == {"b1": False, "b2": False, "b3": False, "b4": True}
    assert (batches["score"] <= 1).all() and (batches["check"] == "class_imbalance").all()
    assert "'dog' 5% of 40 items vs 50% elsewhere" in batches.loc["b4", "detail"]


# --------------------------------------------------------------------------- alpha and scorecards
def spammer_table(rng, n=120):
    """Image items labelled by three of four annotators; ann4 answers at random."""
    classes = ["cat", "dog", "fox", "owl"]
    rows = []
    for i in range(n):
        truth = classes[i % 4]
        names = rng.choice(["ann1", "ann2", "ann3", "ann4"], 3, replace=False)
        given = [(a, classes[rng.integers(4)] if a == "ann4" else truth if rng.random() < 0.9
                  else classes[rng.integers(4)]) for a in sorted(names)]
        rows.append(item(f"i{i:03d}", batch=f"b{i % 2}", vendor="good" if i % 3 else "also-good",
                         annotations=answers(*given)))
    return pd.DataFrame(rows)


def test_scorecard_exposes_the_spammer_and_aggregates_vendors(rng):
    result = label_scores(spammer_table(rng))
    cards = result.annotators.set_index("annotator")
    assert cards["ds_accuracy"].idxmin() == "ann4"
    assert cards.loc["ann4", "ds_accuracy"] < 0.4 and cards.drop("ann4")["ds_accuracy"].min() > 0.8
    assert cards.loc["ann4", "agreement_with_consensus"] < 0.5
    assert (cards["items"] == cards["multi_items"]).all()
    vendors = result.vendors.set_index("vendor")
    assert set(vendors.index) == {"good", "also-good"}
    assert vendors["ds_accuracy"].between(0.6, 0.9).all()  # every vendor's items have the spammer in 3 of 4
    assert vendors["items"].sum() == 120


def test_alpha_overall_and_per_batch_match_krippendorff_alpha(rng):
    table = spammer_table(rng)
    result = label_scores(table)
    long = pd.DataFrame([(r.id, r.batch, a["annotator"], a["label"]) for r in table.itertuples()
                         for a in r.annotations], columns=["item", "batch", "annotator", "label"])
    assert result.alpha_dataset == pytest.approx(agreement.krippendorff_alpha(long))
    for batch, alpha in result.alpha_by_batch.items():
        assert alpha == pytest.approx(agreement.krippendorff_alpha(long[long["batch"] == batch]))


def test_an_empty_or_bare_table_gives_empty_results():
    result = label_scores(pd.DataFrame({"id": ["x", "y"], "modality": ["image", "audio"]}))
    assert result.scores.empty and list(result.scores.columns) == ["id", "check", "score", "detail"]
    assert result.batches.empty and result.annotators.empty and result.vendors.empty
    assert np.isnan(result.alpha_dataset) and result.alpha_by_batch.empty
    assert result.items["id"].tolist() == ["x", "y"]


def test_repeated_ids_are_an_error():
    with pytest.raises(ValueError, match="repeated ids: a"):
        label_scores(pd.DataFrame([item("a", label="x"), item("a", label="y")]))
