"""Agreement between annotators: Krippendorff's alpha, Dawid-Skene consensus, item and transcript agreement.

Every function takes long rows, one per (item, annotator) answer, with columns
``item``, ``annotator`` and ``label`` (or ``transcript``).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

import numpy as np
import pandas as pd

ITEM, ANNOTATOR, LABEL, TRANSCRIPT = "item", "annotator", "label", "transcript"


def _answers(annotations: pd.DataFrame, column: str = LABEL) -> pd.DataFrame:
    missing = {ITEM, ANNOTATOR, column} - set(annotations.columns)
    if missing:
        raise KeyError(f"annotations need columns item, annotator and {column}; missing: {', '.join(sorted(missing))}")
    rows = annotations[[ITEM, ANNOTATOR, column]]
    return rows[rows[column].notna()]


def majority_vote(annotations: pd.DataFrame) -> pd.Series:
    """The most frequent label of each item; a tie goes to the label that sorts first.

    Returns
    -------
    Series
        Item -> label, indexed by item in sorted order.
    """
    rows = _answers(annotations)
    counts = rows.groupby([ITEM, LABEL]).size().rename("n").reset_index()
    counts = counts.sort_values([ITEM, "n", LABEL], ascending=[True, False, True], kind="stable")
    return counts.drop_duplicates(ITEM).set_index(ITEM)[LABEL].rename("label")


def krippendorff_alpha(annotations: pd.DataFrame) -> float:
    """Krippendorff's alpha for nominal labels.

    Builds the annotators x items reliability matrix (NaN where an annotator did
    not label an item; a repeated answer by the same annotator keeps the first)
    and passes it to :func:`krippendorff.alpha`.

    Returns
    -------
    float
        1 for perfect agreement, 0 for agreement at chance level, negative below
        chance; NaN when alpha is undefined (no item has two answers, or all
        answers on such items are the same label).
    """
    import krippendorff

    rows = _answers(annotations).drop_duplicates([ITEM, ANNOTATOR], keep="first")
    pairable = rows[rows.groupby(ITEM)[ANNOTATOR].transform("size") >= 2]
    if pairable.empty or pairable[LABEL].nunique() < 2:
        return float("nan")
    codes, _ = pd.factorize(pairable[LABEL], sort=True)
    matrix = (pairable.assign(code=codes.astype(float))
              .pivot(index=ANNOTATOR, columns=ITEM, values="code").to_numpy(dtype=float))
    return float(krippendorff.alpha(reliability_data=matrix, level_of_measurement="nominal"))


@dataclass(frozen=True)
class DawidSkeneResult:
    """Consensus and annotator error rates estimated by Dawid-Skene EM.

    Attributes
    ----------
    posterior : DataFrame
        Items x classes: probability of each true class given all answers.
    consensus : Series
        Item -> most probable class.
    confusion : np.ndarray
        Shape ``(annotators, classes, classes)``: ``confusion[a, j, l]`` is the
        probability that annotator ``a`` answers ``l`` when the true class is ``j``.
    annotators, classes : Index
        The order of the first and of the last two axes of ``confusion``.
    priors : Series
        Class -> estimated share of items.
    accuracy : Series
        Annotator -> expected share of their answers that are correct, i.e. the mean
        posterior probability of the labels they gave.
    n_iter : int
        EM iterations run.
    converged : bool
        Whether the posteriors moved less than ``tol`` before ``max_iter``.
    log_likelihood : float
        Marginal log-likelihood of the answers at the final parameters.
    """

    posterior: pd.DataFrame
    consensus: pd.Series
    confusion: np.ndarray
    annotators: pd.Index
    classes: pd.Index
    priors: pd.Series
    accuracy: pd.Series
    n_iter: int
    converged: bool
    log_likelihood: float

    def confusion_of(self, annotator) -> pd.DataFrame:
        """Confusion matrix of one annotator: rows true class, columns the answer."""
        a = self.annotators.get_loc(annotator)
        return pd.DataFrame(self.confusion[a], index=self.classes.rename("true"), columns=self.classes.rename("answer"))


def dawid_skene(annotations: pd.DataFrame, *, max_iter: int = 100, tol: float = 1e-6,
                smoothing: float = 0.01) -> DawidSkeneResult:
    """Estimate true labels and per-annotator confusion matrices (Dawid & Skene, 1979).

    EM started from the soft majority vote (each item's share of answers per
    class, the paper's eq. 3.1): the M-step estimates class priors and each
    annotator's confusion matrix from the current posteriors, the E-step updates
    the posteriors. Deterministic: items, annotators and classes are taken in
    sorted order and there is no random restart.

    Parameters
    ----------
    annotations : DataFrame
        Long rows with ``item``, ``annotator`` and ``label``; an annotator may answer
        the same item more than once (each answer counts).
    max_iter : int
        Maximum number of EM iterations.
    tol : float
        Stop when no posterior probability changes by more than this.
    smoothing : float
        Pseudo-count added to every confusion-matrix cell and class count, so that an
        answer never seen for a class is unlikely rather than impossible.

    Returns
    -------
    DawidSkeneResult
    """
    rows = _answers(annotations)
    if rows.empty:
        raise ValueError("dawid_skene needs at least one answer")
    item_idx, items = pd.factorize(rows[ITEM], sort=True)
    ann_idx, annotators = pd.factorize(rows[ANNOTATOR], sort=True)
    lab_idx, classes = pd.factorize(rows[LABEL], sort=True)
    n_items, n_ann, k = len(items), len(annotators), len(classes)

    # Start from the (soft) majority vote: each item's share of answers per class, as in the paper's eq. 3.1.
    post = np.zeros((n_items, k))
    np.add.at(post, (item_idx, lab_idx), 1.0)
    post /= post.sum(axis=1, keepdims=True)

    converged, n_iter, log_lik = False, 0, float("nan")
    for n_iter in range(1, max_iter + 1):
        priors, confusion = _m_step(post, item_idx, ann_idx, lab_idx, n_ann, smoothing)
        new_post, log_lik = _e_step(priors, confusion, item_idx, ann_idx, lab_idx, n_items)
        change = float(np.abs(new_post - post).max())
        post = new_post
        if change < tol:
            converged = True
            break
    priors, confusion = _m_step(post, item_idx, ann_idx, lab_idx, n_ann, smoothing)

    given = post[item_idx, lab_idx]
    accuracy = pd.Series(np.bincount(ann_idx, given, n_ann) / np.bincount(ann_idx, minlength=n_ann),
                         index=annotators, name="accuracy")
    posterior = pd.DataFrame(post, index=items.rename(ITEM), columns=classes.rename(LABEL))
    consensus = pd.Series(classes[post.argmax(axis=1)], index=posterior.index, name="consensus")
    return DawidSkeneResult(posterior, consensus, confusion, annotators.rename(ANNOTATOR), classes.rename(LABEL),
                            pd.Series(priors, index=classes, name="prior"), accuracy, n_iter, converged, log_lik)


def _m_step(post, item_idx, ann_idx, lab_idx, n_ann, smoothing):
    n_items, k = post.shape
    priors = (post.sum(axis=0) + smoothing) / (n_items + k * smoothing)
    counts = np.full((n_ann, k, k), float(smoothing))
    # counts[a, j, l] += P(item of this answer is class j), for the answer l that annotator a gave.
    np.add.at(counts, (ann_idx, slice(None), lab_idx), post[item_idx])
    totals = counts.sum(axis=2, keepdims=True)
    confusion = np.divide(counts, totals, out=np.full_like(counts, 1.0 / k), where=totals > 0)
    return priors, confusion


def _e_step(priors, confusion, item_idx, ann_idx, lab_idx, n_items):
    with np.errstate(divide="ignore"):
        log_conf = np.log(confusion)
        log_post = np.tile(np.log(priors), (n_items, 1))
    np.add.at(log_post, item_idx, log_conf[ann_idx, :, lab_idx])
    top = log_post.max(axis=1, keepdims=True)
    top[~np.isfinite(top)] = 0.0
    weights = np.exp(log_post - top)
    norm = weights.sum(axis=1, keepdims=True)
    impossible = norm[:, 0] == 0  # only reachable with smoothing=0: fall back to the prior
    weights[impossible] = priors
    norm[impossible] = 1.0
    log_lik = float((np.log(norm[~impossible, 0]) + top[~impossible, 0]).sum())
    return weights / norm, log_lik


def item_agreement(annotations: pd.DataFrame, consensus: pd.Series, *, column: str = LABEL) -> pd.Series:
    """Share of an item's answers that equal its consensus.

    Parameters
    ----------
    annotations : DataFrame
        Long rows with ``item``, ``annotator`` and ``column``.
    consensus : Series
        Item -> consensus value; items missing from it get NaN.

    Returns
    -------
    Series
        Item -> agreement in [0, 1]: 1 when every answer is the consensus, ``1/n``
        when only one of ``n`` answers is.
    """
    rows = _answers(annotations, column)
    hit = rows[column].to_numpy() == rows[ITEM].map(consensus).to_numpy()
    return pd.Series(hit, index=rows.index).groupby(rows[ITEM]).mean().astype(float).rename("agreement")


_APOSTROPHES = re.compile("['\u2019\u02bc]")
_SPACES = re.compile(r"\s+", re.UNICODE)


def normalize_transcript(text: str | None) -> str:
    """Text as compared between annotators: NFKC, case-folded, punctuation removed, single spaces.

    ``"Hello,  World!"`` and ``"hello world"`` normalise to the same string; apostrophes
    are dropped (``"it's"`` -> ``"its"``), other punctuation (Unicode category P*) becomes
    a space. Combining marks (Thai and Devanagari vowel signs) are kept.
    """
    if text is None or text != text:
        return ""
    text = _APOSTROPHES.sub("", unicodedata.normalize("NFKC", str(text)).casefold())
    text = "".join(" " if unicodedata.category(ch).startswith("P") else ch for ch in text)
    return _SPACES.sub(" ", text).strip()


def edit_distance(a: str, b: str) -> int:
    """Levenshtein distance between two strings (insertions, deletions, substitutions of characters)."""
    if len(a) < len(b):
        a, b = b, a
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    return previous[-1]


def transcript_agreement(annotations: pd.DataFrame) -> pd.DataFrame:
    """Agreement between several annotators' transcripts of the same items.

    Transcripts are compared after :func:`normalize_transcript`. The consensus is
    the most frequent normalised transcript; a tie goes to the one closest to the
    others (smallest summed edit distance), then to the one that sorts first.

    Parameters
    ----------
    annotations : DataFrame
        Long rows with ``item``, ``annotator`` and ``transcript``.

    Returns
    -------
    DataFrame
        Indexed by item: ``consensus`` (normalised text), ``agreement`` (share of
        answers equal to it), ``answers`` (count) and ``pairwise_cer``: the mean over
        pairs of answers of the character edit distance divided by the longer
        answer's length (0 identical, 1 nothing in common; NaN with one answer).
    """
    rows = _answers(annotations, TRANSCRIPT)
    records = []
    for item, texts in rows.groupby(ITEM, sort=True)[TRANSCRIPT]:
        norm = [normalize_transcript(t) for t in texts]
        distinct = sorted(set(norm))
        dist = {(a, b): edit_distance(a, b) for a in distinct for b in distinct}
        freq = {t: norm.count(t) for t in distinct}
        closeness = {t: sum(dist[(t, u)] for u in norm) for t in distinct}
        consensus = min(distinct, key=lambda t: (-freq[t], closeness[t], t))
        pairs = [dist[(norm[i], norm[j])] / max(len(norm[i]), len(norm[j]), 1)
                 for i in range(len(norm)) for j in range(i + 1, len(norm))]
        records.append((item, consensus, freq[consensus] / len(norm), len(norm),
                        float(np.mean(pairs)) if pairs else float("nan")))
    return pd.DataFrame(records, columns=[ITEM, "consensus", "agreement", "answers", "pairwise_cer"]).set_index(ITEM)
