"""Image quality metrics on decoded pixel arrays, and the specs of the image checks."""

from __future__ import annotations

import numpy as np
from PIL import Image

from datasteward.checks.registry import CheckSpec

# Sharpness is measured on a grayscale copy of fixed size so that it does not depend
# on the resolution the image was delivered or decoded at.
SHARPNESS_SIDE = 256

SPECS = (
    CheckSpec("dark", "image", "data_ops", "medium",
              "Underexposed: even the bright parts are dark (99th percentile of luminance)",
              "below", 0.30, "luminance (0-1)"),
    CheckSpec("overexposed", "image", "data_ops", "medium",
              "Blown highlights: share of pixels clipped to white in every channel",
              "above", 0.40, "ratio"),
    CheckSpec("blurry", "image", "data_ops", "medium",
              "Less fine detail than the dataset's images (robust z of contrast-normalised Laplacian energy)",
              "below", -3.0, "robust z", level="dataset"),
    CheckSpec("low_information", "image", "data_ops", "low",
              "Nearly uniform picture (entropy of the luminance histogram)",
              "below", 4.0, "bits"),
    CheckSpec("odd_size", "image", "data_ops", "low",
              "Long side far from the dataset's typical size (robust z of log long side)",
              "above", 4.0, "robust z", level="dataset"),
    CheckSpec("odd_aspect_ratio", "image", "data_ops", "low",
              "Much more elongated than the dataset's images (robust z of log elongation)",
              "above", 4.0, "robust z", level="dataset"),
    CheckSpec("grayscale", "image", "data_ops", "low",
              "No visible colour anywhere (99th percentile of chroma of mid-tone pixels)",
              "below", 0.02, "chroma (0-1)"),
)

# ITU-R BT.601 luma weights in 1/256 steps, so luminance stays an 8-bit integer.
_LUMA = np.array([77, 150, 29], dtype=np.uint16)


def luminance(rgb: np.ndarray) -> np.ndarray:
    """Perceived luminance (BT.601 luma) of an RGB image.

    Parameters
    ----------
    rgb : np.ndarray
        ``uint8``, shape ``(H, W, 3)``, or ``(H, W)`` for grayscale.

    Returns
    -------
    np.ndarray
        ``uint8``, shape ``(H, W)``, 0 (black) to 255 (white).
    """
    if rgb.ndim == 2:
        return rgb
    r, g, b = (rgb[..., c].astype(np.uint16) for c in range(3))
    return ((r * _LUMA[0] + g * _LUMA[1] + b * _LUMA[2] + 128) >> 8).astype(np.uint8)


def _percentile_from_hist(hist: np.ndarray, q: float) -> float:
    cdf = np.cumsum(hist)
    return float(np.searchsorted(cdf, q / 100.0 * cdf[-1], side="left"))


def histogram_entropy(hist: np.ndarray) -> float:
    """Shannon entropy in bits of a histogram of counts."""
    p = hist[hist > 0] / hist.sum()
    return float(-(p * np.log2(p)).sum())


def laplacian_sharpness(gray: np.ndarray, *, side: int = SHARPNESS_SIDE) -> tuple[float, float]:
    """Energy of fine detail, absolute and relative to the image's contrast.

    Parameters
    ----------
    gray : np.ndarray
        ``uint8`` luminance, shape ``(H, W)``.
    side : int
        The long side, in pixels, the image is resized to first.

    Returns
    -------
    log_var : float
        ``log10`` of the variance of the 4-neighbour Laplacian (8-bit units squared).
    log_rel : float
        ``log10`` of that variance divided by the luminance variance: how much
        of the image's contrast sits in the finest detail, unchanged by exposure.
    """
    h, w = gray.shape
    scale = side / max(h, w)
    im = Image.fromarray(gray).resize((max(3, round(w * scale)), max(3, round(h * scale))), Image.Resampling.BILINEAR)
    g = np.asarray(im, dtype=np.float32)
    lap = g[1:-1, :-2] + g[1:-1, 2:] + g[:-2, 1:-1] + g[2:, 1:-1] - 4.0 * g[1:-1, 1:-1]
    lap_var = float(lap.var())
    g_var = float(g.var())
    # A floor of one 8-bit level squared keeps flat images finite without affecting real ones.
    return float(np.log10(lap_var + 1.0)), float(np.log10((lap_var + 1.0) / (g_var + 1.0)))


def image_metrics(rgb: np.ndarray) -> dict[str, float]:
    """Exposure, detail, information and colour metrics of one decoded image.

    Parameters
    ----------
    rgb : np.ndarray
        ``uint8``, shape ``(H, W, 3)`` (or ``(H, W)`` grayscale), at any
        decoding size; every metric is independent of the resolution.

    Returns
    -------
    dict
        ``brightness_mean``, ``brightness_p01``, ``brightness_p99``: luminance 0-1;
        ``white_fraction``: share of pixels at >= 250/255 in every channel;
        ``sharpness``, ``sharpness_rel``: log10 Laplacian variance, absolute and
        relative to contrast; ``entropy``: bits of the luminance histogram;
        ``contrast``: standard deviation of luminance, 0-1;
        ``chroma_p99``: 99th percentile of (max - min channel) over mid-tone pixels, 0-1.
    """
    rgb = np.asarray(rgb)
    if rgb.ndim == 3 and rgb.shape[2] == 4:
        rgb = rgb[..., :3]
    if rgb.dtype != np.uint8:
        rgb = np.clip(rgb, 0, 255).astype(np.uint8)
    gray = luminance(rgb)
    hist = np.bincount(gray.ravel(), minlength=256)
    levels = np.arange(256)
    n = gray.size
    mean = float(hist @ levels) / n
    var = float(hist @ (levels - mean) ** 2) / n
    sharp, sharp_rel = laplacian_sharpness(gray)
    if rgb.ndim == 3:
        lo = rgb.min(axis=2)
        hi = rgb.max(axis=2)
        white = float(np.count_nonzero(lo >= 250)) / n
        chroma = (hi - lo)[(hi >= 24) & (lo <= 231)]
        chroma_p99 = _percentile_from_hist(np.bincount(chroma, minlength=256), 99) / 255 if chroma.size >= 0.01 * n else np.nan
    else:
        white = float(hist[250:].sum()) / n
        chroma_p99 = 0.0
    return {
        "brightness_mean": mean / 255,
        "brightness_p01": _percentile_from_hist(hist, 1) / 255,
        "brightness_p99": _percentile_from_hist(hist, 99) / 255,
        "white_fraction": white,
        "contrast": np.sqrt(var) / 255,
        "sharpness": sharp,
        "sharpness_rel": sharp_rel,
        "entropy": histogram_entropy(hist),
        "chroma_p99": float(chroma_p99),
    }


def perceptual_hash(rgb: np.ndarray) -> str:
    """64-bit DCT perceptual hash (``imagehash.phash``) as 16 hex digits."""
    import imagehash

    return str(imagehash.phash(Image.fromarray(np.asarray(rgb, dtype=np.uint8))))
