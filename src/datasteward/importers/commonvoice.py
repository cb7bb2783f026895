"""Mozilla Common Voice importer: a TSV of `client_id`, `path`, `sentence`, votes and speaker metadata."""

from __future__ import annotations

import csv
from pathlib import Path

from datasteward.importers._common import fold_rows
from datasteward.importers.manifest import iter_rows
from datasteward.records import ImportReport, Record

CV_COLUMNS = (
    "client_id", "path", "sentence", "up_votes", "down_votes", "age", "gender", "accents", "accent",
    "locale", "segment", "sentence_id", "sentence_domain", "variant",
)


def read(source: Path, report: ImportReport, *, defaults: dict | None = None, encoding: str = "utf-8-sig",
         base: Path | None = None) -> list[Record]:
    """Records of a Common Voice TSV; clips live in ``clips/`` beside it when that folder exists."""
    if base is None:
        clips = source.parent / "clips"
        base = clips if clips.is_dir() else source.parent
    # Common Voice sentences contain bare quotes, so the TSV is read without quoting.
    rows = iter_rows(source, report, encoding=encoding, required="path", known=CV_COLUMNS, delimiter="\t", quoting=csv.QUOTE_NONE)
    mapped = (
        (
            line,
            {
                "filepath": row.get("path"),
                "transcript": row.get("sentence"),
                "speaker": row.get("client_id"),
                "accent": row.get("accents") or row.get("accent"),
                "gender": row.get("gender"),
                "age": row.get("age"),
                "language": row.get("locale"),
                "_extra_up_votes": row.get("up_votes"),
                "_extra_down_votes": row.get("down_votes"),
            },
        )
        for line, row in rows
    )
    return fold_rows(mapped, base=base, source_file=source, report=report, defaults=defaults)
