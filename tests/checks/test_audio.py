"""Audio metrics and fingerprints on synthetic signals whose answers are known."""

from __future__ import annotations

import numpy as np
import pytest

from datasteward.checks import audio

SR = 16000


def _tone(seconds: float, *, amplitude: float = 0.5, freq: float = 220.0, sr: int = SR) -> np.ndarray:
    t = np.arange(int(seconds * sr)) / sr
    return (amplitude * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def _voice(rng, seconds: float = 1.2, *, f0: float = 140.0, sr: int = SR) -> np.ndarray:
    """A speech-like signal: harmonics of a wandering pitch under a syllable-rate envelope, peak 0.5."""
    t = np.arange(int(seconds * sr)) / sr
    pitch = f0 * (1 + 0.1 * np.sin(2 * np.pi * 1.3 * t + rng.uniform(0, 6)))
    phase = 2 * np.pi * np.cumsum(pitch) / sr
    y = sum(np.sin(k * phase) / k for k in range(1, 25) if k * f0 < sr / 2)
    envelope = np.clip(np.sin(2 * np.pi * 2.5 * t), 0, None) ** 0.5
    y = y * envelope
    return (0.5 * y / np.abs(y).max()).astype(np.float32)


def test_duration_and_level_of_a_sine():
    m = audio.audio_metrics(_tone(2.0, amplitude=0.1), SR)
    assert m["duration_s"] == pytest.approx(2.0)
    # RMS of a sine is amplitude / sqrt(2): 20 log10(0.1 / sqrt(2)) = -23.0 dBFS
    assert m["speech_level_dbfs"] == pytest.approx(-23.01, abs=0.05)
    assert m["clip_fraction"] == 0.0


def test_clipped_sine_has_its_known_clipping_ratio():
    y = np.clip(_tone(1.0, amplitude=2.0), -1, 1)
    # |2 sin| >= 0.99 for a share 1 - (2/pi) arcsin(0.495) of the time
    assert audio.audio_metrics(y, SR)["clip_fraction"] == pytest.approx(1 - 2 / np.pi * np.arcsin(0.495), abs=0.01)


@pytest.mark.parametrize("lead, trail", [(2.0, 0.0), (0.0, 1.5), (1.0, 3.0)], ids=["lead", "trail", "both"])
def test_padding_is_measured_as_silence(lead, trail):
    y = np.concatenate([np.zeros(int(lead * SR)), _tone(0.8), np.zeros(int(trail * SR))]).astype(np.float32)
    m = audio.audio_metrics(y, SR)
    assert m["lead_silence_s"] == pytest.approx(lead, abs=0.021)
    assert m["trail_silence_s"] == pytest.approx(trail, abs=0.021)
    assert m["speech_s"] == pytest.approx(0.8, abs=0.041)


def test_every_active_frame_is_above_the_silence_threshold(rng):
    """Invariant (as librosa's trim test): kept frames are louder than the threshold, dropped ones are not."""
    y = np.concatenate([rng.normal(0, 1e-4, SR), _voice(rng), rng.normal(0, 1e-4, SR)]).astype(np.float32)
    db = 10 * np.log10(audio.frame_power(y, SR) + 1e-20)
    active = audio.active_frames(db)
    assert db[active].min() > db[~active].max()


def test_digital_silence_is_all_silence():
    m = audio.audio_metrics(np.zeros(SR, dtype=np.float32), SR)
    assert m["silent_fraction"] == 1.0 and m["speech_s"] == 0.0


@pytest.mark.parametrize("snr", [0.0, 10.0, 20.0], ids=["0dB", "10dB", "20dB"])
def test_snr_estimate_tracks_added_white_noise(rng, snr):
    y = _voice(rng)
    noise = rng.standard_normal(len(y)) * np.sqrt(np.mean(y ** 2) / 10 ** (snr / 10))
    assert audio.snr_db((y + noise).astype(np.float32), SR) == pytest.approx(snr, abs=4.0)


def test_snr_is_not_estimated_on_a_fragment(rng):
    assert np.isnan(audio.snr_db(_voice(rng, 0.1), SR))


def test_cut_off_clip_ends_near_its_speech_level(rng):
    y = _voice(rng, 1.0)
    faded = y * np.r_[np.ones(len(y) - 4000), np.linspace(1, 0, 4000)]
    cut = _tone(0.5)
    assert audio.audio_metrics(cut, SR)["end_drop_db"] < 3
    assert audio.audio_metrics(faded.astype(np.float32), SR)["end_drop_db"] > 20


def _bits(h: str) -> np.ndarray:
    return np.unpackbits(np.frombuffer(bytes.fromhex(h), dtype=np.uint8))


def _distance(a: str, b: str) -> float:
    return float(np.mean(_bits(a) != _bits(b)))


def test_fingerprint_survives_gain_noise_and_resampling(rng):
    from scipy.signal import resample_poly

    y = _voice(rng)
    h = audio.audio_fingerprint(y, SR)
    assert len(h) == 64
    quieter = audio.audio_fingerprint(y * 0.5, SR)
    noisy = audio.audio_fingerprint(y + rng.normal(0, 10 ** (-50 / 20) * np.std(y), len(y)).astype(np.float32), SR)
    at_8k = audio.audio_fingerprint(resample_poly(y, 1, 2).astype(np.float32), 8000)
    assert _distance(h, quieter) < 0.05
    assert _distance(h, noisy) < 0.1
    assert _distance(h, at_8k) < 0.125


def test_fingerprints_of_different_takes_differ(rng):
    a = audio.audio_fingerprint(_voice(rng, f0=140.0), SR)
    b = audio.audio_fingerprint(_voice(rng, f0=150.0), SR)
    assert _distance(a, b) > 0.2
