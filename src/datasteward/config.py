"""Where Data Steward keeps its files, and the environment FiftyOne needs before it is imported."""

from __future__ import annotations

import os
from pathlib import Path


def configure_environment() -> None:
    """Set FiftyOne's environment defaults; call before ``import fiftyone``.

    Existing values win, so a team's ``FIFTYONE_DATABASE_URI`` or a test's
    ``FIFTYONE_DATABASE_NAME`` is never overridden.
    """
    os.environ.setdefault("FIFTYONE_DO_NOT_TRACK", "true")
    # MongoDB 6.0 (the version shipped in the offline wheel) is FiftyOne's oldest
    # supported major version; the notice is known and documented in docs/data-model.md.
    os.environ.setdefault("FIFTYONE_DATABASE_VALIDATION", "false")
    os.environ.setdefault("FIFTYONE_SHOW_PROGRESS_BARS", "false")


def home() -> Path:
    """Folder for derived media (spectrograms, thumbnails) that samples point at.

    ``DATASTEWARD_HOME`` overrides the default ``~/.datasteward``. The folder must
    outlive the app: FiftyOne samples reference the files in it.
    """
    path = Path(os.environ.get("DATASTEWARD_HOME", Path.home() / ".datasteward"))
    path.mkdir(parents=True, exist_ok=True)
    return path


def derived_dir(kind: str) -> Path:
    """Subfolder of :func:`home` for one kind of derived file, e.g. ``"spectrograms"``."""
    path = home() / kind
    path.mkdir(parents=True, exist_ok=True)
    return path
