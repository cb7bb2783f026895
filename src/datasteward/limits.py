"""Size limits on the media Data Steward decodes: file size, image pixels and audio length.

The limits come from environment variables, so the spawned worker processes of
an import or a scan inherit them with no plumbing:

``DATASTEWARD_MAX_FILE_MB``
    Largest media file decoded, in MiB (default 1024).
``DATASTEWARD_MAX_PIXELS``
    Largest image decoded, in pixels (default Pillow's own, 89,478,485). It is
    passed through to ``PIL.Image.MAX_IMAGE_PIXELS``, so Pillow's guard refuses
    a bigger image from its header, before anything is decompressed.
``DATASTEWARD_MAX_AUDIO_SECONDS``
    Longest audio decoded, in seconds (default 14,400: four hours), read from
    the header before decoding; a compressed file can expand a thousandfold.

A file over a limit is not decoded: it raises :class:`~datasteward.errors.MediaError`
naming the file, its size and the limit, so an import records it as corrupt
(reported to the vendor) and a scan flags it ``corrupt_file`` with that reason.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from datasteward.errors import MediaError, SetupError

FILE_MB_ENV = "DATASTEWARD_MAX_FILE_MB"
PIXELS_ENV = "DATASTEWARD_MAX_PIXELS"
AUDIO_SECONDS_ENV = "DATASTEWARD_MAX_AUDIO_SECONDS"

DEFAULT_FILE_MB = 1024.0
DEFAULT_PIXELS = 1024 * 1024 * 1024 // 4 // 3  # Pillow's default MAX_IMAGE_PIXELS
DEFAULT_AUDIO_SECONDS = 4 * 3600.0
_MIB = 1024 * 1024


@dataclass(frozen=True)
class Limits:
    """The limits in force: file size in MiB, image size in pixels, audio length in seconds."""

    max_file_mb: float = DEFAULT_FILE_MB
    max_pixels: int = DEFAULT_PIXELS
    max_audio_seconds: float = DEFAULT_AUDIO_SECONDS


def current() -> Limits:
    """The limits set by the environment, falling back to the defaults.

    Raises
    ------
    SetupError
        If a variable is set to something other than a positive number.
    """
    return Limits(
        max_file_mb=_positive(FILE_MB_ENV, DEFAULT_FILE_MB),
        max_pixels=int(_positive(PIXELS_ENV, DEFAULT_PIXELS)),
        max_audio_seconds=_positive(AUDIO_SECONDS_ENV, DEFAULT_AUDIO_SECONDS),
    )


def _positive(name: str, default: float) -> float:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw.replace("_", ""))
    except ValueError:
        value = float("nan")
    if not value > 0 or value == float("inf"):
        raise SetupError(f"{name}={raw!r} is not a positive number")
    return value


class OverLimit(MediaError):
    """A media file over one of the limits; it is not decoded."""


def check_file_size(path, size_bytes: int, limits: Limits) -> None:
    """Refuse a file larger than ``limits.max_file_mb``."""
    if size_bytes > limits.max_file_mb * _MIB:
        raise OverLimit(str(path), f"file too large: {size_bytes / _MIB:,.1f} MB, over the limit of "
                                   f"{limits.max_file_mb:g} MB ({FILE_MB_ENV})")


def check_pixels(path, pixels: int, limits: Limits) -> None:
    """Refuse an image of more than ``limits.max_pixels`` pixels."""
    if pixels > limits.max_pixels:
        raise over_pixels(path, pixels, limits)


def over_pixels(path, pixels: int | None, limits: Limits) -> OverLimit:
    """The error for an image over the pixel limit (``pixels`` None if unknown)."""
    size = f"{pixels:,} pixels" if pixels is not None else "its size"
    return OverLimit(str(path), f"image too large to decode safely: {size}, over the limit of "
                                f"{limits.max_pixels:,} ({PIXELS_ENV})")


def check_audio_seconds(path, seconds: float, limits: Limits) -> None:
    """Refuse audio longer than ``limits.max_audio_seconds``."""
    if seconds > limits.max_audio_seconds:
        raise OverLimit(str(path), f"audio too long: {seconds:,.1f} s, over the limit of "
                                   f"{limits.max_audio_seconds:,g} s ({AUDIO_SECONDS_ENV})")
