"""Product's view of the contract: acceptance per batch and language, threshold tuning with live counts, decisions."""

from __future__ import annotations

import re
from pathlib import Path

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
    """Every gate and coverage rule on every batch, pass or fail, with example items.

    The rules are evaluated by :func:`datasteward.gate.evaluate`, exactly as
    ``datasteward gate`` does, on a slim table read from the database (only the
    fields the contract's rules need, and only the open flags).

    Returns
    -------
    DataFrame
        One row per (batch, rule): ``batch``, ``rule``, ``kind`` (``rejection``,
        ``gate`` or ``coverage``), ``value``, ``limit``, ``passed``, ``detail`` and
        ``examples`` (a list of ``{"id", "name", "modality"}`` dicts). Batches in
        delivery order.
    """
    table = _gate_table(ds, contract)
    info = ds.info or {}
    results = gate.evaluate(table, contract, alpha_by_batch=(info.get("scan") or {}).get("alpha_by_batch"),
                            rejected=gate.rejected_batches(ds), batches=store.batch_order(ds))
    by_path = {p: (i, m) for i, p, m in zip(table["id"], table["filepath"], table["modality"])} if len(table) else {}
    coverage = {rule.name for rule in contract.coverage}
    rows = []
    for r in results:
        kind = "rejection" if r.rule == "not rejected" else "coverage" if r.rule in coverage else "gate"
        examples = [{"id": by_path.get(p, (None, None))[0], "name": Path(p).name if p else "",
                     "modality": by_path.get(p, (None, None))[1]} for p in r.examples]
        rows.append({"batch": r.batch, "rule": r.rule, "kind": kind, "value": r.value, "limit": r.limit,
                     "passed": r.passed, "detail": r.detail, "examples": examples})
    return pd.DataFrame(rows, columns=RESULT_COLUMNS)


def _gate_table(ds, contract: Contract) -> pd.DataFrame:
    """The columns :func:`gate.evaluate` reads, one row per sample, projected in the database."""
    project = {"media_path": 1, "batch": 1, "modality": 1,
               "flags": {"$map": {"input": {"$filter": {"input": {"$ifNull": ["$flags", []]},
                                                        "cond": {"$eq": ["$$this.status", "open"]}}},
                                  "in": {"status": "$$this.status", "severity": "$$this.severity"}}}}
    columns: dict[str, str] = {}
    for i, rule in enumerate(contract.coverage):
        name = rule.metric if rule.kind == "share" else rule.by
        if name and _FIELD.fullmatch(name):
            alias = f"c{i}"
            columns[alias] = name
            project[alias] = {"$ifNull": [f"$quality.{name}", f"${name}"]} if rule.kind == "share" else f"${name}"
    docs = list(ds._sample_collection.find({}, project))
    frame = pd.DataFrame({
        "id": [str(d["_id"]) for d in docs], "filepath": [d.get("media_path") for d in docs],
        "batch": [d.get("batch") for d in docs], "modality": [d.get("modality") for d in docs],
        "flags": [d.get("flags") or [] for d in docs],
    })
    for alias, name in columns.items():
        frame[name] = [d.get(alias) for d in docs]
    return frame


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
        key = rule.by if rule.by and _FIELD.fullmatch(rule.by) else None
        cols = ["batch", rule.by or "value", "items", "passed"]
        if key is None:
            return pd.DataFrame(columns=cols)
        pipeline = [{"$match": {**match, key: {"$ne": None}}},
                    {"$group": {"_id": {"batch": "$batch", "value": f"${key}"}, "n": {"$sum": 1}}}]
        rows = [{"batch": d["_id"].get("batch"), key: d["_id"].get("value"), "items": d["n"]}
                for d in ds._sample_collection.aggregate(pipeline)]
        frame = pd.DataFrame(rows, columns=cols[:3])
        frame["passed"] = frame["items"] >= rule.min
        return _in_batch_order(ds, frame, key)
    cols = ["batch", "language", "items", "matching", "share", "passed"]
    if not rule.metric or not _FIELD.fullmatch(rule.metric):
        return pd.DataFrame(columns=cols)
    value = {"$ifNull": [f"$quality.{rule.metric}", f"${rule.metric}"]}
    # Documents hold numbers or nothing; $isNumber keeps a missing metric from counting as 0.
    cond = {"$and": [{"$isNumber": value},
                     {"$lt": [value, rule.below]} if rule.below is not None else {"$gt": [value, rule.above]}]}
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

def score_range(ds, check: str) -> dict:
    """How many items have a stored score for ``check`` (in ``scores.<check>``), and its lowest and highest."""
    REGISTRY[check]  # an unknown check raises, naming the known ones
    field = f"scores.{check}"
    rows = list(ds._sample_collection.aggregate([
        {"$match": {field: {"$type": "number"}}},
        {"$group": {"_id": None, "n": {"$sum": 1}, "lo": {"$min": f"${field}"}, "hi": {"$max": f"${field}"}}}]))
    if not rows:
        return {"scored": 0, "min": None, "max": None}
    return {"scored": int(rows[0]["n"]), "min": float(rows[0]["lo"]), "max": float(rows[0]["hi"])}


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
    """How many items ``check`` would flag at ``threshold``, counted in the database.

    The score is ``scores.<check>``; it fires above or below the threshold as
    the check's ``direction`` says (as a scan decides). With ``language``, only
    that language's items count and ``threshold`` is that language's. Without
    it, ``threshold`` is the check's; languages with their own threshold in
    ``contract`` keep it.
    """
    spec = REGISTRY[check]
    op = "$gt" if spec.direction == "above" else "$lt"
    field = f"scores.{check}"
    if language is not None:
        return ds._sample_collection.count_documents({"language": language, field: {op: float(threshold)}})
    override = (contract or Contract()).checks.get(check)
    own = dict(override.languages) if override else {}
    clauses = [{"language": {"$nin": list(own)}, field: {op: float(threshold)}}]
    clauses += [{"language": lang, field: {op: float(value)}} for lang, value in own.items()]
    return ds._sample_collection.count_documents({"$or": clauses})


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
