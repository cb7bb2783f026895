#!/usr/bin/env python
"""Build the bundled Data Steward demo data from the shared real data.

Reads the clothing photos (CC0 1.0) and the Free Spoken Digit Dataset (FSDD)
recordings (CC BY-SA 4.0) from ``--source`` (default ``../shared/data``
relative to the repository root), synthesises spoken digit sequences in six
languages with espeak-ng, injects documented quality problems and writes

* ``sample_data/``: ``manifest.csv`` (generic manifest format),
  ``ground_truth.csv`` (every injected problem), images, audio, README, licences;
* ``tests/data/heldout/``: clean originals that the demo never uses.

The build is deterministic for a given ``--seed``, wipes both output
directories first, verifies what it wrote and takes well under a minute on two
cores. Usage::

    .venv/bin/python scripts/build_demo.py [--source DIR] [--seed N] [--jobs N]
"""
from __future__ import annotations

import argparse
import csv
import io
import os
import shutil
import subprocess
import sys
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from multiprocessing import Pool
from pathlib import Path

import numpy as np
import soundfile as sf
import soxr
from PIL import Image, ImageFilter, ImageOps

REPO = Path(__file__).resolve().parents[1]
SEED = 20260115
SR = 16000                      # demo audio sample rate
LONG_SIDE, JPEG_QUALITY = 384, 85

CLASSES = ["dress", "hat", "longsleeve", "outwear", "pants",
           "shirt", "shoes", "shorts", "skirt", "t-shirt"]
CONFUSABLE = {"shirt": ["t-shirt", "longsleeve"], "t-shirt": ["shirt", "longsleeve"],
              "longsleeve": ["shirt", "t-shirt", "outwear"], "outwear": ["longsleeve"],
              "pants": ["shorts"], "shorts": ["pants"], "skirt": ["dress"], "dress": ["skirt"]}
DIGITS = {
    "en": "zero one two three four five six seven eight nine".split(),
    "th": "ศูนย์ หนึ่ง สอง สาม สี่ ห้า หก เจ็ด แปด เก้า".split(),
    "vi": "không một hai ba bốn năm sáu bảy tám chín".split(),
    "id": "nol satu dua tiga empat lima enam tujuh delapan sembilan".split(),
    "sw": "sifuri moja mbili tatu nne tano sita saba nane tisa".split(),
    "hi": "शून्य एक दो तीन चार पाँच छह सात आठ नौ".split(),
}
ROMANIZED = {"th": "sun nueng song sam si ha hok chet paet kao".split(),
             "hi": "shunya ek do teen chaar paanch chhah saat aath nau".split()}
SOUND_ALIKE = {"zero": ["three", "seven"], "one": ["nine"], "two": ["three", "eight"],
               "three": ["two", "eight"], "four": ["five"], "five": ["nine", "four"],
               "six": ["seven", "eight"], "seven": ["six", "zero"], "eight": ["six", "three"],
               "nine": ["five", "one"]}
VOICES = {"en": "en-us", "th": "th", "vi": "vi", "id": "id", "sw": "sw", "hi": "hi"}
VARIANTS = ["m1", "m2", "m3", "m4", "f1", "f2", "f3", "f4"]
BATCHES = [f"b0{i}" for i in range(1, 7)]                 # delivered on the 15th, Jan..Jun 2026
VENDORS = ["acme-annotations", "polyglot-data"]
DELIVERY_TIME = {"acme-annotations": "09:00:00Z", "polyglot-data": "15:30:00Z"}
ANNOTATORS = {"acme-annotations": ["ann01", "ann02", "ann03", "ann04"],
              "polyglot-data": ["ann05", "ann06", "ann07", "ann08"]}
SPAMMER = "ann07"
BAD_CELL = ("b05", "acme-annotations")                    # flipped labels + low light
DRIFT_LANG, DRIFT_BATCHES = "sw", ("b04", "b05", "b06")
TTS_PER_CELL, N_MULTI_IMAGES, N_MULTI_TTS = 33, 150, 60
JUNK_TEXT = {"html_error": b"<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>\n",
             "log_message": b"upload interrupted: connection reset by peer\n",
             "lfs_pointer": b"version https://git-lfs.github.com/spec/v1\noid sha256:4d7a2146\nsize 48213\n"}

# Severity parameters per check: f(rng, k) where k cycles through sub-kinds.
CORRUPT = lambda r, k: [dict(kind="truncated", fraction=uni(r, 0.3, 0.7)), dict(kind="zero_bytes"),  # noqa: E731
                        dict(kind="text", content=sorted(JUNK_TEXT)[k // 3 % 3])][k % 3]
IMAGE_PARAMS = {
    "dark": lambda r, k: dict(gamma=uni(r, 1.8, 3.5), scale=uni(r, 0.25, 0.6), target_mean=uni(r, 0.03, 0.13)),
    "overexposed": lambda r, k: dict(gain=uni(r, 1.8, 3.2), offset=uni(r, 0.1, 0.35)),
    "blurry": lambda r, k: dict(radius=uni(r, 4, 10, 1)),
    "grayscale": lambda r, k: dict(mode=["L", "RGB"][k % 2]),
    "low_information": lambda r, k: [dict(method="blur_posterize", radius=uni(r, 40, 80, 0), contrast=uni(r, 0.25, 0.5), bits=int(r.integers(3, 5))),
                                     dict(method="near_solid", noise_std=uni(r, 1, 4, 1))][k % 2],
    "odd_size": lambda r, k: (dict(kind="thumbnail", long_side=int(r.integers(48, 73))) if k % 5 < 3
                              else dict(kind="upscale", long_side=int(r.integers(1800, 2401)))),
    "odd_aspect_ratio": lambda r, k: dict(orientation=["horizontal", "vertical"][k % 2], thickness=int(r.integers(40, 73))),
    "corrupt_file": CORRUPT,
}
AUDIO_PARAMS = {
    "clipping": lambda r, k: dict(gain=uni(r, 4, 20, 1)),
    "silence": lambda r, k: dict(kind=["lead", "trail", "both"][k % 3], lead_s=uni(r, 1.5, 4) if k % 3 != 1 else 0.0,
                                 trail_s=uni(r, 1.5, 4) if k % 3 != 0 else 0.0),
    "low_snr": lambda r, k: dict(snr_db=uni(r, -3, 5, 1), noise=["white", "pink", "babble"][k % 3]),
    "too_quiet": lambda r, k: dict(atten_db=uni(r, 35, 50, 1)),
    "duration_outlier": lambda r, k: dict(keep_fraction=uni(r, 0.15, 0.4)),
    "sample_rate_mismatch": lambda r, k: dict(sr=[8000, 44100][k % 2]),
    "channel_mismatch": lambda r, k: dict(channels=2, delay_samples=int(r.integers(0, 3))),
    "corrupt_file": CORRUPT,
}
PROBLEM_NAMES = {"dark": "low_light", "overexposed": "blown_highlights", "blurry": "gaussian_blur",
                 "grayscale": "grayscale", "low_information": "low_information", "odd_size": "resized",
                 "odd_aspect_ratio": "thin_strip", "clipping": "clipped", "silence": "silence_padding",
                 "low_snr": "added_noise", "too_quiet": "attenuated", "duration_outlier": "truncated",
                 "sample_rate_mismatch": "wrong_sample_rate", "channel_mismatch": "stereo"}
# Distinct positives per check: images, and (FSDD, TTS) for audio.
IMAGE_PLAN = {"dark": 14, "overexposed": 13, "blurry": 13, "grayscale": 13, "low_information": 13,
              "odd_size": 13, "odd_aspect_ratio": 13, "corrupt_file": 15}
AUDIO_PLAN = {c: (7, 7) for c in AUDIO_PARAMS} | {"corrupt_file": (7, 8)}


@dataclass(eq=False)
class Item:
    """One delivered file and everything the manifest and ground truth say about it."""

    kind: str                     # "image" | "fsdd" | "tts"
    truth: str                    # true class, digit word or transcript
    batch: str = ""
    vendor: str = ""
    split: str = "train"
    language: str = ""
    source: str = ""              # source photo or recording
    label: str = ""
    transcript: str = ""
    speaker: str = ""
    accent: str = ""
    gender: str = ""
    annotator: str = ""
    annotations: list = field(default_factory=list)   # [(annotator, label or transcript)]
    prediction: str = ""
    confidence: float | None = None
    digits: list = field(default_factory=list)
    tts: dict = field(default_factory=dict)           # espeak-ng voice, speed, pitch, levels
    op: str = "clean"                                 # problem rendered into the file
    params: dict = field(default_factory=dict)
    drift: dict = field(default_factory=dict)
    copy_of: Item | None = None
    blank: str = ""                                   # manifest column left empty
    problems: list = field(default_factory=list)      # [(check, problem, detail dict)]
    extra: dict = field(default_factory=dict)         # measured while rendering
    seed: int = 0
    filepath: str = ""

    @property
    def corrupt(self) -> bool:
        """Whether the stored file is deliberately undecodable."""
        return self.op == "corrupt_file"


class Picker:
    """Draw distinct items spread evenly over cells (least-loaded cell first)."""

    def __init__(self, rng, items, cell):
        self.rng, self.cell, self.free, self.load = rng, cell, list(items), Counter()

    def take(self, n, where=lambda it: True):
        """Remove and return ``n`` items satisfying ``where``."""
        out = []
        for _ in range(n):
            cands = [it for it in self.free if where(it)]
            cells = sorted({self.cell(it) for it in cands})
            low = min(self.load[c] for c in cells)
            cell = pick(self.rng, [c for c in cells if self.load[c] == low])
            it = pick(self.rng, [it for it in cands if self.cell(it) == cell])
            self.free.remove(it)
            self.load[cell] += 1
            out.append(it)
        return out


def pick(rng, seq):
    """Return one random element of ``seq``."""
    return seq[int(rng.integers(len(seq)))]


def uni(rng, lo, hi, nd=2):
    """Uniform float in [lo, hi] rounded to ``nd`` decimals."""
    return round(float(rng.uniform(lo, hi)), nd)


def deal(rng, items, key, slots, attr):
    """Set ``attr`` round-robin from ``slots``, shuffled within groups of ``key``."""
    ranked = sorted(zip(items, rng.permutation(len(items))), key=lambda p: (key(p[0]), p[1]))
    for i, (it, _) in enumerate(ranked):
        setattr(it, attr, slots[i % len(slots)])


def confuse(rng, truth, accuracy, similar=CONFUSABLE, labels=CLASSES):
    """An annotator's or model's answer: right, a look-alike (80% of errors) or random."""
    if rng.random() < accuracy:
        return truth
    if truth in similar and rng.random() < 0.8:
        return pick(rng, similar[truth])
    return pick(rng, [c for c in labels if c != truth])


def words(lang, digits):
    """Digit words of ``lang`` joined by spaces."""
    return " ".join(DIGITS[lang][d] for d in digits)


def perturb_digits(rng, lang, digits):
    """Substitute or drop one digit word; return (text, description)."""
    d, i = list(digits), int(rng.integers(len(digits)))
    if len(d) > 1 and rng.random() < 0.5:
        return words(lang, d[:i] + d[i + 1:]), f"dropped={DIGITS['en'][d[i]]}"
    new = pick(rng, [x for x in range(10) if x != d[i]])
    return words(lang, d[:i] + [new] + d[i + 1:]), f"substituted={DIGITS['en'][d[i]]}>{DIGITS['en'][new]}"


def lang_of(it):
    """The language as delivered (empty when the cell was blanked)."""
    return "" if it.blank == "language" else it.language


def is_drift_cell(it):
    """Whether the item is a clip of the degrading language in a late batch."""
    return it.kind == "tts" and it.language == DRIFT_LANG and it.batch in DRIFT_BATCHES


# --------------------------------------------------------------------------- sources and items
def load_sources(src):
    """Read the clothing labels, FSDD recordings and FSDD speaker table."""
    with open(src / "clothing" / "labels.csv", newline="") as f:
        photos = sorted((dict(r, filepath=str(src / "clothing" / r["filepath"])) for r in csv.DictReader(f)),
                        key=lambda r: r["filepath"])
    with open(src / "fsdd" / "speakers.csv", newline="") as f:
        speakers = {r["speaker"]: r for r in csv.DictReader(f)}
    recs = []
    for p in (src / "fsdd" / "recordings").glob("*.wav"):
        digit, speaker, take = p.stem.split("_")
        recs.append(dict(path=str(p), digit=int(digit), speaker=speaker, take=int(take)))
    return photos, sorted(recs, key=lambda r: (r["speaker"], r["digit"], r["take"])), speakers


def hold_out(rng, photos, recs):
    """Split off 6 photos per class and 60 recordings (each speaker x digit once, plus 20)."""
    held_p = []
    for c in CLASSES:
        rows = [r for r in photos if r["label"] == c]
        held_p += [rows[i] for i in sorted(rng.choice(len(rows), 6, replace=False))]
    held_r = [pick(rng, [r for r in recs if (r["speaker"], r["digit"]) == key])
              for key in sorted({(r["speaker"], r["digit"]) for r in recs})]
    rest = [r for r in recs if r not in held_r]
    held_r += [rest[i] for i in sorted(rng.choice(len(rest), 20, replace=False))]
    return ([r for r in photos if r not in held_p], [r for r in recs if r not in held_r],
            held_p, sorted(held_r, key=lambda r: r["path"]))


def make_items(rng, photos, recs, speakers):
    """Image, FSDD and TTS items with batch, vendor, split and single annotator."""
    images = [Item("image", r["label"], source=r["filepath"], label=r["label"], language="en",
                   annotator=r["contributor_id"]) for r in photos]
    deal(rng, images, lambda it: it.truth, BATCHES, "batch")          # 9 per class per batch
    deal(rng, images, lambda it: (it.batch, it.truth), VENDORS, "vendor")
    fsdd = []
    for r in recs:
        sp, word = speakers[r["speaker"]], DIGITS["en"][r["digit"]]
        fsdd.append(Item("fsdd", word, source=r["path"], label=word, transcript=word, digits=[r["digit"]],
                         language=sp["language"], speaker=r["speaker"], accent=sp["accent"], gender=sp["gender"]))
    deal(rng, fsdd, lambda it: (it.speaker, it.truth), BATCHES, "batch")
    deal(rng, fsdd, lambda it: (it.batch, it.speaker), VENDORS, "vendor")
    tts = make_tts(rng)
    for it in fsdd + tts:
        it.annotator = pick(rng, [a for a in ANNOTATORS[it.vendor] if a != SPAMMER])
    for it in images + fsdd + tts:
        it.split = str(rng.choice(["train", "validation", "test"], p=[0.8, 0.1, 0.1]))
    return images, fsdd, tts


def make_tts(rng):
    """TTS_PER_CELL digit sequences (2-5 words, unique per language) per (language, batch)."""
    items = []
    for lang in DIGITS:
        seen = set()
        for batch in BATCHES:
            n = 0
            while n < TTS_PER_CELL:
                digits = [int(d) for d in rng.integers(0, 10, int(rng.integers(2, 6)))]
                if tuple(digits) in seen:
                    continue
                seen.add(tuple(digits))
                n += 1
                variant = pick(rng, VARIANTS)
                it = Item("tts", words(lang, digits), batch=batch, language=lang, transcript=words(lang, digits),
                          digits=digits, speaker=f"{VOICES[lang]}+{variant}",
                          gender="male" if variant[0] == "m" else "female")
                it.tts = dict(voice=it.speaker, speed=int(rng.integers(130, 191)), pitch=int(rng.integers(25, 76)),
                              floor_snr=uni(rng, 35, 45, 1), floor=pick(rng, ["white", "pink"]),
                              peak=uni(rng, 0.3, 0.9))
                items.append(it)
    deal(rng, items, lambda it: (it.language, it.batch), VENDORS, "vendor")
    return items


def add_multi_annotations(rng, images, tts):
    """Three annotators for ~150 photos (incl. a random-answering spammer) and ~60 TTS clips."""
    pool = [it for it in images if (it.batch, it.vendor) != BAD_CELL]
    for it in Picker(rng, pool, lambda it: (it.batch, it.vendor)).take(N_MULTI_IMAGES):
        names = sorted(rng.choice(ANNOTATORS[it.vendor], 3, replace=False))
        it.annotations = [(a, pick(rng, CLASSES) if a == SPAMMER else confuse(rng, it.truth, 0.9)) for a in names]
        it.annotator = ""
        it.problems += [("annotator_quality", "spammer", dict(annotator=a, given=v, true=it.truth))
                        for a, v in it.annotations if a == SPAMMER and v != it.truth]
    pool = [it for it in tts if not is_drift_cell(it)]
    for it in Picker(rng, pool, lambda it: (it.language, it.batch)).take(N_MULTI_TTS):
        names = sorted(rng.choice([a for a in ANNOTATORS[it.vendor] if a != SPAMMER], 3, replace=False))
        it.annotations = [(a, it.truth if rng.random() < 0.92 else perturb_digits(rng, it.language, it.digits)[0])
                          for a in names]
        it.annotator = ""


# --------------------------------------------------------------------------- problem plan
def set_problem(it, check, params):
    """Mark ``it`` to be rendered with problem ``check`` and record it."""
    it.op, it.params = check, params
    name = PROBLEM_NAMES.get(check) or {"text": "not_media"}.get(params["kind"], params["kind"])
    it.problems.append((check, name, params))


def flip_label(rng, it):
    """Give ``it`` a wrong label (look-alike or random); the simulated model keeps the truth."""
    it.label = confuse(rng, it.truth, 0.0)
    d = dict(true=it.truth, given=it.label)
    it.problems += [("model_disagreement", "flipped_label", d), ("label_outlier", "flipped_label", d)]
    it.params["flipped"] = True


def blank_metadata(it, k):
    """Empty the vendor, language or (audio) speaker cell of ``it``."""
    cols = ["vendor", "language"] + (["speaker"] if it.kind != "image" else [])
    it.blank = cols[k % len(cols)]
    it.problems.append(("missing_metadata", f"missing_{it.blank}", dict(column=it.blank)))


def plan_image_problems(rng, images):
    """Choose image problems (concentrated in BAD_CELL, spread elsewhere); return duplicate originals."""
    singles = [it for it in images if not it.annotations]
    bad = [it for it in singles if (it.batch, it.vendor) == BAD_CELL]
    rng.shuffle(bad)
    n_flip = max(12, round(0.27 * len(bad)))
    for it in bad[:n_flip]:
        flip_label(rng, it)
    for k, it in enumerate(bad[n_flip:n_flip + 8]):
        set_problem(it, "dark", IMAGE_PARAMS["dark"](rng, k))
    picker = Picker(rng, [it for it in singles if (it.batch, it.vendor) != BAD_CELL],
                    lambda it: (it.batch, it.vendor))
    for check, n in IMAGE_PLAN.items():
        for k, it in enumerate(picker.take(n)):
            set_problem(it, check, IMAGE_PARAMS[check](rng, k))
    for it in picker.take(7):
        flip_label(rng, it)
    for k, it in enumerate(picker.take(7)):
        blank_metadata(it, k)
    return picker.take(20)


def plan_audio_problems(rng, fsdd, tts):
    """Choose audio and transcript problems; return (FSDD, TTS) duplicate originals."""
    fp = Picker(rng, fsdd, lambda it: (it.batch, it.vendor))
    tp = Picker(rng, [it for it in tts if not it.annotations and not is_drift_cell(it)],
                lambda it: (it.language, it.batch))
    for check, (nf, nt) in AUDIO_PLAN.items():
        for k, it in enumerate(fp.take(nf) + tp.take(nt)):
            set_problem(it, check, AUDIO_PARAMS[check](rng, k))
    for k, it in enumerate(fp.take(6) + tp.take(8)):
        it.transcript = ["", " ", "   "][k % 3]
        it.problems.append(("empty_transcript", "empty_transcript", dict(chars=len(it.transcript))))
    for k, it in enumerate(fp.take(3) + tp.take(4)):
        blank_metadata(it, k + 1)
    for k, it in enumerate(tp.take(14)):
        wrong_script(it, k)
    wrong_transcripts(rng, tp, tts, 16)
    babble = [it.source for it in fsdd]
    for it in fsdd + tts:
        if it.op == "low_snr" and it.params["noise"] == "babble":
            it.params["babble"] = [pick(rng, babble) for _ in range(6)]
    return fp.take(8), tp.take(8)


def wrong_script(it, k):
    """Write the transcript in Latin (th, hi) or in Thai/Devanagari (Latin-script languages)."""
    if it.language in ROMANIZED:
        it.transcript = " ".join(ROMANIZED[it.language][d] for d in it.digits)
        d = dict(written_in="Latin", expected="Thai" if it.language == "th" else "Devanagari")
    else:
        other = ["th", "hi"][k % 2]
        it.transcript = words(other, it.digits)
        d = dict(written_in="Thai" if other == "th" else "Devanagari", expected="Latin")
    it.problems.append(("script_mismatch", "wrong_script", d))


def wrong_transcripts(rng, picker, tts, n):
    """Give ``n`` clips another same-language clip's transcript of >= 2.5x different length."""
    donors = [it for it in tts if it.op == "clean" and not it.problems and not it.annotations
              and not is_drift_cell(it)]
    used = set()
    while n:
        it = picker.take(1, where=lambda x: len(x.digits) in (2, 5) and id(x) not in used)[0]
        ratio = lambda d: max(len(d.truth), len(it.truth)) / min(len(d.truth), len(it.truth))  # noqa: E731
        cands = [d for d in donors if d.language == it.language and d is not it and ratio(d) >= 2.5]
        if cands:
            donor = pick(rng, cands)
            donors.remove(donor)
            used.add(id(donor))
            it.transcript, d = donor.truth, dict(donor=donor, ratio=round(ratio(donor), 2))
            it.problems += [("transcript_duplicate", "wrong_transcript", d),
                            ("speech_rate_outlier", "wrong_transcript", d)]
            n -= 1


def make_duplicates(rng, originals):
    """Exact (even k) and near (odd k) copies of clean originals; half of each cross splits."""
    copies = []
    for k, orig in enumerate(originals):
        exact, cross = k % 2 == 0, k % 4 < 2
        c = Item(orig.kind, orig.truth, copy_of=orig, vendor=pick(rng, VENDORS), **{
            f: getattr(orig, f) for f in ("source", "label", "transcript", "language", "speaker",
                                          "accent", "gender", "annotator", "digits", "tts")})
        c.batch = pick(rng, [b for b in BATCHES if b != orig.batch and not
                             (c.language == DRIFT_LANG and c.kind == "tts" and b in DRIFT_BATCHES)])
        c.split = pick(rng, [s for s in ("train", "validation", "test") if s != orig.split]) if cross else orig.split
        if not exact:
            c.op, c.params = "near_duplicate", near_params(rng, orig.kind, k // 2)
        c.problems.append(("exact_duplicate", "exact_copy", dict(original=orig)) if exact else
                          ("near_duplicate", "near_copy", dict(original=orig, **c.params)))
        if cross:
            c.problems.append(("duplicate_across_splits", "split_leak",
                               dict(original=orig, splits=f"{orig.split}/{c.split}")))
        if c.kind == "tts":
            c.problems.append(("transcript_duplicate", "duplicate_clip", dict(original=orig)))
        copies.append(c)
    return copies


def near_params(rng, kind, k):
    """Parameters of a near-duplicate: JPEG re-encode, resize, crop, brightness; audio gain + noise."""
    if kind == "image":
        return [dict(kind="requality", quality=int(rng.integers(50, 76))),
                dict(kind="resize", scale=uni(rng, 0.93, 0.98, 3)),
                dict(kind="crop", fraction=uni(rng, 0.02, 0.045, 3)),
                dict(kind="brightness", factor=uni(rng, 0.92, 1.08, 3))][k % 4]
    return dict(kind="regain_noise", gain_db=uni(rng, 1, 3) * pick(rng, [-1, 1]), noise_snr_db=uni(rng, 45, 60, 1))


def apply_drift(rng, tts):
    """Degrade DRIFT_LANG in DRIFT_BATCHES: extra noise everywhere, ~30% altered transcripts."""
    seen = {t.truth for t in tts if t.language == DRIFT_LANG}
    for it in [t for t in tts if is_drift_cell(t)]:
        it.drift = dict(snr_db=uni(rng, 15, 25, 1), noise=pick(rng, ["white", "pink"]))
        d = dict(it.drift)
        if rng.random() < 0.3:
            text, what = perturb_digits(rng, it.language, it.digits)
            while text in seen:
                text, what = perturb_digits(rng, it.language, it.digits)
            it.transcript, d["transcript"] = text, what
        it.problems.append(("drift", "degraded_language", d))


def cut_drift_transcripts(rng, tts, share=0.2):
    """Cut ~``share`` of each degraded cell's transcripts after their first word, as a careless export would.

    One-word edits (:func:`apply_drift`) leave a transcript's length, and so every
    audio-free check, almost unchanged: without a speech recogniser they cannot be
    seen. A transcript that keeps one word of three or more can: its letters per
    second are far below the speaker's. These errors use their own generator
    (``seed + 1``), so the rest of the demo is the same as without them.
    """
    for batch in sorted({it.batch for it in tts if is_drift_cell(it)}):
        cell = [it for it in tts if is_drift_cell(it) and it.batch == batch]
        drift = {id(it): next(d for check, _, d in it.problems if check == "drift") for it in cell}
        free = [it for it in cell if "transcript" not in drift[id(it)] and not it.annotations and len(it.digits) >= 3]
        for i in rng.permutation(len(free))[:int(round(share * len(cell)))]:
            it = free[i]
            it.transcript = it.truth.split()[0]
            drift[id(it)]["transcript"] = "cut after its first word"
            it.problems.append(("speech_rate_outlier", "cut_transcript", dict(words_kept=1, words=len(it.digits))))


def simulate_predictions(rng, items):
    """Simulated model: images ~85% right, FSDD ~90%; none for TTS or corrupt files."""
    degraded = {"dark", "blurry", "low_information", "odd_size", "odd_aspect_ratio", "low_snr",
                "clipping", "too_quiet", "duration_outlier"}
    for it in items:
        if it.kind == "tts" or it.corrupt or it.copy_of is not None:
            continue
        p_ok = 1.0 if it.params.get("flipped") else 0.65 if it.op in degraded else 0.88 if it.kind == "image" else 0.9
        it.prediction = (confuse(rng, it.truth, p_ok) if it.kind == "image"
                         else confuse(rng, it.truth, p_ok, SOUND_ALIKE, DIGITS["en"]))
        it.confidence = round(float(rng.beta(8, 1.8) if it.prediction == it.truth else rng.beta(3, 4)), 4)
    for it in items:
        if it.copy_of is not None and it.kind != "tts":
            jitter = 0.0 if it.op == "clean" else float(rng.normal(0, 0.015))
            it.prediction = it.copy_of.prediction
            it.confidence = round(min(1.0, max(0.0, it.copy_of.confidence + jitter)), 4)


def assign_paths_and_seeds(rng, items):
    """Name files with shuffled running numbers (no hint of any injected problem)."""
    counters = Counter()
    for i in rng.permutation(len(items)):
        it = items[i]
        it.seed = int(rng.integers(2**31))
        key = it.language if it.kind == "tts" else it.kind
        counters[key] += 1
        n = counters[key]
        it.filepath = {"image": f"images/{it.batch}/img_{n:04d}.jpg",
                       "fsdd": f"audio/fsdd/{it.batch}/fsdd_{n:04d}.flac",
                       "tts": f"audio/tts/{it.language}/{it.batch}/{it.language}_{n:04d}.ogg"}[it.kind]


# --------------------------------------------------------------------------- rendering
def load_photo(path):
    """Open a photo, honour EXIF orientation, shrink to LONG_SIDE on the long side."""
    im = ImageOps.exif_transpose(Image.open(path)).convert("RGB")
    im.thumbnail((LONG_SIDE, LONG_SIDE), Image.LANCZOS)
    return im


def to_img(a):
    """Float array in [0, 1] to an 8-bit PIL image."""
    return Image.fromarray(np.round(np.clip(a, 0, 1) * 255).astype(np.uint8))


def image_op(im, op, p, rng):
    """Apply image problem ``op``; return (image, measured extras, JPEG quality)."""
    a = np.asarray(im, dtype=np.float64) / 255.0
    if op == "dark":
        a = a ** p["gamma"] * p["scale"]
        a *= min(1.0, p["target_mean"] / max(a.mean(), 1e-6))
        return to_img(a), dict(mean=round(float(a.mean()), 3)), JPEG_QUALITY
    if op == "overexposed":
        a = np.clip(a * p["gain"] + p["offset"], 0, 1)
        return to_img(a), dict(saturated=round(float((a.min(axis=2) > 0.98).mean()), 3)), JPEG_QUALITY
    if op == "blurry":
        return im.filter(ImageFilter.GaussianBlur(p["radius"])), {}, JPEG_QUALITY
    if op == "grayscale":
        return im.convert("L").convert(p["mode"]), {}, JPEG_QUALITY
    if op == "low_information" and p["method"] == "blur_posterize":
        b = np.asarray(im.filter(ImageFilter.GaussianBlur(p["radius"])), dtype=np.float64) / 255.0
        flat = to_img(b.mean(axis=(0, 1)) + (b - b.mean(axis=(0, 1))) * p["contrast"])
        return ImageOps.posterize(flat, p["bits"]), {}, JPEG_QUALITY
    if op == "low_information":
        return to_img(a.mean(axis=(0, 1)) + rng.normal(0, p["noise_std"] / 255, a.shape)), {}, JPEG_QUALITY
    if op == "odd_size":
        s = p["long_side"] / max(im.size)
        out = im.resize((max(1, round(im.width * s)), max(1, round(im.height * s))), Image.LANCZOS)
        return out, dict(size=f"{out.width}x{out.height}"), 80 if s > 1 else JPEG_QUALITY
    if op == "odd_aspect_ratio":
        horiz, t = p["orientation"] == "horizontal", p["thickness"]
        s = LONG_SIDE / (im.width if horiz else im.height)
        w, h = round(im.width * s), round(im.height * s)
        box = (0, (h - t) // 2, w, (h + t) // 2) if horiz else ((w - t) // 2, 0, (w + t) // 2, h)
        out = im.resize((w, h), Image.LANCZOS).crop(box)
        return out, dict(size=f"{out.width}x{out.height}"), JPEG_QUALITY
    if op == "near_duplicate":
        if p["kind"] == "requality":
            return im, {}, p["quality"]
        if p["kind"] == "resize":
            return im.resize((round(im.width * p["scale"]), round(im.height * p["scale"])), Image.LANCZOS), {}, JPEG_QUALITY
        if p["kind"] == "crop":
            dx, dy = round(im.width * p["fraction"] / 2), round(im.height * p["fraction"] / 2)
            return im.crop((dx, dy, im.width - dx, im.height - dy)), {}, JPEG_QUALITY
        return to_img(a * p["factor"]), {}, JPEG_QUALITY
    return im, {}, JPEG_QUALITY


def corrupt_bytes(data, p, fmt):
    """Corrupt encoded bytes: truncate (OGG inside its setup header), empty, or replace by text."""
    if p["kind"] == "zero_bytes":
        return b""
    if p["kind"] == "text":
        return JUNK_TEXT[p["content"]]
    if fmt == "OGG":   # a cut after the headers still decodes, so cut inside the setup header
        pages = [i for i in range(len(data) - 3) if data[i:i + 4] == b"OggS"][:3]
        return data[:pages[1] + int((pages[2] - pages[1]) * p["fraction"])]
    return data[:int(len(data) * p["fraction"])]


def _ogg_crc_table():
    """Lookup table of the Ogg page CRC-32 (polynomial 0x04C11DB7, not reflected)."""
    table = []
    for i in range(256):
        r = i << 24
        for _ in range(8):
            r = ((r << 1) ^ 0x04C11DB7) if r & 0x80000000 else r << 1
        table.append(r & 0xFFFFFFFF)
    return table


OGG_CRC = _ogg_crc_table()


def fix_ogg_serial(data, serial):
    """Set every page's stream serial number (libsndfile picks a random one) and redo the CRCs."""
    out, pos = bytearray(data), 0
    while pos + 27 <= len(out) and out[pos:pos + 4] == b"OggS":
        nseg = out[pos + 26]
        end = pos + 27 + nseg + sum(out[pos + 27:pos + 27 + nseg])
        out[pos + 14:pos + 18] = serial.to_bytes(4, "little")
        out[pos + 22:pos + 26] = bytes(4)
        crc = 0
        for b in out[pos:end]:
            crc = ((crc << 8) & 0xFFFFFFFF) ^ OGG_CRC[(crc >> 24) ^ b]
        out[pos + 22:pos + 26] = crc.to_bytes(4, "little")
        pos = end
    return bytes(out)


def save(job, data, fmt, extra):
    """Write encoded bytes (corrupted first if the job says so); return extras."""
    if fmt == "OGG":       # byte-reproducible builds
        data = fix_ogg_serial(data, job["seed"])
    if job["op"] == "corrupt_file":
        data = corrupt_bytes(data, job["params"], fmt)
        extra = dict(bytes=len(data))
    Path(job["out"]).parent.mkdir(parents=True, exist_ok=True)
    Path(job["out"]).write_bytes(data)
    return extra


def render_image(job):
    """Worker: write one JPEG; return measured extras."""
    im, extra, quality = image_op(load_photo(job["source"]), job["op"], job["params"],
                                  np.random.default_rng(job["seed"]))
    buf = io.BytesIO()
    im.save(buf, "JPEG", quality=quality)
    return save(job, buf.getvalue(), "JPEG", extra)


def noise(rng, n, color, babble=()):
    """Unit-variance white, pink (1/f) or babble (mixed FSDD speech) noise of length ``n``."""
    if color == "babble":
        x = np.zeros(n)
        for path in babble:
            y, sr = sf.read(path, dtype="float64")
            y = soxr.resample(y, sr, SR)
            x += np.roll(np.tile(y / (np.std(y) + 1e-9), n // len(y) + 1)[:n], int(rng.integers(n)))
    else:
        x = rng.standard_normal(n)
        if color == "pink":
            spec = np.fft.rfft(x)
            spec[1:] /= np.sqrt(np.fft.rfftfreq(n)[1:])
            spec[0] = 0
            x = np.fft.irfft(spec, n)
    return x / (np.std(x) + 1e-12)


def add_noise(rng, y, snr_db, color, babble=()):
    """Mix noise into ``y`` at ``snr_db`` relative to the whole clip's power."""
    return y + noise(rng, len(y), color, babble) * np.sqrt(np.mean(y ** 2) / 10 ** (snr_db / 10))


def synthesize(job, rng):
    """espeak-ng speech at 16 kHz with a small noise floor and a random peak level."""
    t = job["tts"]
    cmd = ["espeak-ng", "-v", t["voice"], "-s", str(t["speed"]), "-p", str(t["pitch"]), "--stdout", job["text"]]
    y, sr = sf.read(io.BytesIO(subprocess.run(cmd, capture_output=True, check=True).stdout), dtype="float64")
    y = add_noise(rng, soxr.resample(y, sr, SR), t["floor_snr"], t["floor"])
    return y * t["peak"] / np.max(np.abs(y))


def audio_op(y, op, p, rng):
    """Apply audio problem ``op``; return (signal, sample rate, measured extras)."""
    if op == "clipping":    # gain relative to a 0.5 peak, so quiet recordings clip too
        z = y * 0.5 / np.max(np.abs(y)) * p["gain"]
        return np.clip(z, -1, 1), SR, dict(clipped=round(float(np.mean(np.abs(z) >= 1)), 3))
    if op == "silence":     # near-digital silence, about -90 dBFS
        pad = [rng.normal(0, 3e-5, int(p[k] * SR)) for k in ("lead_s", "trail_s")]
        return np.concatenate([pad[0], y, pad[1]]), SR, {}
    if op == "low_snr":
        return add_noise(rng, y, p["snr_db"], p["noise"], p.get("babble", ())), SR, {}
    if op == "too_quiet":
        return y * 10 ** (-p["atten_db"] / 20), SR, {}
    if op == "duration_outlier":
        return y[:max(1, int(len(y) * p["keep_fraction"]))], SR, {}
    if op == "sample_rate_mismatch":
        return soxr.resample(y, SR, p["sr"]), p["sr"], {}
    if op == "channel_mismatch":
        return np.stack([y, 0.97 * np.roll(y, p["delay_samples"])], axis=1), SR, {}
    if op == "near_duplicate":
        return add_noise(rng, y * 10 ** (p["gain_db"] / 20), p["noise_snr_db"], "white"), SR, {}
    return y, SR, {}


def render_audio(job):
    """Worker: write one FLAC (FSDD) or OGG Vorbis (TTS) file; return measured extras."""
    rng = np.random.default_rng(job["seed"])
    if job["kind"] == "fsdd":
        y, sr = sf.read(job["source"], dtype="float64")
        y = soxr.resample(y, sr, SR)
    else:
        y = synthesize(job, rng)
    if job["drift"]:
        y = add_noise(rng, y, job["drift"]["snr_db"], job["drift"]["noise"])
    y, sr, extra = audio_op(y, job["op"], job["params"], rng)
    if job["kind"] == "fsdd" and sr == 8000:           # keep the untouched 8 kHz original
        y, _ = sf.read(job["source"], dtype="float64")
    fmt = "FLAC" if job["kind"] == "fsdd" else "OGG"
    buf = io.BytesIO()
    sf.write(buf, np.clip(y, -1, 1), sr, format=fmt, subtype="PCM_16" if fmt == "FLAC" else "VORBIS")
    return save(job, buf.getvalue(), fmt, extra)


def job_for(it, out):
    """Picklable render job; a near-duplicate TTS clip re-synthesises its original (same seed)."""
    src = it.copy_of or it
    return dict(kind=it.kind, source=it.source, out=str(out / it.filepath), op=it.op, params=it.params,
                seed=src.seed if it.kind == "tts" else it.seed, tts=it.tts, text=src.truth, drift=it.drift)


def run_job(fn, job):
    """Pool helper: ``fn(job)``."""
    return fn(job)


def render_all(items, out, jobs):
    """Render every item in parallel; exact duplicates are byte copies made afterwards."""
    exact = [it for it in items if it.copy_of is not None and it.op == "clean"]
    todo = [it for it in items if it not in exact]
    work = [(render_image if it.kind == "image" else render_audio, job_for(it, out)) for it in todo]
    with Pool(jobs) as pool:
        for it, extra in zip(todo, pool.starmap(run_job, work, chunksize=8)):
            it.extra = extra
    for it in exact:
        (out / it.filepath).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(out / it.copy_of.filepath, out / it.filepath)


def write_heldout(held_p, held_r, speakers, dest, jobs):
    """Clean held-out photos and 16 kHz FLAC recordings plus labels.csv."""
    rows, work = [], []
    for i, r in enumerate(held_p, 1):
        fp = f"images/img_{i:03d}.jpg"
        rows.append(dict(filepath=fp, label=r["label"], modality="image", speaker="", accent=""))
        work.append((render_image, dict(source=r["filepath"], out=str(dest / fp), op="clean", params={}, seed=i)))
    for i, r in enumerate(held_r, 1):
        fp = f"audio/fsdd_{i:03d}.flac"
        rows.append(dict(filepath=fp, label=DIGITS["en"][r["digit"]], modality="audio",
                         speaker=r["speaker"], accent=speakers[r["speaker"]]["accent"]))
        work.append((render_audio, dict(kind="fsdd", source=r["path"], out=str(dest / fp), op="clean",
                                        params={}, seed=i, drift={})))
    with Pool(jobs) as pool:
        pool.starmap(run_job, work, chunksize=8)
    write_csv(dest / "labels.csv", rows, ["filepath", "label", "modality", "speaker", "accent"])


# --------------------------------------------------------------------------- tables and checks
MANIFEST_COLUMNS = ["filepath", "label", "transcript", "language", "batch", "vendor", "annotator",
                    "prediction", "confidence", "split", "collected_at", "speaker", "accent", "gender", "age"]


def manifest_rows(it):
    """Manifest rows of one item (one per annotator for multi-annotated items)."""
    base = dict(filepath=it.filepath, label=it.label, transcript=it.transcript, language=it.language,
                batch=it.batch, vendor=it.vendor, annotator=it.annotator, prediction=it.prediction,
                confidence="" if it.confidence is None else f"{it.confidence:.4f}", split=it.split,
                collected_at=f"2026-{int(it.batch[1:]):02d}-15T{DELIVERY_TIME[it.vendor]}",
                speaker=it.speaker, accent=it.accent, gender=it.gender, age="")
    if it.blank:
        base[it.blank] = ""
    col = "label" if it.kind == "image" else "transcript"
    return [dict(base, annotator=a, **{col: v}) for a, v in it.annotations] or [base]


def ground_truth_rows(it):
    """Ground-truth rows of one item; details are ``key=value;...`` with items as file paths."""
    rows = []
    for check, problem, d in it.problems:
        d = {k: (v.filepath if isinstance(v, Item) else v) for k, v in (d | it.extra).items()
             if k not in ("babble", "flipped")}
        rows.append(dict(filepath=it.filepath, check=check, problem=problem,
                         detail=";".join(f"{k}={v}" for k, v in d.items())))
    return rows


def write_csv(path, rows, columns):
    """Write dict rows as UTF-8 CSV with a header."""
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=columns, lineterminator="\n")
        w.writeheader()
        w.writerows(rows)


def md_table(header, rows):
    """A Markdown table."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return "\n".join(lines + ["| " + " | ".join(str(c) for c in r) + " |" for r in rows])


def tables(items, gt):
    """Markdown tables: deliveries per batch and vendor, audio per language and batch, checks."""
    n = Counter((it.batch, it.vendor, it.kind) for it in items)
    deliveries = md_table(["batch", "delivered"] + [f"{v}: images / FSDD / TTS" for v in VENDORS],
                          [[b, f"2026-{int(b[1:]):02d}-15"] + [
                              " / ".join(str(n[(b, v, k)]) for k in ("image", "fsdd", "tts")) for v in VENDORS]
                           for b in BATCHES])
    cells = Counter((lang_of(it), it.batch) for it in items if it.kind != "image")
    langs = md_table(["language", "espeak-ng voice"] + BATCHES,
                     [[lang, VOICES[lang] + (" (+ FSDD)" if lang == "en" else "")] + [cells[(lang, b)] for b in BATCHES]
                      for lang in DIGITS])
    per = defaultdict(set)
    for r in gt:
        per[(r["check"], r["problem"])].add(r["filepath"])
    checks = md_table(["check", "problem", "items"], [[c, p, len(v)] for (c, p), v in sorted(per.items())])
    return deliveries, langs, checks


def verify(items, out):
    """Every file exists and decodes with the expected format; corrupt ones must not decode."""
    errors = []
    for it in items:
        path = out / it.filepath
        try:
            if it.kind == "image":
                with Image.open(path) as im:
                    im.load()
            else:
                y, sr = sf.read(str(path))
                want = (it.params["sr"] if it.op == "sample_rate_mismatch" else SR,
                        2 if it.op == "channel_mismatch" else 1)
                if (sr, y.shape[1] if y.ndim > 1 else 1) != want or not len(y):
                    errors.append(f"unexpected format: {it.filepath}")
            ok = True
        except Exception:  # noqa: BLE001  (any failure to open or decode)
            ok = False
        if ok == it.corrupt or not path.exists():
            errors.append(f"{'missing' if not path.exists() else 'decodes' if ok else 'undecodable'}: {it.filepath}")
    return errors


# --------------------------------------------------------------------------- documentation
FSDD_NOTE = ("Free Spoken Digit Dataset (https://github.com/Jakobovski/free-spoken-digit-dataset) "
             "by Zohar Jackson and contributors, licensed CC BY-SA 4.0 "
             "(https://creativecommons.org/licenses/by-sa/4.0/)")
TTS_NOTE = ("Synthesized speech (`audio/tts/`) is generated by `scripts/build_demo.py` with espeak-ng; "
            "it contains no third-party recordings.")
README = """# Data Steward demo data

Generated by `scripts/build_demo.py`; rebuild rather than edit. A small, realistic annotated
training set: {n_items} items ({n_rows} manifest rows) in six monthly batches from two vendors,
with real photos, real recordings and synthesized speech, and problems injected on purpose.
`ground_truth.csv` lists every injected problem.

- `images/<batch>/`: {n_img} clothing photos, 10 classes, JPEG, long side 384 px.
- `audio/fsdd/<batch>/`: {n_fsdd} spoken digits (4 English speakers, USA/Belgian/German accents), 16 kHz mono FLAC.
- `audio/tts/<lang>/<batch>/`: {n_tts} clips of 2-5 digit words spoken by espeak-ng in en, th, vi, id, sw, hi
  (transcript in native script, no label), 16 kHz mono OGG Vorbis.

## Deliveries

Both vendors deliver part of every batch; `collected_at` is 09:00 UTC (acme-annotations) or
15:30 UTC (polyglot-data) on the 15th of each month of 2026.

{deliveries}

Audio items per language and batch (items with a blank `language` are not counted):

{langs}

## Stories

1. **A bad delivery**: {bad_vendor} {bad_batch} flipped about a quarter of its image labels (mostly
   look-alikes: shirt/t-shirt/longsleeve, pants/shorts, skirt/dress, outwear/longsleeve) and sent many
   low-light photos. The simulated model predicts the true class there, confidently. A few flipped labels
   are scattered elsewhere.
2. **Language drift**: from {drift_batches}, every `{drift_lang}` clip has extra noise (15-25 dB SNR) and
   ~30% of its transcripts lose or change one digit word, and ~20% are cut after their first word
   (`check=drift`, a batch-level finding; the cut ones are also listed as `cut_transcript`).
3. **A spammer**: ~150 photos and ~60 TTS clips have three annotators (one row each). Annotators are ~90%
   accurate with look-alike confusions, except `{spammer}` (polyglot-data) who labels images at random;
   the spammer's wrong labels are listed with `check=annotator_quality` (an annotator-level finding).
4. **Leaks**: exact and near duplicates of images and audio, some across train/validation/test.
5. **Everyday defects**, spread evenly over batches and vendors: dark, overexposed, blurry, grayscale,
   low-information, tiny/huge and strip-shaped photos; clipped, silence-padded, noisy, too quiet,
   truncated, 8/44.1 kHz and stereo audio; corrupt files; empty, wrong-script and wrong transcripts;
   missing metadata.

Natural noise stays: real photos and recordings have their own quirks (some source labels are wrong),
the simulated model errs on ~15% of images and ~10% of FSDD clips, and FSDD transcripts (one digit word)
naturally repeat.

## manifest.csv

UTF-8 CSV, header `{columns}`.
`filepath` is relative to this directory; multi-annotated items have one row per annotator (item columns
repeated, `label`/`transcript` is that annotator's). `label` is the image class or FSDD digit word
(empty for TTS); `transcript` is empty for images. `language` is BCP-47 (images are labelled in `en`).
`annotator` is the clothing contributor id (may be empty) or `ann01`..`ann08` (acme: 01-04, polyglot: 05-08).
`prediction`/`confidence` come from a simulated model (empty for TTS and corrupt files). `split` is
train/validation/test (~80/10/10). FSDD `speaker`/`accent`/`gender` are as in its `speakers.csv`; TTS
`speaker` is the espeak-ng voice+variant (e.g. `sw+f2`), `gender` male/female from the variant, no accent.
`age` is unknown (empty).

## ground_truth.csv

`filepath,check,problem,detail`: one row per item and check that should find it; `check` is the Data
Steward check id, `problem` what was injected, `detail` its parameters as `key=value;...` (`original=`
and `donor=` name the other file of a duplicate or wrong transcript). Severities vary randomly within a
range.

{checks}

## Rebuild

    .venv/bin/python scripts/build_demo.py [--source ../shared/data] [--seed {seed}]

Deterministic (numpy seed {seed}); wipes and rewrites `sample_data/` and `tests/data/heldout/`; needs
espeak-ng; under a minute on two cores.

## Licences and attribution

- Photos: "Clothing dataset" by Alexey Grigorev (https://github.com/alexeygrigorev/clothing-dataset),
  CC0 1.0 (`LICENSES/clothing-CC0.txt`).
- Recordings: {fsdd_note}. The derived audio in `audio/fsdd/` stays CC BY-SA 4.0
  (`LICENSES/fsdd-CC-BY-SA-4.0.md`).
- {tts_note}
"""
FSDD_LICENSE = """# Audio derived from the Free Spoken Digit Dataset

The recordings under `audio/fsdd/` (and `tests/data/heldout/audio/`) are derived from the
{note}. `scripts/build_demo.py` resampled them from 8 kHz to 16 kHz, re-encoded them as FLAC and
deliberately degraded some of them. The derived files remain licensed under CC BY-SA 4.0 with this
attribution; licence text: https://creativecommons.org/licenses/by-sa/4.0/legalcode.

{tts}
"""
HELDOUT_README = """# Held-out test data

Clean originals never used in `sample_data/`, written by `scripts/build_demo.py` for tests that corrupt
them at test time. `labels.csv`: `filepath,label,modality,speaker,accent`.

- `images/`: 60 clothing photos (6 per class), long side 384 px; clothing dataset by Alexey Grigorev, CC0 1.0.
- `audio/`: 60 recordings (each speaker x digit once, plus 20), 16 kHz mono FLAC, derived from the
  {note}; they stay CC BY-SA 4.0.
"""


def write_docs(out, heldout, source, items, gt, seed):
    """Write README.md, LICENSES/ and the held-out README."""
    deliveries, langs, checks = tables(items, gt)
    kinds = Counter(it.kind for it in items)
    (out / "README.md").write_text(README.format(
        n_items=len(items), n_rows=sum(max(1, len(it.annotations)) for it in items), n_img=kinds["image"],
        n_fsdd=kinds["fsdd"], n_tts=kinds["tts"], deliveries=deliveries, langs=langs, checks=checks, seed=seed,
        bad_batch=BAD_CELL[0], bad_vendor=BAD_CELL[1], spammer=SPAMMER, drift_lang=DRIFT_LANG,
        drift_batches=", ".join(DRIFT_BATCHES), columns=",".join(MANIFEST_COLUMNS), fsdd_note=FSDD_NOTE,
        tts_note=TTS_NOTE), encoding="utf-8")
    (out / "LICENSES").mkdir()
    shutil.copyfile(source / "clothing" / "LICENSE", out / "LICENSES" / "clothing-CC0.txt")
    (out / "LICENSES" / "fsdd-CC-BY-SA-4.0.md").write_text(FSDD_LICENSE.format(note=FSDD_NOTE, tts=TTS_NOTE),
                                                           encoding="utf-8")
    (heldout / "README.md").write_text(HELDOUT_README.format(note=FSDD_NOTE), encoding="utf-8")


# --------------------------------------------------------------------------- main
def build(source, out, heldout, seed, jobs):
    """Plan everything with one seeded generator, render in parallel, write tables, verify."""
    rng = np.random.default_rng(seed)
    photos, recs, speakers = load_sources(source)
    photos, recs, held_p, held_r = hold_out(rng, photos, recs)
    images, fsdd, tts = make_items(rng, photos, recs, speakers)
    add_multi_annotations(rng, images, tts)
    img_orig = plan_image_problems(rng, images)
    fsdd_orig, tts_orig = plan_audio_problems(rng, fsdd, tts)
    apply_drift(rng, tts)
    cut_drift_transcripts(np.random.default_rng(seed + 1), tts)
    copies = [c for orig in (img_orig, fsdd_orig, tts_orig) for c in make_duplicates(rng, orig)]
    items = images + fsdd + tts + copies
    simulate_predictions(rng, items)
    assign_paths_and_seeds(rng, items)

    for d in (out, heldout):
        shutil.rmtree(d, ignore_errors=True)
        d.mkdir(parents=True)
    print(f"rendering {len(items)} demo items with {jobs} processes ...", flush=True)
    render_all(items, out, jobs)
    write_heldout(held_p, held_r, speakers, heldout, jobs)
    items.sort(key=lambda it: (it.batch, it.filepath))
    write_csv(out / "manifest.csv", [r for it in items for r in manifest_rows(it)], MANIFEST_COLUMNS)
    gt = [r for it in items for r in ground_truth_rows(it)]
    write_csv(out / "ground_truth.csv", gt, ["filepath", "check", "problem", "detail"])
    write_docs(out, heldout, source, items, gt, seed)

    errors = verify(items, out)
    deliveries, langs, checks = tables(items, gt)
    size = lambda d: sum(p.stat().st_size for p in d.rglob("*") if p.is_file()) / 1e6  # noqa: E731
    print(f"{checks}\n\n{langs}\n\n{deliveries}\n\nitems: {dict(Counter(it.kind for it in items))}, "
          f"files: {sum(p.is_file() for p in out.rglob('*'))}, {size(out):.1f} MB; heldout {size(heldout):.1f} MB")
    print("\n".join(errors) + f"\nverification: {len(errors)} problems" if errors else "verification: OK")
    return not errors


def main(argv=None):
    """Command-line entry point."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--source", type=Path, default=REPO.parent / "shared" / "data",
                    help="shared data directory (default: ../shared/data from the repository root)")
    ap.add_argument("--out", type=Path, default=REPO / "sample_data")
    ap.add_argument("--heldout", type=Path, default=REPO / "tests" / "data" / "heldout")
    ap.add_argument("--seed", type=int, default=SEED)
    ap.add_argument("--jobs", type=int, default=min(2, os.cpu_count() or 1))
    a = ap.parse_args(argv)
    return 0 if build(a.source.resolve(), a.out.resolve(), a.heldout.resolve(), a.seed, a.jobs) else 1


if __name__ == "__main__":
    sys.exit(main())
