"""NVIDIA NeMo ASR manifest importer: JSON lines of `audio_filepath`, `duration`, `text` and optional `lang`."""

from __future__ import annotations

from pathlib import Path

from datasteward.importers._common import fold_rows
from datasteward.importers.manifest import iter_rows
from datasteward.records import ImportReport, Record

NEMO_COLUMNS = ("audio_filepath", "duration", "text", "lang", "offset", "speaker", "pred_text")


def read(source: Path, report: ImportReport, *, defaults: dict | None = None, encoding: str = "utf-8-sig",
         base: Path | None = None) -> list[Record]:
    """Records of a NeMo manifest; paths are relative to the manifest's folder."""
    rows = iter_rows(source, report, encoding=encoding, required="audio_filepath", known=NEMO_COLUMNS)
    mapped = (
        (
            line,
            {
                "filepath": row.get("audio_filepath"),
                "transcript": row.get("text"),
                "language": row.get("lang"),
                "speaker": row.get("speaker"),
                "_extra_declared_duration": row.get("duration"),
            },
        )
        for line, row in rows
    )
    return fold_rows(mapped, base=base or source.parent, source_file=source, report=report, defaults=defaults)
