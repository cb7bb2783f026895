"""File-size, pixel-count and audio-length limits: set from the environment, enforced before decoding, reported by item."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf
from PIL import Image

from datasteward import limits, media, store
from datasteward.errors import MediaError, SetupError
from datasteward.ingest import import_source
from datasteward.scan import scan

SR = 16_000


@pytest.fixture(autouse=True)
def no_limits_set(monkeypatch):
    """Each test starts from the defaults, whatever the shell running the tests has set."""
    for name in (limits.FILE_MB_ENV, limits.PIXELS_ENV, limits.AUDIO_SECONDS_ENV):
        monkeypatch.delenv(name, raising=False)
    yield


def noise_png(path, rng, width: int, height: int):
    Image.fromarray(rng.integers(0, 256, (height, width, 3), dtype=np.uint8)).save(path)
    return path


def pcm16_wav(path, seconds: float):
    """A 440 Hz tone, 16-bit mono at 16 kHz: 44 header bytes + 32,000 bytes a second."""
    t = np.arange(int(seconds * SR)) / SR
    sf.write(path, 0.3 * np.sin(2 * np.pi * 440 * t), SR, subtype="PCM_16")
    return path


def test_defaults_are_pillows_and_generous():
    assert limits.current() == limits.Limits(1024.0, 89_478_485, 14_400.0)


@pytest.mark.parametrize("raw", ["lots", "0", "-5", "inf", "nan"], ids=["word", "zero", "negative", "inf", "nan"])
def test_a_bad_setting_names_the_variable(monkeypatch, raw):
    monkeypatch.setenv(limits.PIXELS_ENV, raw)
    with pytest.raises(SetupError, match=f"DATASTEWARD_MAX_PIXELS={raw!r} is not a positive number"):
        limits.current()


def test_pixel_limit_is_inclusive_and_names_file_and_limit(monkeypatch, tmp_path, rng):
    path = noise_png(tmp_path / "wide.png", rng, 300, 200)  # 60,000 pixels
    monkeypatch.setenv(limits.PIXELS_ENV, "60000")
    image, info = media.load_image(path)
    assert (info.width, info.height) == (300, 200)
    monkeypatch.setenv(limits.PIXELS_ENV, "59_999")
    with pytest.raises(MediaError) as err:
        media.load_image(path)
    assert str(err.value) == (f"{path}: image too large to decode safely: 60,000 pixels, over the limit of 59,999 "
                              "(DATASTEWARD_MAX_PIXELS)")
    # Passed through to Pillow (whose guard refuses from the header, before decompressing), then put back.
    assert Image.MAX_IMAGE_PIXELS == limits.DEFAULT_PIXELS


def test_far_over_the_pixel_limit_pillows_error_is_translated(monkeypatch, tmp_path, rng):
    path = noise_png(tmp_path / "big.png", rng, 300, 200)
    monkeypatch.setenv(limits.PIXELS_ENV, "20000")  # Pillow raises DecompressionBombError above twice its limit
    with pytest.raises(limits.OverLimit, match=r"big.png: image too large to decode safely: 60,000 pixels, over the "
                                                r"limit of 20,000 \(DATASTEWARD_MAX_PIXELS\)"):
        media.load_image(path)


def test_a_decompression_bomb_is_refused_at_the_default_limit(tmp_path):
    path = tmp_path / "bomb.png"
    Image.new("1", (10_000, 9_000)).save(path)  # 90 million pixels in a file of a few kilobytes
    assert path.stat().st_size < 100_000
    with pytest.raises(limits.OverLimit, match="90,000,000 pixels, over the limit of 89,478,485"):
        media.load_image(path)


def test_file_size_limit_refuses_audio_and_images(monkeypatch, tmp_path, rng):
    monkeypatch.setenv(limits.FILE_MB_ENV, "0.1")  # 104,857.6 bytes
    short, long = pcm16_wav(tmp_path / "three.wav", 3.0), pcm16_wav(tmp_path / "four.wav", 4.0)
    assert (short.stat().st_size, long.stat().st_size) == (96_044, 128_044)
    y, info = media.load_audio(short)
    assert info.frames == 48_000
    with pytest.raises(MediaError) as err:
        media.load_audio(long)
    assert str(err.value) == f"{long}: file too large: 0.1 MB, over the limit of 0.1 MB (DATASTEWARD_MAX_FILE_MB)"
    photo = noise_png(tmp_path / "photo.png", rng, 300, 200)  # incompressible: about 180 kB
    with pytest.raises(MediaError, match=r"photo.png: file too large: 0.2 MB, over the limit of 0.1 MB"):
        media.load_image(photo)


def test_audio_length_is_read_from_the_header(monkeypatch, tmp_path):
    monkeypatch.setenv(limits.AUDIO_SECONDS_ENV, "2.5")
    y, info = media.load_audio(pcm16_wav(tmp_path / "two.wav", 2.0))
    assert info.duration == pytest.approx(2.0)
    with pytest.raises(MediaError, match=r"three.wav: audio too long: 3.0 s, over the limit of 2.5 s "
                                         r"\(DATASTEWARD_MAX_AUDIO_SECONDS\)"):
        media.load_audio(pcm16_wav(tmp_path / "three.wav", 3.0))


def test_import_reports_the_item_over_the_limit_and_a_scan_flags_it(monkeypatch, tmp_path, rng, dataset_name):
    folder = tmp_path / "delivery"
    (folder / "cats").mkdir(parents=True)
    noise_png(folder / "cats" / "small.png", rng, 100, 100)
    big = noise_png(folder / "cats" / "large.png", rng, 300, 200)
    monkeypatch.setenv(limits.PIXELS_ENV, "50000")
    report = import_source(folder, dataset_name, workers=1)
    assert (report.added, report.corrupt) == (2, 1)
    [warning] = report.warnings
    assert warning.where == str(big)
    assert warning.message == ("large.png: image too large to decode safely: 60,000 pixels, over the limit of 50,000 "
                               "(DATASTEWARD_MAX_PIXELS); imported as corrupt")
    scan(dataset_name, workers=1)
    flagged = _corrupt_flags(dataset_name)
    assert flagged == {str(big): "image too large to decode safely: 60,000 pixels, over the limit of 50,000 "
                                 "(DATASTEWARD_MAX_PIXELS)"}


def test_a_scan_applies_the_limit_in_force_when_it_decodes(monkeypatch, tmp_path, rng, dataset_name):
    folder = tmp_path / "delivery" / "noise"
    folder.mkdir(parents=True)
    for width in (100, 200, 300):  # incompressible: about 30, 60 and 90 kB
        noise_png(folder / f"{width}.png", rng, width, 100)
    report = import_source(folder.parent, dataset_name, workers=1)
    assert (report.added, report.corrupt) == (3, 0)
    monkeypatch.setenv(limits.FILE_MB_ENV, "0.05")  # 52,429 bytes
    scan(dataset_name, workers=1)
    assert _corrupt_flags(dataset_name) == {
        str(folder / f"{w}.png"): "file too large: 0.1 MB, over the limit of 0.05 MB (DATASTEWARD_MAX_FILE_MB)"
        for w in (200, 300)}


def test_worker_processes_inherit_the_limits(monkeypatch, tmp_path, rng, dataset_name):
    """Above 48 files the import checks them in spawned processes, which read the same environment."""
    folder = tmp_path / "delivery" / "dots"
    folder.mkdir(parents=True)
    for i in range(50):
        noise_png(folder / f"{i:02d}.png", rng, 10 + i, 10)  # 100 .. 590 pixels
    monkeypatch.setenv(limits.PIXELS_ENV, "400")
    report = import_source(folder.parent, dataset_name, workers=2)
    assert (report.added, report.corrupt) == (50, 19)  # 31.png .. 49.png: 410 .. 590 pixels
    ds = store.open_dataset(dataset_name)
    refused = sorted(p.rsplit("/", 1)[1] for p in ds.match({"media_error": {"$ne": None}}).values("media_path"))
    assert refused == [f"{i:02d}.png" for i in range(31, 50)]


def _corrupt_flags(name: str) -> dict[str, str]:
    ds = store.open_dataset(name)
    out = {}
    for doc in ds._sample_collection.find({"flags.check": "corrupt_file"}, {"media_path": 1, "flags": 1}):
        for flag in doc["flags"]:
            if flag["check"] == "corrupt_file":
                out[doc["media_path"]] = flag["detail"]
    return out


def test_an_unlabelled_speech_delivery_over_the_length_limit_is_flagged(monkeypatch, tmp_path, dataset_name):
    """Transcripts and no class labels (plain ASR data): the scan runs and names the clip over the limit."""
    folder = tmp_path / "delivery"
    (folder / "speech").mkdir(parents=True)
    for seconds in (1, 2, 3):
        pcm16_wav(folder / "speech" / f"{seconds}s.wav", seconds)
    (folder / "manifest.csv").write_text("filepath,transcript,language\n"
                                         + "".join(f"speech/{s}s.wav,a tone,en\n" for s in (1, 2, 3)))
    report = import_source(folder / "manifest.csv", dataset_name, workers=1)
    assert (report.added, report.corrupt) == (3, 0)
    monkeypatch.setenv(limits.AUDIO_SECONDS_ENV, "2.5")
    scan(dataset_name, workers=1)
    assert _corrupt_flags(dataset_name) == {
        str(folder / "speech" / "3s.wav"): "audio too long: 3.0 s, over the limit of 2.5 s (DATASTEWARD_MAX_AUDIO_SECONDS)"}
