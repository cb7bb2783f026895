#!/usr/bin/env python
"""Synthetic Data Steward datasets at any size: metadata, metrics, labels, annotators and reviewed flags, no per-item media.

A synthetic dataset looks to the app, the CLI and FiftyOne like a scanned
delivery programme: 20 batches in delivery order, 8 languages and 4 vendors
with skewed shares, images and audio clips, 1 to 3 annotators per item,
model predictions, the ``quality.*`` metrics the real scan writes, and flags
at configured rates per check, part of them already reviewed (confirmed,
assigned, dismissed, fixed or sent back) with their history. Each flag agrees
with its sample's score and metrics: a ``dark`` flag sits on an image whose
``quality.brightness_mean`` is under the threshold, and no unflagged image is.

Documents are written straight into the dataset's MongoDB collection in the
shape FiftyOne writes them, so 100,000 samples take seconds. Every item points
its pictures (``filepath``, ``thumbnail``) and ``media_path`` at a small shared
pool of real files, so pages that draw or play media do real work; its
``item_key`` stays unique. Usage::

    .venv/bin/python benchmarks/synth.py NAME --samples 100000 [--seed 0]
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Callable

import numpy as np

from datasteward import flags as flaglib
from datasteward import store

# Flag rates per eligible item (images for image checks, audio clips for audio
# checks, items with 2+ annotators for annotator_disagreement, all items for
# the rest): a scanned delivery of ordinary quality.
RATES = {
    "corrupt_file": 0.004, "missing_metadata": 0.003, "exact_duplicate": 0.005, "near_duplicate": 0.008,
    "duplicate_across_splits": 0.003,
    "dark": 0.015, "overexposed": 0.010, "blurry": 0.012, "low_information": 0.004, "odd_size": 0.005,
    "odd_aspect_ratio": 0.005, "grayscale": 0.010,
    "clipping": 0.008, "silence": 0.015, "low_snr": 0.012, "too_quiet": 0.006, "duration_outlier": 0.008,
    "sample_rate_mismatch": 0.005, "channel_mismatch": 0.005,
    "empty_transcript": 0.004, "script_mismatch": 0.003, "speech_rate_outlier": 0.010, "transcript_duplicate": 0.008,
    "annotator_disagreement": 0.20, "label_outlier": 0.010, "model_disagreement": 0.015,
}
N_BATCHES = 20
MODALITIES = {"image": 0.55, "audio": 0.45}
LANGUAGES = {"en": 0.38, "es": 0.15, "hi": 0.11, "pt-BR": 0.09, "de": 0.08, "vi": 0.07, "sw": 0.07, "th": 0.05}
VENDORS = {"acme-annotations": 0.35, "polyglot-data": 0.30, "northwind-labeling": 0.20, "crowdsource-co": 0.15}
# How often each vendor's annotators err, relative to the others: drives annotation-owned flag rates and accuracy.
VENDOR_ERROR = {"acme-annotations": 0.6, "polyglot-data": 1.6, "northwind-labeling": 1.0, "crowdsource-co": 1.3}
ANNOTATORS_PER_VENDOR = 12
SPLITS = {"train": 0.8, "validation": 0.1, "test": 0.1}
IMAGE_CLASSES = ["t-shirt", "shirt", "dress", "pants", "shorts", "skirt", "outwear", "hat", "shoes", "longsleeve"]
AUDIO_CLASSES = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
# Problems concentrated in one delivery (a camera, a microphone, an upload that broke): rate multipliers.
BATCH_SPIKES = {"b07": {"dark": 5.0, "blurry": 2.0}, "b13": {"low_snr": 4.0, "clipping": 4.0},
                "b18": {"corrupt_file": 6.0}}
LANGUAGE_SPIKES = {"th": {"script_mismatch": 3.0, "speech_rate_outlier": 2.0},
                   "hi": {"script_mismatch": 2.0, "speech_rate_outlier": 1.5}}
IMBALANCED_BATCH = "b11"
# Among reviewed flags: checks whose alarms reviewers often find false get dismissed more.
REVIEW_MIX = {"confirmed": 0.45, "dismissed": 0.25, "fixed": 0.18, "sent_back": 0.12}
NOISY_CHECKS = {"near_duplicate", "label_outlier", "speech_rate_outlier", "odd_aspect_ratio", "duration_outlier"}
TEAM = {"data_ops": ["dana", "omar"], "annotation": ["lee", "priya", "tomas"], "ml": ["sam", "mei"],
        "product": ["kim"]}
REVIEWERS = ["dana", "lee", "priya", "sam"]
WORDS = {
    "en": "red blue open close left right start stop yes no up down".split(),
    "es": "rojo azul abrir cerrar izquierda derecha inicio parar sí no arriba abajo".split(),
    "hi": "लाल नीला खोलो बंद बाएं दाएं शुरू रुको हाँ नहीं ऊपर नीचे".split(),
    "pt-BR": "vermelho azul abrir fechar esquerda direita começar parar sim não cima baixo".split(),
    "de": "rot blau öffnen schließen links rechts start stopp ja nein hoch runter".split(),
    "vi": "đỏ xanh mở đóng trái phải bắt dừng có không lên xuống".split(),
    "sw": "nyekundu bluu fungua funga kushoto kulia anza simama ndiyo hapana juu chini".split(),
    "th": "แดง น้ำเงิน เปิด ปิด ซ้าย ขวา เริ่ม หยุด ใช่ ไม่ ขึ้น ลง".split(),
}
FOREIGN = {"latin": "the quick brown fox jumps", "devanagari": "यह गलत लिपि है", "thai": "นี่คือสคริปต์ผิด"}
START = datetime(2026, 1, 5, 9, 0)
POOL_SIZE = 8
_CHUNK = 5000

Progress = Callable[[int, int], None]


@dataclass
class SynthReport:
    """What :func:`generate` wrote."""

    name: str
    samples: int
    flags: dict[str, int] = field(default_factory=dict)
    eligible: dict[str, int] = field(default_factory=dict)
    statuses: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    def summary(self) -> str:
        n_flags = sum(self.flags.values())
        mix = ", ".join(f"{k} {v:,}" for k, v in sorted(self.statuses.items(), key=lambda kv: -kv[1]))
        return f"{self.name}: {self.samples:,} samples, {n_flags:,} flags ({mix}) in {self.seconds:.1f} s"


# --- the plan: every random choice, as arrays over all items -------------------

@dataclass
class Plan:
    n: int
    modality: np.ndarray  # bool: True for audio
    batch: np.ndarray  # batch index 0..N_BATCHES-1, non-decreasing
    vendor: np.ndarray
    language: np.ndarray
    split: np.ndarray
    n_ann: np.ndarray
    fired: dict[str, np.ndarray]
    eligible: dict[str, np.ndarray]


def _choice(rng, table: dict, n: int) -> np.ndarray:
    p = np.array(list(table.values()), dtype=float)
    return rng.choice(len(table), size=n, p=p / p.sum())


def batch_sizes(n: int, rng) -> np.ndarray:
    """Sizes of the 20 deliveries: growing over time with some jitter, summing to ``n``."""
    weights = np.linspace(0.6, 1.4, N_BATCHES) * rng.uniform(0.8, 1.2, N_BATCHES)
    sizes = np.floor(weights / weights.sum() * n).astype(int)
    sizes[-1] += n - sizes.sum()
    return sizes


def plan(n: int, rng, rates: dict[str, float]) -> Plan:
    """Draw every item's attributes and which checks fire on it."""
    from datasteward.checks import REGISTRY

    batch = np.repeat(np.arange(N_BATCHES), batch_sizes(n, rng))
    audio = _choice(rng, MODALITIES, n) == 1
    vendor, language, split = _choice(rng, VENDORS, n), _choice(rng, LANGUAGES, n), _choice(rng, SPLITS, n)
    n_ann = rng.choice([1, 2, 3], size=n, p=[0.80, 0.05, 0.15])
    vendor_names, batch_names, languages = list(VENDORS), [f"b{i + 1:02d}" for i in range(N_BATCHES)], list(LANGUAGES)
    fired, eligible = {}, {}
    corrupt = None
    for check in RATES:
        spec = REGISTRY[check]
        ok = np.ones(n, bool) if spec.modality == "any" else (audio if spec.modality == "audio" else ~audio)
        if check == "annotator_disagreement":
            ok = n_ann >= 2
        weight = np.ones(n)
        if spec.owner == "annotation":
            weight *= np.array([VENDOR_ERROR[v] for v in vendor_names])[vendor]
        for b, spikes in BATCH_SPIKES.items():
            weight[batch == batch_names.index(b)] *= spikes.get(check, 1.0)
        for lang, spikes in LANGUAGE_SPIKES.items():
            weight[language == languages.index(lang)] *= spikes.get(check, 1.0)
        mean = weight[ok].mean() if ok.any() else 1.0
        hit = ok & (rng.random(n) < np.minimum(1.0, rates.get(check, 0.0) * weight / mean))
        eligible[check], fired[check] = ok, hit
        if check == "corrupt_file":
            corrupt = hit
    # An undecodable file has no signal metrics, so no signal check can fire on it.
    for check in RATES:
        if check not in SIGNAL_FREE:
            fired[check] &= ~corrupt
    fired["overexposed"] &= ~fired["dark"]
    return Plan(n, audio, batch, vendor, language, split, n_ann, fired, eligible)


# --- scores and metrics, consistent with the flags -----------------------------

def _uniform(lo: float, hi: float):
    return lambda rng, k: rng.uniform(lo, hi, k)


def _normal(mu: float, sd: float):
    return lambda rng, k: rng.normal(mu, sd, k)


def _const(value: float):
    return lambda rng, k: np.full(k, value)


def _abs_normal(sd: float):
    return lambda rng, k: np.abs(rng.normal(0, sd, k))


def _mostly_zero(share: float, lo: float, hi: float):
    return lambda rng, k: np.where(rng.random(k) < share, 0.0, rng.uniform(lo, hi, k))


# check -> (score when it does not fire, score when it fires), in the unit of the check's spec.
SCORES = {
    "corrupt_file": (_const(0.0), _const(1.0)), "missing_metadata": (_const(0.0), _const(1.0)),
    "exact_duplicate": (_const(0.0), _const(1.0)), "duplicate_across_splits": (_const(0.0), _const(1.0)),
    "near_duplicate": (_uniform(0.13, 0.45), _uniform(0.0, 0.12)),
    "dark": (_normal(0.49, 0.13), _uniform(0.02, 0.145)), "overexposed": (None, _uniform(1.02, 1.3)),
    "blurry": (_normal(0.0, 1.2), _uniform(-12.0, -4.1)), "low_information": (_normal(0.45, 0.2), _uniform(0.0, 0.095)),
    "odd_size": (_abs_normal(1.0), _uniform(4.2, 9.0)), "odd_aspect_ratio": (_abs_normal(1.0), _uniform(4.2, 8.0)),
    "grayscale": (_normal(0.62, 0.2), _uniform(0.0, 0.045)),
    "clipping": (_mostly_zero(0.92, 0.0, 0.0009), _uniform(0.0015, 0.08)),
    "silence": (_uniform(0.0, 0.95), _uniform(1.05, 4.0)), "low_snr": (_normal(33.0, 7.0), _uniform(-2.0, 9.8)),
    "too_quiet": (_normal(-23.0, 5.0), _uniform(-70.0, -52.5)),
    "duration_outlier": (_abs_normal(1.0), _uniform(4.2, 12.0)),
    "sample_rate_mismatch": (_const(0.0), _const(1.0)), "channel_mismatch": (_const(0.0), _const(1.0)),
    "empty_transcript": (_const(0.0), _const(1.0)), "script_mismatch": (_const(0.0), _const(1.0)),
    "speech_rate_outlier": (_abs_normal(1.0), _uniform(3.6, 9.0)),
    "transcript_duplicate": (_mostly_zero(0.97, 0.1, 0.75), _uniform(0.81, 0.99)),
    "label_outlier": (_normal(-3.0, 2.5), _uniform(2.1, 5.0)),
    "model_disagreement": (_mostly_zero(0.8, 0.0, 0.95), _uniform(1.05, 1.6)),
}
DETAILS = {
    "dark": "mean luminance {score:.2f}", "overexposed": "{score:.2f}x the exposure limit",
    "low_snr": "SNR {score:.1f} dB", "too_quiet": "speech level {score:.1f} dBFS",
    "silence": "{score:.1f} s of leading or trailing silence", "clipping": "{score:.2%} of samples at full scale",
    "sample_rate_mismatch": "8000 Hz vs dataset's 16000 Hz", "channel_mismatch": "2 channels vs dataset's 1",
    "missing_metadata": "missing: language", "exact_duplicate": "same bytes as an earlier item",
    "duplicate_across_splits": "copy of an earlier item in another split",
}
TINY = 1e-6


def scores_for(check: str, fired: np.ndarray, rng) -> np.ndarray:
    """Scores of ``check`` on items, on the firing side of the default threshold exactly where ``fired``."""
    from datasteward.checks import REGISTRY

    spec = REGISTRY[check]
    body, tail = SCORES[check]
    out = np.empty(len(fired))
    k = int(fired.sum())
    if body is not None:
        out[~fired] = body(rng, len(fired) - k)
    out[fired] = tail(rng, k)
    thr = spec.default_threshold  # a check fires strictly beyond its threshold
    if spec.direction == "above":
        out[~fired] = np.minimum(out[~fired], thr)
        out[fired] = np.maximum(out[fired], thr + TINY)
    else:
        out[~fired] = np.maximum(out[~fired], thr)
        out[fired] = np.minimum(out[fired], thr - TINY)
    return out


# --- the pool of shared media --------------------------------------------------

def media_pool(rng) -> dict[str, list[dict]]:
    """A few real images and clips (with their thumbnails and spectrograms) that every item points at."""
    import soundfile as sf
    from PIL import Image

    from datasteward import config
    from datasteward.ingest import prepare_media

    root = config.derived_dir("synthetic")
    pool: dict[str, list[dict]] = {"image": [], "audio": []}
    for i in range(POOL_SIZE):
        path = root / f"pool_{i}.jpg"
        if not path.exists():
            yy, xx = np.mgrid[0:480, 0:640]
            base = rng.uniform(40, 200, 3)
            pixels = np.stack([(base[c] + 50 * np.sin((xx * (c + 1) + yy * (i + 1)) / 60.0)) for c in range(3)], -1)
            pixels += rng.normal(0, 12, pixels.shape)
            Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8)).save(path, quality=85)
        pool["image"].append({"path": str(path), **prepare_media(str(path), "image")})
        path = root / f"pool_{i}.wav"
        if not path.exists():
            sr, seconds = 16000, 1.0 + 0.4 * i
            t = np.arange(int(sr * seconds)) / sr
            envelope = np.clip(np.sin(np.pi * t / seconds) * 1.5, 0, 1)
            y = 0.3 * envelope * np.sin(2 * np.pi * (180 + 40 * i) * t * (1 + 0.1 * np.sin(3 * t)))
            sf.write(path, (y + rng.normal(0, 0.003, len(t))).astype(np.float32), sr)
        pool["audio"].append({"path": str(path), **prepare_media(str(path), "audio")})
    return pool


# --- writing -------------------------------------------------------------------

def generate(name: str, n: int, seed: int = 0, *, rates: dict[str, float] | None = None, replace: bool = False,
             progress: Progress | None = None) -> SynthReport:
    """Write a scanned-looking Data Steward dataset of ``n`` synthetic samples.

    Parameters
    ----------
    name : str
        Dataset to create; it must not exist unless ``replace``.
    n : int
        Number of samples (10,000 to 1,000,000 are the sizes the benchmarks use).
    seed : int
        The same seed gives the same dataset (ids and timestamps aside).
    rates : dict, optional
        Flag rate per check and eligible item, overriding :data:`RATES`.

    Returns
    -------
    SynthReport
        Flags written per check, eligible items per check, and flags per status.
    """
    started = time.perf_counter()
    if store.dataset_exists(name):
        if not replace:
            raise ValueError(f"dataset {name!r} exists; pass replace=True (--replace) to overwrite it")
        store.delete_dataset(name)
    rng = np.random.default_rng(seed)
    rates = {**RATES, **(rates or {})}
    p = plan(n, rng, rates)
    ds = store.open_dataset(name, create=True)
    store.ensure_scan_fields(ds)
    store.ensure_label_field(ds, "classification")
    pool = media_pool(rng)
    scores = {check: scores_for(check, p.fired[check], rng) for check in SCORES}
    writer = _Writer(ds, name, p, scores, pool, rng)
    coll = ds._sample_collection
    # Building the indexes once after the inserts is faster than updating them on every insert.
    for index in INDEXED:
        ds.drop_index(index)
    for start in range(0, n, _CHUNK):
        docs = [writer.doc(i) for i in range(start, min(n, start + _CHUNK))]
        coll.insert_many(docs, ordered=False)
        if start == 0:  # declare the embedded subfields (quality, scores, audio...) in one go, as FiftyOne infers them
            ds.add_dynamic_sample_fields()
        if progress:
            progress(min(n, start + _CHUNK), n)
    if writer.history:
        from datasteward.review import history_collection

        history_collection(ds).insert_many(writer.history, ordered=False)
    _create_indexes(ds)
    store.set_info(ds, "synthetic", {"samples": n, "seed": seed, "rates": rates})
    store.set_info(ds, "scan", writer.scan_info())
    # What a scan keeps for the Drift page, computed as the scan would (after the scan info it depends on).
    from datasteward import drift

    drift.precompute(ds)
    report = SynthReport(name, n, seconds=0.0)
    report.flags = {c: int(v.sum()) for c, v in p.fired.items()}
    report.eligible = {c: int(v.sum()) for c, v in p.eligible.items()}
    report.statuses = dict(writer.statuses)
    report.seconds = time.perf_counter() - started
    store.set_info(ds, "synthetic", {"samples": n, "seed": seed, "rates": rates, "seconds": round(report.seconds, 1)})
    from datasteward.scan import keep_page_tables

    keep_page_tables(ds)  # as the scan keeps them (after the last write, which would make them stale)
    return report


def _create_indexes(ds) -> None:
    """The indexes the pages filter and sort on (those a new dataset already has are kept)."""
    for field_name in INDEXED:
        ds.create_index(field_name)
    # Those a real scan leaves too: each quality metric and sorted field as (field, _id), and (batch, language).
    store.ensure_indexes(ds)


INDEXED = ("batch", "language", "vendor", "modality", "item_key", "content_hash", "flags.check", "flags.status",
           "flags.owner")


IMAGE_METRICS = ("brightness_mean", "brightness_p99", "white_fraction", "sharpness", "contrast", "entropy",
                 "saturation_p99")
AUDIO_METRICS = ("duration_s", "speech_s", "voiced_s", "lead_silence_s", "trail_silence_s", "silent_fraction",
                 "speech_level_dbfs", "clip_fraction", "snr_db", "end_drop_db", "chars", "words", "script_mismatch",
                 "empty")
IMAGE_CHECKS = ("corrupt_file", "missing_metadata", "exact_duplicate", "duplicate_across_splits", "dark",
                "overexposed", "blurry", "low_information", "odd_size", "odd_aspect_ratio", "grayscale", "label_outlier",
                "model_disagreement")
AUDIO_CHECKS = ("corrupt_file", "missing_metadata", "exact_duplicate", "duplicate_across_splits", "clipping", "silence",
                "low_snr", "too_quiet", "duration_outlier", "sample_rate_mismatch", "channel_mismatch",
                "empty_transcript", "script_mismatch", "speech_rate_outlier", "transcript_duplicate", "label_outlier",
                "model_disagreement")
SIGNAL_FREE = ("corrupt_file", "missing_metadata", "exact_duplicate", "duplicate_across_splits", "empty_transcript",
               "script_mismatch", "transcript_duplicate", "label_outlier", "model_disagreement")


class _Writer:
    """Turns the plan into FiftyOne sample documents, one item at a time, and collects what the scan records."""

    def __init__(self, ds, name: str, p: Plan, scores: dict[str, np.ndarray], pool: dict, rng):
        from datasteward.checks import REGISTRY

        self.ds, self.name, self.p, self.pool = ds, name, p, pool
        self.rng = random.Random(int(rng.integers(1 << 31)))
        self.np_rng = rng
        self.dataset_id = ds._doc.id
        self.specs = REGISTRY
        self.scores = {c: v.tolist() for c, v in scores.items()}
        self.fired = {c: v.tolist() for c, v in p.fired.items()}
        self.fired_any = np.stack(list(p.fired.values())).any(axis=0).tolist()
        self.batches = [f"b{i + 1:02d}" for i in range(N_BATCHES)]
        self.dates = [START + timedelta(days=7 * i, hours=int(rng.integers(0, 8))) for i in range(N_BATCHES)]
        self.vendors, self.languages, self.splits = list(VENDORS), list(LANGUAGES), list(SPLITS)
        self.annotators = {v: [f"{v.split('-')[0]}-{j:02d}" for j in range(ANNOTATORS_PER_VENDOR)] for v in VENDORS}
        # Each annotator's accuracy: mostly good, worse at error-prone vendors, and one careless annotator.
        self.accuracy = {}
        for v, names in self.annotators.items():
            for a in names:
                self.accuracy[a] = float(np.clip(1 - rng.beta(2, 30) * VENDOR_ERROR[v] * 2, 0.5, 0.995))
        self.accuracy[self.annotators["polyglot-data"][-1]] = 0.35
        self.ann_stats: dict[str, list[int]] = {a: [0, 0, 0] for a in self.accuracy}  # items, multi, agree
        self.alpha_rows: list[tuple] = []
        self.history: list[dict] = []
        self.statuses: dict[str, int] = {}
        self.text_cache: dict[tuple, dict] = {}
        self.hashes: dict[bool, list[str]] = {False: [], True: []}
        self.now = START + timedelta(days=7 * N_BATCHES + 2)
        mixes = self._class_mix(rng)
        self.truth = np.concatenate([rng.choice(10, size=int((p.batch == b).sum()), p=mixes[b])
                                     for b in range(N_BATCHES)]).tolist()

    def _class_mix(self, rng) -> list[np.ndarray]:
        """Class shares per batch: mildly skewed everywhere, strongly in the imbalanced batch."""
        base = 1.0 / np.arange(1, 11) ** 0.3
        mixes = []
        for b in self.batches:
            w = base * rng.uniform(0.9, 1.1, 10)
            if b == IMBALANCED_BATCH:
                w[0] *= 4
            mixes.append(w / w.sum())
        return mixes

    def doc(self, i: int) -> dict:
        """One sample document, shaped as FiftyOne stores it, with the fields a scan adds."""
        from bson import ObjectId

        p, r = self.p, self.rng
        audio = bool(p.modality[i])
        modality = "audio" if audio else "image"
        b = int(p.batch[i])
        batch, vendor = self.batches[b], self.vendors[int(p.vendor[i])]
        language = self.languages[int(p.language[i])]
        fired = [c for c in RATES if self.fired[c][i]] if self.fired_any[i] else []
        pooled = self.pool[modality][i % POOL_SIZE]
        collected = self.dates[b] + timedelta(minutes=r.randrange(0, 3 * 24 * 60))
        created = self.now - timedelta(days=2, seconds=r.randrange(0, 3600))
        classes = AUDIO_CLASSES if audio else IMAGE_CLASSES
        transcript, text_metrics = self._transcript(language, fired) if audio else (None, {})
        annotations, consensus, agreement = self._annotations(i, vendor, classes[self.truth[i]], classes,
                                                              "annotator_disagreement" in fired, transcript)
        doc = {
            "_id": ObjectId(), "filepath": pooled["filepath"], "tags": [], "metadata": None,
            "created_at": created, "last_modified_at": self.now, "_dataset_id": self.dataset_id,
            "_media_type": "image", "_rand": r.random(),
            "modality": modality, "media_path": pooled["path"], "thumbnail": pooled["thumbnail"],
            "item_key": f"/synthetic/{self.name}/{modality}/{batch}/{i:07d}.{'wav' if audio else 'jpg'}",
            "content_hash": self._hash(audio, "exact_duplicate" in fired or "duplicate_across_splits" in fired),
            "media_error": None, "transcript": transcript,
            "language": None if "missing_metadata" in fired else language, "batch": batch, "vendor": vendor,
            "split": self.splits[int(p.split[i])], "source_file": f"/synthetic/{self.name}/{batch}.csv",
            "source_row": i + 2, "collected_at": collected, "imported_at": created,
            "ground_truth": {"_id": ObjectId(), "_cls": "Classification", "tags": [], "label": consensus},
            "annotations": annotations, "consensus_label": consensus, "agreement": agreement, "scan_error": None,
        }
        if "model_disagreement" in fired or i % 2:
            wrong = "model_disagreement" in fired
            guess = classes[(classes.index(consensus) + 1 + r.randrange(9)) % 10] if wrong else consensus
            doc["prediction"] = {"_id": ObjectId(), "_cls": "Classification", "tags": [], "label": guess,
                                 "confidence": round(r.uniform(0.85, 0.99) if wrong else r.uniform(0.55, 0.99), 4)}
        corrupt = "corrupt_file" in fired
        scores = {c: self.scores[c][i] for c in (AUDIO_CHECKS if audio else IMAGE_CHECKS)
                  if not corrupt or c in SIGNAL_FREE}
        if "near_duplicate" in fired or i % 97 == 0:  # scored only where an item has a near neighbour
            scores["near_duplicate"] = self.scores["near_duplicate"][i]
        if agreement is not None:
            scores["annotator_disagreement"] = agreement
        if corrupt:
            doc["media_error"] = ("cannot decode audio (Internal psf_fseek() failed.)" if audio
                                  else "cannot identify image file")
            quality = {}
        elif audio:
            quality = self._audio(doc, fired, scores)
        else:
            quality = self._image(doc, fired, scores)
        if audio:
            quality.update(text_metrics)
            scores["empty_transcript"] = text_metrics["empty"]
            scores["script_mismatch"] = text_metrics.get("script_mismatch", 0.0)
            doc["speaker"] = f"spk-{language}-{r.randrange(200):03d}"
            doc["gender"] = r.choice(["female", "male", None])
            doc["age"] = r.choice(["twenties", "thirties", "forties", "fifties", None])
        doc["quality"] = {"_cls": "DynamicEmbeddedDocument", **quality}
        doc["scores"] = {"_cls": "DynamicEmbeddedDocument", **scores}
        flags = [self._flag(check, scores[check], b, created, doc) for check in fired]
        doc["flags"] = flags
        # A scan's write counts once, each review action once more.
        doc["flags_rev"] = (1 + sum(1 for f in flags if f["version"] > 1)) if flags else None
        doc["tags"] = flaglib.derived_tags([], flags)
        if len(annotations) >= 2 and len(self.alpha_rows) < 60_000:
            self.alpha_rows += [(i, a["annotator"], a["label"], b) for a in annotations]
        return doc

    def _hash(self, audio: bool, duplicate: bool) -> str:
        """A fresh content hash, or an earlier item's for a duplicate."""
        seen = self.hashes[audio]
        if duplicate and seen:
            return seen[self.rng.randrange(len(seen))]
        digest = f"{self.rng.getrandbits(160):040x}"
        if len(seen) < 5000:
            seen.append(digest)
        return digest

    def _annotations(self, i: int, vendor: str, truth: str, classes: list[str], disagree: bool,
                     transcript: str | None) -> tuple[list[dict], str, float | None]:
        """Each annotator's answer, the consensus and the agreement (items with 2+ answers).

        Items meant to disagree get all-different answers (agreement 1/k, under
        0.6); the others at most one dissent (agreement 1 or 2/3).
        """
        r = self.rng
        k = int(self.p.n_ann[i])
        people = r.sample(self.annotators[vendor], k)
        answers = [truth if r.random() < self.accuracy[a] else classes[(classes.index(truth) + 1 + r.randrange(9)) % 10]
                   for a in people]
        if k >= 2 and disagree:
            answers = [classes[(classes.index(answers[0]) + 3 * j) % 10] for j in range(k)]
        elif k >= 2:
            majority = max(answers, key=answers.count)
            if answers.count(majority) < k - (k >= 3):
                answers = [majority] * k
        consensus = max(answers, key=lambda a: (answers.count(a), -answers.index(a)))
        agreement = answers.count(consensus) / k if k >= 2 else None
        for a, answer in zip(people, answers):
            stats = self.ann_stats[a]
            stats[0] += 1
            if k >= 2:
                stats[1] += 1
                stats[2] += answer == consensus
        anns = [{"_cls": "DynamicEmbeddedDocument", "annotator": a, "label": answer, "transcript": transcript}
                for a, answer in zip(people, answers)]
        return anns, consensus, agreement

    def _image(self, doc: dict, fired: list[str], scores: dict) -> dict:
        """Image metadata and metrics that give exactly the planned exposure, blur, colour and information scores."""
        r = self.rng
        width, height = r.choice([(640, 480), (800, 600), (1024, 768), (480, 640), (1280, 960)])
        if "odd_size" in fired:
            width, height = r.choice([(96, 72), (6000, 4500)])
        if "odd_aspect_ratio" in fired:
            width, height = 1600, 280
        doc["metadata"] = {"_cls": "ImageMetadata", "width": width, "height": height, "num_channels": 3,
                           "mime_type": "image/jpeg", "size_bytes": int(width * height * r.uniform(0.08, 0.2))}
        if "overexposed" in fired:  # score = max(mean / 0.75, white share / 0.3)
            mean = scores["overexposed"] * 0.75
            white = r.uniform(0, 0.3 * scores["overexposed"])
        else:
            mean, white = min(scores["dark"], 0.74), r.uniform(0, 0.02)
            scores["overexposed"] = max(mean / 0.75, white / 0.3)
        scores["dark"] = mean
        scores["grayscale"] = min(1.0, scores["grayscale"])
        return {
            "brightness_mean": mean, "brightness_p99": min(1.0, mean + r.uniform(0.2, 0.45)), "white_fraction": white,
            "sharpness": 0.25 + 0.08 * scores["blurry"], "contrast": scores["low_information"],
            "entropy": r.uniform(1.0, 4.0) if "low_information" in fired else min(7.9, r.gauss(7.0, 0.4)),
            "saturation_p99": scores["grayscale"],
        }

    def _audio(self, doc: dict, fired: list[str], scores: dict) -> dict:
        """Audio facts and metrics that give exactly the planned level, noise, silence and clipping scores."""
        r = self.rng
        silence = scores["silence"]
        other = r.uniform(0, min(0.5, silence))
        lead, trail = (silence, other) if r.random() < 0.5 else (other, silence)
        duration = r.lognormvariate(1.0, 0.35)
        if "duration_outlier" in fired:
            duration = r.choice([r.uniform(20, 40), r.uniform(0.2, 0.4)])
        duration = max(duration, lead + trail + 0.3)
        speech = duration - lead - trail
        rate = 8000 if "sample_rate_mismatch" in fired else 16000
        channels = 2 if "channel_mismatch" in fired else 1
        doc["audio"] = {"_cls": "DynamicEmbeddedDocument", "sample_rate": float(rate), "channels": float(channels),
                        "duration": duration, "frames": float(int(duration * rate)), "container": "WAV",
                        "subtype": "PCM_16", "size_bytes": float(int(duration * rate * 2 * channels) + 44)}
        scores["too_quiet"] = min(-3.0, scores["too_quiet"])
        return {
            "duration_s": duration, "speech_s": speech, "voiced_s": speech * r.uniform(0.6, 0.9),
            "lead_silence_s": lead, "trail_silence_s": trail, "silent_fraction": 1 - speech / duration,
            "speech_level_dbfs": scores["too_quiet"], "clip_fraction": scores["clipping"],
            "snr_db": scores["low_snr"], "end_drop_db": r.uniform(3, 45),
        }

    def _transcript(self, language: str, fired: list[str]) -> tuple[str, dict]:
        """A transcript in the language's script (blank, or in another script, where those checks fire) and its metrics."""
        from datasteward.checks.text import transcript_metrics

        r = self.rng
        text = " ".join(r.choice(WORDS[language]) for _ in range(r.randint(2, 5)))
        if "empty_transcript" in fired:
            text = r.choice(["", "  "])
        elif "script_mismatch" in fired:
            text = FOREIGN["latin"] if language in ("hi", "th") else FOREIGN[r.choice(["thai", "devanagari"])]
        key = (text, language)
        if key not in self.text_cache:
            metrics = transcript_metrics(text, language)
            self.text_cache[key] = {k: v for k, v in metrics.items() if v == v}  # NaN: not measurable
        return text, self.text_cache[key]

    def _flag(self, check: str, score: float, b: int, created: datetime, doc: dict) -> dict:
        spec = self.specs[check]
        r = self.rng
        template = DETAILS.get(check, "score {score:.3g} vs threshold {threshold:g}")
        flag = {"check": check, "score": float(score), "threshold": float(spec.default_threshold),
                "owner": spec.owner, "severity": spec.severity,
                "detail": template.format(score=score, threshold=spec.default_threshold), "status": "open",
                "assignee": None, "version": 1, "created_at": created, "updated_at": created, "created_by": "auto",
                "updated_by": "auto"}
        # Older deliveries have been reviewed further: half of the first batch's flags, none of the last three.
        reviewed = 0.5 * max(0.0, 1 - b / (N_BATCHES - 3))
        if r.random() < reviewed:
            mix = dict(REVIEW_MIX)
            if check in NOISY_CHECKS:
                mix["dismissed"] *= 2.5
            status = r.choices(list(mix), weights=list(mix.values()))[0]
            who = r.choice(TEAM[spec.owner] if status in ("fixed",) else REVIEWERS)
            when = created + timedelta(hours=r.uniform(1, 40))
            action = {"confirmed": "confirm", "dismissed": "dismiss", "fixed": "fix", "sent_back": "send_back"}[status]
            note = "returned: unusable for annotation" if status == "sent_back" else ""
            entry = {"action": action, "check": check, "who": who, "role": "reviewer", "when": when, "note": note,
                     "before": "open", "after": status, "version": 2, "bulk_id": None}
            flag.update(status=status, version=2, updated_at=when, updated_by=who, history=[entry])
            if status == "confirmed" and r.random() < 0.7:
                flag["assignee"] = entry["assignee"] = r.choice(TEAM[spec.owner])
            if status == "sent_back":
                flag["returned_reason"] = note
            if status == "fixed" and spec.owner == "annotation":
                old = doc["ground_truth"]["label"]
                doc.setdefault("corrections", []).append({"who": who, "when": when, "old_label": old,
                                                          "new_label": doc["consensus_label"],
                                                          "old_transcript": None, "new_transcript": None})
            self.history.append({"dataset": self.name, "sample_id": str(doc["_id"]), **entry})
        self.statuses[flag["status"]] = self.statuses.get(flag["status"], 0) + 1
        return flag

    def scan_info(self) -> dict:
        """``ds.info["scan"]`` as a scan writes it: agreement, annotator and vendor scorecards, batch findings."""
        import pandas as pd

        from datasteward.checks.agreement import krippendorff_alpha

        rows = pd.DataFrame(self.alpha_rows, columns=["item", "annotator", "label", "batch"])
        alpha = krippendorff_alpha(rows) if len(rows) else float("nan")
        by_batch = {self.batches[b]: _finite(krippendorff_alpha(g)) for b, g in rows.groupby("batch")} if len(rows) else {}
        annotators, vendors = [], []
        for v, names in self.annotators.items():
            items = multi = agree = 0
            acc = []
            for a in names:
                n_items, n_multi, n_agree = self.ann_stats[a]
                estimate = float(np.clip(self.accuracy[a] + self.np_rng.normal(0, 0.02), 0, 1)) if n_multi else None
                annotators.append({"annotator": a, "vendor": v, "items": n_items, "multi_items": n_multi,
                                   "ds_accuracy": estimate,
                                   "agreement_with_consensus": n_agree / n_multi if n_multi else None})
                items, multi, agree = items + n_items, multi + n_multi, agree + n_agree
                if estimate is not None:
                    acc.append((estimate, n_multi))
            vendors.append({"vendor": v, "annotators": len(names), "items": items, "multi_items": multi,
                            "ds_accuracy": (sum(e * w for e, w in acc) / sum(w for _, w in acc)) if acc else None,
                            "agreement_with_consensus": agree / multi if multi else None})
        findings = []
        for b in self.batches:
            for modality in ("audio", "image"):
                skewed = b == IMBALANCED_BATCH
                score = 0.0004 if skewed else 1.0
                cls = (AUDIO_CLASSES if modality == "audio" else IMAGE_CLASSES)[0]
                findings.append({"batch": b, "modality": modality, "check": "class_imbalance", "score": score,
                                 "detail": f"largest shift: {cls!r} {'38' if skewed else '14'}% of items "
                                           f"vs {'14' if skewed else '13'}% elsewhere"})
        return {"finished_at": self.now.isoformat(timespec="seconds") + "+00:00", "alpha_dataset": _finite(alpha),
                "alpha_by_batch": by_batch, "annotators": annotators, "vendors": vendors, "batch_findings": findings}


def _finite(value) -> float | None:
    value = float(value)
    return value if np.isfinite(value) else None


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("name", help="dataset to create")
    ap.add_argument("--samples", type=int, default=100_000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--replace", action="store_true", help="delete a dataset of that name first")
    args = ap.parse_args(argv)
    from tqdm import tqdm

    with tqdm(total=args.samples, unit="samples") as bar:
        report = generate(args.name, args.samples, args.seed, replace=args.replace,
                          progress=lambda done, total: bar.update(done - bar.n))
    print(report.summary())
    return 0


if __name__ == "__main__":
    sys.exit(main())
