"""Importer for a folder written by FiftyOne's own exporter (`fo.types.FiftyOneDataset`)."""

from __future__ import annotations

import uuid
from pathlib import Path

from datasteward.errors import InputError, UnsafePathError
from datasteward.importers._common import resolve_inside
from datasteward.media import modality_of
from datasteward.records import METADATA_FIELDS, Annotation, Detection, ImportReport, Record, clean, normalize_language


def read(source: Path, report: ImportReport, *, defaults: dict | None = None, encoding: str = "utf-8") -> list[Record]:
    """Records of a FiftyOne export folder (``samples.json`` and ``metadata.json``)."""
    import fiftyone as fo

    if not (source / "samples.json").is_file():
        raise InputError("not a FiftyOne export: samples.json is missing", str(source))
    defaults = defaults or {}
    name = f"datasteward-read-{uuid.uuid4().hex[:8]}"
    try:
        ds = fo.Dataset.from_dir(dataset_dir=str(source), dataset_type=fo.types.FiftyOneDataset, name=name)
    except Exception as exc:  # FiftyOne raises many types for a bad export
        raise InputError(f"cannot read the FiftyOne export ({exc})", str(source)) from exc
    try:
        label_field = _label_field(ds)
        records = []
        for i, sample in enumerate(ds.iter_samples()):
            report.rows += 1
            records.append(_record(sample, i, source, label_field, defaults, report))
        return [r for r in records if r is not None]
    finally:
        ds.delete()


def _label_field(ds) -> str | None:
    import fiftyone as fo

    schema = ds.get_field_schema(embedded_doc_type=fo.Label)
    if "ground_truth" in schema:
        return "ground_truth"
    return next((name for name, f in schema.items() if f.document_type in (fo.Classification, fo.Detections)), None)


def _record(sample, i: int, source: Path, label_field: str | None, defaults: dict, report: ImportReport) -> Record | None:
    import fiftyone as fo

    where = f"{source}/samples.json:sample {i}"
    modality = (sample.get_field("modality") if sample.has_field("modality") else None) or modality_of(sample.filepath)
    # A Data Steward export shows audio through a spectrogram: the audio itself is `media_path`.
    media = sample.filepath
    if modality == "audio" and modality_of(sample.filepath) != "audio" and sample.has_field("media_path"):
        media = sample.get_field("media_path")
    if modality not in ("image", "audio"):
        report.error(where, f"{Path(media).name}: not an image or audio file; skipped")
        return None
    try:
        path = resolve_inside(source, media)
    except UnsafePathError as exc:
        report.error(where, exc.message)
        return None
    rec = Record(media_path=path, modality=modality, source_file=str(source / "samples.json"), source_row=i)
    value = sample.get_field(label_field) if label_field else None
    if isinstance(value, fo.Classification):
        rec.label = value.label
    elif isinstance(value, fo.Detections):
        rec.detections = [Detection(d.label, tuple(d.bounding_box)) for d in value.detections]
    for name in (*METADATA_FIELDS, "transcript"):
        if sample.has_field(name) and sample.get_field(name) is not None:
            setattr(rec, name, sample.get_field(name))
    for name in ("batch", "vendor", "language"):
        if getattr(rec, name) is None and defaults.get(name):
            setattr(rec, name, defaults[name])
    try:
        rec.language = normalize_language(rec.language)
    except ValueError as exc:
        report.warn(where, f"{exc}; left empty")
        rec.language = None
    if sample.has_field("prediction") and isinstance(sample.prediction, fo.Classification):
        rec.prediction, rec.confidence = sample.prediction.label, sample.prediction.confidence
    if sample.has_field("annotations") and sample.annotations:
        rec.annotations = [Annotation(clean(a.annotator) or "?", clean(a.label), a.transcript) for a in sample.annotations]
    return rec
