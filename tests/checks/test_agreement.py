"""Agreement between annotators, against published examples, hand-worked cases and a simulation with known truth."""

from __future__ import annotations

import krippendorff
import numpy as np
import pandas as pd
import pytest

from datasteward.checks.agreement import (
    dawid_skene,
    edit_distance,
    item_agreement,
    krippendorff_alpha,
    majority_vote,
    normalize_transcript,
    transcript_agreement,
)


def long_rows(matrix) -> pd.DataFrame:
    """Annotators x items matrix (NaN = no answer) to long rows."""
    return pd.DataFrame([(f"u{j:02d}", f"c{i}", v) for i, row in enumerate(matrix) for j, v in enumerate(row)
                         if v == v], columns=["item", "annotator", "label"])


# --------------------------------------------------------------------------- Krippendorff's alpha
# Krippendorff (2011), "Computing Krippendorff's Alpha-Reliability", section C: 4 coders, 12 units,
# missing values; nominal alpha = 0.743.
KRIPPENDORFF_2011 = [
    [1, 2, 3, 3, 2, 1, 4, 1, 2, np.nan, np.nan, np.nan],
    [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, np.nan, 3],
    [np.nan, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, np.nan],
    [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, np.nan],
]


def test_alpha_equals_the_krippendorff_package_on_krippendorffs_example():
    rows = long_rows(KRIPPENDORFF_2011)
    rows["label"] = rows["label"].map(lambda v: f"v{int(v)}")  # labels are names, not numbers
    expected = krippendorff.alpha(reliability_data=KRIPPENDORFF_2011, level_of_measurement="nominal")
    assert krippendorff_alpha(rows) == expected
    assert krippendorff_alpha(rows) == pytest.approx(0.743, abs=5e-4)


def test_alpha_of_a_hand_worked_case():
    """Two coders, four units: (A,A), (A,B), (B,B), (B,B).

    Coincidences: o_AA = 2, o_AB = o_BA = 1, o_BB = 4; n_A = 3, n_B = 5, n = 8.
    D_o = 2/8, D_e = 2 * 3 * 5 / (8 * 7) = 30/56, alpha = 1 - D_o / D_e = 8/15.
    """
    rows = long_rows([["A", "A", "B", "B"], ["A", "B", "B", "B"]])
    assert krippendorff_alpha(rows) == pytest.approx(8 / 15)


@pytest.mark.parametrize("matrix", [[["A", "B", "C"]], [["A", "A"], ["A", "A"]]],
                         ids=["one-annotator", "no-variation"])
def test_alpha_is_nan_when_undefined(matrix):
    assert np.isnan(krippendorff_alpha(long_rows(matrix)))


def test_alpha_perfect_agreement_is_one_and_missing_columns_raise():
    assert krippendorff_alpha(long_rows([["A", "B", "C"], ["A", "B", "C"]])) == pytest.approx(1.0)
    with pytest.raises(KeyError, match="annotator"):
        krippendorff_alpha(pd.DataFrame({"item": [1], "label": ["A"]}))


# --------------------------------------------------------------------------- majority vote and item agreement
def test_majority_vote_breaks_ties_by_sort_order():
    rows = pd.DataFrame([("i1", "a", "dog"), ("i1", "b", "cat"), ("i1", "c", "dog"),
                         ("i2", "a", "fox"), ("i2", "b", "cat")], columns=["item", "annotator", "label"])
    assert majority_vote(rows).to_dict() == {"i1": "dog", "i2": "cat"}


def test_item_agreement_is_the_share_of_answers_equal_to_the_consensus():
    rows = pd.DataFrame([("i1", "a", "dog"), ("i1", "b", "cat"), ("i1", "c", "dog"),
                         ("i2", "a", "fox"), ("i2", "b", "cat"), ("i2", "c", "owl")],
                        columns=["item", "annotator", "label"])
    share = item_agreement(rows, pd.Series({"i1": "dog", "i2": "fox"}))
    assert share.to_dict() == pytest.approx({"i1": 2 / 3, "i2": 1 / 3})


# --------------------------------------------------------------------------- Dawid-Skene: published references
# Crowd-Kit's tests (Toloka/crowd-kit, tests/aggregation/test_ds_aggregation.py, fixtures ``data``,
# ``probas_iter_0/1``, ``priors_iter_0/1``, ``errors_iter_0/1``): the same EM started from the
# soft majority vote, without smoothing, checked iteration by iteration to two decimals.
CROWDKIT_STEPS = pd.DataFrame(
    [["t1", "w1", "no"], ["t1", "w2", "yes"], ["t1", "w4", "yes"], ["t1", "w5", "no"],
     ["t2", "w1", "yes"], ["t2", "w2", "yes"], ["t2", "w3", "yes"], ["t2", "w4", "no"], ["t2", "w5", "no"],
     ["t3", "w1", "yes"], ["t3", "w2", "no"], ["t3", "w3", "no"], ["t3", "w4", "yes"], ["t3", "w5", "no"],
     ["t4", "w1", "yes"], ["t4", "w2", "yes"], ["t4", "w3", "yes"], ["t4", "w4", "yes"], ["t4", "w5", "yes"],
     ["t5", "w1", "yes"], ["t5", "w2", "no"], ["t5", "w3", "no"], ["t5", "w4", "no"], ["t5", "w5", "no"]],
    columns=["item", "annotator", "label"])
CROWDKIT_EXPECTED = {
    0: dict(posterior=[[0.5, 0.5], [0.4, 0.6], [0.6, 0.4], [0.0, 1.0], [0.8, 0.2]], priors=[0.46, 0.54],
            errors={"w1": [[0.22, 0.19], [0.78, 0.81]], "w2": [[0.61, 0.22], [0.39, 0.78]],
                    "w3": [[0.78, 0.27], [0.22, 0.73]], "w4": [[0.52, 0.30], [0.48, 0.70]],
                    "w5": [[1.00, 0.63], [0.00, 0.37]]}),
    1: dict(posterior=[[0.35, 0.65], [0.26, 0.74], [0.87, 0.13], [0.0, 1.0], [0.95, 0.05]], priors=[0.49, 0.51],
            errors={"w1": [[0.14, 0.25], [0.86, 0.75]], "w2": [[0.75, 0.07], [0.25, 0.93]],
                    "w3": [[0.87, 0.09], [0.13, 0.91]], "w4": [[0.50, 0.31], [0.50, 0.69]],
                    "w5": [[1.00, 0.61], [0.00, 0.39]]}),
}


@pytest.mark.parametrize("n_iter", [0, 1], ids=["start", "one-iteration"])
def test_dawid_skene_matches_crowdkit_step_by_step(n_iter):
    expected = CROWDKIT_EXPECTED[n_iter]
    result = dawid_skene(CROWDKIT_STEPS, max_iter=n_iter, smoothing=0.0)
    assert result.posterior.to_numpy() == pytest.approx(np.array(expected["posterior"]), abs=0.006)
    assert result.priors.to_numpy() == pytest.approx(expected["priors"], abs=0.006)
    for worker, errors in expected["errors"].items():
        # Crowd-Kit's errors_ are indexed [answer, true]; confusion_of is [true, answer].
        assert result.confusion_of(worker).to_numpy().T == pytest.approx(np.array(errors), abs=0.006)


# Crowd-Kit's "toy YSDA" and "simple" datasets (tests/conftest.py) with their expected labels,
# which Crowd-Kit's DawidSkene must reproduce (test_aggregate_ds_on_toy_ysda / _on_simple).
TOY_YSDA = pd.DataFrame(
    [["w1", "t1", "no"], ["w1", "t2", "yes"], ["w1", "t3", "yes"], ["w1", "t4", "yes"], ["w1", "t5", "yes"],
     ["w2", "t1", "yes"], ["w2", "t2", "yes"], ["w2", "t3", "no"], ["w2", "t4", "yes"], ["w2", "t5", "no"],
     ["w3", "t2", "yes"], ["w3", "t3", "no"], ["w3", "t4", "yes"], ["w3", "t5", "no"],
     ["w4", "t1", "yes"], ["w4", "t2", "no"], ["w4", "t3", "yes"], ["w4", "t4", "yes"], ["w4", "t5", "no"],
     ["w5", "t1", "no"], ["w5", "t2", "no"], ["w5", "t3", "no"], ["w5", "t4", "yes"], ["w5", "t5", "no"]],
    columns=["annotator", "item", "label"])
TOY_YSDA_TRUTH = {"t1": "yes", "t2": "yes", "t3": "no", "t4": "yes", "t5": "no"}
_GOOD = ["bde3b2", "b17c33", "a452e4", "0f65ed"]
SIMPLE = pd.DataFrame(
    [[_GOOD[0], "eec", "goose"], [_GOOD[0], "efb", "parrot"], [_GOOD[0], "f03", "goose"], [_GOOD[0], "f05", "goose"],
     [_GOOD[0], "f02", "parrot"], [_GOOD[0], "f08", "parrot"],
     [_GOOD[1], "efb", "parrot"], [_GOOD[1], "ee8", "chicken"], [_GOOD[1], "f07", "parrot"],
     [_GOOD[1], "efd", "chicken"], [_GOOD[1], "ee4", "chicken"], [_GOOD[1], "f03", "goose"],
     [_GOOD[2], "ee8", "chicken"], [_GOOD[2], "eec", "goose"], [_GOOD[2], "f05", "goose"],
     [_GOOD[2], "f02", "parrot"], [_GOOD[2], "f08", "parrot"],
     [_GOOD[3], "eec", "goose"], [_GOOD[3], "ee8", "chicken"], [_GOOD[3], "f03", "goose"], [_GOOD[3], "ee4", "chicken"],
     ["fraud", "eec", "parrot"], ["fraud", "efb", "parrot"], ["fraud", "f07", "parrot"], ["fraud", "efd", "parrot"],
     ["fraud", "ee4", "parrot"], ["fraud", "f05", "parrot"],
     ["careless", "efb", "parrot"], ["careless", "ee8", "goose"], ["careless", "f02", "parrot"],
     ["careless", "f08", "parrot"], ["careless", "f07", "parrot"], ["careless", "efd", "goose"]],
    columns=["annotator", "item", "label"])
SIMPLE_TRUTH = {"eec": "goose", "f03": "goose", "f05": "goose", "efb": "parrot", "f02": "parrot", "f08": "parrot",
                "f07": "parrot", "ee8": "chicken", "efd": "chicken", "ee4": "chicken"}


@pytest.mark.parametrize("answers, truth", [(TOY_YSDA, TOY_YSDA_TRUTH), (SIMPLE, SIMPLE_TRUTH)],
                         ids=["toy-ysda", "simple"])
@pytest.mark.parametrize("max_iter, tol", [(10, 0.0), (100500, 1e-5)], ids=["10-iter", "converged"])
def test_dawid_skene_reproduces_crowdkit_expected_labels(answers, truth, max_iter, tol):
    assert dawid_skene(answers, max_iter=max_iter, tol=tol).consensus.to_dict() == truth


# Dawid & Skene (1979), Table 1: 45 patients rated on a 4-point scale by 5 anaesthetists, the first
# rating each patient three times. Transcribed from dallascard/dawid_skene (generate_sample_data);
# per patient, the answers of observers 1..5.
PATIENTS = [
    [[1, 1, 1], [1], [1], [1], [1]], [[3, 3, 3], [4], [3], [3], [4]], [[1, 1, 2], [2], [1], [2], [2]],
    [[2, 2, 2], [3], [1], [2], [1]], [[2, 2, 2], [3], [2], [2], [2]], [[2, 2, 2], [3], [3], [2], [2]],
    [[1, 2, 2], [2], [1], [1], [1]], [[3, 3, 3], [3], [4], [3], [3]], [[2, 2, 2], [2], [2], [2], [3]],
    [[2, 3, 2], [2], [2], [2], [3]], [[4, 4, 4], [4], [4], [4], [4]], [[2, 2, 2], [3], [3], [4], [3]],
    [[1, 1, 1], [1], [1], [1], [1]], [[2, 2, 2], [3], [2], [1], [2]], [[1, 2, 1], [1], [1], [1], [1]],
    [[1, 1, 1], [2], [1], [1], [1]], [[1, 1, 1], [1], [1], [1], [1]], [[1, 1, 1], [1], [1], [1], [1]],
    [[2, 2, 2], [2], [2], [2], [1]], [[2, 2, 2], [1], [3], [2], [2]], [[2, 2, 2], [2], [2], [2], [2]],
    [[2, 2, 2], [2], [2], [2], [1]], [[2, 2, 2], [3], [2], [2], [2]], [[2, 2, 1], [2], [2], [2], [2]],
    [[1, 1, 1], [1], [1], [1], [1]], [[1, 1, 1], [1], [1], [1], [1]], [[2, 3, 2], [2], [2], [2], [2]],
    [[1, 1, 1], [1], [1], [1], [1]], [[1, 1, 1], [1], [1], [1], [1]], [[1, 1, 2], [1], [1], [2], [1]],
    [[1, 1, 1], [1], [1], [1], [1]], [[3, 3, 3], [3], [2], [3], [3]], [[1, 1, 1], [1], [1], [1], [1]],
    [[2, 2, 2], [2], [2], [2], [2]], [[2, 2, 2], [3], [2], [3], [2]], [[4, 3, 3], [4], [3], [4], [3]],
    [[2, 2, 1], [2], [2], [3], [2]], [[2, 3, 2], [3], [2], [3], [3]], [[3, 3, 3], [3], [4], [3], [2]],
    [[1, 1, 1], [1], [1], [1], [1]], [[1, 1, 1], [1], [1], [1], [1]], [[1, 2, 1], [2], [1], [1], [1]],
    [[2, 3, 2], [2], [2], [2], [2]], [[1, 2, 1], [1], [1], [1], [1]], [[2, 2, 2], [2], [2], [2], [2]],
]


@pytest.fixture
def patients() -> pd.DataFrame:
    return pd.DataFrame([(p + 1, f"observer{o + 1}", rating) for p, observers in enumerate(PATIENTS)
                         for o, ratings in enumerate(observers) for rating in ratings],
                        columns=["item", "annotator", "label"])


def test_dawid_skene_on_the_papers_patient_data(patients):
    """Dawid & Skene (1979), JRSS C 28(1):20-28, Table 1 data.

    The paper estimates the class proportions as 0.40, 0.42, 0.11 and 0.07 (its EM
    also starts from each patient's share of answers). The other expectations are
    this maximum-likelihood fit's own values, from the data alone: observer 1 is right
    on 89% of class-1 patients, and where the estimate departs from the majority vote
    (patients 2, 12, 36) it follows the more reliable observers.
    """
    result = dawid_skene(patients, max_iter=1000, tol=1e-10)
    assert result.converged
    assert result.priors.to_numpy() == pytest.approx([0.40, 0.42, 0.11, 0.07], abs=0.005)
    assert result.confusion_of("observer1").loc[1].to_numpy() == pytest.approx([0.889, 0.111, 0, 0], abs=0.002)
    assert result.posterior.sum(axis=1).to_numpy() == pytest.approx(1.0)
    disagree = majority_vote(patients) != result.consensus
    assert sorted(disagree.index[disagree]) == [2, 12, 36]
    assert result.consensus[[2, 12, 36]].tolist() == [4, 3, 4]


# --------------------------------------------------------------------------- Dawid-Skene: invariants
def test_dawid_skene_is_deterministic_and_ignores_row_order(patients, rng):
    a = dawid_skene(patients)
    b = dawid_skene(patients.iloc[rng.permutation(len(patients))])
    pd.testing.assert_frame_equal(a.posterior, b.posterior, atol=1e-12, rtol=0)
    assert a.accuracy.equals(b.accuracy) or np.allclose(a.accuracy, b.accuracy, atol=1e-12)


def test_dawid_skene_probabilities_are_normalised_and_unanimity_is_kept(patients):
    result = dawid_skene(patients)
    assert result.posterior.sum(axis=1).to_numpy() == pytest.approx(1.0)
    assert result.confusion.sum(axis=2) == pytest.approx(np.ones(result.confusion.shape[:2]))
    assert result.priors.sum() == pytest.approx(1.0)
    unanimous = patients.groupby("item")["label"].nunique() == 1
    first = patients.groupby("item")["label"].first()
    assert (result.consensus[unanimous] == first[unanimous]).all()


def test_dawid_skene_rejects_empty_input():
    with pytest.raises(ValueError, match="at least one answer"):
        dawid_skene(pd.DataFrame(columns=["item", "annotator", "label"]))


# --------------------------------------------------------------------------- Dawid-Skene: simulation
GOOD_ACCURACY = {"good1": 0.75, "good2": 0.80, "good3": 0.85}


def simulate(rng, *, n_items=1000, n_classes=10, per_item=3):
    """Three good annotators and a spammer; each item answered by 3 of the 4; errors uniform."""
    names = [*GOOD_ACCURACY, "spammer"]
    truth = rng.integers(0, n_classes, n_items)
    rows = []
    for i, t in enumerate(truth):
        for name in rng.choice(names, per_item, replace=False):
            if name == "spammer":
                answer = rng.integers(0, n_classes)
            elif rng.random() < GOOD_ACCURACY[name]:
                answer = t
            else:
                answer = rng.choice([c for c in range(n_classes) if c != t])
            rows.append((f"i{i:04d}", name, f"c{answer}"))
    answers = pd.DataFrame(rows, columns=["item", "annotator", "label"])
    return answers, pd.Series([f"c{t}" for t in truth], index=[f"i{i:04d}" for i in range(n_items)])


def test_dawid_skene_beats_majority_vote_and_unmasks_the_spammer(rng):
    answers, truth = simulate(rng)
    result = dawid_skene(answers)
    ds_accuracy = (result.consensus == truth).mean()
    mv_accuracy = (majority_vote(answers) == truth).mean()
    assert ds_accuracy >= mv_accuracy + 0.02
    assert result.accuracy["spammer"] == pytest.approx(0.1, abs=0.05)  # chance with 10 classes
    right = answers["label"].to_numpy() == answers["item"].map(truth).to_numpy()
    observed = pd.Series(right).groupby(answers["annotator"].to_numpy()).mean()
    for name in GOOD_ACCURACY:
        assert result.accuracy[name] == pytest.approx(observed[name], abs=0.06)
    assert result.accuracy.idxmin() == "spammer" and result.accuracy.drop("spammer").min() > 0.6


# --------------------------------------------------------------------------- transcripts
@pytest.mark.parametrize("raw, expected", [
    ("Hello,  World!", "hello world"), ("  ni\u0308ne  ", "nïne"), ("ＡＢＣ", "abc"), (None, ""),
    ("สาม สี่", "สาม สี่"), ("पाँच, छह", "पाँच छह"), ("It’s", "its"), ("one_two", "one two"),
], ids=["punctuation-and-case", "combining-mark", "full-width", "none", "thai-vowel-signs", "devanagari",
        "apostrophe", "underscore"])
def test_normalize_transcript(raw, expected):
    assert normalize_transcript(raw) == expected


@pytest.mark.parametrize("a, b, d", [("kitten", "sitting", 3), ("", "abc", 3), ("same", "same", 0),
                                     ("flaw", "lawn", 2)], ids=["kitten", "empty", "equal", "flaw"])
def test_edit_distance(a, b, d):
    assert edit_distance(a, b) == d == edit_distance(b, a)


def test_transcript_agreement_votes_on_normalised_text():
    rows = pd.DataFrame([
        ("c1", "a", "One two."), ("c1", "b", "one two"), ("c1", "c", "one too"),
        ("c2", "a", "three"), ("c2", "b", "tree"),
        ("c3", "a", "four"),
    ], columns=["item", "annotator", "transcript"])
    result = transcript_agreement(rows)
    assert result.loc["c1", "consensus"] == "one two"
    assert result.loc["c1", "agreement"] == pytest.approx(2 / 3)
    # pairs: (one two, one two) 0, (one two, one too) 1/7 twice
    assert result.loc["c1", "pairwise_cer"] == pytest.approx(2 / 7 / 3)
    # a tie between two answers goes to the one closer to the others, then to sort order
    assert result.loc["c2", "consensus"] == "three" and result.loc["c2", "agreement"] == 0.5
    assert result.loc["c3", "agreement"] == 1.0 and np.isnan(result.loc["c3", "pairwise_cer"])
