"""Image folder importer: one class per subfolder, optionally under train/validation/test folders."""

from __future__ import annotations

from pathlib import Path

from datasteward.errors import InputError
from datasteward.importers._common import fold_rows, walk_files
from datasteward.media import modality_of
from datasteward.records import ImportReport, Record

SPLIT_NAMES = {"train": "train", "training": "train", "val": "validation", "valid": "validation",
               "validation": "validation", "test": "test", "testing": "test"}


def read(source: Path, report: ImportReport, *, defaults: dict | None = None, encoding: str = "utf-8") -> list[Record]:
    """Records of ``source/<class>/...`` or ``source/<split>/<class>/...``."""
    if not source.is_dir():
        raise InputError("an image folder source must be a directory", str(source))
    rows = []
    for path in walk_files(source):
        parts = path.relative_to(source).parts
        if len(parts) < 2:
            continue  # files at the top level have no class folder
        if modality_of(path) != "image":
            report.warn(str(path), "not an image file extension; ignored")
            continue
        split = SPLIT_NAMES.get(parts[0].lower()) if len(parts) >= 3 else None
        label = parts[1] if split else parts[0]
        rows.append((None, {"filepath": str(path.relative_to(source)), "label": label, "split": split}))
    if not rows:
        raise InputError("no images found in class subfolders (expected SOURCE/<class>/<image>)", str(source))
    # One "row" per file: provenance is the file itself, so the row number is left empty.
    return fold_rows(rows, base=source, source_file=source, report=report, defaults=defaults)
