"""Image metrics on synthetic pictures whose answers are known."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageFilter

from datasteward.checks import image


def _pattern(rng, size=(192, 256)) -> np.ndarray:
    """A colourful picture with edges: random blocks, upscaled without smoothing."""
    small = rng.integers(0, 256, (size[0] // 16, size[1] // 16, 3), dtype=np.uint8)
    return np.asarray(Image.fromarray(small).resize((size[1], size[0]), Image.Resampling.NEAREST))


@pytest.mark.parametrize("value, mean", [(0, 0.0), (255, 1.0), (128, 128 / 255)], ids=["black", "white", "grey"])
def test_flat_images_have_their_luminance_and_no_information(value, mean):
    m = image.image_metrics(np.full((64, 80, 3), value, dtype=np.uint8))
    assert m["brightness_mean"] == pytest.approx(mean, abs=1e-6)
    assert m["entropy"] == pytest.approx(0.0, abs=1e-9)
    assert m["contrast"] == pytest.approx(0.0, abs=1e-6)


def test_white_image_is_all_blown():
    assert image.image_metrics(np.full((32, 32, 3), 255, dtype=np.uint8))["white_fraction"] == 1.0


def test_two_levels_in_equal_parts_carry_one_bit():
    a = np.zeros((40, 40, 3), dtype=np.uint8)
    a[:, 20:] = 200
    assert image.image_metrics(a)["entropy"] == pytest.approx(1.0, abs=1e-9)


def test_luminance_is_bt601_like_pil(rng):
    rgb = rng.integers(0, 256, (20, 30, 3), dtype=np.uint8)
    pil = np.asarray(Image.fromarray(rgb).convert("L")).astype(int)
    assert np.abs(image.luminance(rgb).astype(int) - pil).max() <= 1
    assert image.luminance(np.array([[[255, 0, 0]]], dtype=np.uint8))[0, 0] == pytest.approx(255 * 0.299, abs=1)


def test_grayscale_has_no_saturation_and_colour_has_some(rng):
    colour = _pattern(rng)
    gray = np.repeat(image.luminance(colour)[..., None], 3, axis=2)
    assert image.image_metrics(gray)["saturation_p99"] == 0.0
    assert image.image_metrics(colour)["saturation_p99"] > 0.5


PHOTOS = Path(__file__).resolve().parents[1] / "data" / "heldout" / "images"


@pytest.fixture(scope="module")
def photo() -> np.ndarray:
    return np.asarray(Image.open(PHOTOS / "img_017.jpg").convert("RGB"))


def test_blur_lowers_sharpness_monotonically(photo):
    """Invariant: every stronger blur gives a lower sharpness (real photo, radii in pixels at 384 px)."""
    radii = [0, 1, 2, 4, 8]
    sharpness = [image.image_metrics(np.asarray(Image.fromarray(photo).filter(ImageFilter.GaussianBlur(r))))["sharpness"]
                 for r in radii]
    assert all(a > b for a, b in zip(sharpness, sharpness[1:])), dict(zip(radii, sharpness))


@pytest.mark.parametrize("scale", [0.25, 0.5], ids=["quarter", "half"])
def test_sharpness_ignores_contrast(photo, scale):
    low = (photo * scale).astype(np.uint8)
    assert image.image_metrics(low)["sharpness"] == pytest.approx(image.image_metrics(photo)["sharpness"], abs=0.05)


def test_sharpness_does_not_depend_on_resolution(photo):
    big = np.asarray(Image.fromarray(photo).resize((photo.shape[1] * 2, photo.shape[0] * 2), Image.Resampling.LANCZOS))
    assert image.image_metrics(big)["sharpness"] == pytest.approx(image.image_metrics(photo)["sharpness"], abs=0.1)


def test_flat_picture_has_no_sharpness():
    assert np.isnan(image.image_metrics(np.full((64, 64, 3), 90, dtype=np.uint8))["sharpness"])


def test_dark_picture_keeps_its_coarse_contrast(rng):
    """Exposure is a separate check: a darkened picture with shapes is not low-information."""
    a = _pattern(rng)
    dark = (a * 0.1).astype(np.uint8)
    assert image.image_metrics(dark)["contrast"] > 0.5 * image.image_metrics(a)["contrast"]


def test_perceptual_hash_survives_jpeg_and_differs_between_pictures(rng):
    a, b = _pattern(rng), _pattern(rng)
    buf = io.BytesIO()
    Image.fromarray(a).save(buf, "JPEG", quality=60)
    again = np.asarray(Image.open(buf).convert("RGB"))
    ha, ha2, hb = image.perceptual_hash(a), image.perceptual_hash(again), image.perceptual_hash(b)
    assert len(ha) == 16 and int(ha, 16) >= 0
    assert bin(int(ha, 16) ^ int(ha2, 16)).count("1") <= 4
    assert bin(int(ha, 16) ^ int(hb, 16)).count("1") >= 16


def test_specs_name_the_image_checks():
    assert {s.name for s in image.SPECS} == {"dark", "overexposed", "blurry", "low_information", "odd_size",
                                             "odd_aspect_ratio", "grayscale"}
