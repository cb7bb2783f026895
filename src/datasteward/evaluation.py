"""Score a scan's flags against a ground-truth file of injected problems: precision and recall per check."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

# Checks whose ground truth names the other member of a pair (`original=`, `donor=`):
# flagging that member instead is the same finding.
PAIRED = frozenset({"exact_duplicate", "near_duplicate", "duplicate_across_splits", "transcript_duplicate"})

# (precision, recall) bars. Signal-level problems must be found reliably; semantic
# problems (flipped labels, wrong transcripts) at 0.5 each.
SIGNAL_BAR, SEMANTIC_BAR = (0.8, 0.9), (0.5, 0.5)
SIGNAL_CHECKS = ("dark", "overexposed", "blurry", "exact_duplicate", "near_duplicate", "duplicate_across_splits",
                 "corrupt_file", "clipping", "silence", "low_snr", "too_quiet", "duration_outlier",
                 "sample_rate_mismatch", "channel_mismatch", "empty_transcript", "script_mismatch")
SEMANTIC_CHECKS = ("model_disagreement", "label_outlier", "speech_rate_outlier", "transcript_duplicate")


def load_ground_truth(root: Path) -> pd.DataFrame:
    """``filepath, check, problem, detail`` rows, file paths relative to ``root``."""
    return pd.read_csv(Path(root) / "ground_truth.csv", dtype=str, keep_default_na=False)


def fired_flags(flags: pd.DataFrame, root: Path) -> pd.DataFrame:
    """``id`` (file path relative to ``root``) and ``check`` for every flag a scan raised."""
    prefix = str(Path(root).resolve()) + "/"
    return pd.DataFrame({"id": flags["filepath"].str.removeprefix(prefix), "check": flags["check"]})


def score_checks(fired: pd.DataFrame, truth: pd.DataFrame, checks) -> pd.DataFrame:
    """Positives, flagged, true positives, precision and recall for each check.

    Parameters
    ----------
    fired : DataFrame
        ``id`` and ``check`` of each raised flag.
    truth : DataFrame
        The ground-truth rows (``filepath``, ``check``, ``detail``).
    """
    partner = truth.assign(other=truth["detail"].str.extract(r"(?:original|donor)=([^;]+)")[0])
    rows = []
    for check in checks:
        positives = set(truth.loc[truth["check"] == check, "filepath"])
        flagged = set(fired.loc[fired["check"] == check, "id"])
        pairs = partner[(partner["check"] == check) & partner["other"].notna()] if check in PAIRED else partner.iloc[:0]
        mate = dict(zip(pairs["other"], pairs["filepath"]))
        hits = {mate.get(f, f) for f in flagged} & positives
        good = {f for f in flagged if f in positives or f in mate}
        rows.append({"check": check, "positives": len(positives), "flagged": len(flagged), "TP": len(good),
                     "precision": len(good) / len(flagged) if flagged else float("nan"),
                     "recall": len(hits) / len(positives) if positives else float("nan")})
    return pd.DataFrame(rows).set_index("check")


def random_baseline(candidates: list[str], n: int, positives: set[str], *, draws: int = 200, seed: int = 0) -> tuple[float, float]:
    """Mean precision and recall of flagging ``n`` of ``candidates`` at random."""
    if not candidates or n == 0:
        return float("nan"), 0.0
    rng = np.random.default_rng(seed)
    hits = [len(positives & set(rng.choice(candidates, size=min(n, len(candidates)), replace=False))) for _ in range(draws)]
    return float(np.mean(hits)) / n, float(np.mean(hits)) / max(len(positives), 1)
