#!/usr/bin/env python
"""Benchmarks, measured not asserted: scan throughput against CleanVision and a plain librosa loop, and scaling.

Writes the figures to docs/benchmarks.md. Usage (what ``make bench`` runs)::

    .venv/bin/python benchmarks/run.py --output docs/benchmarks.md

Every comparison runs once, on the same machine in the same run, so the
ratios compare like with like even on a noisy machine.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

_TMP = Path(tempfile.mkdtemp(prefix="datasteward-bench-"))
if not os.environ.get("FIFTYONE_DATABASE_URI"):
    os.environ["FIFTYONE_DATABASE_DIR"] = str(_TMP / "mongo")
os.environ["FIFTYONE_DATABASE_NAME"] = "datasteward_bench"
os.environ["DATASTEWARD_HOME"] = str(_TMP / "home")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from datasteward import evaluation, exports, store  # noqa: E402
from datasteward.demo import demo_dir  # noqa: E402
from datasteward.ingest import import_source  # noqa: E402
from datasteward.scan import load_table, scan  # noqa: E402

ROOT = demo_dir()
WORKERS = 2
CLEANVISION_ISSUES = {"dark": "dark", "light": "overexposed", "blurry": "blurry", "low_information": "low_information",
                      "odd_size": "odd_size", "odd_aspect_ratio": "odd_aspect_ratio", "grayscale": "grayscale",
                      "exact_duplicates": "exact_duplicate", "near_duplicates": "near_duplicate"}
AUDIO_CHECKS = ["corrupt_file", "clipping", "silence", "low_snr", "too_quiet", "duration_outlier",
                "sample_rate_mismatch", "channel_mismatch"]


def subset_manifest(prefix: str) -> Path:
    """The demo manifest restricted to one modality, beside the demo's media."""
    manifest = pd.read_csv(ROOT / "manifest.csv", dtype=str, keep_default_na=False)
    path = ROOT / f".bench-{prefix.strip('/')}.csv"
    manifest[manifest["filepath"].str.startswith(prefix)].to_csv(path, index=False)
    return path


def replicated_manifest(prefix: str, copies: int) -> Path:
    """One modality of the demo copied ``copies`` times under new names (``r0/``, ``r1/``, ...), with a manifest.

    Larger sets show steady throughput: a few seconds of start-up (worker
    processes, CleanVision's pool, the dataset-level checks) weigh less.
    """
    manifest = pd.read_csv(ROOT / "manifest.csv", dtype=str, keep_default_na=False)
    manifest = manifest[manifest["filepath"].str.startswith(prefix)]
    dst = _TMP / f"replicated-{prefix.strip('/')}"
    parts = []
    for k in range(copies):
        for rel in manifest["filepath"].unique():
            target = dst / f"r{k}" / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            if not target.exists():
                shutil.copyfile(ROOT / rel, target)
        parts.append(manifest.assign(filepath=f"r{k}/" + manifest["filepath"]))
    path = dst / "manifest.csv"
    pd.concat(parts).to_csv(path, index=False)
    return path


def our_scan(prefix: str, name: str, *, copies: int = 0) -> tuple[float, pd.DataFrame, int]:
    """Import (not timed) and scan (timed) one modality of the demo; return seconds, fired flags, items.

    With ``copies``, the modality's files are first replicated that many times (see :func:`replicated_manifest`).
    """
    store.delete_dataset(name)
    manifest = replicated_manifest(prefix, copies) if copies else subset_manifest(prefix)
    try:
        import_source(manifest, name, workers=WORKERS)
    finally:
        if not copies:
            manifest.unlink()
    started = time.perf_counter()
    scan(name, workers=WORKERS, progress=_phase_clock)
    seconds = time.perf_counter() - started
    PHASES[name] = dict(_CLOCK)
    _CLOCK.clear()
    ds = store.open_dataset(name)
    return seconds, evaluation.fired_flags(exports.flags_table(ds), ROOT), ds.count()


PHASES: dict[str, dict] = {}
_CLOCK: dict[str, float] = {}


def _phase_clock(done: int, total: int, stage: str) -> None:
    """Record when each scan stage first reports and last reports, for the breakdown."""
    now = time.perf_counter()
    _CLOCK.setdefault(f"{stage} start", now)
    _CLOCK[f"{stage} end"] = now


def breakdown(name: str) -> str:
    c = PHASES.get(name, {})
    if "measuring start" not in c or "checking start" not in c:
        return ""
    return (f"Breakdown of the scan: per-item decoding and metrics {c['measuring end'] - c['measuring start']:.1f} s "
            f"after the first item, dataset-level checks and writes {c['checking end'] - c['checking start']:.1f} s; "
            "the rest is starting the worker processes and reading the table.")


def phase_seconds(name: str) -> float:
    """Seconds of a scan's dataset-level phase (checks over the whole table, and the database writes)."""
    c = PHASES.get(name, {})
    return c["checking end"] - c["checking start"] if "checking start" in c else float("nan")


def decode_ms(paths: list[str]) -> float:
    """Milliseconds per image to open and decode each file once to RGB in one process: a floor for any image tool."""
    from PIL import Image

    started, n = time.perf_counter(), 0
    for path in paths:
        try:
            with Image.open(path) as im:
                im.convert("RGB").load()
            n += 1
        except Exception:  # the corrupt files: not part of the floor
            pass
    return 1000 * (time.perf_counter() - started) / max(n, 1)


def ceiling_rows(rows: list[tuple[str, float, float, float, str]]) -> list[str]:
    """The most each scan could gain with free per-item work: (label, throughput ratio now, scan s, baseline s,
    dataset name) -> the ratio if the scan took only its dataset-level phase."""
    lines = ["| comparison | baseline s | scan s | of which dataset-level checks and writes s | ratio now | ratio if "
             "per-item work took no time |", "|---|---|---|---|---|---|"]
    for label, ratio, ours, theirs, name in rows:
        fixed = phase_seconds(name)
        lines.append(f"| {label} | {theirs:.1f} | {ours:.1f} | {fixed:.1f} | {ratio:.1f}x | {ratio * ours / fixed:.1f}x |")
    return lines


def cleanvision_run(paths: list[str]) -> tuple[float, pd.DataFrame]:
    from cleanvision import Imagelab

    started = time.perf_counter()
    lab = Imagelab(filepaths=paths)
    lab.find_issues(n_jobs=WORKERS, verbose=False)  # its progress bars go to stderr
    seconds = time.perf_counter() - started
    prefix = str(ROOT.resolve()) + "/"
    rows = []
    for issue, check in CLEANVISION_ISSUES.items():
        column = f"is_{issue}_issue"
        if column in lab.issues:
            hit = lab.issues.index[lab.issues[column]]
            rows += [{"id": str(Path(p).resolve()).removeprefix(prefix), "check": check} for p in hit]
    return seconds, pd.DataFrame(rows, columns=["id", "check"])


def naive_audio_item(path: str) -> dict:
    """The straightforward pipeline: librosa.load plus feature calls, per file."""
    import warnings

    import librosa
    import soundfile as sf

    warnings.simplefilter("ignore")
    try:
        native = librosa.get_samplerate(path)
        channels = sf.info(path).channels
        y, sr = librosa.load(path)
        db = librosa.amplitude_to_db(librosa.feature.rms(y=y)[0], ref=1.0)
        librosa.feature.zero_crossing_rate(y)
        librosa.feature.spectral_centroid(y=y, sr=sr)
        librosa.feature.mfcc(y=y, sr=sr, n_mfcc=20)
        _, (start, end) = librosa.effects.trim(y, top_db=40)
    except Exception:  # a hand-written loop that survives bad files at all needs this much
        return {"path": path, "error": True}
    return {"path": path, "error": False, "duration": len(y) / sr, "clip": float(np.mean(np.abs(y) >= 0.99)),
            "lead": start / sr, "trail": (len(y) - end) / sr, "level": float(np.percentile(db, 95)),
            "noise": float(np.percentile(db, 10)), "sr": native, "channels": channels}


def naive_audio_run(paths: list[str]) -> tuple[float, pd.DataFrame]:
    from datasteward.parallel import process_pool

    started = time.perf_counter()
    # The same pool as the scan's (spawned, one native thread per worker), so the
    # comparison is between the pipelines, not the pool settings.
    with process_pool(WORKERS) as pool:
        rows = pd.DataFrame(list(pool.map(naive_audio_item, paths, chunksize=8)))
    seconds = time.perf_counter() - started
    ok = rows[~rows["error"]]
    log_d = np.log(ok["duration"])
    z = (log_d - log_d.median()) / (1.4826 * (log_d - log_d.median()).abs().median())
    rules = {
        "corrupt_file": rows["error"],
        "clipping": ok["clip"] > 0.001,
        "silence": ok[["lead", "trail"]].max(axis=1) > 1.0,
        "too_quiet": ok["level"] < -40,
        "low_snr": (ok["level"] - ok["noise"]) < 15,
        "duration_outlier": z.abs() > 3,
        "sample_rate_mismatch": ok["sr"] != ok["sr"].mode()[0],
        "channel_mismatch": ok["channels"] != ok["channels"].mode()[0],
    }
    prefix = str(ROOT.resolve()) + "/"
    fired = [{"id": p.removeprefix(prefix), "check": c} for c, mask in rules.items()
             for p in rows.loc[mask[mask].index, "path"]]
    return seconds, pd.DataFrame(fired, columns=["id", "check"])


def detection(fired: pd.DataFrame, checks: list[str], prefix: str) -> pd.DataFrame:
    """Precision and recall against the ground truth of one modality's items (``prefix`` of their paths)."""
    truth = evaluation.load_ground_truth(ROOT)
    truth = truth[truth["filepath"].str.startswith(prefix)]
    return evaluation.score_checks(fired, truth, checks)[["precision", "recall"]]


def compare(ours: pd.DataFrame, theirs: pd.DataFrame, name: str) -> pd.DataFrame:
    table = ours.add_prefix("ours ").join(theirs.add_prefix(f"{name} "))
    return table


def synthetic_table(base: pd.DataFrame, n: int, rng: np.random.Generator) -> pd.DataFrame:
    """``n`` rows drawn from the demo's metric table, with fresh hashes and ids so copies are not duplicates."""
    rows = base.sample(n=n, replace=True, random_state=int(rng.integers(1 << 31))).reset_index(drop=True)
    rows["id"] = [f"s{i}" for i in range(n)]
    rows["content_hash"] = [f"{v:040x}" for v in rng.integers(0, 1 << 62, n)]
    rows["phash"] = [None if p is None else f"{v:016x}" for p, v in zip(rows["phash"], rng.integers(0, 1 << 63, n))]
    rows["fingerprint"] = [None if f is None else "".join(f"{v:016x}" for v in rng.integers(0, 1 << 63, 4))
                           for f in rows["fingerprint"]]
    rows["features"] = [None if f is None else f + rng.normal(0, 0.05, f.shape).astype(np.float32) for f in rows["features"]]
    rows["batch"] = [f"b{i:02d}" for i in rng.integers(1, 13, n)]
    return rows


def phase2_seconds(table: pd.DataFrame) -> float:
    from datasteward.checks import labels, signal

    started = time.perf_counter()
    signal.signal_scores(table)
    labels.label_scores(table)
    return time.perf_counter() - started


def markdown(frame: pd.DataFrame) -> str:
    cols = [str(c) for c in frame.columns]
    lines = ["| " + " | ".join([frame.index.name or ""] + cols) + " |", "|" + "---|" * (len(cols) + 1)]
    for idx, row in frame.iterrows():
        cells = [f"{v:.2f}" if isinstance(v, float) else str(v) for v in row]
        lines.append("| " + " | ".join([str(idx)] + cells) + " |")
    return "\n".join(lines)


def kept_sections(before: str, text: str) -> str:
    """The sections of the old file that this run does not write (the page timings, the scale benchmark)."""
    ours = {line for line in text.splitlines() if line.startswith("## ")}
    parts = before.split("\n## ")[1:]
    kept = ["## " + part.rstrip("\n") for part in parts if "## " + part.split("\n", 1)[0] not in ours]
    return "".join("\n\n" + part for part in kept) + "\n"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--output", type=Path, default=Path("docs/benchmarks.md"))
    ap.add_argument("--scale", type=int, nargs=2, default=[10_000, 100_000], help="table sizes for the scaling run")
    ap.add_argument("--copies", type=int, nargs=2, default=[4, 2], metavar=("IMAGES", "AUDIO"),
                    help="how many times the demo's images and clips are copied for the steady-throughput run")
    args = ap.parse_args(argv)
    out: list[str] = []
    try:
        print("images: Data Steward scan…", flush=True)
        t_ours, fired_ours, n_img = our_scan("images/", "bench-images")
        # CleanVision stops at the first file it cannot decode, so it gets only the decodable ones.
        decodable = store.open_dataset("bench-images").match({"media_error": None})
        image_paths = sorted(str(p) for p in decodable.values("media_path"))
        print("images: CleanVision…", flush=True)
        t_cv, fired_cv = cleanvision_run(image_paths)
        n_cv = len(image_paths)
        checks = list(CLEANVISION_ISSUES.values())
        img = compare(detection(fired_ours, checks, "images/"), detection(fired_cv, checks, "images/"), "CleanVision")
        print("audio: Data Steward scan…", flush=True)
        a_ours, fired_aud, n_aud = our_scan("audio/", "bench-audio")
        audio_paths = sorted(str(p) for p in store.open_dataset("bench-audio").values("media_path"))
        print("audio: librosa loop…", flush=True)
        a_naive, fired_naive = naive_audio_run(audio_paths)
        aud = compare(detection(fired_aud, AUDIO_CHECKS, "audio/"), detection(fired_naive, AUDIO_CHECKS, "audio/"),
                      "librosa loop")
        copies_img, copies_aud = args.copies
        print(f"images x{copies_img}: Data Steward scan…", flush=True)
        t_ours_x, _, n_img_x = our_scan("images/", "bench-images-x", copies=copies_img)
        paths_x = sorted(str(p) for p in store.open_dataset("bench-images-x").match({"media_error": None}).values("media_path"))
        print(f"images x{copies_img}: CleanVision…", flush=True)
        t_cv_x, _ = cleanvision_run(paths_x)
        print(f"audio x{copies_aud}: Data Steward scan…", flush=True)
        a_ours_x, _, n_aud_x = our_scan("audio/", "bench-audio-x", copies=copies_aud)
        print(f"audio x{copies_aud}: librosa loop…", flush=True)
        a_naive_x, _ = naive_audio_run(sorted(str(p) for p in store.open_dataset("bench-audio-x").values("media_path")))
        img_ratio, img_ratio_x = (n_img / t_ours) / (n_cv / t_cv), (n_img_x / t_ours_x) / (len(paths_x) / t_cv_x)
        aud_ratio, aud_ratio_x = a_naive / a_ours, a_naive_x / a_ours_x
        img_decode = decode_ms(sorted(str(p) for p in (ROOT / "images").rglob("*") if p.is_file()))
        print("scaling…", flush=True)
        base = pd.concat([load_table(store.open_dataset("bench-images")), load_table(store.open_dataset("bench-audio"))],
                         ignore_index=True)
        rng = np.random.default_rng(20261127)
        small, large = args.scale
        t_small = phase2_seconds(synthetic_table(base, small, rng))
        t_large = phase2_seconds(synthetic_table(base, large, rng))

        out += ["# Benchmarks", "",
                f"Measured by `make bench` (`benchmarks/run.py`) on {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC, "
                f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}. Both sides of "
                f"each comparison ran once, in the same run, with {WORKERS} worker processes each.", "",
                "## Images: scan throughput against CleanVision", "",
                f"The demo's {n_img} images (including corrupt files). Data Steward's time is the whole "
                "`scan` (decode, every image and label check, dataset-level checks, database writes); "
                "CleanVision's is `Imagelab.find_issues()` with its default issue types.", "",
                "| tool | seconds | images/s |", "|---|---|---|",
                f"| Data Steward scan | {t_ours:.1f} | {n_img / t_ours:.1f} |",
                f"| CleanVision 0.3.7 ({n_cv} decodable images) | {t_cv:.1f} | {n_cv / t_cv:.1f} |",
                f"| throughput ratio | | **{(n_img / t_ours) / (n_cv / t_cv):.1f}x** |", "",
                "CleanVision stops at the first file it cannot decode, so it was given only the decodable images.",
                breakdown("bench-images"), "",
                "Detection on the demo's ground truth (precision / recall; CleanVision's `light` is our `overexposed`):", "",
                markdown(img), "",
                "## Audio: scan throughput against a plain librosa loop", "",
                f"The demo's {n_aud} clips. The loop is what one writes by hand: `librosa.load` (resampling to "
                "22.05 kHz), RMS, zero-crossing rate, spectral centroid, MFCCs and `librosa.effects.trim` per file, "
                "in the same pool as the scan (2 spawned workers, one native thread each), with plain threshold rules.", "",
                "| tool | seconds | clips/s |", "|---|---|---|",
                f"| Data Steward scan | {a_ours:.1f} | {n_aud / a_ours:.1f} |",
                f"| librosa loop | {a_naive:.1f} | {n_aud / a_naive:.1f} |",
                f"| ratio | | **{a_naive / a_ours:.1f}x** |", "", breakdown("bench-audio"), "",
                markdown(aud), "",
                "## Steady throughput on larger sets", "",
                f"The same comparisons on the demo's files copied {copies_img} times (images) and {copies_aud} times "
                "(audio) under new names, so that start-up costs weigh less. The copies are exact duplicates of each "
                "other, which both sides detect; timing is what this section is for.", "",
                "| comparison | items | Data Steward s | baseline s | throughput ratio |", "|---|---|---|---|---|",
                f"| images vs CleanVision | {n_img_x:,} | {t_ours_x:.1f} | {t_cv_x:.1f} | **{img_ratio_x:.1f}x** |",
                f"| audio vs librosa loop | {n_aud_x:,} | {a_ours_x:.1f} | {a_naive_x:.1f} | **{aud_ratio_x:.1f}x** |", "",
                breakdown("bench-images-x"), breakdown("bench-audio-x"), "",
                "## Against the targets", "",
                "The target is at least 10x the throughput of each baseline with equal or better detection. "
                f"Measured here: {img_ratio:.1f}x CleanVision and {aud_ratio:.1f}x the librosa loop on the demo, "
                f"{img_ratio_x:.1f}x and {aud_ratio_x:.1f}x on the larger sets. "
                + ("Both targets are met." if min(img_ratio, aud_ratio) >= 10 else
                   "The target is not met. Beside what the baselines compute, a scan also computes the feature "
                   "vectors of the label checks, runs the dataset-level checks (duplicates, outliers, agreement, "
                   "Dawid-Skene, an out-of-fold model) and writes every metric and flag to the database."), "",
                "How far per-item speed alone could take it, on the larger sets: the scan's dataset-level phase "
                "(the checks the issue asks for over the whole table, and the writes) against the baseline's whole "
                "time.", "",
                *ceiling_rows([("images vs CleanVision", img_ratio_x, t_ours_x, t_cv_x, "bench-images-x"),
                               ("audio vs librosa loop", aud_ratio_x, a_ours_x, a_naive_x, "bench-audio-x")]), "",
                f"Decoding alone: opening and decoding each of the demo's images once takes {img_decode:.2f} ms per "
                f"image in one process; CleanVision spends {1000 * WORKERS * t_cv_x / len(paths_x):.1f} ms of CPU "
                f"per image ({WORKERS} workers), so 10x its throughput leaves "
                f"{100 * WORKERS * t_cv_x / len(paths_x):.1f} ms of CPU per image for decoding, every metric, hash "
                "and feature, and the image's share of the dataset-level phase.", "",
                "## Scaling of the dataset-level phase", "",
                "Per-item work is linear by construction; this measures the phase that looks at the whole table "
                "(duplicates, outliers, agreement, Dawid-Skene, neighbours, out-of-fold model) on synthetic tables "
                "drawn from the demo's metrics, with fresh hashes so copies are not duplicates.", "",
                "| samples | seconds |", "|---|---|",
                f"| {small:,} | {t_small:.1f} |", f"| {large:,} | {t_large:.1f} |",
                f"| ratio for {large // small}x the samples | {t_large / t_small:.1f}x |", ""]
        args.output.parent.mkdir(parents=True, exist_ok=True)
        text = "\n".join(out)
        before = args.output.read_text(encoding="utf-8") if args.output.exists() else ""
        args.output.write_text(text.rstrip("\n") + kept_sections(before, text), encoding="utf-8")
        print("\n".join(out))
    finally:
        for name in ("bench-images", "bench-audio", "bench-images-x", "bench-audio-x"):
            store.delete_dataset(name)
        shutil.rmtree(_TMP / "home", ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
