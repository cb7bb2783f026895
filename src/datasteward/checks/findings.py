"""Turn check scores into findings: resolve each threshold in one place and echo it back."""

from __future__ import annotations

from typing import Callable

import pandas as pd

from datasteward.checks.registry import Registry

# threshold_for(check_name, language) -> float; the contract supplies it, else the spec's default.
ThresholdFn = Callable[[str, "str | None"], float]

SCORE_COLUMNS = ["id", "check", "score", "detail"]


def default_thresholds(registry: Registry) -> ThresholdFn:
    return lambda name, language=None: registry[name].default_threshold


def decide(scores: pd.DataFrame, registry: Registry, threshold_for: ThresholdFn, languages: pd.Series | None = None) -> pd.DataFrame:
    """Add ``threshold`` and ``fired`` to a long table of scores.

    Parameters
    ----------
    scores : DataFrame
        Columns ``id``, ``check``, ``score`` and optionally ``detail``; one row
        per (sample, check) that was scored.
    languages : Series, optional
        Sample id -> language, for per-language thresholds.

    Returns
    -------
    DataFrame
        ``scores`` plus ``threshold`` (the value used) and ``fired`` (bool).
    """
    out = scores.copy()
    if out.empty:
        return out.assign(threshold=pd.Series(dtype=float), fired=pd.Series(dtype=bool))
    lang = out["id"].map(languages) if languages is not None else pd.Series([None] * len(out), index=out.index)
    keys = pd.DataFrame({"check": out["check"], "language": lang.where(lang.notna(), None)})
    cache: dict[tuple, float] = {}

    def resolve(check: str, language) -> float:
        key = (check, language)
        if key not in cache:
            cache[key] = float(threshold_for(check, language))
        return cache[key]

    out["threshold"] = [resolve(c, l) for c, l in zip(keys["check"], keys["language"])]
    out["fired"] = [registry[c].fires(s, t) for c, s, t in zip(out["check"], out["score"], out["threshold"])]
    return out
