"""Audio quality metrics and a near-duplicate fingerprint on decoded samples, and the audio check specs."""

from __future__ import annotations

import functools

import numpy as np

from datasteward.checks.registry import CheckSpec

FRAME_S = 0.02            # energy frames for silence, level and cut-off
SILENCE_TOP_DB = 40.0     # a frame this far below the loudest one is silence (librosa.effects.trim uses 60)
FLOOR_MARGIN_DB = 10.0    # ... or one this close to the noise floor, when the floor is high
CLIP_LEVEL = 0.99         # |sample| at or above this fraction of full scale counts as clipped
SNR_WINDOW_S = 0.064      # long enough to resolve harmonics, so the noise floor shows between them
SNR_BLOCK_HZ = 500.0
SNR_QUANTILE = 0.05
SNR_MIN_S = 0.2           # shorter clips have too few frames for a noise-floor estimate
END_S = 0.03              # the stretch whose level says whether a clip was cut off mid-speech
FINGERPRINT_BANDS = 32
FINGERPRINT_STEPS = 64
FINGERPRINT_FMAX = 4000.0  # below the Nyquist frequency of 8 kHz audio, so every rate is comparable

SPECS = (
    CheckSpec("clipping", "audio", "data_ops", "high",
              "Share of samples at full scale (|x| >= 0.99), where the waveform was cut flat",
              "above", 0.001, "ratio"),
    CheckSpec("silence", "audio", "data_ops", "medium",
              "Longest leading or trailing silence (frames 40 dB below the loudest or near the noise floor)",
              "above", 1.0, "s"),
    CheckSpec("low_snr", "audio", "data_ops", "medium",
              "Speech-to-noise ratio from the noise floor between harmonics and pauses",
              "below", 10.0, "dB"),
    CheckSpec("too_quiet", "audio", "data_ops", "medium",
              "Active speech level (RMS of non-silent frames) 26 dB (20x) or more below the ITU-T P.56 nominal -26 dBFS",
              "below", -52.0, "dBFS"),
    CheckSpec("duration_outlier", "audio", "data_ops", "medium",
              "Speech duration far from its language's (or speaker's) typical, or cut off short for its transcript",
              "above", 4.0, "robust |z|", level="dataset"),
    CheckSpec("sample_rate_mismatch", "audio", "data_ops", "high",
              "Sample rate differs from the dataset's most common rate (distance in octaves)",
              "above", 0.0, "octaves", level="dataset"),
    CheckSpec("channel_mismatch", "audio", "data_ops", "medium",
              "Channel count differs from the dataset's most common count",
              "above", 0.0, "channels", level="dataset"),
)


def frame_power(y: np.ndarray, sr: int, *, frame_s: float = FRAME_S) -> np.ndarray:
    """Mean power of consecutive non-overlapping frames.

    Parameters
    ----------
    y : np.ndarray
        Mono samples, shape ``(n,)``, full scale at 1.0.
    sr : int
        Sample rate in Hz.
    frame_s : float
        Frame length in seconds; a last partial frame longer than half a frame is kept.

    Returns
    -------
    np.ndarray
        Shape ``(frames,)``, power relative to a full-scale RMS of 1.
    """
    fl = max(1, int(round(frame_s * sr)))
    n = len(y) // fl
    tail = len(y) - n * fl
    body = y[: n * fl].reshape(n, fl)
    power = np.einsum("ij,ij->i", body, body) / fl
    if tail * 2 > fl or n == 0:
        rest = y[n * fl:]
        power = np.append(power, float(rest @ rest) / max(len(rest), 1))
    return power


def active_frames(db: np.ndarray, *, top_db: float = SILENCE_TOP_DB, floor_margin_db: float = FLOOR_MARGIN_DB) -> np.ndarray:
    """Which frames hold sound rather than silence.

    A frame is silent when it is ``top_db`` below the loudest frame, or, in a
    recording whose noise floor is high, within ``floor_margin_db`` of that
    floor (but the threshold never rises above 15 dB below the loudest frame,
    so a noisy clip is not declared silent). A clip quieter than -90 dBFS
    everywhere is all silence.

    Parameters
    ----------
    db : np.ndarray
        Frame levels in dB re full scale, shape ``(frames,)``.

    Returns
    -------
    np.ndarray
        Boolean, shape ``(frames,)``.
    """
    peak = float(db.max())
    if peak < -90.0:
        return np.zeros(db.shape, dtype=bool)
    floor = float(np.partition(db, len(db) // 10)[len(db) // 10])
    threshold = max(peak - top_db, min(floor + floor_margin_db, peak - 15.0))
    return db > threshold


def snr_db(y: np.ndarray, sr: int, *, window_s: float = SNR_WINDOW_S, block_hz: float = SNR_BLOCK_HZ,
           quantile: float = SNR_QUANTILE, min_s: float = SNR_MIN_S) -> float:
    """Speech-to-noise ratio of a clip, in dB, with no need for pauses.

    The noise power in each ``block_hz`` wide band is the ``quantile`` of the
    spectrogram's values over all frames and bins of that band, corrected for
    the exponential spread of noise power (minimum statistics over time and
    frequency). Voiced speech leaves the floor visible between its harmonics, so
    clips trimmed to the word still get a fair estimate.

    Returns
    -------
    float
        ``10 log10((total - noise) / noise)``; NaN for clips shorter than ``min_s`` seconds.
    """
    if len(y) < min_s * sr:
        return float("nan")
    n_fft = 1 << int(np.ceil(np.log2(window_s * sr)))
    hop = n_fft // 2
    frames = 1 + (len(y) - n_fft) // hop
    idx = np.arange(n_fft)[None, :] + hop * np.arange(frames)[:, None]
    spec = np.abs(np.fft.rfft(y[idx] * np.hanning(n_fft).astype(np.float32), axis=1)) ** 2
    bin_hz = sr / n_fft
    width = max(2, int(round(block_hz / bin_hz)))
    lo = int(np.ceil(100.0 / bin_hz))
    n_blocks = (spec.shape[1] - lo) // width
    if n_blocks < 1:
        return float("nan")
    blocks = spec[:, lo: lo + n_blocks * width].reshape(frames, n_blocks, width).transpose(1, 0, 2).reshape(n_blocks, -1)
    k = int(quantile * (blocks.shape[1] - 1))
    noise = np.partition(blocks, k, axis=1)[:, k] / -np.log1p(-quantile)
    total = blocks.mean(axis=1)
    noise_sum = float(noise.sum()) * width
    signal_sum = float(np.maximum(total - noise, 0.0).sum()) * width
    if noise_sum <= 0.0:
        return float("inf") if signal_sum > 0 else float("nan")
    return float(10.0 * np.log10(max(signal_sum, 1e-20) / noise_sum))


def audio_metrics(y: np.ndarray, sr: int) -> dict[str, float]:
    """Level, silence, clipping, noise and duration metrics of one clip.

    Parameters
    ----------
    y : np.ndarray
        Mono float samples, shape ``(n,)``, full scale at 1.0 (stereo ``(channels, n)`` is averaged).
    sr : int
        Sample rate in Hz.

    Returns
    -------
    dict
        ``duration_s``; ``speech_s`` (first to last non-silent frame) and
        ``voiced_s`` (non-silent frames only), in seconds;
        ``lead_silence_s``, ``trail_silence_s``, ``silent_fraction``;
        ``speech_level_dbfs``: RMS of non-silent frames, dB re full-scale RMS;
        ``clip_fraction``: share of samples with ``|x| >= 0.99``;
        ``snr_db``; ``end_drop_db``: how far the last 30 ms sit below the speech
        level (small when a clip was cut off mid-speech).
    """
    y = np.asarray(y, dtype=np.float32)
    if y.ndim == 2:
        y = y.mean(axis=0)
    y = np.nan_to_num(y, nan=0.0, posinf=1.0, neginf=-1.0)
    duration = len(y) / float(sr)
    power = frame_power(y, sr)
    db = 10.0 * np.log10(power + 1e-20)
    active = active_frames(db)
    frame = FRAME_S
    if active.any():
        idx = np.flatnonzero(active)
        lead = idx[0] * frame
        trail = max(0.0, duration - (idx[-1] + 1) * frame)
        speech = min(duration, (idx[-1] - idx[0] + 1) * frame)
        level = float(10.0 * np.log10(power[active].mean() + 1e-20))
    else:
        lead = trail = duration
        speech = 0.0
        level = float(db.max())
    end = y[-max(1, int(END_S * sr)):]
    end_db = float(10.0 * np.log10(float(end @ end) / len(end) + 1e-20))
    return {
        "duration_s": duration,
        "speech_s": float(speech),
        "voiced_s": float(active.sum() * frame if active.any() else 0.0),
        "lead_silence_s": float(lead),
        "trail_silence_s": float(trail),
        "silent_fraction": float(1.0 - active.mean()),
        "speech_level_dbfs": level,
        "clip_fraction": float(np.count_nonzero(np.abs(y) >= CLIP_LEVEL)) / max(len(y), 1),
        "snr_db": snr_db(y, sr),
        "end_drop_db": level - end_db,
    }


def spectrogram_frames(sr: int) -> int:
    """FFT size (and window) of :func:`power_spectrogram`: ~32 ms, a power of two."""
    return 1 << int(np.ceil(np.log2(0.032 * sr)))


def power_spectrogram(y: np.ndarray, sr: int) -> np.ndarray:
    """Power spectrogram with ~32 ms Hann windows and half-window hops, shared by the fingerprint and the features.

    Parameters
    ----------
    y : np.ndarray
        Mono float samples, shape ``(n,)``; padded to one window if shorter.
    sr : int
        Sample rate in Hz.

    Returns
    -------
    np.ndarray
        ``float32``, shape ``(frames, n_fft // 2 + 1)`` with ``n_fft`` = :func:`spectrogram_frames`.
    """
    from numpy.lib.stride_tricks import sliding_window_view

    y = np.asarray(y, dtype=np.float32)
    y = np.nan_to_num(y.mean(axis=0) if y.ndim == 2 else y.ravel())
    n_fft = spectrogram_frames(sr)
    if len(y) < n_fft:
        y = np.pad(y, (0, n_fft - len(y)))
    frames = sliding_window_view(y, n_fft)[:: n_fft // 2]
    spec = np.fft.rfft(frames * _hann(n_fft), axis=1)
    return (spec.real ** 2 + spec.imag ** 2).astype(np.float32)


@functools.lru_cache(maxsize=16)
def _hann(n: int) -> np.ndarray:
    return np.hanning(n).astype(np.float32)


def audio_fingerprint(y: np.ndarray, sr: int, *, spec: np.ndarray | None = None) -> str:
    """256-bit perceptual hash of a clip's spectrogram, as 64 hex digits.

    The clip is trimmed to its sound (frames within 30 dB of the loudest), its
    log band energies between 100 Hz and 4 kHz are resampled to a picture of
    32 bands x 64 time steps, and the hash keeps the signs of the picture's
    lowest 16 x 16 2-D DCT coefficients relative to their median, as
    ``imagehash.phash`` does for images. The first 64 bits are the coarsest
    8 x 8 coefficients, a hash of their own used to find candidate pairs.

    Band edges are in Hz, so the hash does not depend on the sample rate (8 kHz
    audio still reaches 4 kHz); the log and the dropped DC term make it blind to
    gain, and the 30 dB floor to light noise and to padding. Two takes of the
    same word by the same speaker differ in timing and formants, which the
    finer coefficients keep apart.

    Parameters
    ----------
    y : np.ndarray
        Mono float samples, shape ``(n,)``.
    sr : int
        Sample rate in Hz.
    spec : np.ndarray, optional
        :func:`power_spectrogram` of ``y``, if already computed.
    """
    from scipy.fft import dctn

    spec = power_spectrogram(y, sr) if spec is None else spec
    n_fft = 2 * (spec.shape[1] - 1)
    freqs = np.fft.rfftfreq(n_fft, 1.0 / sr)
    edges = np.geomspace(100.0, min(FINGERPRINT_FMAX, sr / 2.0), FINGERPRINT_BANDS + 1)
    band = np.searchsorted(edges, freqs, side="right") - 1
    energy = spec @ (band[:, None] == np.arange(FINGERPRINT_BANDS)[None, :]).astype(np.float32)
    level = 10.0 * np.log10(energy.sum(axis=1) + 1e-20)
    loud = np.flatnonzero(level > level.max() - 30.0)
    logs = 10.0 * np.log10(energy[loud[0]: loud[-1] + 1].astype(np.float64) + 1e-20)
    logs = np.maximum(logs, logs.max() - 30.0)
    t = np.linspace(0, len(logs) - 1, FINGERPRINT_STEPS)
    i0 = np.floor(t).astype(int)
    i1 = np.minimum(i0 + 1, len(logs) - 1)
    w = (t - i0)[:, None]
    picture = logs[i0] * (1 - w) + logs[i1] * w
    coeffs = dctn(picture, norm="ortho")[:16, :16]
    ordered = np.concatenate([coeffs[:8, :8].ravel(), coeffs[:8, 8:].ravel(), coeffs[8:, :].ravel()])
    bits = ordered > np.median(ordered[1:])
    bits[0] = False
    return _bits_to_hex(bits)


def _bits_to_hex(bits: np.ndarray) -> str:
    return np.packbits(bits.astype(np.uint8)).tobytes().hex()
