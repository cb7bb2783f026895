"""Decode images and audio into arrays and render their pictures; the only module that opens media files.

A media path is a local path or an fsspec URL (``s3://``, ``gs://``, ``https://``,
``file://``, ``memory://``). Local paths are opened directly; a URL is opened
through :func:`fsspec.open` and decoded from its bytes, so a scan worker reads
the media where it runs.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import tempfile
import threading
import warnings
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from urllib.parse import urlsplit

import numpy as np
from PIL import Image, ImageDraw, UnidentifiedImageError

from datasteward import limits
from datasteward.errors import MediaError

IMAGE_EXTENSIONS = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".gif", ".tif", ".tiff", ".webp"})
_SNDFILE_NATIVE = frozenset({".wav", ".flac", ".ogg", ".oga", ".aiff", ".aif"})
AUDIO_EXTENSIONS = frozenset({".wav", ".flac", ".ogg", ".oga", ".opus", ".mp3", ".m4a", ".aac", ".wma", ".aiff", ".aif"})

# Decoding a JPEG at reduced size is several times faster than a full decode and
# is enough for brightness, blur, entropy and perceptual hashes.
_DRAFT_SIZE = (256, 256)
THUMBNAIL_SIDE = 256
SPECTROGRAM_SIZE = (384, 128)  # width, height in pixels


_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*://")


def is_url(path: str | Path) -> bool:
    """True for an fsspec URL such as ``s3://bucket/a.jpg``, False for a local path."""
    return isinstance(path, str) and bool(_URL.match(path))


def file_name(path: str | Path) -> str:
    """The last part of a path or URL (without a URL's query string)."""
    return PurePosixPath(urlsplit(path).path).name if is_url(path) else Path(path).name


def suffix_of(path: str | Path) -> str:
    """The file extension of a path or URL with its dot (``".jpg"``), or ``""``."""
    return PurePosixPath(file_name(path)).suffix


def modality_of(path: str | Path) -> str | None:
    """``"image"`` or ``"audio"`` from the file extension, or None if neither."""
    ext = suffix_of(path).lower()
    if ext in IMAGE_EXTENSIONS:
        return "image"
    if ext in AUDIO_EXTENSIONS:
        return "audio"
    return None


def content_hash(path: str | Path, *, chunk_size: int = 1 << 20) -> str:
    """SHA-1 hex digest of the file's bytes (the identity of its content)."""
    digest = hashlib.sha1()
    try:
        with _open_binary(path) as fh:
            while chunk := fh.read(chunk_size):
                digest.update(chunk)
    except MediaError:
        raise
    except Exception as exc:
        raise _read_error(path, exc) from exc
    return digest.hexdigest()


def file_stamp(path: str | Path) -> tuple[int | None, int | str] | None:
    """Size and modification stamp of a file, to tell whether it changed since it was measured.

    A local file gives ``(bytes, mtime in ns)``; a URL gives its size and the
    store's stamp (mtime, Last-Modified, ETag...) as text. None when the file
    cannot be reached or the store keeps no stamp, which counts as changed.
    """
    if not is_url(path):
        try:
            st = os.stat(path)
        except OSError:
            return None
        return (st.st_size, st.st_mtime_ns)
    try:
        info = _url_info(path)
    except MediaError:
        return None
    for key in ("mtime", "LastModified", "last_modified", "updated", "ETag", "etag", "created"):
        if info.get(key) is not None:
            return (info.get("size"), str(info[key]))
    return None


def _open_binary(path: str | Path):
    """A binary file object for a local path or a URL."""
    if not is_url(path):
        return open(path, "rb")
    import fsspec

    return fsspec.open(path, "rb").open()


def _url_info(path: str) -> dict:
    import fsspec

    try:
        fs, inner = fsspec.core.url_to_fs(path)
        return fs.info(inner)
    except Exception as exc:
        raise _read_error(path, exc) from exc


def _read_error(path: str | Path, exc: Exception) -> MediaError:
    """A local path's OSError, or whatever a remote filesystem raises (each has its own), as a MediaError."""
    if isinstance(exc, FileNotFoundError) and (is_url(path) or not exc.strerror):
        return MediaError(str(path), "file not found")
    if isinstance(exc, OSError) and not is_url(path):
        return MediaError(str(path), f"cannot read file ({exc.strerror or exc})")
    if isinstance(exc, ImportError):  # s3fs, gcsfs... not installed
        return MediaError(str(path), f"cannot open this URL ({_short(exc)})")
    return MediaError(str(path), f"cannot read URL ({_short(exc)})" if is_url(path) else f"cannot read file ({exc})")


def _decodable(path: str | Path):
    """What a decoder opens: the local path itself, or a URL's bytes in memory."""
    if not is_url(path):
        return path
    try:
        with _open_binary(path) as fh:
            return io.BytesIO(fh.read())
    except Exception as exc:
        raise _read_error(path, exc) from exc


def check_readable(path: str | Path) -> int:
    """Size in bytes of a readable file.

    Raises
    ------
    MediaError
        If the file does not exist, is not a regular file, or cannot be read.
    """
    if is_url(path):
        info = _url_info(path)
        if info.get("type") not in (None, "file"):
            raise MediaError(path, "not a regular file")
        return int(info["size"]) if info.get("size") is not None else len(_decodable(path).getvalue())
    p = Path(path)
    if not p.exists():
        raise MediaError(str(path), "file not found")
    if not p.is_file():
        raise MediaError(str(path), "not a regular file")
    try:
        with open(p, "rb") as fh:
            fh.read(1)
    except OSError as exc:
        raise MediaError(str(path), f"cannot read file ({exc.strerror or exc})") from exc
    return p.stat().st_size


@dataclass(frozen=True)
class ImageInfo:
    """What the header and a reduced decode of an image say."""

    width: int
    height: int
    mode: str
    format: str
    size_bytes: int


@dataclass(frozen=True)
class AudioInfo:
    """What a full decode of an audio file says."""

    sample_rate: int
    channels: int
    frames: int
    duration: float
    container: str
    subtype: str
    size_bytes: int


def load_image(path: str | Path, *, draft: bool = True) -> tuple[Image.Image, ImageInfo]:
    """Decode an image, at reduced size for JPEGs when ``draft`` is true.

    Returns
    -------
    image : PIL.Image.Image
        The decoded image (RGB or L), at most about 2x ``_DRAFT_SIZE`` when drafted.
    info : ImageInfo
        The true size from the header, the mode, format and byte size.

    Raises
    ------
    MediaError
        If the file cannot be decoded, or is over a limit of :mod:`datasteward.limits`.
    """
    limit = limits.current()
    size = check_readable(path)
    if size == 0:
        raise MediaError(str(path), "zero-byte file")
    limits.check_file_size(path, size, limit)
    try:
        with warnings.catch_warnings(), _pillow_pixel_limit(limit.max_pixels):
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(_decodable(path)) as im:
                limits.check_pixels(path, im.width * im.height, limit)
                info = ImageInfo(im.width, im.height, im.mode, im.format or "?", size)
                if draft and im.format == "JPEG":
                    im.draft("RGB", _DRAFT_SIZE)
                im.load()
                decoded, info = _displayable(im, info)
    except UnidentifiedImageError as exc:
        raise MediaError(str(path), "not a recognised image format") from exc
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        found = re.search(r"\((\d+) pixels\)", str(exc))  # Pillow refused the size in the header
        raise limits.over_pixels(path, int(found.group(1)) if found else None, limit) from exc
    except (OSError, SyntaxError, ValueError) as exc:
        raise MediaError(str(path), f"cannot decode image ({exc})") from exc
    if info.width == 0 or info.height == 0:
        raise MediaError(str(path), f"image has zero size ({info.width}x{info.height})")
    return decoded, info


@contextmanager
def _pillow_pixel_limit(pixels: int):
    """Pillow's own decompression-bomb guard at ``pixels`` while an image is opened.

    Pillow checks the size in the header before decompressing anything. The
    setting is global, so it is put back afterwards: Pillow opens its own
    bitmap fonts with it too.
    """
    before = Image.MAX_IMAGE_PIXELS
    Image.MAX_IMAGE_PIXELS = pixels
    try:
        yield
    finally:
        Image.MAX_IMAGE_PIXELS = before


def load_audio(path: str | Path, *, mono: bool = True) -> tuple[np.ndarray, AudioInfo]:
    """Decode an audio file to float32 samples at its native rate.

    Tries soundfile (WAV, FLAC, OGG, MP3) first, then audioread (ffmpeg) for
    containers that libsndfile cannot read.

    Returns
    -------
    y : np.ndarray
        Shape ``(n,)`` when ``mono``, else ``(channels, n)``; float32 in [-1, 1].
    info : AudioInfo

    Raises
    ------
    MediaError
        If the file cannot be decoded, or is over a limit of :mod:`datasteward.limits`.
    """
    import soundfile as sf

    limit = limits.current()
    size = check_readable(path)
    if size == 0:
        raise MediaError(str(path), "zero-byte file")
    limits.check_file_size(path, size, limit)
    source = _decodable(path) if is_url(path) else str(path)
    try:
        with sf.SoundFile(source) as f:  # one open for the samples and the container facts
            sr, container, subtype = f.samplerate, f.format, f.subtype
            if sr > 0:
                limits.check_audio_seconds(path, f.frames / sr, limit)  # from the header, before decoding
            data = f.read(dtype="float32", always_2d=True)
    except limits.OverLimit:
        raise
    except Exception as sf_exc:  # libsndfile raises LibsndfileError, RuntimeError or TypeError
        if suffix_of(path).lower() in _SNDFILE_NATIVE:
            # libsndfile reads these containers fully; if it fails, the file is damaged, and
            # ffmpeg's tolerant decoder would hide that (a truncated FLAC decodes "fine").
            raise MediaError(str(path), f"cannot decode audio ({_short(sf_exc)})") from sf_exc
        try:
            data, sr, container = _load_with_audioread(path, limit, source)
            container = sniff_container(path) or container
            subtype = "decoded by ffmpeg"
        except limits.OverLimit:
            raise
        except Exception as exc:
            raise MediaError(str(path), f"cannot decode audio ({_short(sf_exc)})") from exc
    if data.shape[0] == 0:
        raise MediaError(str(path), "audio has no samples")
    _require_finite(path, data)
    info = AudioInfo(int(sr), int(data.shape[1]), int(data.shape[0]), data.shape[0] / float(sr), container, subtype, size)
    y = data.T
    return (y.mean(axis=0) if mono else y), info


# The container a file's first bytes announce, and the one its extension promises.
_EXTENSION_CONTAINERS = {".wav": "WAV", ".flac": "FLAC", ".ogg": "OGG", ".oga": "OGG", ".opus": "OGG", ".mp3": "MP3",
                         ".m4a": "MP4", ".aac": "MP4", ".aiff": "AIFF", ".aif": "AIFF"}


def sniff_container(path: str | Path) -> str | None:
    """The audio container named by the file's magic bytes (``MP4``, ``MP3``, ``WAV``...), or None if unknown."""
    with _open_binary(path) as fh:
        head = fh.read(12)
    if head[4:8] == b"ftyp":
        return "MP4"
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        return "WAV"
    if head[:4] in (b"fLaC", b"OggS") or head[:4] == b"FORM":
        return {b"fLaC": "FLAC", b"OggS": "OGG", b"FORM": "AIFF"}[head[:4]]
    if head[:3] == b"ID3" or (len(head) > 1 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0):
        return "MP3"
    return None


def container_mismatch(path: str | Path, container: str | None) -> str | None:
    """Words saying that the file is not the container its extension names (an .mp3 that is really MP4), else None."""
    expected = _EXTENSION_CONTAINERS.get(suffix_of(path).lower())
    if expected and container in _EXTENSION_CONTAINERS.values() and container != expected:
        return f"the file is {container} audio, not {expected} as its {suffix_of(path)} extension says"
    return None


def _displayable(im: Image.Image, info: ImageInfo) -> tuple[Image.Image, ImageInfo]:
    """RGB or L pixels as the image is meant to be seen, and its info with the size as shown.

    The EXIF orientation is applied (a phone photo stored sideways is measured
    and shown upright), and 16-bit or 32-bit pixels are scaled to 8 bits rather
    than clipped (a plain conversion turns every 16-bit value above 255 white).
    """
    from PIL import ImageOps

    orientation = im.getexif().get(0x0112)
    im = ImageOps.exif_transpose(im)
    if orientation in (5, 6, 7, 8):
        info = ImageInfo(info.height, info.width, info.mode, info.format, info.size_bytes)
    if im.mode.startswith("I") or im.mode == "F":
        a = np.asarray(im, dtype=np.float64)
        peak = float(np.nanmax(a)) if a.size else 0.0
        full = 65535.0 if im.mode.startswith("I;16") or 255 < peak <= 65535 else 255.0 if peak <= 255 else peak
        im = Image.fromarray(np.clip(np.nan_to_num(a) / full * 255.0, 0, 255).astype(np.uint8), "L")
    return (im.convert("RGB") if im.mode not in ("RGB", "L") else im), info


def _require_finite(path: str | Path, data: np.ndarray) -> None:
    """Refuse audio holding NaN or infinite samples: no level, rate or spectrum of it means anything."""
    finite = np.isfinite(data)
    if not finite.all():
        nan = int(np.isnan(data).sum())
        raise MediaError(str(path), f"{data.size - int(finite.sum()):,} audio samples are not finite numbers "
                                    f"({nan:,} NaN, {data.size - int(finite.sum()) - nan:,} infinite)")


def _load_with_audioread(path: str | Path, limit: limits.Limits, source=None) -> tuple[np.ndarray, int, str]:
    if isinstance(source, io.BytesIO):  # ffmpeg reads files: a URL's bytes go through a temporary copy
        with tempfile.NamedTemporaryFile(suffix=suffix_of(path)) as tmp:
            tmp.write(source.getvalue())
            tmp.flush()
            return _read_with_audioread(path, tmp.name, limit)
    return _read_with_audioread(path, str(path), limit)


def _read_with_audioread(path: str | Path, local: str, limit: limits.Limits) -> tuple[np.ndarray, int, str]:
    import audioread

    with audioread.audio_open(local) as f:
        sr, channels = f.samplerate, f.channels
        if f.duration:
            limits.check_audio_seconds(path, float(f.duration), limit)
        raw = b"".join(f)
    pcm = np.frombuffer(raw, dtype="<i2").astype(np.float32) / 32768.0
    if channels <= 0 or pcm.size == 0:
        raise MediaError(str(path), "audio has no samples")
    return pcm[: pcm.size // channels * channels].reshape(-1, channels), int(sr), "other (ffmpeg)"


def _short(exc: Exception) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text[:160]


def save_thumbnail(image: Image.Image, out_path: str | Path, *, side: int = THUMBNAIL_SIDE) -> Path:
    """Write a JPEG thumbnail whose longer side is at most ``side`` pixels."""
    out = Path(out_path)
    thumb = image.copy()
    thumb.thumbnail((side, side))
    thumb.convert("RGB").save(out, "JPEG", quality=85)
    return out


# Anchor colours of a perceptually ordered dark-to-bright map (close to matplotlib's magma).
_COLOR_ANCHORS = np.array(
    [[0, 0, 4], [40, 11, 84], [101, 21, 110], [159, 42, 99], [212, 72, 66], [245, 125, 21], [250, 193, 39], [252, 253, 191]],
    dtype=float,
)
_LUT = np.stack(
    [np.interp(np.linspace(0, 1, 256), np.linspace(0, 1, len(_COLOR_ANCHORS)), _COLOR_ANCHORS[:, c]) for c in range(3)],
    axis=1,
).astype(np.uint8)


def mel_spectrogram_db(y: np.ndarray, sr: int, *, n_mels: int = 64, top_db: float = 80.0) -> np.ndarray:
    """Mel power spectrogram in dB relative to its peak, shape ``(n_mels, frames)``."""
    import librosa

    n_fft = int(2 ** np.ceil(np.log2(max(sr * 0.032, 64))))  # about 32 ms windows
    y = np.nan_to_num(np.asarray(y, dtype=np.float32), nan=0.0, posinf=0.0, neginf=0.0)
    if y.size < n_fft:
        y = np.pad(y, (0, n_fft - y.size))
    mel = librosa.feature.melspectrogram(y=y, sr=sr, n_fft=n_fft, hop_length=n_fft // 4, n_mels=n_mels, fmax=sr / 2)
    return librosa.power_to_db(mel, ref=np.max(mel) if mel.max() > 0 else 1.0, top_db=top_db)


def spectrogram_image(y: np.ndarray, sr: int, *, size: tuple[int, int] = SPECTROGRAM_SIZE) -> Image.Image:
    """Colour picture of the mel spectrogram, low frequencies at the bottom."""
    db = mel_spectrogram_db(y, sr)
    scaled = np.clip((db - db.min()) / max(float(np.ptp(db)), 1e-6), 0, 1)
    rgb = _LUT[(scaled[::-1] * 255).astype(np.uint8)]
    return Image.fromarray(rgb, "RGB").resize(size, Image.Resampling.BILINEAR)


def envelope_bounds(y: np.ndarray, points: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The waveform's min/max in ``points`` equal buckets: ``(starts, low, high)``, starts as sample indices."""
    y = np.asarray(y, dtype=np.float32).reshape(-1)
    if y.size == 0:
        return np.zeros(0, dtype=int), np.zeros(0, dtype=np.float32), np.zeros(0, dtype=np.float32)
    points = max(1, min(points, y.size))
    starts = np.linspace(0, y.size, points + 1).astype(int)[:-1]
    return starts, np.minimum.reduceat(y, starts), np.maximum.reduceat(y, starts)


def waveform_image(y: np.ndarray, sr: int, *, size: tuple[int, int] = SPECTROGRAM_SIZE) -> Image.Image:
    """The waveform's envelope as a picture the size of the spectrogram, one bucket per pixel column.

    It is scaled to the clip's peak (at least 0.05, so quiet speech still shows),
    which is written in the corner with the clip's length.
    """
    width, height = size
    _, low, high = envelope_bounds(np.nan_to_num(np.asarray(y, dtype=np.float32)), width)
    peak = max(float(high.max()) if high.size else 0.0, -float(low.min()) if low.size else 0.0, 0.05)
    rows = np.arange(height)[:, None]
    top = np.round((1 - np.clip(high, -peak, peak) / peak) * (height - 1) / 2)
    bottom = np.round((1 - np.clip(low, -peak, peak) / peak) * (height - 1) / 2)
    rgb = np.full((height, width, 3), 255, dtype=np.uint8)
    rgb[height // 2, :] = (200, 200, 200)
    filled = np.zeros((height, width), dtype=bool)
    filled[:, : top.size] = (rows >= top) & (rows <= bottom)
    rgb[filled] = (76, 120, 168)
    im = Image.fromarray(rgb, "RGB")
    draw = ImageDraw.Draw(im)
    seconds = np.asarray(y).size / float(sr) if sr else 0.0
    draw.text((4, 2), f"peak {peak:.2f}", fill=(90, 90, 90))
    draw.text((width - 60, height - 13), f"{seconds:7.2f} s", fill=(90, 90, 90))
    return im


def placeholder_image(text: str, *, size: tuple[int, int] = SPECTROGRAM_SIZE) -> Image.Image:
    """A grey tile that says why there is no picture (for corrupt media)."""
    im = Image.new("RGB", size, (70, 70, 70))
    draw = ImageDraw.Draw(im)
    draw.rectangle([0, 0, size[0] - 1, size[1] - 1], outline=(200, 60, 60), width=3)
    y = 10
    for line in _wrap(text, 44)[:6]:
        draw.text((10, y), line, fill=(240, 240, 240))
        y += 16
    return im


def _wrap(text: str, width: int) -> list[str]:
    lines, current = [], ""
    for word in text.split():
        if current and len(current) + 1 + len(word) > width:
            lines.append(current)
            current = word
        else:
            current = f"{current} {word}".strip()
    return lines + ([current] if current else [])


_warm_lock = threading.Lock()
_warmed = False


def warm_up() -> None:
    """Make librosa's first, numba-compiling call (about 20 s cold, 2 s once cached) once per process.

    Both ``datasteward.serve`` and the app's first run start it (:func:`start_warm_up`); a
    second caller waits for the first instead of compiling again.
    """
    global _warmed
    with _warm_lock:
        if not _warmed:
            mel_spectrogram_db(np.zeros(4096, dtype=np.float32), 16000)
            _warmed = True


def start_warm_up() -> threading.Thread:
    """:func:`warm_up` in a background (daemon) thread, started; join it to wait."""
    thread = threading.Thread(target=warm_up, name="datasteward-warm-up", daemon=True)
    thread.start()
    return thread
