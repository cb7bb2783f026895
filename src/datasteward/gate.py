"""The acceptance gate: evaluate the contract's rules for each batch, with example items for every failure."""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from datasteward.contract import Contract, CoverageRule

EXAMPLES = 5


@dataclass
class RuleResult:
    """One rule on one batch."""

    batch: str
    rule: str
    value: float | None
    limit: float | None
    passed: bool
    detail: str = ""
    examples: list[str] = field(default_factory=list)


def evaluate(table: pd.DataFrame, contract: Contract, *, alpha_by_batch: dict | None = None,
             rejected: dict | None = None, batches: list[str] | None = None) -> list[RuleResult]:
    """Evaluate every gate and coverage rule for each batch.

    Parameters
    ----------
    table : DataFrame
        One row per sample with ``id``, ``filepath``, ``batch``, ``modality``,
        ``flags`` (list of dicts), metadata columns and metric columns.
    alpha_by_batch : dict, optional
        Krippendorff's alpha per batch, from the last scan.
    rejected : dict, optional
        Batch -> rejection record (``reason``, ``by``, ``at``); a rejected batch fails.
    batches : list of str, optional
        Only these batches (default: all, in the table's order).
    """
    alpha_by_batch = alpha_by_batch or {}
    rejected = rejected or {}
    names = batches or list(dict.fromkeys(table["batch"].dropna()))
    results: list[RuleResult] = []
    for batch in names:
        part = table[table["batch"] == batch]
        if batch in rejected:
            r = rejected[batch]
            results.append(RuleResult(batch, "not rejected", None, None, False,
                                      f"rejected by {r.get('by')} at {r.get('at')}: {r.get('reason')}"))
        results.extend(_flag_rules(batch, part, contract))
        if "min_agreement" in contract.gate:
            alpha = alpha_by_batch.get(batch)
            limit = contract.gate["min_agreement"]
            results.append(RuleResult(batch, "min_agreement", alpha, limit, alpha is None or alpha >= limit,
                                      "no items with several annotators" if alpha is None else "Krippendorff's alpha"))
        if "min_samples" in contract.gate:
            limit = contract.gate["min_samples"]
            results.append(RuleResult(batch, "min_samples", float(len(part)), limit, len(part) >= limit))
        for rule in contract.coverage:
            results.append(_coverage(batch, part, rule))
    return results


def _flag_rules(batch: str, part: pd.DataFrame, contract: Contract) -> list[RuleResult]:
    out = []
    for key, severities in (("max_open_high_rate", {"high"}), ("max_open_rate", {"low", "medium", "high"})):
        if key not in contract.gate:
            continue
        hit = part[[any(f.get("status") == "open" and f.get("severity") in severities for f in (fl or []))
                    for fl in part["flags"]]]
        rate = len(hit) / len(part) if len(part) else 0.0
        limit = contract.gate[key]
        out.append(RuleResult(batch, key, rate, limit, rate <= limit,
                              f"{len(hit)} of {len(part)} samples have open {'high-severity ' if key.endswith('high_rate') else ''}flags",
                              list(hit["filepath"].head(EXAMPLES))))
    return out


def _coverage(batch: str, part: pd.DataFrame, rule: CoverageRule) -> RuleResult:
    if rule.modality:
        part = part[part["modality"] == rule.modality]
    if rule.kind == "share":
        values = pd.to_numeric(part.get(rule.metric, pd.Series(dtype=float)), errors="coerce")
        match = values < rule.below if rule.below is not None else values > rule.above
        share = float(match.mean()) if len(part) else 0.0
        cond = f"{rule.metric} {'<' if rule.below is not None else '>'} {rule.below if rule.below is not None else rule.above}"
        return RuleResult(batch, rule.name, share, rule.min, share >= rule.min,
                          f"{int(match.sum())} of {len(part)} items have {cond}", list(part[match]["filepath"].head(EXAMPLES)))
    counts = part[rule.by].dropna().value_counts() if rule.by in part else pd.Series(dtype=int)
    short = counts[counts < rule.min]
    examples = list(part[part[rule.by].isin(short.index)]["filepath"].head(EXAMPLES)) if len(short) else []
    detail = ", ".join(f"{k}: {v}" for k, v in short.items()) or f"every {rule.by} has at least {rule.min:g}"
    lowest = float(counts.min()) if len(counts) else 0.0
    return RuleResult(batch, rule.name, lowest, rule.min, len(counts) > 0 and short.empty, detail, examples)


def run_gate(name: str, *, batch: str | None = None, contract: str | None = None) -> list[RuleResult]:
    """Evaluate the gate for a stored dataset, using its remembered contract unless one is given."""
    from datasteward import exports, store
    from datasteward.checks import REGISTRY
    from datasteward.contract import load_contract
    from datasteward.errors import DataStewardError

    ds = store.open_dataset(name)
    info = ds.info or {}
    terms = load_contract(contract or info.get("contract"), REGISTRY)
    table = exports.samples_table(ds, with_flags=True)
    order = store.batch_order(ds)
    if batch is not None and batch not in order:
        raise DataStewardError(f"no batch {batch!r} in {name} (batches: {', '.join(order)})")
    return evaluate(table, terms, alpha_by_batch=(info.get("scan") or {}).get("alpha_by_batch"),
                    rejected=info.get("rejected_batches"), batches=[batch] if batch else order)


# --- batch rejection -----------------------------------------------------------

def rejected_batches(ds) -> dict[str, dict]:
    """Batch -> rejection record (``reason``, ``by``, ``at``) of the batches rejected by hand."""
    return dict((ds.info or {}).get("rejected_batches") or {})


def require_editor(actor, what: str) -> None:
    """Refuse ``actor`` unless their role may change the dataset's decisions (not a viewer)."""
    from datasteward.errors import AccessDenied

    try:
        actor.require(what)
    except AccessDenied:
        raise AccessDenied(f"{actor.name} is a {actor.role} and cannot {what}") from None


def reject_batch(ds, batch: str, reason: str, actor) -> dict:
    """Reject a whole batch with a reason: the gate fails it until :func:`unreject_batch`.

    The rejection is stored in ``ds.info["rejected_batches"]`` and recorded in
    the history with who did it. Returns the rejection record.

    Raises
    ------
    AccessDenied
        If ``actor`` is a viewer.
    DataStewardError
        If the batch is unknown or the reason is empty.
    """
    from datetime import datetime, timezone

    from datasteward import review, store
    from datasteward.errors import DataStewardError

    require_editor(actor, "reject batches")
    if not reason or not reason.strip():
        raise DataStewardError(f"rejecting batch {batch!r} needs a reason")
    order = store.batch_order(ds)
    if batch not in order:
        raise DataStewardError(f"no batch {batch!r} in {ds.name} (batches: {', '.join(order)})")
    record = {"reason": reason.strip(), "by": actor.name,
              "at": datetime.now(timezone.utc).isoformat(timespec="seconds")}
    store.set_info_entry(ds, "rejected_batches", batch, record)  # atomic: a rejection made meanwhile is kept
    review.log_event(ds, actor, "reject_batch", record["reason"], batch=batch)
    return record


def unreject_batch(ds, batch: str, actor) -> dict:
    """Lift the rejection of ``batch``; returns the record that was removed.

    Raises
    ------
    AccessDenied
        If ``actor`` is a viewer.
    DataStewardError
        If the batch is not rejected.
    """
    from datasteward import review, store
    from datasteward.errors import DataStewardError

    require_editor(actor, "lift batch rejections")
    ds.reload()
    current = rejected_batches(ds)
    if batch not in current:
        raise DataStewardError(f"batch {batch!r} of {ds.name} is not rejected")
    record = current[batch]
    store.set_info_entry(ds, "rejected_batches", batch, None)
    review.log_event(ds, actor, "unreject_batch", f"lifted: {record.get('reason')}", batch=batch)
    return record
