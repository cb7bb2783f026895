"""Readers for each input format; each returns the same `Record`s, with problems in the report."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Callable

from datasteward.errors import InputError
from datasteward.importers import coco, commonvoice, fiftyone_dir, imagefolder, manifest, nemo
from datasteward.records import ImportReport, Record

Reader = Callable[..., list[Record]]

READERS: dict[str, Reader] = {
    "imagefolder": imagefolder.read,
    "coco": coco.read,
    "manifest": manifest.read,
    "nemo": nemo.read,
    "commonvoice": commonvoice.read,
    "fiftyone": fiftyone_dir.read,
}
FORMATS = ("auto", *READERS, "predictions")
MANIFEST_FORMATS = ("manifest", "nemo", "commonvoice")


def detect_format(source: Path) -> str:
    """Guess a source's format from its layout and first bytes.

    Raises
    ------
    InputError
        If the source does not exist or matches no format.
    """
    if not source.exists():
        raise InputError("source not found", str(source))
    if source.is_dir():
        if (source / "samples.json").is_file() and (source / "metadata.json").is_file():
            return "fiftyone"
        return "imagefolder"
    suffix = source.suffix.lower()
    head = _head(source)
    if suffix == ".tsv" and "client_id" in head and "sentence" in head:
        return "commonvoice"
    if suffix == ".json" and '"images"' in head and '"annotations"' in head:
        return "coco"
    if suffix == ".json" and head.lstrip().startswith("{") and '"images"' in _head(source, 1 << 20):
        return "coco"
    if suffix in (".jsonl", ".json", ".ndjson") and "audio_filepath" in head:
        return "nemo"
    if suffix in (".csv", ".tsv", ".jsonl", ".json", ".ndjson"):
        return "manifest"
    raise InputError(f"cannot tell the format of a {suffix or 'extension-less'} file; pass --format", str(source))


def _head(path: Path, size: int = 4096) -> str:
    try:
        with open(path, "rb") as fh:
            return fh.read(size).decode("utf-8", errors="replace")
    except OSError as exc:
        raise InputError(f"cannot read ({exc.strerror or exc})", str(path)) from exc


def read_source(
    source: Path,
    fmt: str,
    report: ImportReport,
    *,
    defaults: dict | None = None,
    encoding: str = "utf-8-sig",
    base: Path | None = None,
) -> list[Record]:
    """Records of ``source`` in format ``fmt`` (already resolved from ``auto``).

    ``base`` moves the folder that a manifest's relative paths resolve against
    (for a manifest uploaded apart from its media); folder formats ignore it.
    """
    if fmt not in READERS:
        raise InputError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")
    if base is not None and fmt in MANIFEST_FORMATS:
        return READERS[fmt](source, report, defaults=defaults, encoding=encoding, base=Path(base))
    return READERS[fmt](source, report, defaults=defaults, encoding=encoding)


