"""Image quality metrics on decoded pixel arrays, and the specs of the image checks."""

from __future__ import annotations

import numpy as np
from PIL import Image

from datasteward.checks.registry import CheckSpec

# Sharpness is measured with the long side at most this many pixels, so it does
# not depend on the resolution the image was delivered or decoded at.
SHARPNESS_SIDE = 256
MIN_GRADIENT = 1.0
# Coarse structure is measured on this many blocks per side.
BLOCKS = 16
# Overexposure limits: too bright overall, or too much of the frame without detail.
OVEREXPOSED_MEAN = 0.75
OVEREXPOSED_BLOWN = 0.30
# Mid-tone pixels (neither black nor clipped) are where colour can be judged.
MIDTONE = (16, 239)

SPECS = (
    CheckSpec("dark", "image", "data_ops", "medium",
              "Underexposed: mean perceived luminance (0 black - 1 white) more than ~3 stops below mid-grey",
              "below", 0.15, "luminance"),
    CheckSpec("overexposed", "image", "data_ops", "medium",
              "Overexposed: mean luminance over 0.75 (~1.5 stops above mid-grey) or over 30% of pixels blown to "
              "white; the score is the larger ratio to those limits",
              "above", 1.0, "x limit"),
    CheckSpec("blurry", "image", "data_ops", "medium",
              "Edges wider than the dataset's (robust z of log Laplacian-to-gradient energy)",
              "below", -4.0, "robust z", level="dataset"),
    CheckSpec("low_information", "image", "data_ops", "low",
              "Nearly uniform: coarse luminance variation relative to the headroom to black or white",
              "below", 0.1, "ratio"),
    CheckSpec("odd_size", "image", "data_ops", "low",
              "Long side far from the dataset's typical size (robust |z| of log long side)",
              "above", 4.0, "robust |z|", level="dataset"),
    CheckSpec("odd_aspect_ratio", "image", "data_ops", "low",
              "Much more elongated than the dataset's images (robust z of |log width/height|)",
              "above", 4.0, "robust z", level="dataset"),
    CheckSpec("grayscale", "image", "data_ops", "low",
              "No visible colour: 99th percentile of saturation over mid-tone pixels",
              "below", 0.05, "saturation"),
)

# ITU-R BT.601 luma weights in 1/256 steps, so luminance stays an 8-bit integer.
_LUMA = (77, 150, 29)


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
    acc = rgb[..., 0].astype(np.uint16) * _LUMA[0]
    acc += rgb[..., 1].astype(np.uint16) * _LUMA[1]
    acc += rgb[..., 2].astype(np.uint16) * _LUMA[2]
    acc += 128
    return (acc >> 8).astype(np.uint8)


def histogram_entropy(hist: np.ndarray) -> float:
    """Shannon entropy in bits of a histogram of counts."""
    p = hist[hist > 0] / hist.sum()
    return float(-(p * np.log2(p)).sum())


def edge_sharpness(gray: np.ndarray, *, side: int = SHARPNESS_SIDE) -> float:
    """How narrow the image's edges are, independent of contrast and content amount.

    For an edge blurred by a Gaussian of width ``s`` pixels the Laplacian's
    energy falls as ``1/s**4`` and the gradient's as ``1/s**2``, so their ratio
    measures edge width while the contrast and the number of edges cancel.

    Parameters
    ----------
    gray : np.ndarray
        ``uint8`` luminance, shape ``(H, W)``; shrunk first so its long side is at most ``side``.

    Returns
    -------
    float
        ``log10`` of Laplacian variance / mean squared gradient; larger is
        sharper. NaN for a nearly flat picture (mean squared gradient, after
        the rounding noise, under one 8-bit level squared): no edges to judge.
    """
    h, w = gray.shape
    if max(h, w) > side:
        scale = side / max(h, w)
        gray = np.asarray(Image.fromarray(gray).resize((max(3, round(w * scale)), max(3, round(h * scale))),
                                                       Image.Resampling.BILINEAR))
    if min(gray.shape) < 3:
        return float("nan")
    g = gray.astype(np.int32)
    lap = g[1:-1, :-2] + g[1:-1, 2:] + g[:-2, 1:-1] + g[2:, 1:-1] - 4 * g[1:-1, 1:-1]
    gx = g[:, 1:] - g[:, :-1]
    gy = g[1:, :] - g[:-1, :]
    lap_energy = float(np.einsum("ij,ij->", lap, lap)) / lap.size - (float(lap.sum()) / lap.size) ** 2
    grad = float(np.einsum("ij,ij->", gx, gx)) / gx.size + float(np.einsum("ij,ij->", gy, gy)) / gy.size
    # Rounding to 8 bits adds white noise of variance 1/12 per pixel, which alone gives
    # the Laplacian 20/12 and the two differences 4/12 of energy; on a very smooth
    # picture that noise would pass for fine detail, so its share is taken out.
    lap_energy -= 20.0 / 12.0
    grad -= 4.0 / 12.0
    if grad < MIN_GRADIENT:
        return float("nan")  # a flat picture has no edges to judge
    return float(np.log10(max(lap_energy, 1e-3 * grad) / grad))


def coarse_contrast(gray: np.ndarray, mean: float, *, blocks: int = BLOCKS) -> float:
    """Spread of block-mean luminance relative to the headroom to black or white.

    Parameters
    ----------
    gray : np.ndarray
        ``uint8`` luminance, shape ``(H, W)``.
    mean : float
        Mean luminance, 0-1.

    Returns
    -------
    float
        Standard deviation of the ``blocks x blocks`` block means divided by
        ``min(mean, 1 - mean)``: near 0 for a flat or smudged picture, and not
        small for a dark or bright one that still has shapes in it.
    """
    # A box-filtered resize is the block mean, computed in C.
    means = np.asarray(Image.fromarray(gray).resize((blocks, blocks), Image.Resampling.BOX), dtype=np.float32) / 255.0
    headroom = max(min(mean, 1.0 - mean), 1.0 / 255)
    return float(means.std() / headroom)


def image_metrics(rgb: np.ndarray) -> dict[str, float]:
    """Exposure, sharpness, information and colour metrics of one decoded image.

    Parameters
    ----------
    rgb : np.ndarray
        ``uint8``, shape ``(H, W, 3)`` (or ``(H, W)`` grayscale), at any
        decoding size; the metrics do not depend on the resolution.

    Returns
    -------
    dict
        ``brightness_mean``, ``brightness_p99``: perceived luminance, 0-1;
        ``white_fraction``: share of pixels with luminance 250/255 or more;
        ``sharpness``: :func:`edge_sharpness`; ``contrast``: :func:`coarse_contrast`;
        ``entropy``: bits of the 256-level luminance histogram;
        ``saturation_p99``: 99th percentile of HSV saturation (0-1) over mid-tone
        pixels, luminance 16-239, sampled on every other row and column (0 for
        a grayscale image; NaN if under 1% of pixels are mid-tones).
    """
    rgb = np.asarray(rgb)
    if rgb.ndim == 3 and rgb.shape[2] == 4:
        rgb = rgb[..., :3]
    if rgb.ndim == 3 and rgb.shape[2] == 1:
        rgb = rgb[..., 0]
    if rgb.dtype != np.uint8:
        rgb = np.clip(rgb, 0, 255).astype(np.uint8)
    picture = Image.fromarray(np.ascontiguousarray(rgb))
    # PIL's RGB -> L conversion is BT.601 luma, the same as luminance(), in C.
    gray = np.asarray(picture.convert("L")) if rgb.ndim == 3 else rgb
    hist = np.bincount(gray.ravel(), minlength=256)
    n = gray.size
    mean = float(hist @ np.arange(256)) / n / 255.0
    cdf = np.cumsum(hist)
    p99 = float(np.searchsorted(cdf, 0.99 * n)) / 255.0
    if rgb.ndim == 3:
        # Every other pixel in each direction is plenty for a percentile, at a quarter of the cost.
        sub, sub_gray = rgb[::2, ::2], gray[::2, ::2]
        mid = (sub_gray >= MIDTONE[0]) & (sub_gray <= MIDTONE[1])
        if np.count_nonzero(mid) >= 0.01 * mid.size:
            r, g, b = sub[..., 0][mid], sub[..., 1][mid], sub[..., 2][mid]
            hi = np.maximum(np.maximum(r, g), b).astype(np.int32)
            lo = np.minimum(np.minimum(r, g), b)
            # HSV saturation (hi - lo) / hi, in 1/255 steps so a histogram gives the percentile.
            sat = (hi - lo) * 255 // np.maximum(hi, 1)
            sat_cdf = np.cumsum(np.bincount(sat, minlength=256))
            saturation = float(np.searchsorted(sat_cdf, 0.99 * sat_cdf[-1])) / 255.0
        else:
            saturation = float("nan")
    else:
        saturation = 0.0
    return {
        "brightness_mean": mean,
        "brightness_p99": p99,
        "white_fraction": float(hist[250:].sum()) / n,
        "sharpness": edge_sharpness(gray),
        "contrast": coarse_contrast(gray, mean),
        "entropy": histogram_entropy(hist),
        "saturation_p99": saturation,
    }


def perceptual_hash(rgb: np.ndarray) -> str:
    """64-bit DCT perceptual hash (``imagehash.phash``) as 16 hex digits.

    The luminance is first shrunk by an integer factor to at most 128 pixels a
    side, which changes the 32 x 32 picture phash works on very little and
    makes it several times faster.
    """
    import imagehash

    rgb = np.ascontiguousarray(rgb, dtype=np.uint8)
    im = Image.fromarray(rgb).convert("L") if rgb.ndim == 3 else Image.fromarray(rgb)
    factor = max(1, max(im.size) // 128)
    if factor > 1:
        im = im.reduce(factor)
    return str(imagehash.phash(im))
