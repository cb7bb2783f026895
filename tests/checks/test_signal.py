"""Phase-2 scores from a metric table: robust z, duplicates, leakage, metadata and transcripts."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from datasteward.checks import REGISTRY
from datasteward.checks.findings import SCORE_COLUMNS, decide, default_thresholds
from datasteward.checks.signal import SPECS, robust_z, signal_scores


def test_robust_z_has_the_known_value():
    z = robust_z(pd.Series([1.0, 2.0, 3.0, 4.0, 100.0]), min_group=5)
    # median 3, MAD 1: z = (x - 3) / 1.4826
    assert z.tolist() == pytest.approx([(x - 3) / 1.4826 for x in (1, 2, 3, 4, 100)])


def test_robust_z_pools_the_spread_of_mid_sized_groups_and_skips_tiny_ones():
    values = pd.Series([1.0, 2.0, 3.0, 4.0, 5.0] * 5 + [10.0, 11.0, 12.0, 13.0, 14.0] + [7.0, 8.0])
    groups = pd.Series(["big"] * 25 + ["mid"] * 5 + ["tiny"] * 2)
    z = robust_z(values, groups, min_group=20, min_median=5)
    assert z[groups == "tiny"].isna().all()
    assert z[25:30].tolist() == pytest.approx([(v - 12) / (1.4826 * 1.0) for v in (10, 11, 12, 13, 14)])


def test_min_scale_keeps_identical_values_from_making_outliers():
    z = robust_z(pd.Series([5.0] * 30 + [5.05]), min_scale=0.25)
    assert z.iloc[-1] == pytest.approx(0.2)


def _images(n: int, rng) -> pd.DataFrame:
    return pd.DataFrame({
        "id": [f"img{i:03d}" for i in range(n)], "modality": "image", "media_error": None, "language": "en",
        "batch": "b1", "vendor": "v", "split": "train", "speaker": None, "transcript": None,
        "content_hash": [f"h{i}" for i in range(n)], "width": 400, "height": 300,
        "brightness_mean": rng.uniform(0.35, 0.6, n), "white_fraction": 0.0, "sharpness": rng.normal(0.25, 0.1, n),
        "contrast": rng.uniform(0.3, 0.6, n), "entropy": 7.0, "saturation_p99": rng.uniform(0.3, 0.9, n),
        "phash": [f"{int(x):016x}" for x in rng.integers(0, 2**62, n)],
    })


@pytest.fixture
def table(rng) -> pd.DataFrame:
    t = _images(40, rng)
    t.loc[5, ["content_hash", "split"]] = ["h2", "test"]          # exact copy of img002, in another split
    t.loc[6, "phash"] = f"{int(t.loc[3, 'phash'], 16) ^ 0b101:016x}"  # 2 bits from img003: a near copy
    t.loc[7, "brightness_mean"] = 0.05                                 # dark
    t.loc[8, ["width", "height"]] = [60, 45]                           # thumbnail
    t.loc[9, ["width", "height"]] = [400, 40]                          # strip
    t.loc[10, "vendor"] = " "                                           # missing metadata
    t.loc[11, ["media_error", "content_hash"]] = ["zero-byte file", "e"]
    t.loc[12, ["media_error", "content_hash"]] = ["zero-byte file", "e"]  # same empty bytes: not a duplicate
    return t


def _fired(scores: pd.DataFrame) -> dict[str, set[str]]:
    found = decide(scores, REGISTRY, default_thresholds(REGISTRY))
    return {c: set(g.loc[g["fired"], "id"]) for c, g in found.groupby("check")}


def test_output_is_long_and_in_units_of_the_specs(table):
    scores = signal_scores(table)
    assert list(scores.columns) == SCORE_COLUMNS
    assert scores["score"].notna().all()
    assert set(scores["check"]) <= {s.name for s in SPECS}
    assert not scores.duplicated(["id", "check"]).any()


def test_synthetic_problems_are_found(table):
    fired = _fired(signal_scores(table))
    assert fired["exact_duplicate"] == {"img005"}
    assert fired["near_duplicate"] == {"img006"}
    assert fired["duplicate_across_splits"] == {"img005"}
    assert fired["dark"] == {"img007"}
    assert fired["odd_size"] == {"img008"}
    assert fired["odd_aspect_ratio"] == {"img009"}
    assert fired["missing_metadata"] == {"img010"}
    assert fired["corrupt_file"] == {"img011", "img012"}


def test_exact_duplicate_names_the_kept_original(table):
    scores = signal_scores(table)
    row = scores[(scores["check"] == "exact_duplicate") & (scores["id"] == "img005")].iloc[0]
    assert row["score"] == 1.0 and "img002" in row["detail"]
    assert scores[(scores["check"] == "exact_duplicate") & (scores["id"] == "img002")]["score"].tolist() == [0.0]


def test_undecodable_files_are_only_corrupt(table):
    scores = signal_scores(table)
    assert set(scores.loc[scores["id"] == "img011", "check"]) == {"corrupt_file", "missing_metadata"}


def test_a_field_nobody_fills_is_not_required(table):
    scores = signal_scores(table.assign(batch=None))
    assert scores.loc[scores["check"] == "missing_metadata", "score"].sum() == 1.0  # only img010's vendor


def _clips(transcripts: list[str], language: str, rng, sr=16000) -> pd.DataFrame:
    n = len(transcripts)
    words = [len(t.split()) for t in transcripts]
    return pd.DataFrame({
        "id": [f"{language}{i:03d}" for i in range(n)], "modality": "audio", "media_error": None,
        "language": language, "batch": "b1", "vendor": "v", "split": "train", "speaker": f"{language}-spk",
        "transcript": transcripts, "content_hash": [f"{language}{i}" for i in range(n)], "sample_rate": sr,
        "channels": 1, "duration": 1.5, "duration_s": 1.5, "speech_s": rng.normal(0.5, 0.02, n) * np.array(words),
        "voiced_s": 1.0, "lead_silence_s": 0.2, "trail_silence_s": 0.3, "silent_fraction": 0.3,
        "speech_level_dbfs": -25.0, "clip_fraction": 0.0, "snr_db": 35.0, "end_drop_db": 30.0,
        "fingerprint": [f"{int(x):016x}" + "0" * 48 for x in rng.integers(0, 2**62, n)],
        "chars": [float(len(t.replace(" ", ""))) for t in transcripts], "words": words,
        "script_mismatch": 0.0, "empty": 0.0,
    })


def test_transcript_duplicates_only_where_transcripts_are_unique(rng):
    digits = "zero one two three four five six seven eight nine".split()
    singles = [digits[i % 10] for i in range(60)]                       # spoken digits repeat by nature
    triples = [" ".join(rng.choice(digits, 3)) for _ in range(40)]
    triples = list(dict.fromkeys(triples))[:30]
    triples.append(triples[4])                                         # one repeated 3-word transcript
    t = pd.concat([_clips(singles, "en", rng), _clips(triples, "sw", rng)], ignore_index=True)
    fired = _fired(signal_scores(t))
    assert fired.get("transcript_duplicate") == {t["id"].iloc[-1]}


def test_sample_rate_and_channels_against_the_dataset_mode(rng):
    t = _clips(["one two"] * 30, "en", rng)
    t.loc[3, "sample_rate"] = 8000
    t.loc[4, "channels"] = 2
    scores = signal_scores(t).set_index(["id", "check"])["score"]
    assert scores[("en003", "sample_rate_mismatch")] == pytest.approx(1.0)  # one octave
    assert scores[("en004", "channel_mismatch")] == 1.0
    assert scores[("en005", "sample_rate_mismatch")] == 0.0


def test_empty_table_gives_empty_scores():
    assert list(signal_scores(pd.DataFrame()).columns) == SCORE_COLUMNS
