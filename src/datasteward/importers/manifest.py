"""Generic manifest importer: CSV or JSONL rows of `filepath` plus labels and metadata, one row per annotator."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Iterator

from datasteward.errors import InputError
from datasteward.importers._common import MANIFEST_COLUMNS, fold_rows, read_text, warn_unknown_columns
from datasteward.records import ImportReport, Record


def read(source: Path, report: ImportReport, *, defaults: dict | None = None, encoding: str = "utf-8-sig",
         base: Path | None = None) -> list[Record]:
    """Records of a generic manifest (``.csv``, ``.tsv``, ``.jsonl`` or ``.json``).

    Relative paths resolve against ``base``, by default the manifest's folder.
    """
    rows = list(iter_rows(source, report, encoding=encoding, required="filepath", known=MANIFEST_COLUMNS))
    return fold_rows(rows, base=base or source.parent, source_file=source, report=report, defaults=defaults)


def iter_rows(
    source: Path,
    report: ImportReport,
    *,
    encoding: str,
    required: str,
    known: tuple[str, ...],
    delimiter: str | None = None,
    quoting: int = csv.QUOTE_MINIMAL,
) -> Iterator[tuple[int, dict]]:
    """Yield ``(line, row)`` pairs from a CSV/TSV or JSON-lines file.

    Raises
    ------
    InputError
        For a file that is empty, has no ``required`` column, or is not text in ``encoding``.
    """
    text = read_text(source, encoding)
    if not text.strip():
        raise InputError("the manifest is empty: no header and no rows", str(source))
    if source.suffix.lower() in (".jsonl", ".json", ".ndjson"):
        rows = list(_json_rows(text, source, report))
        columns = list(dict.fromkeys(k for _, row in rows for k in row))
    else:
        rows, columns = _delimited_rows(text, source, report, delimiter, quoting)
    if required not in columns:
        raise InputError(f"no {required!r} column; found {', '.join(map(repr, columns)) or 'none'}", f"{source}:1")
    if not rows:
        raise InputError("the manifest has a header but no rows", str(source))
    warn_unknown_columns(columns, known, f"{source}:1", report)
    yield from rows


def _delimited_rows(text: str, source: Path, report: ImportReport, delimiter: str | None, quoting: int):
    if delimiter is None:
        delimiter = "\t" if source.suffix.lower() == ".tsv" else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, quoting=quoting, strict=True)
    try:
        header = [h.strip() for h in next(reader)]
    except csv.Error as exc:
        raise InputError(f"cannot parse the header ({exc})", f"{source}:1") from exc
    rows = []
    while True:
        try:
            fields = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            report.error(f"{source}:{reader.line_num}", f"malformed row ({exc}); skipped")
            continue
        if not any(f.strip() for f in fields):
            continue
        if len(fields) != len(header):
            report.error(
                f"{source}:{reader.line_num}",
                f"has {len(fields)} fields but the header has {len(header)}; skipped",
            )
            continue
        rows.append((reader.line_num, dict(zip(header, fields))))
    return rows, header


def _json_rows(text: str, source: Path, report: ImportReport) -> Iterator[tuple[int, dict]]:
    stripped = text.lstrip()
    if stripped.startswith("["):
        try:
            items = json.loads(text)
        except json.JSONDecodeError as exc:
            raise InputError(f"not valid JSON ({exc.msg})", f"{source}:{exc.lineno}") from exc
        for i, item in enumerate(items, start=1):
            if isinstance(item, dict):
                yield i, item
            else:
                report.error(f"{source}:item {i}", "not a JSON object; skipped")
        return
    for line_no, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except json.JSONDecodeError as exc:
            report.error(f"{source}:{line_no}", f"not valid JSON ({exc.msg} at column {exc.colno}); skipped")
            continue
        if not isinstance(item, dict):
            report.error(f"{source}:{line_no}", "not a JSON object; skipped")
            continue
        yield line_no, item
