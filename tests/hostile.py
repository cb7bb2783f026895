"""A hostile delivery, written at test time: broken and adversarial images, audio, labels and transcripts.

``write_corpus(folder)`` fills ``folder`` with media files and a JSON-lines
manifest (``delivery.jsonl``) naming them, and returns a :class:`Corpus` that
says, for each file, what is wrong with it (or that nothing is). Every file is
built from scratch here, so the tests know the answers.
"""

from __future__ import annotations

import io
import json
import shutil
import struct
import subprocess
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

SCRIPT_LABEL = "<script>window.__pwned=1</script>"
IMG_LABEL = "<img src=x onerror=\"window.__pwned=2;alert('pwned')\">"
RTL_TRANSCRIPT = "\u05e9\u05dc\u05d5\u05dd \u05e2\u05d5\u05dc\u05dd \u202eevil.exe\u202c \u0645\u0631\u062d\u0628\u0627"
ZERO_WIDTH_TRANSCRIPT = "ze\u200bro\u200c wi\u200ddth\ufeff text\u2060"
# What a non-UTF-8 transcript becomes when a tool decodes it with errors="surrogateescape"
# and writes it out as JSON: a lone surrogate, which no UTF-8 encoder (BSON included) accepts.
SURROGATE_TRANSCRIPT = "caf\udce9 au lait"


@dataclass
class Corpus:
    """The files of a hostile delivery and what each one is."""

    root: Path
    manifest: Path
    bad: dict[str, str] = field(default_factory=dict)  # file name -> the reason it must be reported with
    good: list[str] = field(default_factory=list)  # files that must import and get metrics
    labels: dict[str, str] = field(default_factory=dict)  # file name -> hostile label it carries
    transcripts: dict[str, str] = field(default_factory=dict)  # file name -> hostile transcript


def png_bytes(width: int, height: int, *, bit_depth: int = 8, color_type: int = 0, rows: bytes | None = None) -> bytes:
    """A PNG written by hand, so that sizes PIL refuses to create (0x0, 400 Mpixel) can be built."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, bit_depth, color_type, 0, 0, 0)
    if rows is None:
        row = b"\x00" + bytes((width * bit_depth + 7) // 8)  # filter byte + one row of zeros
        packer = zlib.compressobj(9)
        compressed = b"".join(packer.compress(row) for _ in range(height)) + packer.flush()
    else:
        compressed = zlib.compress(rows)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", compressed) + chunk(b"IEND", b"")


def wav_float(y: np.ndarray, sr: int) -> bytes:
    """A 32-bit float WAV (IEEE format 3) of ``y``, shape ``(frames,)`` or ``(frames, channels)``, as given."""
    y = np.asarray(y, dtype="<f4")
    channels = 1 if y.ndim == 1 else y.shape[1]
    data = y.tobytes()
    fmt = struct.pack("<HHIIHH", 3, channels, sr, sr * channels * 4, channels * 4, 32)
    riff_size = 4 + 8 + len(fmt) + 8 + len(data)
    return (b"RIFF" + struct.pack("<I", riff_size) + b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt
            + b"data" + struct.pack("<I", len(data)) + data)


def wav_pcm16(y: np.ndarray, sr: int) -> bytes:
    import soundfile as sf

    buf = io.BytesIO()
    sf.write(buf, y, sr, subtype="PCM_16", format="WAV")
    return buf.getvalue()


def _tone(sr: int, seconds: float, *, freq: float = 440.0, channels: int = 1) -> np.ndarray:
    t = np.arange(int(sr * seconds)) / sr
    y = 0.3 * np.sin(2 * np.pi * freq * t).astype(np.float32)
    return y if channels == 1 else np.stack([y * (0.5 + c / (2 * channels)) for c in range(channels)], axis=1)


def _photo(rng: np.random.Generator, size=(96, 64)) -> Image.Image:
    """A textured colour picture (not flat), so that image metrics have something to measure."""
    w, h = size
    x, y = np.meshgrid(np.linspace(0, 1, w), np.linspace(0, 1, h))
    base = np.stack([x * 200 + 20, y * 180 + 30, (x + y) * 90 + 40], axis=2)
    noise = rng.normal(0, 12, (h, w, 3))
    return Image.fromarray(np.clip(base + noise, 0, 255).astype(np.uint8), "RGB")


def write_corpus(root: Path, *, seed: int = 6) -> Corpus:
    """Write the hostile delivery under ``root`` (created if needed); returns what is in it."""
    rng = np.random.default_rng(seed)
    root.mkdir(parents=True, exist_ok=True)
    (root / "images").mkdir(exist_ok=True)
    (root / "audio").mkdir(exist_ok=True)
    corpus = Corpus(root, root / "delivery.jsonl")
    rows: list[dict] = []

    def add(rel: str, *, bad: str | None = None, label: str = "ok", transcript: str | None = None, **extra):
        name = Path(rel).name
        if bad is None:
            corpus.good.append(name)
        else:
            corpus.bad[name] = bad
        rows.append({"filepath": rel, "label": label, "batch": "hostile", "vendor": "acme", **extra,
                     **({"transcript": transcript} if transcript is not None else {})})

    img = root / "images"
    # 20000 x 20000 one-bit pixels: 400 Mpixel (over PIL's 2 x 89 Mpixel bomb limit) in about 50 KB.
    (img / "bomb.png").write_bytes(png_bytes(20000, 20000, bit_depth=1))
    add("images/bomb.png", bad="image too large to decode safely")
    (img / "zero.png").write_bytes(png_bytes(0, 0, rows=b""))
    add("images/zero.png", bad="not a recognised image format")  # Pillow refuses a 0x0 header
    Image.new("L", (100000, 1), 128).save(img / "line.png")
    add("images/line.png")
    _photo(rng).convert("CMYK").save(img / "cmyk.jpg", "JPEG", quality=90)
    add("images/cmyk.jpg", label=SCRIPT_LABEL)
    corpus.labels["cmyk.jpg"] = SCRIPT_LABEL
    deep = (np.asarray(_photo(rng).convert("L"), dtype=np.uint16) * 257).astype(np.uint16)
    Image.fromarray(deep).save(img / "deep16.png")
    add("images/deep16.png", label=IMG_LABEL)
    corpus.labels["deep16.png"] = IMG_LABEL
    _photo(rng).quantize(colors=16).save(img / "palette.png")
    add("images/palette.png")
    _photo(rng).quantize(colors=16).save(img / "palette.gif")
    add("images/palette.gif")
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: rotate 90 degrees clockwise to display
    _photo(rng, (120, 40)).save(img / "rotated.jpg", "JPEG", exif=exif.tobytes())
    add("images/rotated.jpg")
    _photo(rng, (120, 40)).save(img / "rotated.png", exif=exif.tobytes())
    add("images/rotated.png")

    aud = root / "audio"
    y = _tone(16000, 1.0)
    y[100:110] = np.nan
    y[200:205] = np.inf
    y[300:305] = -np.inf
    (aud / "nan_inf.wav").write_bytes(wav_float(y, 16000))
    add("audio/nan_inf.wav", bad="20 audio samples are not finite numbers (10 NaN, 10 infinite)",
        transcript=RTL_TRANSCRIPT, label="speech")
    corpus.transcripts["nan_inf.wav"] = RTL_TRANSCRIPT
    (aud / "empty.wav").write_bytes(wav_pcm16(np.zeros(0, dtype=np.float32), 16000))
    add("audio/empty.wav", bad="audio has no samples", label="speech")
    (aud / "zero_bytes.wav").write_bytes(b"")
    add("audio/zero_bytes.wav", bad="zero-byte file", label="speech")
    (aud / "eight.wav").write_bytes(wav_pcm16(_tone(16000, 1.0, channels=8), 16000))
    add("audio/eight.wav", label="speech", transcript=ZERO_WIDTH_TRANSCRIPT)
    corpus.transcripts["eight.wav"] = ZERO_WIDTH_TRANSCRIPT
    (aud / "ultrasonic.wav").write_bytes(wav_pcm16(_tone(384000, 0.5, freq=1000.0), 384000))
    add("audio/ultrasonic.wav", label=IMG_LABEL, transcript=SCRIPT_LABEL)
    corpus.labels["ultrasonic.wav"] = IMG_LABEL
    corpus.transcripts["ultrasonic.wav"] = SCRIPT_LABEL
    (aud / "notes.wav").write_text("this is a text file, not audio\n" * 20)
    add("audio/notes.wav", bad="cannot decode audio", label="speech")
    m4a = aud / "_tone.m4a"
    subprocess.run(["ffmpeg", "-loglevel", "error", "-y", "-f", "lavfi", "-i", "sine=frequency=440:duration=1",
                    "-ac", "1", "-ar", "16000", "-c:a", "aac", str(m4a)], check=True, timeout=60)
    shutil.move(m4a, aud / "really_m4a.mp3")
    add("audio/really_m4a.mp3", label="speech", transcript="plain words")
    (aud / "latin1.wav").write_bytes(wav_pcm16(_tone(16000, 1.0, freq=300.0), 16000))
    add("audio/latin1.wav", label="speech", transcript=SURROGATE_TRANSCRIPT)

    corpus.manifest.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return corpus


def write_latin1_manifest(corpus: Corpus) -> Path:
    """A CSV manifest whose transcript is Latin-1 bytes, not UTF-8 (line 3 holds the byte 0xe9)."""
    path = corpus.root / "latin1.csv"
    path.write_bytes(b"filepath,label,transcript\naudio/eight.wav,speech,plain\naudio/latin1.wav,speech,caf\xe9\n")
    return path
