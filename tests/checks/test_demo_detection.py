"""End to end on the bundled demo: every signal check meets its precision and recall bar."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def evaluation():
    # Imported by name so the decoding pool's workers can unpickle its functions.
    sys.path.insert(0, str(REPO / "benchmarks"))
    try:
        module = importlib.import_module("evaluate_signal")
    finally:
        sys.path.remove(str(REPO / "benchmarks"))
    result, _, _ = module.run(jobs=2)
    return result.set_index("check"), module.BARS


@pytest.mark.slow
@pytest.mark.parametrize("check", [
    "dark", "overexposed", "blurry", "exact_duplicate", "near_duplicate", "duplicate_across_splits", "corrupt_file",
    "clipping", "silence", "low_snr", "too_quiet", "duration_outlier", "sample_rate_mismatch", "channel_mismatch",
    "empty_transcript", "script_mismatch", "speech_rate_outlier", "transcript_duplicate"])
def test_check_meets_its_bar_on_the_demo(evaluation, check):
    result, bars = evaluation
    precision_bar, recall_bar = bars[check]
    row = result.loc[check]
    assert row["recall"] >= recall_bar, f"{check}: recall {row['recall']:.2f} ({row['TP']} of {row['positives']})"
    assert row["precision"] >= precision_bar, f"{check}: precision {row['precision']:.2f} ({row['flagged']} flagged)"
