#!/usr/bin/env python
"""Score the signal checks against the demo's ground truth, without the store.

Decodes every item of ``sample_data/manifest.csv`` with :mod:`datasteward.media`,
computes the phase-1 metrics, runs :func:`datasteward.checks.signal.signal_scores`
and the default thresholds, and prints per check: positives, flagged, true
positives, precision and recall. Usage::

    .venv/bin/python benchmarks/evaluate_signal.py [--jobs 2]
"""
from __future__ import annotations

import argparse
import sys
import time
from multiprocessing import Pool
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO / "sample_data"
sys.path.insert(0, str(REPO / "src"))

from datasteward import media  # noqa: E402
from datasteward.checks import audio, image, text  # noqa: E402
from datasteward.checks.findings import decide, default_thresholds  # noqa: E402
from datasteward.checks.registry import Registry  # noqa: E402
from datasteward.checks.signal import SPECS, signal_scores  # noqa: E402
from datasteward.errors import MediaError  # noqa: E402

# Checks whose ground truth names the other member of a pair (``original=``,
# ``donor=``); flagging that member instead is the same finding.
PAIRED = {"exact_duplicate", "near_duplicate", "duplicate_across_splits", "transcript_duplicate"}
# A flag on an item listed under another problem that is the same defect seen
# from another side: a clip cut short has too many letters per second.
SAME_PROBLEM: dict[str, set[str]] = {}
BARS = {c: (0.8, 0.9) for c in (
    "dark", "overexposed", "blurry", "exact_duplicate", "near_duplicate", "duplicate_across_splits", "corrupt_file",
    "clipping", "silence", "low_snr", "too_quiet", "duration_outlier", "sample_rate_mismatch", "channel_mismatch",
    "empty_transcript", "script_mismatch")} | {"speech_rate_outlier": (0.5, 0.5), "transcript_duplicate": (0.5, 0.5)}
GOALS = {c: (0.8, 0.9) for c in ("low_information", "odd_size", "odd_aspect_ratio", "grayscale", "missing_metadata")}


def measure(path: str) -> dict:
    """Decode one file and compute its phase-1 metrics (worker)."""
    row: dict = {"modality": media.modality_of(path), "media_error": None}
    timing = {}
    try:
        row["content_hash"] = media.content_hash(path)
        if row["modality"] == "image":
            im, info = media.load_image(path)
            rgb = np.asarray(im.convert("RGB"))
            t0 = time.perf_counter()
            row.update(image.image_metrics(rgb))
            row["phash"] = image.perceptual_hash(rgb)
            timing["metrics_s"] = time.perf_counter() - t0
            row.update(width=info.width, height=info.height)
        elif row["modality"] == "audio":
            y, info = media.load_audio(path)
            t0 = time.perf_counter()
            row.update(audio.audio_metrics(y, info.sample_rate))
            row["fingerprint"] = audio.audio_fingerprint(y, info.sample_rate)
            timing["metrics_s"] = time.perf_counter() - t0
            row.update(sample_rate=info.sample_rate, channels=info.channels, duration=info.duration)
        else:
            row["media_error"] = "not an image or audio file"
    except MediaError as exc:
        row["media_error"] = exc.reason
    return row | timing


def build_table(root: Path = SAMPLE, *, jobs: int = 2) -> pd.DataFrame:
    """One row per manifest item: metadata from its first row, metrics from its file."""
    manifest = pd.read_csv(root / "manifest.csv", dtype=str, keep_default_na=False)
    items = manifest.drop_duplicates("filepath").reset_index(drop=True)
    paths = [str(root / fp) for fp in items["filepath"]]
    with Pool(jobs) as pool:
        rows = pool.map(measure, paths, chunksize=16)
    table = pd.DataFrame(rows)
    table.insert(0, "id", items["filepath"])
    for col in ("language", "batch", "vendor", "split", "speaker", "transcript"):
        table[col] = items[col].replace("", None)
    words = pd.DataFrame([text.transcript_metrics(x, lang) for x, lang in zip(table["transcript"], table["language"])])
    return pd.concat([table, words], axis=1)


def evaluate(fired: pd.DataFrame, truth: pd.DataFrame) -> pd.DataFrame:
    """Positives, flagged, true positives, precision and recall per signal check."""
    partner = truth.assign(other=truth["detail"].str.extract(r"(?:original|donor)=([^;]+)")[0])
    rows = []
    for spec in SPECS:
        check = spec.name
        positives = set(truth.loc[truth["check"] == check, "filepath"])
        flagged = set(fired.loc[(fired["check"] == check) & fired["fired"], "id"])
        pairs = partner[(partner["check"] == check) & partner["other"].notna()] if check in PAIRED else partner.iloc[:0]
        mate = dict(zip(pairs["other"], pairs["filepath"]))
        excused = set(truth.loc[truth["check"].isin(SAME_PROBLEM.get(check, ())), "filepath"])
        hits = {mate.get(f, f) for f in flagged} & positives
        good = {f for f in flagged if f in positives or f in mate or f in excused}
        rows.append(dict(check=check, positives=len(positives), flagged=len(flagged), TP=len(good),
                         precision=len(good) / len(flagged) if flagged else float("nan"),
                         recall=len(hits) / len(positives) if positives else float("nan")))
    return pd.DataFrame(rows)


def run(root: Path = SAMPLE, *, jobs: int = 2) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    """Build the table, score, decide and evaluate; return (evaluation, findings, timings)."""
    t0 = time.perf_counter()
    table = build_table(root, jobs=jobs)
    t1 = time.perf_counter()
    scores = signal_scores(table)
    t2 = time.perf_counter()
    registry = Registry(SPECS)
    findings = decide(scores, registry, default_thresholds(registry), table.set_index("id")["language"])
    truth = pd.read_csv(root / "ground_truth.csv", dtype=str, keep_default_na=False)
    timings = {"items": len(table), "decode_and_metrics_s": t1 - t0, "phase2_s": t2 - t1,
               "image_metrics_ms": 1e3 * table.loc[table["modality"] == "image", "metrics_s"].mean(),
               "audio_metrics_ms": 1e3 * table.loc[table["modality"] == "audio", "metrics_s"].mean()}
    return evaluate(findings, truth), findings, timings


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--root", type=Path, default=SAMPLE)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--show", help="print the fired rows of this check")
    a = ap.parse_args(argv)
    result, findings, timings = run(a.root, jobs=a.jobs)
    bars = BARS | GOALS
    result["bar"] = result["check"].map(lambda c: "required" if c in BARS else "goal" if c in GOALS else "")
    result["meets"] = [(p >= bars[c][0] and r >= bars[c][1]) if c in bars else None
                       for c, p, r in zip(result["check"], result["precision"], result["recall"])]
    print(result.to_string(index=False, float_format=lambda v: f"{v:.2f}"))
    print({k: round(v, 3) if isinstance(v, float) else v for k, v in timings.items()})
    if a.show:
        rows = findings[(findings["check"] == a.show) & findings["fired"]]
        print(rows[["id", "score", "detail"]].to_string(index=False))
    failed = result[(result["bar"] == "required") & ~result["meets"].astype(bool)]
    return 1 if len(failed) else 0


if __name__ == "__main__":
    sys.exit(main())
