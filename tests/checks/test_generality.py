"""The signal checks' default thresholds hold on held-out real media corrupted at new severities."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile as sf
from PIL import Image, ImageFilter

from datasteward import media
from datasteward.checks import audio, image, text
from datasteward.checks.findings import decide, default_thresholds
from datasteward.checks.registry import Registry
from datasteward.checks.signal import SPECS, signal_scores

HELDOUT = Path(__file__).resolve().parents[1] / "data" / "heldout"
SEED = 7_2026  # not the demo's
PER_CHECK = 12  # corrupted copies per check: recall 0.9 allows one miss
CHECKS = ["dark", "overexposed", "blurry", "grayscale", "clipping", "low_snr", "too_quiet", "silence", "duration_outlier"]


def _lin(a):
    return np.where(a <= 0.04045, a / 12.92, ((a + 0.055) / 1.055) ** 2.4)


def _to8(a):
    return (np.clip(a, 0, 1) * 255).round().astype(np.uint8)


def _corrupt_image(kind: str, rgb: np.ndarray, rng) -> Image.Image:
    """A degraded copy; severities differ from the demo build on purpose."""
    a = rgb / 255.0
    if kind == "dark":  # display-space gamma and gain (demo: gamma 1.8-3.5, gain 0.25-0.6, mean 0.03-0.13)
        return Image.fromarray(_to8(a ** rng.uniform(1.2, 2.0) * rng.uniform(0.08, 0.2)))
    if kind == "overexposed":  # gain until 35-70% of the frame is white (demo: gain 1.8-3.2 plus offset 0.1-0.35)
        darkest_channel = a.min(axis=2)
        return Image.fromarray(_to8(a / max(np.quantile(darkest_channel, 1 - rng.uniform(0.35, 0.7)), 1e-3)))
    if kind == "blurry":  # demo radius 4-10 px
        return Image.fromarray(rgb).filter(ImageFilter.GaussianBlur(rng.uniform(2.5, 3.8)))
    if kind == "grayscale":  # demo: L or RGB; here desaturated through linear light
        y = _lin(a) @ np.array([0.2126, 0.7152, 0.0722])
        srgb = np.where(y <= 0.0031308, 12.92 * y, 1.055 * np.power(y, 1 / 2.4) - 0.055)
        return Image.fromarray(np.repeat(_to8(srgb)[..., None], 3, axis=2))
    raise ValueError(kind)


def _noise(rng, n, colour):
    """Unit-power white or pink (1/f) noise."""
    x = rng.standard_normal(n)
    if colour == "pink":
        spectrum = np.fft.rfft(x)
        spectrum[1:] /= np.sqrt(np.fft.rfftfreq(n)[1:])
        spectrum[0] = 0
        x = np.fft.irfft(spectrum, n)
    return x / (np.std(x) + 1e-12)


def _corrupt_audio(kind: str, y: np.ndarray, sr: int, rng) -> np.ndarray:
    """A degraded copy; severities differ from the demo build on purpose."""
    if kind == "clipping":  # peak driven to 1.6-3x full scale (demo: 2-10x)
        return np.clip(y / np.abs(y).max() * rng.uniform(1.6, 3.0), -1, 1)
    if kind == "low_snr":  # demo: -3..5 dB white/pink/babble; here -5..6 dB
        colour = ["white", "pink"][int(rng.integers(2))]
        snr = rng.uniform(-5.0, 6.0)
        return y + _noise(rng, len(y), colour) * np.sqrt(np.mean(y ** 2) / 10 ** (snr / 10))
    if kind == "too_quiet":  # demo: 35-50 dB
        return y * 10 ** (-rng.uniform(36.0, 55.0) / 20)
    if kind == "silence":  # demo: 1.5-4 s at -90 dBFS
        lead, trail = [rng.uniform(1.2, 3.0) if on else 0.0 for on in [(True, False), (False, True), (True, True)][int(rng.integers(3))]]
        pad = lambda s: rng.normal(0, 1e-4, int(s * sr))  # noqa: E731  (about -80 dBFS)
        return np.concatenate([pad(lead), y, pad(trail)])
    if kind == "duration_outlier":  # truncated: keep 20-45% (demo: 15-40%)
        return y[: max(1, int(len(y) * rng.uniform(0.2, 0.45)))]
    raise ValueError(kind)


def _image_row(item_id: str, path: Path) -> dict:
    im, info = media.load_image(path)
    rgb = np.asarray(im.convert("RGB"))
    return {"id": item_id, "modality": "image", "width": info.width, "height": info.height,
            "content_hash": media.content_hash(path), **image.image_metrics(rgb), "phash": image.perceptual_hash(rgb)}


def _audio_row(item_id: str, path: Path, label: str, speaker: str) -> dict:
    y, info = media.load_audio(path)
    return {"id": item_id, "modality": "audio", "sample_rate": info.sample_rate, "channels": info.channels,
            "duration": info.duration, "content_hash": media.content_hash(path), "speaker": speaker,
            "transcript": label, **audio.audio_metrics(y, info.sample_rate), **text.transcript_metrics(label, "en"),
            "fingerprint": audio.audio_fingerprint(y, info.sample_rate)}


def heldout_table(out: Path, seed: int = SEED) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Clean originals plus corrupted copies written to ``out`` as JPEG/FLAC and decoded by media.

    Returns
    -------
    table : DataFrame
        One row per item, as the scan builds it.
    truth : DataFrame
        ``id, check`` of every corrupted copy.
    """
    labels = pd.read_csv(HELDOUT / "labels.csv", dtype=str, keep_default_na=False)
    rng = np.random.default_rng(seed)
    rows, truth = [], []
    images = labels[labels["modality"] == "image"].reset_index(drop=True)
    clips = labels[labels["modality"] == "audio"].reset_index(drop=True)
    for r in images.itertuples():
        rows.append(_image_row(r.filepath, HELDOUT / r.filepath))
    for r in clips.itertuples():
        rows.append(_audio_row(r.filepath, HELDOUT / r.filepath, r.label, r.speaker))
    for kind in CHECKS:
        is_image = kind in ("dark", "overexposed", "blurry", "grayscale")
        pool = images if is_image else clips
        for k in rng.choice(len(pool), PER_CHECK, replace=False):
            src = pool.iloc[int(k)]
            item_id = f"{kind}/{Path(src.filepath).name}"
            path = out / item_id.replace("/", "_")
            if is_image:
                im, _ = media.load_image(HELDOUT / src.filepath)
                _corrupt_image(kind, np.asarray(im.convert("RGB")), rng).save(path, "JPEG", quality=int(rng.integers(80, 96)))
                rows.append(_image_row(item_id, path))
            else:
                y, info = media.load_audio(HELDOUT / src.filepath)
                z = _corrupt_audio(kind, y.astype(np.float64), info.sample_rate, rng)
                buf = io.BytesIO()
                sf.write(buf, np.clip(z, -1, 1), info.sample_rate, format="FLAC", subtype="PCM_16")
                path = path.with_suffix(".flac")
                path.write_bytes(buf.getvalue())
                rows.append(_audio_row(item_id, path, src.label, src.speaker))
            truth.append((item_id, kind))
    table = pd.DataFrame(rows).assign(media_error=None, language="en", batch="b01", vendor="v", split="train")
    return table, pd.DataFrame(truth, columns=["id", "check"])


@pytest.fixture(scope="module")
def evaluation(tmp_path_factory) -> pd.DataFrame:
    """Findings with default thresholds on the held-out table; ``attrs["truth"]`` lists the corruptions."""
    table, truth = heldout_table(tmp_path_factory.mktemp("heldout"))
    registry = Registry(SPECS)
    findings = decide(signal_scores(table), registry, default_thresholds(registry))
    findings.attrs["truth"] = truth
    return findings


@pytest.mark.parametrize("check", CHECKS, ids=CHECKS)
def test_default_threshold_generalises(evaluation, check):
    truth = evaluation.attrs["truth"]
    positives = set(truth.loc[truth["check"] == check, "id"])
    flagged = set(evaluation.loc[(evaluation["check"] == check) & evaluation["fired"], "id"])
    hits = flagged & positives
    recall = len(hits) / len(positives)
    precision = len(hits) / len(flagged) if flagged else 0.0
    assert recall >= 0.9, f"{check}: missed {sorted(positives - flagged)}"
    assert precision >= 0.8, f"{check}: false positives {sorted(flagged - positives)}"
