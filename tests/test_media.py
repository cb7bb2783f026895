"""Media decoding and pictures, on synthetic data whose answers are known."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf
from PIL import Image

from datasteward import media
from datasteward.errors import MediaError


def test_content_hash_is_the_sha1_of_the_bytes(tmp_path):
    path = tmp_path / "a.bin"
    path.write_bytes(b"abc")
    assert media.content_hash(path) == "a9993e364706816aba3e25717850c26c9cd0d89d"


def test_load_image_reports_true_size_and_drafts_jpegs(tmp_path):
    path = tmp_path / "big.jpg"
    Image.new("RGB", (1600, 1200), (10, 20, 30)).save(path, quality=90)
    image, info = media.load_image(path)
    assert (info.width, info.height, info.format) == (1600, 1200, "JPEG")
    assert max(image.size) <= 512  # decoded at reduced size
    assert np.asarray(image).mean(axis=(0, 1)) == pytest.approx([10, 20, 30], abs=2)


@pytest.mark.parametrize(
    "payload, reason",
    [(b"", "zero-byte file"), (b"hello, not an image", "not a recognised image format")],
    ids=["zero-byte", "text"],
)
def test_load_image_names_the_problem(tmp_path, payload, reason):
    path = tmp_path / "x.jpg"
    path.write_bytes(payload)
    with pytest.raises(MediaError, match=reason):
        media.load_image(path)


def test_load_audio_mixes_to_mono_and_reports_facts(tmp_path):
    sr = 16000
    t = np.arange(sr) / sr
    stereo = np.stack([0.5 * np.sin(2 * np.pi * 440 * t), np.zeros_like(t)], axis=1)
    path = tmp_path / "tone.flac"
    sf.write(path, stereo, sr)
    y, info = media.load_audio(path)
    assert (info.sample_rate, info.channels, info.frames, info.container) == (sr, 2, sr, "FLAC")
    assert info.duration == pytest.approx(1.0)
    assert np.abs(y).max() == pytest.approx(0.25, abs=1e-3)  # the mean of a 0.5 sine and silence


def test_missing_file_is_not_found(tmp_path):
    with pytest.raises(MediaError, match="file not found"):
        media.load_audio(tmp_path / "gone.wav")


def test_spectrogram_puts_a_low_tone_at_the_bottom():
    sr = 16000
    t = np.arange(sr) / sr
    picture = np.asarray(media.spectrogram_image(np.sin(2 * np.pi * 200 * t).astype(np.float32), sr).convert("L"), float)
    assert picture.shape == (media.SPECTROGRAM_SIZE[1], media.SPECTROGRAM_SIZE[0])
    rows = picture.mean(axis=1)
    assert rows[-len(rows) // 4 :].mean() > 2 * rows[: len(rows) // 4].mean()


def test_waveform_picture_fills_to_the_peak_where_there_is_sound_and_stays_flat_in_silence():
    sr = 8000
    t = np.arange(sr) / sr
    y = np.concatenate([0.2 * np.sin(2 * np.pi * 200 * t), np.zeros(sr)]).astype(np.float32)  # 1 s tone, 1 s silence
    starts, low, high = media.envelope_bounds(y, 384)
    assert starts[0] == 0 and high.max() == pytest.approx(0.2, abs=1e-3) and low.min() == pytest.approx(-0.2, abs=1e-3)
    im = media.waveform_image(y, sr, size=(384, 128))
    assert im.size == (384, 128)
    blue = np.all(np.asarray(im) == (76, 120, 168), axis=2)
    filled = blue.sum(axis=0)
    # scaled to the clip's own peak: the tone's columns span (nearly) the whole height, the silence one row
    assert np.all(filled[10:180] >= 120)
    assert np.all(filled[200:370] <= 1)


def test_placeholder_has_the_requested_size():
    assert media.placeholder_image("cannot decode").size == media.SPECTROGRAM_SIZE


@pytest.mark.parametrize("name, modality", [("a.JPG", "image"), ("b.flac", "audio"), ("c.txt", None)])
def test_modality_of(name, modality):
    assert media.modality_of(name) == modality
