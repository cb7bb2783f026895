"""Drift of quality between batches, vendors and languages, with honest statistics.

Every quality metric, every check's flag rate and the label distribution of a
group (a batch, a vendor, a language, or a language's batch) is compared with a
reference:

- continuous metrics: the two-sample Kolmogorov-Smirnov test, with the
  Wasserstein distance in units of the reference's spread as the effect size;
- flag rates: the two-proportion z-test, with Cohen's h as the effect size;
- label distributions: the chi-square test of homogeneity, with the population
  stability index (PSI) and the Jensen-Shannon distance as effect sizes.

The p-values of all comparisons in one result are adjusted together with the
Benjamini-Hochberg procedure. A comparison is called drift only when the
adjusted p-value is under ``alpha`` *and* the effect is at least a small one,
so that a large dataset does not raise alerts for trivial shifts; a group or
reference smaller than the minimum sample size says "not enough data".
Each row carries the owning layer of the check its metric belongs to.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats
from scipy.spatial.distance import jensenshannon

from datasteward.errors import DataStewardError

BY = ("batch", "vendor", "language")
REFERENCES = ("earlier", "previous", "baseline")
ALPHA = 0.05
MIN_METRIC_N = 20      # values on each side before a KS test is trusted
MIN_RATE_N = 30        # items on each side before a rate comparison is trusted
MIN_LABEL_N = 30       # labelled items on each side before a label-mix comparison is trusted
# Smallest effects worth an alert: conventional "small" effects.
MIN_SHIFT = 0.5        # Wasserstein distance / reference spread (half a standard deviation)
MIN_H = 0.2            # Cohen's h for proportions
MIN_PSI = 0.1          # PSI: under 0.1 is conventionally "no significant change"
FLOORS = {"standardized W": MIN_SHIFT, "Cohen's h": MIN_H, "PSI": MIN_PSI}  # effect name -> smallest alert
# Larger samples are subsampled (with a fixed seed) for the KS test and the distance: at this
# size the test already sees shifts far below the effect-size floor, and 100,000-sample
# references stay fast.
MAX_TEST_SAMPLE = 2000
SINCE_STARTS = 5  # a language's pooled "from batch b onwards" comparisons start at one of its last deliveries

DRIFT, STABLE, NOT_ENOUGH = "drift", "stable", "not enough data"

# Quality metric -> (the check it belongs to, which way is worse: "higher", "lower" or "both").
METRICS: dict[str, tuple[str, str]] = {
    "brightness_mean": ("dark", "both"),
    "brightness_p99": ("overexposed", "higher"),
    "white_fraction": ("overexposed", "higher"),
    "sharpness": ("blurry", "lower"),
    "contrast": ("low_information", "lower"),
    "entropy": ("low_information", "lower"),
    "saturation_p99": ("grayscale", "lower"),
    "duration_s": ("duration_outlier", "both"),
    "speech_s": ("duration_outlier", "both"),
    "voiced_s": ("duration_outlier", "both"),
    "end_drop_db": ("duration_outlier", "lower"),
    "lead_silence_s": ("silence", "higher"),
    "trail_silence_s": ("silence", "higher"),
    "silent_fraction": ("silence", "higher"),
    "speech_level_dbfs": ("too_quiet", "lower"),
    "clip_fraction": ("clipping", "higher"),
    "snr_db": ("low_snr", "lower"),
    "chars": ("speech_rate_outlier", "both"),
    "words": ("speech_rate_outlier", "both"),
    "chars_per_s": ("speech_rate_outlier", "both"),
    "script_mismatch": ("script_mismatch", "higher"),
    "empty": ("empty_transcript", "higher"),
    "agreement": ("annotator_disagreement", "lower"),
}
LABEL_CHECK = "class_imbalance"  # the label mix belongs to this check's owner
COLUMNS = ["by", "group", "reference", "where", "ref_where", "kind", "metric", "check", "owner", "n", "n_ref", "value", "value_ref",
           "test", "statistic", "p_value", "p_adjusted", "effect", "effect_name", "distance", "worse", "verdict"]


@dataclass(frozen=True)
class Comparison:
    """One group against its reference: which rows of the frame are on each side."""

    by: str
    group: str
    reference: str
    members: np.ndarray
    ref_members: np.ndarray
    where: dict
    ref_where: dict


# --------------------------------------------------------------------------- statistics
def ks_test(values: np.ndarray, ref: np.ndarray) -> tuple[float, float]:
    """Two-sample Kolmogorov-Smirnov statistic and p-value (``scipy.stats.ks_2samp``)."""
    import warnings

    # The exact distribution is only worth its cost for small samples; beyond that the
    # asymptotic one is accurate and thousands of times faster.
    method = "exact" if len(values) * len(ref) <= 10_000 else "asymp"
    with warnings.catch_warnings():  # "exact calculation unsuccessful, switching to asymp" is expected
        warnings.simplefilter("ignore", RuntimeWarning)
        result = stats.ks_2samp(values, ref, method=method)
    return float(result.statistic), float(result.pvalue)


def standardized_wasserstein(values: np.ndarray, ref: np.ndarray) -> float:
    """Wasserstein distance between two samples in units of the reference's spread.

    The spread is the reference's standard deviation, or its interquartile range
    / 1.349 when that is larger (robust to a few extreme values), or the pooled
    spread of both samples if the reference is constant. Returns 0 when every
    value on both sides is the same.
    """
    return _standardize(float(stats.wasserstein_distance(values, ref)), values, ref)


def _standardize(distance: float, values: np.ndarray, ref: np.ndarray) -> float:
    q1, q3 = np.percentile(ref, [25, 75])
    scale = max(float(np.std(ref)), float(q3 - q1) / 1.349)
    if scale <= 0:
        scale = float(np.std(np.concatenate([values, ref])))
    return distance / scale if scale > 0 else 0.0


def two_proportion_test(hits: int, n: int, hits_ref: int, n_ref: int) -> tuple[float, float]:
    """Pooled two-proportion z-test: z statistic and two-sided p-value (1.0 if both rates are 0 or 1)."""
    p1, p2 = hits / n, hits_ref / n_ref
    pooled = (hits + hits_ref) / (n + n_ref)
    se = np.sqrt(pooled * (1 - pooled) * (1 / n + 1 / n_ref))
    if se == 0:
        return 0.0, 1.0
    z = (p1 - p2) / se
    return float(z), float(2 * stats.norm.sf(abs(z)))


def cohens_h(p1: float, p2: float) -> float:
    """Cohen's h, the effect size of a difference between two proportions."""
    return float(2 * np.arcsin(np.sqrt(p1)) - 2 * np.arcsin(np.sqrt(p2)))


def psi(counts: np.ndarray, ref_counts: np.ndarray, *, epsilon: float = 1e-4) -> float:
    """Population stability index of a distribution of counts against the reference's.

    Empty cells are given ``epsilon`` of probability so the log stays finite.
    """
    p = np.maximum(counts / counts.sum(), epsilon)
    q = np.maximum(ref_counts / ref_counts.sum(), epsilon)
    return float(np.sum((p - q) * np.log(p / q)))


def js_distance(counts: np.ndarray, ref_counts: np.ndarray) -> float:
    """Jensen-Shannon distance (base 2, 0-1) between two distributions of counts."""
    return float(jensenshannon(counts / counts.sum(), ref_counts / ref_counts.sum(), base=2))


def chi_square(counts: np.ndarray, ref_counts: np.ndarray) -> tuple[float, float]:
    """Chi-square test of homogeneity of two count vectors over the same categories."""
    keep = (counts + ref_counts) > 0
    table = np.vstack([counts[keep], ref_counts[keep]])
    if table.shape[1] < 2:
        return 0.0, 1.0
    result = stats.chi2_contingency(table, correction=False)
    return float(result.statistic), float(result.pvalue)


def benjamini_hochberg(p_values) -> np.ndarray:
    """Benjamini-Hochberg adjusted p-values (``scipy.stats.false_discovery_control``); NaN stays NaN."""
    p = np.asarray(p_values, dtype=float)
    out = np.full(p.shape, np.nan)
    ok = ~np.isnan(p)
    if ok.any():
        out[ok] = stats.false_discovery_control(p[ok], method="bh")
    return out


# --------------------------------------------------------------------------- comparisons
def comparisons(frame: pd.DataFrame, by: str, *, reference: str = "earlier", baseline: str | None = None,
                batch_order: list[str] | None = None) -> list[Comparison]:
    """Which groups are compared with what.

    - ``by="batch"``: each batch against the ``previous`` batch, the ``baseline``
      batch, or all ``earlier`` batches pooled (batches in delivery order);
    - ``by="vendor"`` or ``"language"``: each vendor (language) against all the
      others, and each of its batches against its own reference batches (as for
      ``batch``), so a vendor's bad delivery or a language's decline shows even
      when the rest of the batch is fine;
    - ``by="language"`` against ``earlier`` batches also compares each language's
      batches from each of its last deliveries onwards (:data:`SINCE_STARTS`),
      pooled, with its batches before it: a decline that persists over several
      small batches is seen as a whole, where each batch alone is too small to
      tell it from chance.
    """
    if by not in BY:
        raise DataStewardError(f"drift by {by!r}: use one of {', '.join(BY)}")
    if reference not in REFERENCES:
        raise DataStewardError(f"reference {reference!r}: use one of {', '.join(REFERENCES)}")
    order = batch_order or sorted(frame["batch"].dropna().unique())
    if reference == "baseline" and baseline not in order:
        raise DataStewardError(f"baseline batch {baseline!r} not found (batches: {', '.join(order)})")
    out: list[Comparison] = []
    if by == "batch":
        out += _batch_comparisons(frame, order, reference, baseline, prefix="")
    else:
        out += _rest_comparisons(frame, by)
        for value in sorted(frame[by].dropna().unique()):
            part = frame[frame[by] == value]
            out += _batch_comparisons(part, order, reference, baseline, prefix=f"{value} · ", by=by)
            if by == "language" and reference == "earlier":
                out += _since_comparisons(part, order, prefix=f"{value} · ", by=by)
    return out


def _since_comparisons(frame: pd.DataFrame, order: list[str], *, prefix: str, by: str) -> list[Comparison]:
    """The batches from each one onwards against those before it, within one language."""
    present = [b for b in order if (frame["batch"] == b).any()]
    scope = {by: [prefix.split(" · ")[0]]}
    out = []
    # The last batch alone against all before it is already a batch comparison; older starts than the last
    # few deliveries are history, each one more test for the correction to pay for.
    for i in range(max(1, len(present) - 1 - SINCE_STARTS), len(present) - 1):
        after, before = present[i:], present[:i]
        out.append(Comparison(by, f"{prefix}{present[i]} onwards", f"{prefix}before {present[i]} ({before[0]}–{before[-1]})",
                              frame.index[frame["batch"].isin(after)].to_numpy(),
                              frame.index[frame["batch"].isin(before)].to_numpy(),
                              {**scope, "batch": list(after)}, {**scope, "batch": list(before)}))
    return out


def _batch_comparisons(frame: pd.DataFrame, order: list[str], reference: str, baseline: str | None, *, prefix: str,
                       by: str = "batch") -> list[Comparison]:
    present = [b for b in order if (frame["batch"] == b).any()]
    out = []
    for i, batch in enumerate(present):
        if reference == "baseline":
            if batch == baseline:
                continue
            ref, label = [baseline], f"{prefix}{baseline}"
        elif i == 0:
            continue
        elif reference == "previous":
            ref, label = [present[i - 1]], f"{prefix}{present[i - 1]}"
        else:
            ref, label = present[:i], f"{prefix}earlier batches ({present[0]}–{present[i - 1]})" if i > 1 \
                else f"{prefix}{present[0]}"
        scope = {by: [prefix.split(" · ")[0]]} if prefix else {}
        out.append(Comparison(by, f"{prefix}{batch}", label, frame.index[frame["batch"] == batch].to_numpy(),
                              frame.index[frame["batch"].isin(ref)].to_numpy(), {**scope, "batch": [batch]},
                              {**scope, "batch": list(ref)}))
    return out


def _rest_comparisons(frame: pd.DataFrame, column: str) -> list[Comparison]:
    values = frame[column]
    groups = sorted(values.dropna().unique())
    if len(groups) < 2:
        return []
    return [Comparison(column, g, f"other {column}s", frame.index[values == g].to_numpy(),
                       frame.index[values.notna() & (values != g)].to_numpy(), {column: [g]},
                       {column: [o for o in groups if o != g]}) for g in groups]


def compare(frame: pd.DataFrame, by: str = "batch", *, reference: str = "earlier", baseline: str | None = None,
            batch_order: list[str] | None = None, alpha: float = ALPHA,
            owners: dict[str, str] | None = None) -> pd.DataFrame:
    """Drift of every metric, flag rate and the label mix, for each group against its reference.

    Parameters
    ----------
    frame : DataFrame
        One row per sample: ``batch``, ``vendor``, ``language``, ``modality``,
        ``label``, ``fired`` (the set of checks with a finding not dismissed as a
        false alarm) and one numeric column per metric of :data:`METRICS`
        (NaN where it does not apply). :func:`load_frame` builds it from a dataset.
    by : str
        ``batch``, ``vendor`` or ``language``.
    reference : str
        For batches: ``earlier`` (all earlier batches pooled, the default),
        ``previous`` or ``baseline`` (the batch named by ``baseline``).
    owners : dict, optional
        Check -> owning layer, where the quality contract overrides the registry's.

    Returns
    -------
    DataFrame
        One row per comparison with :data:`COLUMNS`; ``verdict`` is ``drift``,
        ``stable`` or ``not enough data``, and ``worse`` says whether the group is
        worse than its reference in the metric's bad direction.
    """
    from datasteward.checks import REGISTRY

    frame = frame.reset_index(drop=True)
    rows: list[dict] = []
    metrics = [m for m in METRICS if m in frame.columns]
    values = {m: pd.to_numeric(frame[m], errors="coerce").to_numpy(dtype=float) for m in metrics}
    checks = list(REGISTRY)
    column = {c: j for j, c in enumerate(checks)}
    hits = np.zeros((len(frame), len(checks)), dtype=np.int32)
    for i, found in enumerate(frame["fired"] if "fired" in frame else []):
        for check in found or ():
            if check in column:
                hits[i, column[check]] = 1
    # eligible[i, j]: check j applies to item i (its modality, or any); hits only count where it applies.
    modality = frame["modality"].to_numpy()
    eligible = np.stack([np.ones(len(frame), dtype=bool) if REGISTRY[c].modality == "any"
                         else modality == REGISTRY[c].modality for c in checks], axis=1).astype(np.int32)
    hits *= eligible
    codes, classes = pd.factorize(frame["label"] if "label" in frame else pd.Series([None] * len(frame)))
    for comp in comparisons(frame, by, reference=reference, baseline=baseline, batch_order=batch_order):
        base = {"by": comp.by, "group": comp.group, "reference": comp.reference, "where": comp.where,
                "ref_where": comp.ref_where}
        for metric in metrics:
            check, worse_way = METRICS[metric]
            rows.append({**base, **_metric_row(values[metric][comp.members], values[metric][comp.ref_members],
                                               worse_way), "kind": "metric", "metric": metric, "check": check})
        counts = [m[comp.members].sum(axis=0) for m in (hits, eligible)]
        ref_counts = [m[comp.ref_members].sum(axis=0) for m in (hits, eligible)]
        for j, name in enumerate(checks):
            rows.append({**base, **_rate_row(int(counts[0][j]), int(counts[1][j]), int(ref_counts[0][j]),
                                             int(ref_counts[1][j])),
                         "kind": "flag_rate", "metric": f"{name} rate", "check": name})
        rows.append({**base, **_label_row(codes[comp.members], codes[comp.ref_members], len(classes)),
                     "kind": "labels", "metric": "label mix", "check": LABEL_CHECK})
    table = pd.DataFrame(rows, columns=COLUMNS)
    if table.empty:
        return table
    owners = owners or {}
    table["owner"] = [owners.get(c, REGISTRY[c].owner) for c in table["check"]]
    table["p_adjusted"] = benjamini_hochberg(table["p_value"])
    minimum = table["effect_name"].map(FLOORS)
    significant = (table["p_adjusted"] < alpha) & (table["effect"].abs() >= minimum)
    table["verdict"] = np.where(table["verdict"] == NOT_ENOUGH, NOT_ENOUGH, np.where(significant, DRIFT, STABLE))
    # A metric absent from both sides (an image metric in an audio-only language) is not a comparison.
    return table[~((table["n"] == 0) & (table["n_ref"] == 0))].reset_index(drop=True)


def _metric_row(values: np.ndarray, ref: np.ndarray, worse_way: str) -> dict:
    values, ref = values[np.isfinite(values)], ref[np.isfinite(ref)]
    row = {"n": len(values), "n_ref": len(ref), "test": "KS", "effect_name": "standardized W",
           "value": float(np.median(values)) if len(values) else np.nan,
           "value_ref": float(np.median(ref)) if len(ref) else np.nan}
    if len(values) < MIN_METRIC_N or len(ref) < MIN_METRIC_N:
        return {**row, "statistic": np.nan, "p_value": np.nan, "effect": np.nan, "distance": np.nan,
                "worse": None, "verdict": NOT_ENOUGH}
    values, ref = _subsample(values), _subsample(ref)
    statistic, p = ks_test(values, ref)
    distance = float(stats.wasserstein_distance(values, ref))
    difference = float(np.mean(values) - np.mean(ref))
    worse = {"higher": difference > 0, "lower": difference < 0}.get(worse_way, True)
    return {**row, "statistic": statistic, "p_value": p, "effect": _standardize(distance, values, ref),
            "distance": distance, "worse": bool(worse), "verdict": None}


def _subsample(values: np.ndarray) -> np.ndarray:
    if len(values) <= MAX_TEST_SAMPLE:
        return values
    return np.random.default_rng(len(values)).choice(values, MAX_TEST_SAMPLE, replace=False)


def _rate_row(hits: int, n: int, hits_ref: int, n_ref: int) -> dict:
    row = {"n": n, "n_ref": n_ref, "test": "two-proportion z", "effect_name": "Cohen's h",
           "value": hits / n if n else np.nan, "value_ref": hits_ref / n_ref if n_ref else np.nan}
    if n < MIN_RATE_N or n_ref < MIN_RATE_N:
        return {**row, "statistic": np.nan, "p_value": np.nan, "effect": np.nan, "distance": np.nan,
                "worse": None, "verdict": NOT_ENOUGH}
    z, p = two_proportion_test(hits, n, hits_ref, n_ref)
    h = cohens_h(hits / n, hits_ref / n_ref)
    return {**row, "statistic": z, "p_value": p, "effect": h, "distance": hits / n - hits_ref / n_ref,
            "worse": bool(hits / n > hits_ref / n_ref), "verdict": None}


def _label_row(codes: np.ndarray, ref_codes: np.ndarray, n_classes: int) -> dict:
    """Label mix of a group against its reference, from factorized labels (-1 = no label)."""
    codes, ref_codes = codes[codes >= 0], ref_codes[ref_codes >= 0]
    row = {"n": len(codes), "n_ref": len(ref_codes), "test": "chi-square", "effect_name": "PSI",
           "value": np.nan, "value_ref": np.nan}
    if len(codes) < MIN_LABEL_N or len(ref_codes) < MIN_LABEL_N:
        return {**row, "statistic": np.nan, "p_value": np.nan, "effect": np.nan, "distance": np.nan,
                "worse": None, "verdict": NOT_ENOUGH}
    counts = np.bincount(codes, minlength=n_classes).astype(float)
    ref_counts = np.bincount(ref_codes, minlength=n_classes).astype(float)
    present = (counts + ref_counts) > 0
    counts, ref_counts = counts[present], ref_counts[present]
    statistic, p = chi_square(counts, ref_counts)
    return {**row, "statistic": statistic, "p_value": p, "effect": psi(counts, ref_counts),
            "distance": js_distance(counts, ref_counts), "worse": True, "verdict": None}


# --------------------------------------------------------------------------- the store
FIELDS = ("batch", "vendor", "language", "modality", "ground_truth", "agreement", "quality", "flags")


def _metric_expression(metric: str):
    return "$agreement" if metric == "agreement" else f"$quality.{metric}"


def metric_choices(table: pd.DataFrame) -> list[str]:
    """The metrics and flag rates a drift table compared, metrics first."""
    tested = table[table["verdict"] != NOT_ENOUGH]
    return [m for m in dict.fromkeys(tested.sort_values("kind", key=lambda k: k.map({"metric": 0, "flag_rate": 1,
                                                                                       "labels": 2}))["metric"])
            if m != "label mix" and m != "chars_per_s"]


CELL_KEYS = ["batch", "language", "vendor", "modality"]


def cell_totals(frame: pd.DataFrame) -> pd.DataFrame:
    """Sums per (batch, language, vendor, modality) cell from which any trend is drawn without the samples.

    Columns: the keys (missing values as ``store.MISSING``), ``n``, ``<metric>__sum`` and
    ``<metric>__count`` for each metric, and ``<check>__hits`` for each check.
    """
    from datasteward import store
    from datasteward.checks import REGISTRY

    if frame.empty:
        return pd.DataFrame(columns=CELL_KEYS + ["n"])
    data = frame[CELL_KEYS].fillna(store.MISSING).astype(str)
    data["n"] = 1
    for metric in METRICS:
        if metric in frame:
            values = pd.to_numeric(frame[metric], errors="coerce")
            data[f"{metric}__sum"], data[f"{metric}__count"] = values.fillna(0.0), values.notna().astype(int)
    fired = frame["fired"] if "fired" in frame else pd.Series([frozenset()] * len(frame))
    for check in REGISTRY:
        data[f"{check}__hits"] = [int(check in f) for f in fired]
    return data.groupby(CELL_KEYS, as_index=False, sort=False).sum()


def trend(totals: pd.DataFrame, metric: str, split: str | None = None, *,
          batch_order: list[str] | None = None) -> pd.DataFrame:
    """A metric's mean, or a check's flag rate (``"<check> rate"``), per batch and ``split`` value.

    ``totals`` is :func:`cell_totals`. Returns ``batch, <split or "all">, value, n``
    with batches in delivery order; a flag rate counts findings not dismissed as false
    alarms among the items the check applies to.
    """
    from datasteward.checks import REGISTRY

    name = split or "all"
    cells = totals.assign(all="all")
    if metric.endswith(" rate"):
        check = metric[: -len(" rate")]
        if REGISTRY[check].modality != "any":
            cells = cells[cells["modality"] == REGISTRY[check].modality]
        grouped = cells.groupby(["batch", name], as_index=False)[[f"{check}__hits", "n"]].sum()
        grouped["value"] = grouped[f"{check}__hits"] / grouped["n"]
    else:
        if f"{metric}__sum" not in cells:
            return pd.DataFrame(columns=["batch", name, "value", "n"])
        grouped = cells.groupby(["batch", name], as_index=False)[[f"{metric}__sum", f"{metric}__count"]].sum()
        grouped = grouped[grouped[f"{metric}__count"] > 0]
        grouped["value"] = grouped[f"{metric}__sum"] / grouped[f"{metric}__count"]
        grouped["n"] = grouped[f"{metric}__count"]
    rank = {b: i for i, b in enumerate(batch_order or sorted(grouped["batch"].unique()))}
    grouped = grouped.sort_values(["batch", name], key=lambda c: c.map(rank) if c.name == "batch" else c)
    return grouped[["batch", name, "value", "n"]].reset_index(drop=True)


def cached_totals(ds, *, refresh: bool = False) -> pd.DataFrame:
    """:func:`cell_totals` of the dataset, kept beside the drift tables (see :func:`cached_drift`)."""
    import fiftyone.core.odm as foo

    key = {"dataset": ds.name, "by": "_cells", "reference": None, "baseline": None}
    collection = foo.get_db_conn()[CACHE]
    basis = _basis(ds)
    doc = None if refresh else collection.find_one(key)
    if doc and doc.get("basis") == basis and "columns" in doc:
        return _kept_table(doc)
    totals = cell_totals(load_frame(ds))
    _keep(collection, key, basis, totals)
    return totals


def sample_values(ds, metric: str, where: dict, *, limit: int = MAX_TEST_SAMPLE, expected: int | None = None
                  ) -> np.ndarray:
    """Up to ``limit`` values of a metric among the samples matching ``where`` (field -> allowed values).

    ``expected`` is how many samples match (a drift row's ``n``). When they are
    many, a random draw of at most 5% of the collection is taken first and then
    matched: MongoDB serves that from a random cursor without reading the other
    documents, where matching first would read every matching document. The
    draw is sized to give about ``limit`` values, and at least a few hundred.
    """
    field = _metric_expression(metric)[1:]
    query = {k: {"$in": list(v)} for k, v in where.items()} | {field: {"$type": "number"}}
    coll = ds._sample_collection
    total = coll.estimated_document_count()
    stages = [{"$match": query}, {"$project": {"_id": 0, "v": f"${field}"}}, {"$sample": {"size": limit}}]
    if expected and total and expected > limit:
        draw = min(int(0.05 * total), int(np.ceil(1.2 * limit * total / expected)))
        if draw * expected / total >= min(limit, 500):
            stages = [{"$sample": {"size": draw}}, {"$match": query}, {"$project": {"_id": 0, "v": f"${field}"}},
                      {"$limit": limit}]
    return np.array([d["v"] for d in coll.aggregate(stages)], dtype=float)


ECDF_POINTS = 201  # what a page draws per side: the browser renders these, not thousands of values


def ecdf_points(values: np.ndarray, points: int = ECDF_POINTS) -> pd.DataFrame:
    """``points`` evenly spaced quantiles of ``values`` with their ECDF height (every value when there are fewer).

    Columns ``value`` and ``ecdf``. With an odd ``points`` the median and the quartiles are
    among them, so a box plot drawn from these has the exact box.
    """
    values = np.sort(np.asarray(values, dtype=float))
    if len(values) <= points:
        return pd.DataFrame({"value": values, "ecdf": np.arange(1, len(values) + 1) / max(len(values), 1)})
    share = np.linspace(0.0, 1.0, points)
    return pd.DataFrame({"value": np.quantile(values, share), "ecdf": share})


def load_frame(ds) -> pd.DataFrame:
    """One row per sample with what :func:`compare` needs, read from the database in one pass."""
    projection = {"batch": 1, "vendor": 1, "language": 1, "modality": 1, "ground_truth.label": 1, "agreement": 1,
                  "quality": 1, "flags.check": 1, "flags.status": 1}
    rows = []
    for doc in ds._sample_collection.find({}, projection):
        quality = {k: v for k, v in (doc.get("quality") or {}).items() if k in METRICS}
        rows.append({"id": str(doc["_id"]), "batch": doc.get("batch"), "vendor": doc.get("vendor"),
                     "language": doc.get("language"), "modality": doc.get("modality"),
                     "label": (doc.get("ground_truth") or {}).get("label"), "agreement": doc.get("agreement"),
                     "fired": frozenset(f.get("check") for f in doc.get("flags") or []
                                        if f.get("status") != "dismissed"), **quality})
    frame = pd.DataFrame(rows)
    if frame.empty:
        return pd.DataFrame(columns=["id", "batch", "vendor", "language", "modality", "label", "fired"])
    for metric in METRICS:
        if metric in frame:
            frame[metric] = pd.to_numeric(frame[metric], errors="coerce")
    if {"chars", "speech_s"} <= set(frame.columns):
        speech = frame["speech_s"].where(frame["speech_s"] > 0)
        frame["chars_per_s"] = frame["chars"].where(frame["chars"] > 0) / speech
    return frame


def drift(ds, by: str = "batch", *, reference: str = "earlier", baseline: str | None = None,
          alpha: float = ALPHA) -> pd.DataFrame:
    """:func:`compare` on a dataset, with batches in delivery order and owners from its quality contract."""
    from datasteward import store

    return compare(load_frame(ds), by, reference=reference, baseline=baseline, batch_order=store.batch_order(ds),
                   alpha=alpha, owners=_terms(ds))


CACHE = "datasteward_drift"
VERSION = 2  # of the comparisons: tables kept by an older version are computed again


def _terms(ds):
    from datasteward.checks import REGISTRY
    from datasteward.contract import load_contract

    terms = load_contract((ds.info or {}).get("contract"), REGISTRY)
    return {name: terms.owner(spec) for name, spec in REGISTRY.items()}


def _basis(ds) -> dict:
    """What a cached drift table depends on: the comparisons' version, the samples and the last scan (not later
    review actions). Read from the database, so a scan run by another process is seen."""
    import fiftyone.core.odm as foo

    doc = foo.get_db_conn().datasets.find_one({"_id": ds._doc.id}, {"info.scan.finished_at": 1}) or {}
    return {"version": VERSION, "count": ds._sample_collection.estimated_document_count(),
            "scan": ((doc.get("info") or {}).get("scan") or {}).get("finished_at")}


def cached_drift(ds, by: str = "batch", *, reference: str = "earlier", baseline: str | None = None,
                 refresh: bool = False) -> pd.DataFrame:
    """:func:`drift`, kept in the database until samples are added or removed or the dataset is rescanned.

    A scan stores the default tables (:func:`precompute`), so a page opens them without
    computing. Review decisions made since do not invalidate the table (flag rates count
    every finding not dismissed at the time it was computed, in ``computed_at``); ``refresh``
    recomputes it.
    """
    import fiftyone.core.odm as foo

    key = {"dataset": ds.name, "by": by, "reference": reference, "baseline": baseline}
    collection = foo.get_db_conn()[CACHE]
    basis = _basis(ds)
    doc = None if refresh else collection.find_one(key)
    if doc and doc.get("basis") == basis and "columns" in doc:
        return _kept_table(doc, COLUMNS).assign(computed_at=doc.get("computed_at"))
    return _keep(collection, key, basis, drift(ds, by, reference=reference, baseline=baseline))


def precompute(ds, *, progress=None) -> None:
    """Compute and keep the default drift tables (every ``by``, against earlier batches); the scan calls it."""
    import fiftyone.core.odm as foo

    from datasteward import store

    frame, order, owners, basis = load_frame(ds), store.batch_order(ds), _terms(ds), _basis(ds)
    collection = foo.get_db_conn()[CACHE]
    _keep(collection, {"dataset": ds.name, "by": "_cells", "reference": None, "baseline": None}, basis,
          cell_totals(frame))
    for i, by in enumerate(BY):
        table = compare(frame, by, batch_order=order, owners=owners)
        _keep(collection, {"dataset": ds.name, "by": by, "reference": "earlier", "baseline": None}, basis, table)
        if progress:
            progress(i + 1, len(BY), "drift")


def _keep(collection, key: dict, basis: dict, table: pd.DataFrame) -> pd.DataFrame:
    from datetime import datetime, timezone

    now = datetime.now(timezone.utc).isoformat(timespec="seconds")
    # Kept column by column: a table of thousands of rows decodes several times faster than as row documents.
    columns = {str(c): table[c].astype(object).where(table[c].notna(), None).tolist() for c in table.columns}
    collection.replace_one(key, {**key, "basis": basis, "computed_at": now, "columns": columns}, upsert=True)
    return table.assign(computed_at=now)


def _kept_table(doc: dict, columns: list[str] | None = None) -> pd.DataFrame:
    frame = pd.DataFrame(doc["columns"])
    return frame.reindex(columns=columns) if columns is not None else frame


def alerts(table: pd.DataFrame, *, worse_only: bool = True) -> pd.DataFrame:
    """The drift rows, largest effects first; by default only changes for the worse."""
    hits = table[table["verdict"] == DRIFT]
    if worse_only:
        hits = hits[hits["worse"].fillna(False).astype(bool)]
    return hits.assign(_size=hits["effect"].abs()).sort_values(["p_adjusted", "_size"], ascending=[True, False]) \
        .drop(columns="_size").reset_index(drop=True)


# --------------------------------------------------------------------------- reports
def heatmap_frame(table: pd.DataFrame) -> pd.DataFrame:
    """Long rows for a group x metric heatmap: the effect, with 0 for stable cells and NaN for too little data.

    ``strength`` is the effect divided by its "small effect" minimum, so metrics,
    rates and label mixes share one colour scale (1 = the alert line).
    """
    minimum = table["effect_name"].map(FLOORS)
    strength = (table["effect"].abs() / minimum).where(table["verdict"] != NOT_ENOUGH)
    return table.assign(strength=strength.round(2), p_adjusted=table["p_adjusted"].round(4))[
        ["group", "metric", "kind", "owner", "verdict", "worse", "strength", "effect", "p_adjusted", "n", "n_ref"]]


def to_json(table: pd.DataFrame) -> str:
    """Every comparison as JSON records (NaN as null)."""
    return table.astype(object).where(table.notna(), None).to_json(orient="records", indent=1)


def to_html(table: pd.DataFrame, *, dataset: str, by: str, reference: str) -> str:
    """A self-contained HTML report: the alerts and a group x metric grid of verdicts (no scripts, no downloads)."""
    from html import escape

    hits = alerts(table)
    tested = table[table["verdict"] != NOT_ENOUGH]
    grid = heatmap_frame(table)
    groups = list(dict.fromkeys(grid["group"]))
    metrics = list(dict.fromkeys(grid["metric"]))
    cells = {(r.group, r.metric): r for r in grid.itertuples()}

    def colour(r) -> str:
        if r is None or r.verdict == NOT_ENOUGH:
            return "#eeeeee"
        if r.verdict != DRIFT:
            return "#ffffff"
        return "#d7301f" if r.worse else "#4575b4"

    head = "".join(f"<th class='v'><div>{escape(m)}</div></th>" for m in metrics)
    body = []
    for g in groups:
        tds = []
        for m in metrics:
            r = cells.get((g, m))
            title = "" if r is None else f"{m} in {g}: {r.verdict}, effect {r.effect:.2f}, p adj {r.p_adjusted}"
            tds.append(f"<td style='background:{colour(r)}' title='{escape(title)}'></td>")
        body.append(f"<tr><th>{escape(g)}</th>{''.join(tds)}</tr>")
    alert_rows = "".join(
        f"<tr><td>{escape(str(r.group))}</td><td>{escape(str(r.metric))}</td><td>{escape(str(r.owner))}</td>"
        f"<td>{escape(str(r.reference))}</td><td>{r.value:.3g} vs {r.value_ref:.3g}</td><td>{escape(r.effect_name)} "
        f"{r.effect:.2f}</td><td>{r.p_adjusted:.2g}</td><td>{r.n} / {r.n_ref}</td></tr>"
        for r in hits.itertuples())
    return f"""<!doctype html><html><head><meta charset="utf-8"><title>Drift: {escape(dataset)} by {escape(by)}</title>
<style>body{{font-family:sans-serif;margin:2em}} table{{border-collapse:collapse}} td,th{{border:1px solid #ccc;padding:3px 6px;font-size:12px}}
.grid td{{width:14px;height:14px;padding:0}} th.v{{height:140px;white-space:nowrap;vertical-align:bottom}}
th.v div{{transform:rotate(-60deg);width:14px}} .key span{{display:inline-block;width:12px;height:12px;margin:0 4px 0 12px}}</style></head>
<body><h1>Drift of {escape(dataset)} by {escape(by)}</h1>
<p>Each group against {escape(reference)} references. {len(tested)} comparisons were tested
(Kolmogorov-Smirnov for metrics, two-proportion z for flag rates, chi-square for the label mix), with a
Benjamini-Hochberg adjustment across all of them; a comparison is drift when the adjusted p-value is under
{ALPHA} and the effect is at least small (standardized Wasserstein &ge; {MIN_SHIFT}, Cohen's h &ge; {MIN_H},
PSI &ge; {MIN_PSI}). {int((table['verdict'] == NOT_ENOUGH).sum())} comparisons had too little data.</p>
<h2>Alerts: {len(hits)} changes for the worse</h2>
<table><tr><th>group</th><th>metric</th><th>owner</th><th>reference</th><th>median or rate</th><th>effect</th>
<th>p adj</th><th>n / n ref</th></tr>{alert_rows or "<tr><td colspan=8>none</td></tr>"}</table>
<h2>All comparisons</h2>
<p class="key"><span style="background:#d7301f"></span>drift, worse<span style="background:#4575b4"></span>drift,
better<span style="background:#fff;border:1px solid #ccc"></span>stable<span style="background:#eee"></span>not enough data</p>
<table class="grid"><tr><th></th>{head}</tr>{''.join(body)}</table></body></html>"""
