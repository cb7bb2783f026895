"""Shared reading helpers for importers: safe paths, strict text decoding, and folding rows into records."""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path
from typing import Iterable
from urllib.parse import unquote, urlsplit

from datasteward.errors import InputError, UnsafePathError
from datasteward.media import is_url, modality_of, suffix_of
from datasteward.records import (
    Annotation,
    ImportReport,
    Record,
    clean,
    normalize_language,
    parse_time,
)

MANIFEST_COLUMNS = (
    "filepath", "label", "transcript", "language", "batch", "vendor", "annotator", "prediction",
    "confidence", "split", "collected_at", "speaker", "accent", "gender", "age",
)
ITEM_FIELDS = ("language", "batch", "vendor", "collected_at", "split", "speaker", "accent", "gender", "age", "prediction", "confidence")


def resolve_inside(base: Path, relative: str) -> Path:
    """Absolute path of ``relative`` under ``base``, refusing anything that escapes it.

    Raises
    ------
    UnsafePathError
        If the path (after ``..`` and symlinks) lies outside ``base``.
    """
    base = base.resolve()
    candidate = Path(relative)
    target = (candidate if candidate.is_absolute() else base / candidate).resolve()
    if target != base and base not in target.parents:
        raise UnsafePathError(f"path {relative!r} points outside the source folder {base}; refused")
    return target


# Object stores and web servers a manifest may name by URL; a `file://` URL must still
# lie inside the source folder. (fsspec's chained `a::b://` is no URL here: a local name.)
REMOTE_SCHEMES = frozenset({"s3", "s3a", "gs", "gcs", "az", "abfs", "abfss", "http", "https", "hf", "memory"})


def resolve_media(base: Path, value: str) -> Path | str:
    """A manifest's file path: a path inside ``base``, or an absolute URL the manifest names.

    A remote URL (see :data:`REMOTE_SCHEMES`) is kept as written; a ``file://``
    URL is kept as a URL of its resolved path, which must lie inside ``base``.

    Raises
    ------
    UnsafePathError
        If a path escapes ``base``, or the URL's scheme is not accepted.
    """
    if not is_url(value):
        return resolve_inside(base, value)
    scheme = value.split("://", 1)[0].lower()
    if scheme == "file":
        return f"file://{resolve_inside(base, unquote(urlsplit(value).path))}"
    if scheme not in REMOTE_SCHEMES:
        raise UnsafePathError(f"URL scheme {scheme!r} of {value!r} is not accepted; "
                              f"use a path inside the source folder or one of {', '.join(sorted(REMOTE_SCHEMES))}")
    return value


def read_text(path: Path, encoding: str = "utf-8-sig") -> str:
    """The whole file as text, or an InputError naming the line that is not ``encoding``."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read ({exc.strerror or exc})", str(path)) from exc
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise InputError(
            f"not valid {encoding.replace('-sig', '')} text (byte 0x{data[exc.start]:02x} at line {line}); "
            "re-save it as UTF-8, or pass --encoding with the file's real encoding (for example latin-1)",
            f"{path}:{line}",
        ) from exc
    except LookupError as exc:
        raise InputError(f"unknown text encoding {encoding!r}", str(path)) from exc


def warn_unknown_columns(columns: Iterable[str], known: Iterable[str], where: str, report: ImportReport) -> None:
    unknown = [c for c in columns if c and c not in set(known)]
    if unknown:
        names = ", ".join(repr(c) for c in unknown)
        report.warn(where, f"unknown column(s) {names} ignored; known columns are {', '.join(known)}")


def fold_rows(
    rows: Iterable[tuple[int, dict]],
    *,
    base: Path,
    source_file: Path,
    report: ImportReport,
    defaults: dict | None = None,
) -> list[Record]:
    """Fold manifest-shaped rows into one record per item.

    An item may appear on several rows, one per annotator. Item-level values are
    taken from the first row that has them; a later row that disagrees gives a
    warning. A row repeating the same item, annotator and answer is kept once.

    Parameters
    ----------
    rows : iterable of (line, dict)
        ``line`` is the 1-based line of the row in ``source_file``; keys are
        manifest column names.
    base : Path
        Folder that relative file paths are resolved against and must stay in.
    defaults : dict, optional
        Values for ``batch``, ``language`` and ``vendor`` where a row has none.
    """
    defaults = {k: v for k, v in (defaults or {}).items() if v}
    records: dict[str, Record] = {}
    first_line: dict[str, int] = {}
    seen_answers: dict[tuple, int] = {}
    for line, row in rows:
        report.rows += 1
        row = _valid_text(row, f"{source_file}:{line}" if line is not None else str(source_file), report)
        rel = clean(row.get("filepath"))
        where = f"{source_file}:{line}" if line is not None else f"{source_file}/{rel}"
        if rel is None:
            report.error(where, "no file path in this row")
            continue
        try:
            path = resolve_media(base, rel)
        except UnsafePathError as exc:
            report.error(where, exc.message)
            continue
        modality = modality_of(path)
        if modality is None:
            report.error(where, f"{rel}: not an image or audio file extension ({suffix_of(path) or 'none'})")
            continue
        values = _item_values(row, defaults, where, report)
        key = str(path)
        rec = records.get(key)
        if rec is None:
            rec = Record(media_path=path, modality=modality, source_file=str(source_file), source_row=line, **values["item"])
            rec.extra.update(values["extra"])
            records[key] = rec
            first_line[key] = line
        else:
            _merge_item_values(rec, values["item"], where, first_line[key], report)
        annotator = clean(row.get("annotator"))
        label, transcript = clean(row.get("label")), _transcript(row.get("transcript"))
        answer = (key, annotator, label, transcript)
        if answer in seen_answers:
            report.warn(where, f"repeats line {seen_answers[answer]} (same item, annotator and answer); kept once")
            continue
        seen_answers[answer] = line
        if annotator:
            rec.annotations.append(Annotation(annotator, label, transcript))
        else:
            _set_direct(rec, label, transcript, where, report)
    for rec in records.values():
        _consensus_from_annotations(rec)
    return list(records.values())


def _valid_text(row: dict, where: str, report: ImportReport) -> dict:
    """The row with lone surrogates (bytes that were not UTF-8, escaped in JSON) replaced by U+FFFD, and a warning.

    No UTF-8 encoder accepts a lone surrogate, so one left in would make the
    database write fail for the whole import.
    """
    fixed = {}
    for name, value in row.items():
        if isinstance(value, str) and any(0xD800 <= ord(c) <= 0xDFFF for c in value):
            bad = next(c for c in value if 0xD800 <= ord(c) <= 0xDFFF)
            report.warn(where, f"{name} is not valid Unicode text (lone surrogate U+{ord(bad):04X}, from bytes that "
                               "were not UTF-8); replaced by U+FFFD")
            value = "".join("\ufffd" if 0xD800 <= ord(c) <= 0xDFFF else c for c in value)
        fixed[name] = value
    return fixed


def _transcript(value) -> str | None:
    # Keep inner whitespace; an all-blank transcript is an empty transcript, kept as "".
    if value is None or (isinstance(value, float) and value != value):
        return None
    text = str(value)
    return text.strip() if text.strip() else ("" if text != "" else None)


def _item_values(row: dict, defaults: dict, where: str, report: ImportReport) -> dict:
    item, extra = {}, {}
    for name in ITEM_FIELDS:
        raw = clean(row.get(name))
        if raw is None and name in defaults:
            raw = defaults[name]
        if raw is None:
            continue
        try:
            if name == "language":
                item[name] = normalize_language(raw)
            elif name == "collected_at":
                item[name] = parse_time(raw)
            elif name == "confidence":
                value = float(raw)
                if not 0.0 <= value <= 1.0:
                    raise ValueError(f"confidence {raw!r} is outside 0..1")
                item[name] = value
            else:
                item[name] = raw
        except ValueError as exc:
            report.warn(where, f"{exc}; left empty")
    for name, value in row.items():
        if name.startswith("_extra_") and clean(value) is not None:
            extra[name[len("_extra_"):]] = value
    return {"item": item, "extra": extra}


def _merge_item_values(rec: Record, item: dict, where: str, first: int, report: ImportReport) -> None:
    for name, value in item.items():
        current = getattr(rec, name)
        if current is None:
            setattr(rec, name, value)
        elif current != value:
            report.warn(where, f"{name} {value!r} differs from line {first}'s {current!r} for the same item; kept {current!r}")


def _set_direct(rec: Record, label, transcript, where: str, report: ImportReport) -> None:
    if label is not None:
        if rec.label is None:
            rec.label = label
        elif rec.label != label:
            report.warn(where, f"label {label!r} differs from the item's earlier label {rec.label!r}; kept {rec.label!r}")
    if transcript is not None and rec.transcript is None:
        rec.transcript = transcript


def _consensus_from_annotations(rec: Record) -> None:
    """Where a row gave no direct answer, the delivered answer is the annotators' majority.

    Ties go to the first answer seen. The scan later computes a Dawid-Skene
    consensus beside it; the raw answers always stay on the item.
    """
    labels = [a.label for a in rec.annotations if a.label is not None]
    if rec.label is None and labels:
        rec.label = _majority(labels)
    texts = [a.transcript for a in rec.annotations if a.transcript is not None]
    if rec.transcript is None and texts:
        rec.transcript = _majority(texts)


def _majority(values: list[str]) -> str:
    counts = Counter(values)
    best = max(counts.values())
    return next(v for v in values if counts[v] == best)


def source_stem(source: Path) -> str:
    """Default batch name for a delivery: the manifest's stem or the folder's name."""
    return source.stem if source.is_file() else source.name


def walk_files(root: Path) -> list[Path]:
    """All regular files under ``root``, sorted, without following symlinked folders."""
    out = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        out.extend(Path(dirpath) / f for f in sorted(filenames) if not f.startswith("."))
    return out
