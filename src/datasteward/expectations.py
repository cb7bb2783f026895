"""Product's view of the contract: acceptance per batch and language, threshold tuning with live counts, decisions."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from datasteward import gate, review, store
from datasteward.checks import REGISTRY
from datasteward.contract import Contract, CoverageRule, load_contract, save_thresholds
from datasteward.errors import DataStewardError

RESULT_COLUMNS = ["batch", "rule", "kind", "value", "limit", "passed", "detail", "examples"]
DECISIONS = ("save_threshold", "reject_batch", "unreject_batch")
GATE_RULES = {
    "max_open_high_rate": "at most this share of the batch's samples with open high-severity flags",
    "max_open_rate": "at most this share of the batch's samples with any open flag",
    "min_agreement": "Krippendorff's alpha among the batch's annotators at least this",
    "min_samples": "at least this many samples in the batch",
}
# A metric or field named in a contract becomes a MongoDB field path only if it is a plain name.
_FIELD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def contract_path(ds) -> str | None:
    """The contract file remembered for the dataset (set by a scan, the demo or a save here)."""
    return (ds.info or {}).get("contract")


# --- acceptance per batch --------------------------------------------------------

def acceptance(ds, contract: Contract) -> pd.DataFrame:
    """Every gate and coverage rule on every batch, pass or fail, with example items of the failures.

    Counted in the database by :func:`evaluate`, with the rules of
    :func:`datasteward.gate.evaluate` (what ``datasteward gate`` runs).

    Returns
    -------
    DataFrame
        One row per (batch, rule): ``batch``, ``rule``, ``kind`` (``rejection``,
        ``gate`` or ``coverage``), ``value``, ``limit``, ``passed``, ``detail`` and
        ``examples`` (a list of ``{"id", "name", "modality"}`` dicts, for failing
        rules). Batches in delivery order.
    """
    coverage = {rule.name for rule in contract.coverage}
    rows = []
    for r in evaluate(ds, contract):
        kind = "rejection" if r.rule == "not rejected" else "coverage" if r.rule in coverage else "gate"
        rows.append({"batch": r.batch, "rule": r.rule, "kind": kind, "value": r.value, "limit": r.limit,
                     "passed": r.passed, "detail": r.detail, "examples": r.examples})
    return pd.DataFrame(rows, columns=RESULT_COLUMNS)


def evaluate(ds, contract: Contract, *, batches: list[str] | None = None) -> list[gate.RuleResult]:
    """:func:`datasteward.gate.evaluate` for a stored dataset, counted in MongoDB instead of a table in memory.

    The same rules, values, limits and details; ``examples`` are given for
    failing rules only, as ``{"id", "name", "modality"}`` dicts (up to
    :data:`gate.EXAMPLES`, in the dataset's order), so a page can link them.
    """
    info = ds.info or {}
    alpha_by_batch = (info.get("scan") or {}).get("alpha_by_batch") or {}
    rejected = gate.rejected_batches(ds)
    names = batches or store.batch_order(ds)
    totals = _batch_counts(ds, contract)
    by_value = {i: _counts_by(ds, rule) for i, rule in enumerate(contract.coverage) if rule.kind == "min_count"}
    results: list[gate.RuleResult] = []
    for batch in names:
        t = totals.get(batch, {})
        n = t.get("n", 0)
        if batch in rejected:
            r = rejected[batch]
            results.append(gate.RuleResult(batch, "not rejected", None, None, False,
                                           f"rejected by {r.get('by')} at {r.get('at')}: {r.get('reason')}"))
        for key, severities in (("max_open_high_rate", ["high"]), ("max_open_rate", ["low", "medium", "high"])):
            if key not in contract.gate:
                continue
            hits = t.get(key, 0)
            rate = hits / n if n else 0.0
            high = "high-severity " if key == "max_open_high_rate" else ""
            results.append(gate.RuleResult(batch, key, rate, contract.gate[key], rate <= contract.gate[key],
                                           f"{hits} of {n} samples have open {high}flags"))
            if not results[-1].passed:
                results[-1].examples = _examples(ds, {"batch": batch, "flags": {"$elemMatch": {
                    "status": "open", "severity": {"$in": severities}}}})
        if "min_agreement" in contract.gate:
            alpha, limit = alpha_by_batch.get(batch), contract.gate["min_agreement"]
            results.append(gate.RuleResult(batch, "min_agreement", alpha, limit, alpha is None or alpha >= limit,
                                           "no items with several annotators" if alpha is None else "Krippendorff's alpha"))
        if "min_samples" in contract.gate:
            limit = contract.gate["min_samples"]
            results.append(gate.RuleResult(batch, "min_samples", float(n), limit, n >= limit))
        for i, rule in enumerate(contract.coverage):
            if rule.kind == "share":
                results.append(_share(ds, batch, rule, t.get(f"n{i}", 0), t.get(f"m{i}", 0)))
            else:
                results.append(_min_count(ds, batch, rule, by_value[i].get(batch, {})))
    return results


def _value(name: str) -> dict:
    """A per-item metric as the export has it: ``quality.<name>``, else a top-level field of that name."""
    return {"$ifNull": [f"$quality.{name}", f"${name}"]}


def _share_condition(rule: CoverageRule) -> dict | None:
    """The aggregation expression of a share rule's condition; None if its metric is not a plain name."""
    if not rule.metric or not _FIELD.fullmatch(rule.metric):
        return None
    value = _value(rule.metric)
    # $isNumber keeps a missing metric from counting (the gate reads it as NaN, which matches nothing).
    return {"$and": [{"$isNumber": value},
                     {"$lt": [value, rule.below]} if rule.below is not None else {"$gt": [value, rule.above]}]}


def _batch_counts(ds, contract: Contract) -> dict[str, dict]:
    """Per batch, in one pass: samples, items with open (high-severity) flags, and each share rule's counts."""
    def has_open(severities: list[str]) -> dict:
        return {"$anyElementTrue": [{"$map": {"input": {"$ifNull": ["$flags", []]}, "in": {"$and": [
            {"$eq": ["$$this.status", "open"]}, {"$in": ["$$this.severity", severities]}]}}}]}

    group: dict = {"_id": "$batch", "n": {"$sum": 1},
                   "max_open_high_rate": {"$sum": {"$cond": [has_open(["high"]), 1, 0]}},
                   "max_open_rate": {"$sum": {"$cond": [has_open(["low", "medium", "high"]), 1, 0]}}}
    for i, rule in enumerate(contract.coverage):
        inside = {"$eq": ["$modality", rule.modality]} if rule.modality else True
        group[f"n{i}"] = {"$sum": {"$cond": [inside, 1, 0]}}
        cond = _share_condition(rule) if rule.kind == "share" else None
        if cond is not None:
            group[f"m{i}"] = {"$sum": {"$cond": [{"$and": [inside, cond]}, 1, 0]}}
    return {d["_id"]: d for d in ds._sample_collection.aggregate([{"$group": group}], allowDiskUse=True)}


def _scope(batch: str, rule: CoverageRule) -> dict:
    return {"batch": batch, **({"modality": rule.modality} if rule.modality else {})}


def _share(ds, batch: str, rule: CoverageRule, n: int, matching: int) -> gate.RuleResult:
    share = matching / n if n else 0.0
    cond = f"{rule.metric} {'<' if rule.below is not None else '>'} {rule.below if rule.below is not None else rule.above}"
    result = gate.RuleResult(batch, rule.name, share, rule.min, share >= rule.min, f"{matching} of {n} items have {cond}")
    expr = _share_condition(rule)
    if not result.passed and expr is not None:
        result.examples = _examples(ds, {**_scope(batch, rule), "$expr": expr})
    return result


def _min_count(ds, batch: str, rule: CoverageRule, counts: dict) -> gate.RuleResult:
    short = {k: v for k, v in counts.items() if v < rule.min}
    detail = ", ".join(f"{k}: {v}" for k, v in short.items()) or f"every {rule.by} has at least {rule.min:g}"
    lowest = float(min(counts.values())) if counts else 0.0
    result = gate.RuleResult(batch, rule.name, lowest, rule.min, bool(counts) and not short, detail)
    if short:
        result.examples = _examples(ds, {**_scope(batch, rule), rule.by: {"$in": list(short)}})
    return result


def _counts_by(ds, rule: CoverageRule) -> dict[str, dict]:
    """Batch -> {value of ``rule.by``: items}, most first, within the rule's modality (missing values left out)."""
    if not rule.by or not _FIELD.fullmatch(rule.by):
        return {}
    match = {rule.by: {"$ne": None}, **({"modality": rule.modality} if rule.modality else {})}
    rows = ds._sample_collection.aggregate([{"$match": match},
                                            {"$group": {"_id": {"batch": "$batch", "value": f"${rule.by}"}, "n": {"$sum": 1}}},
                                            {"$sort": {"n": -1, "_id.value": 1}}])
    out: dict[str, dict] = {}
    for d in rows:
        out.setdefault(d["_id"].get("batch"), {})[d["_id"].get("value")] = d["n"]
    return out


def _examples(ds, query: dict) -> list[dict]:
    docs = ds._sample_collection.find(query, {"media_path": 1, "modality": 1}).sort("_id", 1).limit(gate.EXAMPLES)
    return [{"id": str(d["_id"]), "name": Path(d.get("media_path") or "").name, "modality": d.get("modality")}
            for d in docs]


def describe(contract: Contract, rule: str) -> str:
    """What a rule asks, in words, for the table's tooltip and the page."""
    if rule == "not rejected":
        return "the batch has not been rejected by hand"
    if rule in GATE_RULES:
        return GATE_RULES[rule]
    for cov in contract.coverage:
        if cov.name == rule:
            if cov.description:
                return cov.description
            if cov.kind == "share":
                cond = f"below {cov.below:g}" if cov.below is not None else f"above {cov.above:g}"
                return f"at least {cov.min:.0%} of {cov.modality or 'all'} items with {cov.metric} {cond}"
            return f"every {cov.by} in the batch has at least {cov.min:g} {cov.modality or ''} items"
    return ""


def coverage_breakdown(ds, rule: CoverageRule) -> pd.DataFrame:
    """A coverage rule per batch and per language (or per ``by`` value for a count rule), counted in the database.

    For a ``share`` rule: ``batch``, ``language``, ``items``, ``matching``,
    ``share`` and ``passed`` (``share >= min``). For a ``min_count`` rule:
    ``batch``, the ``by`` field, ``items`` and ``passed`` (``items >= min``).
    """
    match = {"modality": rule.modality} if rule.modality else {}
    if rule.kind == "min_count":
        key = rule.by or "value"
        rows = [{"batch": b, key: v, "items": n} for b, counts in _counts_by(ds, rule).items() for v, n in counts.items()]
        frame = pd.DataFrame(rows, columns=["batch", key, "items"])
        frame["passed"] = frame["items"] >= rule.min
        return _in_batch_order(ds, frame, key)
    cols = ["batch", "language", "items", "matching", "share", "passed"]
    cond = _share_condition(rule)
    if cond is None:
        return pd.DataFrame(columns=cols)
    pipeline = [{"$match": match},
                {"$group": {"_id": {"batch": "$batch", "language": "$language"}, "n": {"$sum": 1},
                            "m": {"$sum": {"$cond": [cond, 1, 0]}}}}]
    rows = [{"batch": d["_id"].get("batch"), "language": d["_id"].get("language") or store.MISSING,
             "items": d["n"], "matching": d["m"]} for d in ds._sample_collection.aggregate(pipeline)]
    frame = pd.DataFrame(rows, columns=cols[:4])
    frame["share"] = (frame["matching"] / frame["items"]).astype(float)
    frame["passed"] = frame["share"] >= rule.min
    return _in_batch_order(ds, frame, "language")


def _in_batch_order(ds, frame: pd.DataFrame, second: str) -> pd.DataFrame:
    rank = {b: i for i, b in enumerate(store.batch_order(ds))}
    frame = frame.assign(_rank=frame["batch"].map(lambda b: rank.get(b, len(rank))))
    return frame.sort_values(["_rank", second]).drop(columns="_rank").reset_index(drop=True)


# --- threshold tuning --------------------------------------------------------------

def score_values(ds, check: str) -> dict[str, np.ndarray]:
    """Every stored score of ``check`` (``scores.<check>``), sorted, per language (``store.MISSING`` for none).

    Kept in the database until the dataset next changes (:func:`store.kept`), so
    that the threshold slider counts by binary search instead of reading 100,000
    samples on every move, and a fresh server reads them rather than computing them.
    """
    REGISTRY[check]  # an unknown check raises, naming the known ones
    pairs = store.kept(ds, f"score_values:{check}", lambda d: _score_values(d, [check])[check])
    return {language: np.frombuffer(raw, dtype=np.float64) for language, raw in pairs}


def keep_score_values(ds, checks=None) -> None:
    """Compute :func:`score_values` for every check (or ``checks``) in one pass, and keep them."""
    checks = sorted(REGISTRY) if checks is None else list(checks)
    computed = _score_values(ds, checks)
    for check in checks:
        store.kept(ds, f"score_values:{check}", lambda d, check=check: computed[check])


def _score_values(ds, checks: list[str]) -> dict[str, list[tuple[str, bytes]]]:
    """Per check, ``(language, sorted float64 bytes)`` pairs: a list, since a language may not be a valid key."""
    found: dict[str, dict[str, list[float]]] = {c: {} for c in checks}
    projection = {"language": 1, **{f"scores.{c}": 1 for c in checks}}
    query = {"$or": [{f"scores.{c}": {"$type": "number"}} for c in checks]}
    for doc in ds._sample_collection.find(query, projection):
        language = doc.get("language")
        language = store.MISSING if language is None else str(language)
        scores = doc.get("scores") or {}
        for check in checks:
            value = scores.get(check)
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                found[check].setdefault(language, []).append(float(value))
    return {c: [(language, np.sort(np.asarray(v, dtype=np.float64)).tobytes()) for language, v in sorted(per.items())]
            for c, per in found.items()}


def score_range(ds, check: str) -> dict:
    """How many items have a stored score for ``check`` (in ``scores.<check>``), and its lowest and highest."""
    values = [v for v in score_values(ds, check).values() if v.size]
    if not values:
        return {"scored": 0, "min": None, "max": None}
    return {"scored": sum(v.size for v in values), "min": float(min(v[0] for v in values)),
            "max": float(max(v[-1] for v in values))}


def slider_range(lo: float, hi: float, current: float, *, steps: int = 200) -> tuple[float, float, float]:
    """Bounds and step for a threshold slider covering the scores and the current threshold.

    The step is a power of ten near ``(hi - lo) / steps``, and the bounds are
    rounded outwards to it, so the slider shows round numbers.
    """
    import math

    lo, hi = min(lo, current), max(hi, current)
    if hi - lo <= 0:
        lo, hi = lo - 1.0, hi + 1.0
    power = math.floor(math.log10((hi - lo) / steps))
    step, digits = 10.0 ** power, max(0, -power)
    return round(math.floor(lo / step) * step, digits), round(math.ceil(hi / step) * step, digits), round(step, digits)


def would_flag(ds, check: str, threshold: float, *, language: str | None = None,
               contract: Contract | None = None) -> int:
    """How many items ``check`` would flag at ``threshold``: a binary search in :func:`score_values`.

    The score is ``scores.<check>``; it fires above or below the threshold as
    the check's ``direction`` says (as a scan decides). With ``language``, only
    that language's items count and ``threshold`` is that language's. Without
    it, ``threshold`` is the check's; languages with their own threshold in
    ``contract`` keep it.
    """
    spec = REGISTRY[check]
    values = score_values(ds, check)
    above = spec.direction == "above"

    def fired(scores: np.ndarray, limit: float) -> int:  # strictly beyond the threshold, as a scan decides
        cut = np.searchsorted(scores, float(limit), side="right" if above else "left")
        return int(scores.size - cut if above else cut)

    if language is not None:
        return fired(values.get(language, np.zeros(0)), threshold)
    override = (contract or Contract()).checks.get(check)
    own = dict(override.languages) if override else {}
    return sum(fired(scores, own.get(lang, threshold)) for lang, scores in values.items())


def save_threshold(ds, check: str, value: float, actor, *, language: str | None = None,
                   path: str | Path | None = None) -> dict:
    """Write a check's threshold (or one language's) into the contract file and record who did it.

    The file is the one given, else the dataset's contract; a file given here
    becomes the dataset's contract, so the next scan and ``datasteward gate``
    use it. Returns the history entry.

    Raises
    ------
    AccessDenied
        If ``actor`` is a viewer.
    DataStewardError
        If no contract file is known or given.
    InputError
        If the existing file is not a valid contract.
    """
    spec = REGISTRY[check]
    gate.require_editor(actor, "save thresholds")
    target = Path(path) if path else (Path(contract_path(ds)) if contract_path(ds) else None)
    if target is None:
        raise DataStewardError(f"{ds.name} has no contract file yet: give a path to write one")
    before = load_contract(target if target.exists() else None, REGISTRY).threshold(spec, language)
    if language is None:
        save_thresholds(target, {check: value})
    else:
        save_thresholds(target, {}, languages={check: {language: value}})
    load_contract(target, REGISTRY)  # what was written must read back
    if str(target) != contract_path(ds):
        store.set_info(ds, "contract", str(target))
    where = f" for {language}" if language else ""
    return review.log_event(ds, actor, "save_threshold", f"{check}{where}: {before:g} -> {value:g}", check=check,
                            language=language, threshold=float(value), previous=float(before), contract=str(target))


def item_link(dataset: str, example: dict) -> str:
    """A relative URL of the Images or Audio page showing one example item."""
    from urllib.parse import urlencode

    page = "audio" if example.get("modality") == "audio" else "images"
    return f"{page}?" + urlencode({"dataset": dataset, "item": example.get("id") or ""})


def decisions(ds, *, limit: int = 50) -> pd.DataFrame:
    """The dataset's latest threshold saves and batch rejections, newest first: who, when, what."""
    cursor = (review.history_collection(ds).find({"dataset": ds.name, "sample_id": None, "action": {"$in": list(DECISIONS)}})
              .sort("when", -1).limit(limit))
    cols = ["when", "who", "role", "action", "batch", "check", "language", "note"]
    frame = pd.DataFrame([{c: d.get(c) for c in cols} for d in cursor], columns=cols).astype(object)
    return frame.where(frame.notna(), None)
