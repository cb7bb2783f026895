"""Local feature vectors: fixed length, known values on synthetic pictures and tones, and resolution invariance."""

from __future__ import annotations

import numpy as np
import pytest

from datasteward.checks import features
from datasteward.checks.features import AUDIO_FEATURE_SIZE, IMAGE_FEATURE_SIZE, audio_features, image_features

# Offsets of each block in the image vector, in the documented order.
HUE = slice(0, 12)
SAT = slice(12, 16)
VAL = slice(16, 20)
MEAN = slice(20, 23)
STD = slice(23, 26)
HOG = slice(26, 26 + 144)
LAYOUT = slice(170, 234)
EDGES = 234


def test_feature_version_is_an_int():
    assert isinstance(features.FEATURE_VERSION, int) and features.FEATURE_VERSION >= 1


@pytest.mark.parametrize("shape", [(256, 192, 3), (9, 13, 3), (384, 40, 3), (200, 300)],
                         ids=["photo", "tiny", "strip", "grayscale-2d"])
def test_image_vector_has_fixed_length_and_is_finite(rng, shape):
    rgb = rng.integers(0, 256, shape, dtype=np.uint8)
    f = image_features(rgb)
    assert f.dtype == np.float32 and f.shape == (IMAGE_FEATURE_SIZE,)
    assert np.isfinite(f).all()


def test_black_image_has_no_colour_no_edges_and_dark_values():
    f = image_features(np.zeros((64, 64, 3), np.uint8))
    assert f[HUE].sum() == 0  # no saturation to weight any hue
    assert f[VAL].tolist() == [1, 0, 0, 0]
    assert f[MEAN].tolist() == [0, 0, 0] and f[STD].tolist() == [0, 0, 0]
    assert f[HOG].sum() == 0 and f[EDGES] == 0


def test_pure_red_has_red_hue_full_saturation_and_red_mean():
    rgb = np.zeros((50, 80, 3), np.uint8)
    rgb[..., 0] = 255
    f = image_features(rgb)
    assert f[HUE][0] == pytest.approx(1.0)
    assert f[SAT].tolist() == pytest.approx([0, 0, 0, 1])
    assert f[MEAN] == pytest.approx([1, 0, 0])


def test_vertical_edge_puts_gradient_in_the_horizontal_orientation_bin():
    rgb = np.zeros((128, 128, 3), np.uint8)
    rgb[:, 64:] = 255  # dark left, bright right: the gradient points along x (orientation 0)
    hog = image_features(rgb)[HOG].reshape(4, 4, 9)
    strong = hog.sum(axis=2) > 0
    # The edge lies on the border between the second and third columns of the 4 x 4 grid.
    assert strong.tolist() == [[False, True, True, False]] * 4
    assert (hog[strong].argmax(axis=1) == 0).all()
    assert image_features(rgb)[EDGES] > 0


def test_layout_is_brighter_where_the_picture_is():
    rgb = np.zeros((128, 128, 3), np.uint8)
    rgb[:64] = 200  # bright top half
    layout = image_features(rgb)[LAYOUT].reshape(8, 8)
    assert (layout[:4] > 0).all() and (layout[4:] < 0).all()
    assert layout.mean() == pytest.approx(0, abs=1e-6)


def test_image_vector_barely_depends_on_resolution(rng):
    base = rng.integers(0, 256, (24, 32, 3), dtype=np.uint8)
    small = np.kron(base, np.ones((8, 8, 1), np.uint8))  # 192 x 256
    large = np.kron(base, np.ones((16, 16, 1), np.uint8))  # 384 x 512
    a, b = image_features(small), image_features(large)
    assert np.corrcoef(a, b)[0, 1] > 0.99


def tone(freq: float, sr: int, seconds: float = 1.0) -> np.ndarray:
    t = np.arange(int(sr * seconds)) / sr
    return (0.3 * np.sin(2 * np.pi * freq * t)).astype(np.float32)


@pytest.mark.parametrize("sr, seconds", [(16000, 1.0), (8000, 1.5), (44100, 0.5), (16000, 0.01)],
                         ids=["16k", "8k", "44k", "shorter-than-a-window"])
def test_audio_vector_has_fixed_length_and_is_finite(sr, seconds):
    f = audio_features(tone(440, sr, seconds), sr)
    assert f.dtype == np.float32 and f.shape == (AUDIO_FEATURE_SIZE,)
    assert np.isfinite(f).all()


def test_empty_clip_gives_zeros():
    assert audio_features(np.zeros(0, np.float32), 16000).tolist() == [0.0] * AUDIO_FEATURE_SIZE


def test_audio_vector_does_not_depend_on_the_sample_rate():
    native = audio_features(tone(440, 16000), 16000)
    resampled = audio_features(tone(440, 44100), 44100)
    assert np.corrcoef(native, resampled)[0, 1] > 0.999


def test_a_warbling_tone_moves_more_than_a_steady_one_and_segments_keep_the_order():
    n, k = features.N_MFCC, features.AUDIO_SEGMENTS
    steady = audio_features(tone(440, 16000), 16000)
    switch = np.repeat(np.arange(10) % 2, 1600)  # 440 Hz and 1500 Hz alternating every 100 ms
    warble = np.where(switch == 0, tone(440, 16000), tone(1500, 16000))
    assert audio_features(warble, 16000)[k * n:].sum() > 2 * steady[k * n:].sum()  # MFCC spread over the sound
    rising = np.concatenate([tone(440, 16000, 0.5), tone(1500, 16000, 0.5)])
    falling = np.concatenate([tone(1500, 16000, 0.5), tone(440, 16000, 0.5)])
    up, down = audio_features(rising, 16000), audio_features(falling, 16000)
    np.testing.assert_allclose(up[:n], down[(k - 1) * n: k * n], atol=0.5)  # the first stretch of one is the last of the other
    assert not np.allclose(up[:n], down[:n], atol=1.0)


def test_silence_around_the_sound_barely_changes_the_vector():
    word = np.concatenate([tone(440, 8000, 0.3), tone(900, 8000, 0.3)])
    padded = np.concatenate([np.zeros(4000, np.float32), word, np.zeros(8000, np.float32)])
    other = np.concatenate([tone(900, 8000, 0.3), tone(440, 8000, 0.3)])
    near = np.corrcoef(audio_features(padded, 8000), audio_features(word, 8000))[0, 1]
    far = np.corrcoef(audio_features(other, 8000), audio_features(word, 8000))[0, 1]
    assert near > 0.995 and near > far


def test_mfccs_equal_librosa_on_the_same_spectrogram():
    import librosa

    from datasteward.checks.audio import power_spectrogram

    sr = 8000
    y = tone(300, sr, 1.0) + 0.05 * np.random.default_rng(3).standard_normal(sr).astype(np.float32)
    spec = power_spectrogram(y, sr)
    n_fft = 2 * (spec.shape[1] - 1)
    _, scale = features._mel_basis(sr, n_fft)
    mel = librosa.feature.melspectrogram(S=spec.T, sr=sr, n_fft=n_fft, n_mels=40, fmax=4000.0) * scale
    mfcc = librosa.feature.mfcc(S=librosa.power_to_db(mel), n_mfcc=features.N_MFCC)  # steady: every frame is sound
    segments = np.array_split(mfcc, features.AUDIO_SEGMENTS, axis=1)
    expected = np.concatenate([s.mean(axis=1) for s in segments] + [mfcc.std(axis=1)])
    np.testing.assert_allclose(audio_features(y, sr), expected, rtol=1e-3, atol=1e-3)
