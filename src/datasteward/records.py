"""The records every importer returns, and the report of what an import did with each row."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

# Item-level metadata columns that every format maps onto.
METADATA_FIELDS = ("language", "batch", "vendor", "collected_at", "split", "speaker", "accent", "gender", "age")

_BCP47 = re.compile(r"^[A-Za-z]{2,3}(-[A-Za-z]{4})?(-([A-Za-z]{2}|[0-9]{3}))?(-[A-Za-z0-9]{5,8})*$")


@dataclass
class Annotation:
    """One annotator's answer for one item."""

    annotator: str
    label: str | None = None
    transcript: str | None = None


@dataclass
class Detection:
    """A labelled box in relative ``[x, y, width, height]`` coordinates (0..1)."""

    label: str
    bbox: tuple[float, float, float, float]


@dataclass
class Record:
    """One item of a source, with its annotators folded in.

    ``media_path`` is absolute and already checked to lie inside the source folder,
    or (a str) a URL the manifest names.
    """

    media_path: Path | str
    modality: str
    source_file: str
    source_row: int | None
    label: str | None = None
    detections: list[Detection] | None = None
    transcript: str | None = None
    annotations: list[Annotation] = field(default_factory=list)
    prediction: str | None = None
    confidence: float | None = None
    language: str | None = None
    batch: str | None = None
    vendor: str | None = None
    collected_at: datetime | None = None
    split: str | None = None
    speaker: str | None = None
    accent: str | None = None
    gender: str | None = None
    age: str | None = None
    extra: dict = field(default_factory=dict)

    @property
    def key(self) -> str:
        """Identity of the item within a dataset: its resolved media path."""
        return str(self.media_path)


@dataclass
class Problem:
    """Something wrong with one row or file of a source."""

    where: str
    message: str
    severity: str = "error"  # "error": row skipped; "warning": row imported as stated

    def __str__(self) -> str:
        return f"{self.where}: {self.message}"


@dataclass
class ImportReport:
    """What an import did: counts and every problem, in source order."""

    source: str
    format: str
    dataset: str = ""
    rows: int = 0
    added: int = 0
    already_present: int = 0
    corrupt: int = 0
    problems: list[Problem] = field(default_factory=list)
    aborted: bool = False

    def error(self, where: str, message: str) -> None:
        self.problems.append(Problem(where, message, "error"))

    def warn(self, where: str, message: str) -> None:
        self.problems.append(Problem(where, message, "warning"))

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "warning"]

    def summary(self) -> str:
        head = "aborted, nothing written" if self.aborted else f"{self.added} added"
        parts = [head]
        if self.already_present:
            parts.append(f"{self.already_present} already present")
        if self.corrupt:
            parts.append(f"{self.corrupt} imported as corrupt")
        if self.errors:
            parts.append(f"{len(self.errors)} rows skipped")
        if self.warnings:
            parts.append(f"{len(self.warnings)} warnings")
        return f"{self.source} ({self.format}) -> {self.dataset or '?'}: " + ", ".join(parts)


def normalize_language(value: str | None) -> str | None:
    """Canonical BCP-47 casing (``en``, ``zh-Hant``, ``pt-BR``), or None if blank.

    Raises
    ------
    ValueError
        If the value is not shaped like a BCP-47 tag.
    """
    if value is None or not str(value).strip():
        return None
    tag = str(value).strip().replace("_", "-")
    if not _BCP47.match(tag):
        raise ValueError(f"language {value!r} is not a BCP-47 tag (for example en, sw, pt-BR)")
    parts = tag.split("-")
    out = [parts[0].lower()]
    for part in parts[1:]:
        if len(part) == 4 and part.isalpha():
            out.append(part.title())
        elif len(part) == 2 or part.isdigit():
            out.append(part.upper())
        else:
            out.append(part.lower())
    return "-".join(out)


def parse_time(value: str | None) -> datetime | None:
    """ISO-8601 date or date-time, or None if blank.

    Raises
    ------
    ValueError
        If the value is not ISO-8601.
    """
    if value is None or not str(value).strip():
        return None
    text = str(value).strip().replace("Z", "+00:00")
    try:
        return datetime.fromisoformat(text)
    except ValueError as exc:
        raise ValueError(f"collected_at {value!r} is not an ISO-8601 date or time") from exc


def clean(value) -> str | None:
    """A stripped string, or None for blanks and NaN."""
    if value is None:
        return None
    if isinstance(value, float) and value != value:
        return None
    text = str(value).strip()
    return text or None
