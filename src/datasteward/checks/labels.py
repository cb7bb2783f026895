"""Label, annotator and model checks over the whole table: disagreement, label outliers, model disagreement, class mix.

Modalities are scored separately: images and audio have different label spaces
and different features. Items without a label (transcription-only audio) are
skipped by the label checks; several annotators' transcripts still get an
agreement score.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from datasteward.checks import agreement
from datasteward.checks.registry import CheckSpec

# An item agrees when a strict majority of its answers is the consensus; 0.6 leaves
# 2 of 3 and 3 of 5 unflagged and flags 1 of 2, 1 of 3 and 2 of 4.
AGREEMENT_THRESHOLD = 0.6
NEIGHBOURS = 10
# log10 Bayes factor 2 is "decisive" on Jeffreys' scale; neighbours are not independent
# witnesses, so the factor overstates the evidence and the stricter step is used.
OUTLIER_BAYES_FACTOR = 2.0
FOLDS = 5
# Inverse regularisation of the out-of-fold model: features are standardised and
# number in the hundreds, with a few hundred items per modality.
MODEL_C = 0.1
IMBALANCE_P = 0.01

SPECS = (
    CheckSpec("annotator_disagreement", "any", "annotation", "medium",
              "The item's annotators do not agree: share of answers equal to the consensus (items with 2+ answers)",
              "below", AGREEMENT_THRESHOLD, "ratio", level="dataset"),
    CheckSpec("label_outlier", "any", "annotation", "medium",
              "The labels of the item's 10 nearest neighbours in feature space point to another class "
              "(log10 Bayes factor against its own label or an uninformative neighbourhood)",
              "above", OUTLIER_BAYES_FACTOR, "log10 Bayes factor", level="dataset"),
    CheckSpec("model_disagreement", "any", "ml", "high",
              "A model predicts another class confidently: its probability over that class's "
              "confident-learning threshold",
              "above", 1.0, "ratio to class threshold", level="dataset"),
    CheckSpec("class_imbalance", "any", "product", "medium",
              "A batch's class mix differs from the rest of the dataset (chi-square test, Bonferroni-adjusted p)",
              "below", IMBALANCE_P, "p-value", level="dataset"),
)

SCORE_COLUMNS = ["id", "check", "score", "detail"]
BATCH_COLUMNS = ["batch", "modality", "check", "score", "detail"]
ITEM_COLUMNS = ["id", "consensus_label", "agreement", "consensus_confidence", "consensus_transcript", "answers"]
ANNOTATOR_COLUMNS = ["annotator", "vendor", "items", "multi_items", "ds_accuracy", "agreement_with_consensus"]
VENDOR_COLUMNS = ["vendor", "annotators", "items", "multi_items", "ds_accuracy", "agreement_with_consensus"]


@dataclass(frozen=True)
class LabelResult:
    """Everything :func:`label_scores` finds.

    Attributes
    ----------
    scores : DataFrame
        ``id, check, score, detail`` for ``annotator_disagreement``, ``label_outlier``
        and ``model_disagreement``; one row per scored item, firing or not.
    items : DataFrame
        ``id, consensus_label, agreement, consensus_confidence, consensus_transcript,
        answers``: the Dawid-Skene consensus where an item has 2+ label answers, else the
        delivered label (else its single answer); agreement and confidence are NaN for
        single-answer items; ``consensus_transcript`` is set for items with 2+ transcripts
        and no 2+ labels.
    batches : DataFrame
        ``batch, modality, check, score, detail`` for ``class_imbalance``.
    alpha_dataset : float
        Krippendorff's alpha (nominal) over all label answers.
    alpha_by_batch : Series
        Batch -> Krippendorff's alpha of that batch's label answers (NaN if undefined).
    annotators : DataFrame
        Scorecard: ``annotator, vendor, items, multi_items, ds_accuracy,
        agreement_with_consensus``.
    vendors : DataFrame
        The scorecard aggregated per vendor (accuracy and agreement weighted by answers).
    """

    scores: pd.DataFrame
    items: pd.DataFrame
    batches: pd.DataFrame
    alpha_dataset: float
    alpha_by_batch: pd.Series
    annotators: pd.DataFrame
    vendors: pd.DataFrame


def label_scores(table: pd.DataFrame, *, neighbours: int = NEIGHBOURS, folds: int = FOLDS) -> LabelResult:
    """Score every label check on a table of samples.

    Parameters
    ----------
    table : DataFrame
        One row per sample: ``id``, ``modality`` (``image`` or ``audio``), ``batch``,
        ``vendor``, ``label`` (or None), ``annotations`` (list of dicts with
        ``annotator``, ``label``, ``transcript``; may be empty or None), ``prediction``
        and ``confidence`` (an imported model's top class and its probability, or
        None/NaN), ``features`` (1-D array, or None for undecodable items) and
        ``media_error`` (None when the media decoded). Missing columns count as empty.
    neighbours : int
        k of the nearest-neighbour label outlier check.
    folds : int
        Folds of the out-of-fold model used when no predictions were imported.

    Returns
    -------
    LabelResult
    """
    t = _normalise(table)
    answers = _answers(t)
    label_answers = answers[answers["label"].notna()]
    n_labels = label_answers.groupby("id").size()
    multi_label_ids = set(n_labels.index[n_labels >= 2])

    consensus, p_correct, scores = _label_consensus(label_answers, multi_label_ids)
    transcript_rows = answers[answers["transcript"].notna() & ~answers["id"].isin(multi_label_ids)]
    n_texts = transcript_rows.groupby("id").size()
    texts = transcript_rows[transcript_rows["id"].isin(n_texts.index[n_texts >= 2])]
    text_consensus, text_scores = _transcript_consensus(texts)

    items = _items(t, consensus, text_consensus, answers)
    # The label checks judge the delivered label; without one, the annotators' consensus.
    t["effective_label"] = t["label"].where(t["label"].notna(), t["id"].map(items.set_index("id")["consensus_label"]))

    scored = [scores, text_scores]
    for _, part in t.groupby("modality", sort=True):
        labelled = part[part["effective_label"].notna()]
        scored.append(_label_outliers(labelled, k=neighbours))
        scored.append(_model_disagreement(labelled, folds=folds))
    score_table = pd.concat([s for s in scored if len(s)], ignore_index=True) if any(len(s) for s in scored) \
        else pd.DataFrame(columns=SCORE_COLUMNS)

    batches = _class_imbalance(t)
    alpha_by_batch = (label_answers.groupby("batch", sort=True)
                      .apply(lambda g: agreement.krippendorff_alpha(g.rename(columns={"id": "item"})),
                             include_groups=False)
                      .rename("alpha") if len(label_answers) else pd.Series(dtype=float, name="alpha"))
    alpha_dataset = agreement.krippendorff_alpha(label_answers.rename(columns={"id": "item"}))
    annotators, vendors = _scorecard(answers.assign(p_correct=p_correct), consensus, text_consensus)
    return LabelResult(score_table[SCORE_COLUMNS], items, batches, alpha_dataset, alpha_by_batch, annotators, vendors)


# --------------------------------------------------------------------------- input
def _blank_to_none(value):
    if value is None or (isinstance(value, float) and value != value):
        return None
    text = str(value).strip()
    return text or None


def _normalise(table: pd.DataFrame) -> pd.DataFrame:
    t = table.copy()
    for column in ("batch", "vendor", "label", "prediction", "media_error", "modality"):
        t[column] = t[column].map(_blank_to_none) if column in t else None
    for column, empty in (("annotations", None), ("features", None)):
        if column not in t:
            t[column] = empty
    t["confidence"] = pd.to_numeric(t["confidence"], errors="coerce") if "confidence" in t else np.nan
    t["id"] = t["id"].astype(str)
    if t["id"].duplicated().any():
        raise ValueError(f"label_scores needs one row per sample; repeated ids: "
                         f"{', '.join(t.loc[t['id'].duplicated(), 'id'].unique()[:5])}")
    t["modality"] = t["modality"].fillna("unknown")
    return t.reset_index(drop=True)


def _answers(t: pd.DataFrame) -> pd.DataFrame:
    """Long rows: one per (item, answer), with the item's modality, batch and vendor."""
    records = []
    for row in t.itertuples(index=False):
        for a in row.annotations if isinstance(row.annotations, (list, tuple)) else ():
            if not isinstance(a, dict):
                continue
            annotator = _blank_to_none(a.get("annotator")) or "(unknown)"
            records.append((row.id, row.modality, row.batch, row.vendor, annotator,
                            _blank_to_none(a.get("label")), _blank_to_none(a.get("transcript"))))
    return pd.DataFrame(records, columns=["id", "modality", "batch", "vendor", "annotator", "label", "transcript"])


# --------------------------------------------------------------------------- consensus and agreement
def _label_consensus(label_answers, multi_ids):
    """Dawid-Skene per modality on items with 2+ label answers; annotator_disagreement rows."""
    consensus = pd.DataFrame(columns=["consensus_label", "agreement", "consensus_confidence"])
    correct, rows, parts = [], [], []
    multi = label_answers[label_answers["id"].isin(multi_ids)].rename(columns={"id": "item"})
    for _, group in multi.groupby("modality", sort=True):
        ds = agreement.dawid_skene(group)
        share = agreement.item_agreement(group, ds.consensus)
        confidence = ds.posterior.max(axis=1)
        parts.append(pd.DataFrame({"consensus_label": ds.consensus, "agreement": share,
                                   "consensus_confidence": confidence}))
        answers_of = group.groupby("item")["label"].agg(lambda s: ", ".join(sorted(s)))
        n_answers = group.groupby("item").size()
        for item, value in share.items():
            n = int(n_answers[item])
            rows.append((item, "annotator_disagreement", float(value),
                         f"{round(value * n)} of {n} answers agree on '{ds.consensus[item]}' "
                         f"(Dawid-Skene posterior {confidence[item]:.2f}); answers: {answers_of[item]}"))
        # The posterior probability of the label given is that answer's expected correctness;
        # its mean over an annotator's answers is the Dawid-Skene accuracy.
        given = ds.posterior.to_numpy()[ds.posterior.index.get_indexer(group["item"]),
                                        ds.classes.get_indexer(group["label"])]
        correct.append(pd.Series(given, index=group.index))
    if parts:
        consensus = pd.concat(parts)
    p_correct = pd.concat(correct) if correct else pd.Series(dtype=float)
    return consensus, p_correct, pd.DataFrame(rows, columns=SCORE_COLUMNS)


def _transcript_consensus(texts):
    if texts.empty:
        return pd.DataFrame(columns=["consensus", "agreement", "answers", "pairwise_cer"]), \
            pd.DataFrame(columns=SCORE_COLUMNS)
    result = agreement.transcript_agreement(texts.rename(columns={"id": "item"}))
    rows = [(item, "annotator_disagreement", float(r.agreement),
             f"{round(r.agreement * r.answers)} of {r.answers} transcripts agree after normalisation "
             f"(mean pairwise character error {r.pairwise_cer:.2f}); consensus: '{r.consensus}'")
            for item, r in result.iterrows()]
    return result, pd.DataFrame(rows, columns=SCORE_COLUMNS)


def _items(t, consensus, text_consensus, answers):
    single = answers[answers["label"].notna()].groupby("id")["label"].first()
    delivered = t.set_index("id")["label"]
    label = consensus["consensus_label"].reindex(delivered.index)
    label = label.where(label.notna(), delivered).where(lambda s: s.notna(), single.reindex(delivered.index))
    out = pd.DataFrame({
        "id": delivered.index,
        "consensus_label": label.to_numpy(dtype=object),
        "agreement": consensus["agreement"].reindex(delivered.index).astype(float).to_numpy(),
        "consensus_confidence": consensus["consensus_confidence"].reindex(delivered.index).astype(float).to_numpy(),
        "consensus_transcript": text_consensus["consensus"].reindex(delivered.index).to_numpy(dtype=object),
        "answers": answers.groupby("id").size().reindex(delivered.index).fillna(0).astype(int).to_numpy(),
    })
    text_share = text_consensus["agreement"].reindex(delivered.index).to_numpy(dtype=float)
    out["agreement"] = np.where(np.isnan(out["agreement"]), text_share, out["agreement"])
    return out[ITEM_COLUMNS]


# --------------------------------------------------------------------------- label outliers
def _feature_matrix(part: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray]:
    """Rows with usable features (the most common length) and their standardised matrix."""
    ok = part[part["media_error"].isna() & part["features"].map(lambda f: f is not None and np.size(f) > 0)]
    if ok.empty:
        return ok, np.empty((0, 0))
    lengths = ok["features"].map(np.size)
    ok = ok[lengths == lengths.mode().iloc[0]]
    x = np.stack([np.asarray(f, dtype=np.float64).ravel() for f in ok["features"]])
    x = np.nan_to_num(x, nan=0.0, posinf=0.0, neginf=0.0)
    std = x.std(axis=0)
    return ok, (x - x.mean(axis=0)) / np.where(std > 0, std, 1.0)


def neighbour_bayes_factor(neighbour_labels: np.ndarray, labels: np.ndarray, *, n_classes: int
                           ) -> tuple[np.ndarray, np.ndarray]:
    """Evidence from neighbours' labels that an item's label is wrong.

    Each neighbour's label is treated as a noisy witness of the item's true class,
    with the witness's error rates estimated from the whole dataset: ``N[j, l]``,
    the share of neighbours labelled ``l`` around items labelled ``j`` (add-one
    smoothed). The log-likelihood of the neighbours' label counts ``n_l`` under true
    class ``j`` is ``L_j = sum_l n_l log10 N[j, l]``. The score is the log10 Bayes
    factor of the best other class against the better of two explanations:

    * the item's own label ``y`` (``L_y``);
    * an uninformative neighbourhood, labels drawn at the dataset's class shares
      ``pi`` (``L_0 = sum_l n_l log10 pi_l``), which is how an item far from
      everything (noise, a blank clip) looks; such an item is a media problem,
      not evidence for another label.

    In a feature space where neighbours rarely share labels, ``N`` is flat and the
    factors stay small, so the check adapts to how informative the features are.
    Neighbours are not independent witnesses: the factor is divided by their
    :func:`design_effect`.

    Parameters
    ----------
    neighbour_labels : np.ndarray
        Integer class codes, shape ``(n, k)``.
    labels : np.ndarray
        Integer class code of each item, shape ``(n,)``.
    n_classes : int

    Returns
    -------
    log10_bf : np.ndarray
        Shape ``(n,)``: ``(max_{j != y} L_j - max(L_y, L_0)) / design effect``,
        positive when the neighbours favour another class.
    best_other : np.ndarray
        Shape ``(n,)``: that class ``j``.
    """
    n = len(labels)
    rows = np.arange(n)
    counts = np.zeros((n, n_classes))
    np.add.at(counts, (np.repeat(rows, neighbour_labels.shape[1]), neighbour_labels.ravel()), 1.0)
    witness = np.ones((n_classes, n_classes))
    np.add.at(witness, labels, counts)
    log_lik = counts @ np.log10(witness / witness.sum(axis=1, keepdims=True)).T
    shares = np.bincount(labels, minlength=n_classes) + 1.0
    background = counts @ np.log10(shares / shares.sum())
    null = np.maximum(log_lik[rows, labels], background)
    log_lik[rows, labels] = -np.inf
    best = log_lik.argmax(axis=1)
    return (log_lik[rows, best] - null) / design_effect(counts, labels), best


def design_effect(counts: np.ndarray, labels: np.ndarray) -> float:
    """How much neighbours' labels vary together, as the variance inflation over independent witnesses.

    Neighbours sit close to each other, so they tend to be right or wrong
    together, and ``k`` of them carry the evidence of fewer independent ones. The
    inflation is the variance of the number of neighbours sharing an item's label
    over its binomial variance (``k p (1 - p)``), measured on the items whose own
    label is their neighbourhood's majority, so that the outliers being looked
    for do not inflate it; at least 1. Dividing log-likelihoods by it is the
    usual quasi-likelihood correction.
    """
    k = counts.sum(axis=1).max() if len(counts) else 0
    consistent = counts.argmax(axis=1) == labels
    if k < 2 or consistent.sum() < 2:
        return 1.0
    agree = counts[consistent, labels[consistent]]
    p = agree.mean() / k
    binomial = k * p * (1.0 - p)
    return float(max(1.0, agree.var() / binomial)) if binomial > 0 else 1.0


REFERENCE_SIZE = 5000


def _label_outliers(part: pd.DataFrame, *, k: int) -> pd.DataFrame:
    from sklearn.neighbors import NearestNeighbors

    ok, x = _feature_matrix(part)
    codes, classes = pd.factorize(ok["effective_label"], sort=True)
    k = min(k, len(ok) - 1)
    if k < 1 or len(classes) < 2:
        return pd.DataFrame(columns=SCORE_COLUMNS)
    # Cosine distance on standardised features: the direction of the deviation from the
    # dataset's mean matters more than its size (which mostly tracks contrast and exposure).
    # Neighbours come from a fixed-size random reference sample, so the search costs
    # O(n * REFERENCE_SIZE) rather than O(n^2); below that size every item is a reference.
    ref = np.arange(len(ok))
    if len(ok) > REFERENCE_SIZE:
        ref = np.sort(np.random.default_rng(0).choice(len(ok), REFERENCE_SIZE, replace=False))
    _, local = NearestNeighbors(n_neighbors=k + 1, metric="cosine").fit(x[ref]).kneighbors(x)
    idx = ref[local]
    own = idx == np.arange(len(ok))[:, None]
    # Drop the item itself (or, if exact duplicates push it out of the first k+1, the farthest).
    keep = ~own
    keep[~own.any(axis=1), -1] = False
    idx = idx[keep].reshape(len(ok), k)
    bf, best = neighbour_bayes_factor(codes[idx], codes, n_classes=len(classes))
    rows = []
    for i, item in enumerate(ok["id"]):
        names, counts = np.unique(classes[codes[idx[i]]], return_counts=True)
        around = ", ".join(f"{c} '{n}'" for n, c in sorted(zip(names, counts), key=lambda p: (-p[1], p[0])))
        rows.append((item, "label_outlier", float(bf[i]),
                     f"labelled '{classes[codes[i]]}'; {k} nearest neighbours: {around}; "
                     f"log10 Bayes factor {bf[i]:.1f} for '{classes[best[i]]}'"))
    return pd.DataFrame(rows, columns=SCORE_COLUMNS)


# --------------------------------------------------------------------------- model disagreement
def _model_disagreement(part: pd.DataFrame, *, folds: int) -> pd.DataFrame:
    imported = part[part["prediction"].notna() & part["confidence"].notna()]
    rest = part[~part["id"].isin(imported["id"])]
    return pd.concat([_imported_predictions(imported), _out_of_fold(rest, folds=folds)], ignore_index=True)


def _imported_predictions(part: pd.DataFrame) -> pd.DataFrame:
    """Confident learning on an imported model's top class and confidence."""
    from cleanlab.count import get_confident_thresholds

    if part.empty:
        return pd.DataFrame(columns=SCORE_COLUMNS)
    classes = pd.Index(sorted(set(part["effective_label"]) | set(part["prediction"])))
    y = classes.get_indexer(part["effective_label"])
    pred = classes.get_indexer(part["prediction"])
    conf = part["confidence"].clip(0.0, 1.0).to_numpy()
    k = len(classes)
    # Only the top class is known: spread the rest of the probability evenly over the others.
    probs = np.repeat(((1.0 - conf) / max(k - 1, 1))[:, None], k, axis=1)
    probs[np.arange(len(part)), pred] = conf
    thresholds = get_confident_thresholds(y, probs)
    ratio = np.where(pred != y, conf / thresholds[pred], 0.0)
    rows = [(item, "model_disagreement", float(r),
             f"imported model predicts '{classes[p]}' ({c:.2f}; class threshold {thresholds[p]:.2f}), "
             f"labelled '{classes[l]}'" if p != l else f"imported model agrees with '{classes[l]}' ({c:.2f})")
            for item, r, p, l, c in zip(part["id"], ratio, pred, y, conf)]
    return pd.DataFrame(rows, columns=SCORE_COLUMNS)


def _out_of_fold(part: pd.DataFrame, *, folds: int) -> pd.DataFrame:
    """Confident learning on out-of-fold probabilities of a logistic regression on the features."""
    from cleanlab.count import get_confident_thresholds
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_predict

    ok, x = _feature_matrix(part)
    sizes = ok["effective_label"].value_counts()
    # A class needs an item in every fold to be learned and predicted out of fold.
    learnable = ok["effective_label"].isin(sizes.index[sizes >= folds]).to_numpy()
    ok, x = ok[learnable], x[learnable]
    codes, classes = pd.factorize(ok["effective_label"], sort=True)
    if len(classes) < 2:
        return pd.DataFrame(columns=SCORE_COLUMNS)
    model = LogisticRegression(C=MODEL_C, max_iter=2000)
    probs = cross_val_predict(model, x, codes, method="predict_proba",
                              cv=StratifiedKFold(n_splits=folds, shuffle=True, random_state=0))
    thresholds = get_confident_thresholds(codes, probs)
    ratio = probs / thresholds
    ratio[np.arange(len(ok)), codes] = -np.inf
    best = ratio.argmax(axis=1)
    score = ratio[np.arange(len(ok)), best]
    rows = [(item, "model_disagreement", float(s),
             f"out-of-fold model: '{classes[b]}' {probs[i, b]:.2f} (class threshold {thresholds[b]:.2f}); "
             f"labelled '{classes[codes[i]]}' {probs[i, codes[i]]:.2f}")
            for i, (item, s, b) in enumerate(zip(ok["id"], score, best))]
    return pd.DataFrame(rows, columns=SCORE_COLUMNS)


# --------------------------------------------------------------------------- batches
def class_mix_test(batch_counts: np.ndarray, rest_counts: np.ndarray) -> tuple[float, float]:
    """Chi-square test that a batch's class counts come from the same mix as the rest.

    Parameters
    ----------
    batch_counts, rest_counts : np.ndarray
        Items per class, shape ``(K,)``; classes absent from both are ignored.

    Returns
    -------
    chi2 : float
    p_value : float
        1.0 when fewer than two classes occur. The chi-square approximation is
        rough when expected counts fall below about 5.
    """
    from scipy.stats import chi2_contingency

    table = np.vstack([batch_counts, rest_counts]).astype(float)
    table = table[:, table.sum(axis=0) > 0]
    if table.shape[1] < 2 or (table.sum(axis=1) == 0).any():
        return 0.0, 1.0
    chi2, p, _, _ = chi2_contingency(table, correction=False)
    return float(chi2), float(p)


def _class_imbalance(t: pd.DataFrame) -> pd.DataFrame:
    rows = []
    labelled = t[t["effective_label"].notna() & t["batch"].notna()]
    for modality, part in labelled.groupby("modality", sort=True):
        counts = pd.crosstab(part["batch"], part["effective_label"])
        if len(counts) < 2 or counts.shape[1] < 2:
            continue
        total = counts.sum(axis=0)
        for batch, row in counts.iterrows():
            rest = total - row
            chi2, p = class_mix_test(row.to_numpy(), rest.to_numpy())
            share, share_rest = row / max(row.sum(), 1), rest / max(rest.sum(), 1)
            ratio = (share + 1e-9) / (share_rest + 1e-9)
            top = (share - share_rest).abs().idxmax()
            adjusted = min(1.0, p * len(counts))
            rows.append((batch, modality, "class_imbalance", adjusted,
                         f"chi2 {chi2:.1f} on {counts.shape[1] - 1} dof, p {p:.2g} (x{len(counts)} batches); "
                         f"largest shift: '{top}' {share[top]:.0%} of {int(row.sum())} items vs "
                         f"{share_rest[top]:.0%} elsewhere (x{ratio[top]:.1f})"))
    return pd.DataFrame(rows, columns=BATCH_COLUMNS)


# --------------------------------------------------------------------------- scorecard
def _scorecard(answers, consensus, text_consensus):
    """Per annotator and per vendor: items, multi-annotated items, Dawid-Skene accuracy, agreement."""
    if answers.empty:
        return pd.DataFrame(columns=ANNOTATOR_COLUMNS), pd.DataFrame(columns=VENDOR_COLUMNS)
    label_truth = answers["id"].map(consensus["consensus_label"]) if len(consensus) \
        else pd.Series(np.nan, answers.index)
    text_truth = answers["id"].map(text_consensus["consensus"]) if len(text_consensus) \
        else pd.Series(np.nan, answers.index)
    norm = answers["transcript"].map(lambda s: agreement.normalize_transcript(s) if s is not None else None)
    multi = (label_truth.notna() | text_truth.notna()).to_numpy()
    hit = np.where(label_truth.notna(), answers["label"] == label_truth, norm == text_truth)
    a = answers.assign(multi=multi, hit=np.where(multi, hit, np.nan))

    def summary(key: str) -> pd.DataFrame:
        grouped = a.groupby(key, sort=True)
        return pd.DataFrame({
            "items": grouped["id"].nunique(),
            "multi_items": a[a["multi"]].groupby(key)["id"].nunique(),
            "ds_accuracy": grouped["p_correct"].mean(),
            "agreement_with_consensus": grouped["hit"].mean(),
        }).assign(multi_items=lambda d: d["multi_items"].fillna(0).astype(int))

    cards = summary("annotator").assign(
        vendor=a.groupby("annotator")["vendor"].agg(lambda s: s.mode().iloc[0] if s.notna().any() else None))
    vendors = summary("vendor").assign(annotators=a.groupby("vendor")["annotator"].nunique())
    return (cards.rename_axis("annotator").reset_index()[ANNOTATOR_COLUMNS],
            vendors.rename_axis("vendor").reset_index()[VENDOR_COLUMNS])
