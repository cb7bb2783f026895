"""Fixed-length feature vectors computed locally (no downloaded models), for the label checks' neighbours and models."""

from __future__ import annotations

import functools

import numpy as np
from PIL import Image
from scipy import ndimage

# Bumped whenever a feature's definition changes, so stored vectors are recomputed.
FEATURE_VERSION = 3

# Images are resampled to a fixed square so a vector does not depend on the delivered size.
IMAGE_SIDE = 128
HUE_BINS, SAT_BINS, VAL_BINS = 12, 4, 4
HOG_CELLS, HOG_BINS = 4, 9
LAYOUT_SIDE = 8
IMAGE_FEATURE_SIZE = HUE_BINS + SAT_BINS + VAL_BINS + 6 + HOG_CELLS * HOG_CELLS * HOG_BINS + LAYOUT_SIDE**2 + 1

N_MFCC = 20
AUDIO_SEGMENTS = 4
AUDIO_FEATURE_SIZE = (AUDIO_SEGMENTS + 1) * N_MFCC
SOUND_DB = 30.0  # frames this close to the loudest are the sound; the rest is silence or background
_N_MELS = 40
# Every rate from 8 kHz up reaches 4 kHz, where most of speech's intelligibility lies.
MEL_FMAX = 4000.0

# A gradient this strong (Sobel on 0-1 luminance) is a visible edge rather than texture noise.
_EDGE_LEVEL = 0.5
_LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)


def image_features(rgb: np.ndarray) -> np.ndarray:
    """Colour, gradient-orientation and layout descriptor of an image.

    Parameters
    ----------
    rgb : np.ndarray
        ``uint8``, shape ``(H, W, 3)`` (or ``(H, W)`` for grayscale), any size;
        it is resampled to ``IMAGE_SIDE`` x ``IMAGE_SIDE``.

    Returns
    -------
    np.ndarray
        ``float32``, shape ``(IMAGE_FEATURE_SIZE,)``, in this order: hue histogram
        weighted by saturation (12), saturation and value histograms (4 + 4), RGB
        mean and standard deviation (6), a 4 x 4 grid of 9-bin gradient-orientation
        histograms weighted by magnitude, each L2-normalised (HOG-like, 144), an
        8 x 8 luminance layout minus its mean (64) and the share of strong edges (1).
    """
    rgb = np.asarray(rgb)
    if rgb.ndim == 2:
        rgb = np.repeat(rgb[..., None], 3, axis=2)
    small = Image.fromarray(np.ascontiguousarray(rgb[..., :3], dtype=np.uint8)).resize(
        (IMAGE_SIDE, IMAGE_SIDE), Image.Resampling.BILINEAR, reducing_gap=2.0)
    x = np.asarray(small, dtype=np.float32) / 255.0
    hsv = np.asarray(small.convert("HSV"), dtype=np.float32) / 255.0
    gray = x @ _LUMA
    n = float(gray.size)

    hue_bin = np.minimum((hsv[..., 0] * HUE_BINS).astype(np.intp), HUE_BINS - 1)
    hue = np.bincount(hue_bin.ravel(), hsv[..., 1].ravel(), HUE_BINS)
    hue /= max(hue.sum(), 1e-6)
    sat = _histogram(hsv[..., 1], SAT_BINS) / n
    val = _histogram(hsv[..., 2], VAL_BINS) / n
    mean = x.mean(axis=(0, 1))
    std = np.sqrt(np.maximum((x * x).mean(axis=(0, 1)) - mean * mean, 0.0))

    gx, gy = ndimage.sobel(gray, axis=1), ndimage.sobel(gray, axis=0)
    magnitude = np.hypot(gx, gy)
    orientation = np.mod(np.arctan2(gy, gx), np.pi)  # unsigned: a dark-to-light edge equals light-to-dark
    hog = _cell_histograms(np.minimum((orientation / np.pi * HOG_BINS).astype(np.intp), HOG_BINS - 1),
                           magnitude, cells=HOG_CELLS, bins=HOG_BINS)

    step = IMAGE_SIDE // LAYOUT_SIDE
    layout = gray.reshape(LAYOUT_SIDE, step, LAYOUT_SIDE, step).mean(axis=(1, 3))
    edges = float((magnitude > _EDGE_LEVEL).mean())
    return np.concatenate([hue, sat, val, mean, std, hog,
                           (layout - layout.mean()).ravel(), [edges]]).astype(np.float32)


def _histogram(values: np.ndarray, bins: int) -> np.ndarray:
    """Counts of ``values`` in [0, 1] over ``bins`` equal bins (1.0 falls in the last)."""
    return np.bincount(np.minimum((values * bins).astype(np.intp), bins - 1).ravel(), minlength=bins)


def _cell_histograms(index: np.ndarray, weights: np.ndarray, *, cells: int, bins: int) -> np.ndarray:
    """Weighted histogram of bin ``index`` in each cell of a ``cells`` x ``cells`` grid, each L2-normalised."""
    h, w = index.shape
    cell_id = (np.arange(h)[:, None] * cells // h) * cells + (np.arange(w)[None, :] * cells // w)
    hist = np.bincount((cell_id * bins + index).ravel(), weights.ravel(), cells * cells * bins)
    hist = hist.reshape(cells * cells, bins)
    hist /= np.linalg.norm(hist, axis=1, keepdims=True) + 1e-6
    return hist.ravel()


def audio_features(y: np.ndarray, sr: int, *, spec: np.ndarray | None = None) -> np.ndarray:
    """MFCC statistics of a mono clip over its sound, in time segments, comparable across sample rates.

    Parameters
    ----------
    y : np.ndarray
        Mono samples, float, shape ``(n,)``.
    sr : int
        Sample rate of ``y`` in Hz (8 kHz or more); no resampling is needed, because
        the 40 mel bands stop at 4 kHz, which every such rate reaches.
    spec : np.ndarray, optional
        :func:`datasteward.checks.audio.power_spectrogram` of ``y`` (~32 ms windows,
        half-window hops), if already computed for the fingerprint.

    Returns
    -------
    np.ndarray
        ``float32``, shape ``(AUDIO_FEATURE_SIZE,)``: 20 MFCCs (log mel power, top
        80 dB, orthonormal DCT-II, as ``librosa.feature.mfcc``) over the frames
        within 30 dB of the loudest (leading and trailing silence dropped); their
        mean in each of ``AUDIO_SEGMENTS`` equal stretches of time, in order, then
        their standard deviation over the whole sound. Spoken words differ in how
        their sound changes over time, which the segment means keep and one
        overall mean loses. An empty clip gives zeros.
    """
    from scipy.fft import dct

    from datasteward.checks.audio import power_spectrogram

    y = np.asarray(y, dtype=np.float32).ravel()
    if y.size == 0:
        return np.zeros(AUDIO_FEATURE_SIZE, dtype=np.float32)
    spec = power_spectrogram(y, sr) if spec is None else spec
    n_fft = 2 * (spec.shape[1] - 1)
    basis, scale = _mel_basis(sr, n_fft)
    db = 10.0 * np.log10(np.maximum(spec @ basis.T * scale, 1e-10))
    db = np.maximum(db, db.max() - 80.0)
    level = db.max(axis=1)
    loud = np.flatnonzero(level > level.max() - SOUND_DB)
    mfcc = dct(db[loud[0]: loud[-1] + 1], type=2, norm="ortho", axis=1)[:, :N_MFCC]
    segments = np.array_split(mfcc, AUDIO_SEGMENTS) if len(mfcc) >= AUDIO_SEGMENTS else [mfcc] * AUDIO_SEGMENTS
    return np.concatenate([s.mean(axis=0) for s in segments] + [mfcc.std(axis=0)]).astype(np.float32)


@functools.lru_cache(maxsize=16)
def _mel_basis(sr: int, n_fft: int) -> tuple[np.ndarray, float]:
    """Slaney mel filters up to 4 kHz for this FFT, and the scale that makes power independent of its size."""
    import librosa

    basis = librosa.filters.mel(sr=sr, n_fft=n_fft, n_mels=_N_MELS, fmin=0.0, fmax=MEL_FMAX).astype(np.float32)
    window = np.hanning(n_fft)
    # A sine's peak power grows with (sum of the window)^2, and the filters' Slaney area
    # normalisation with the bin spacing; dividing both out leaves power per Hz.
    return basis, float(sr / n_fft / window.sum() ** 2)
