"""Import a source into a dataset: read records, check and picture every file, then write in bulk.

Nothing is written until every row has been read and every file checked, so
``strict=True`` can abort with the store untouched, and a crash mid-way leaves
only whole chunks behind; a rerun skips the items already present.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import asdict
from pathlib import Path
from typing import Callable

from datasteward import config, media, store
from datasteward.parallel import process_pool
from datasteward.errors import InputError, MediaError
from datasteward.importers import detect_format, read_source
from datasteward.importers._common import resolve_media, source_stem
from datasteward.importers.manifest import iter_rows
from datasteward.records import ImportReport, Record, clean

Progress = Callable[[int, int, str], None]
_INLINE_LIMIT = 48  # below this many files a process pool costs more than it saves


def import_source(
    source: str | Path,
    name: str,
    *,
    fmt: str = "auto",
    batch: str | None = None,
    language: str | None = None,
    vendor: str | None = None,
    strict: bool = False,
    skip_corrupt: bool = False,
    encoding: str = "utf-8-sig",
    base: str | Path | None = None,
    workers: int | None = None,
    progress: Progress | None = None,
) -> ImportReport:
    """Import ``source`` into the dataset ``name``, creating it if needed.

    Parameters
    ----------
    source : path
        A manifest file, annotation file or folder.
    fmt : str
        ``auto`` or one of :data:`datasteward.importers.FORMATS`.
    batch, language, vendor : str, optional
        Defaults for rows that do not say. A delivery with no batch at all
        becomes a batch named after the source.
    strict : bool
        Abort before writing anything if any row or file has a problem.
    skip_corrupt : bool
        Skip files that exist but cannot be decoded. By default they are
        imported with ``media_error`` set, so the vendor can be told and the
        ``corrupt_file`` check flags them.
    base : path, optional
        Folder that a manifest's relative paths resolve against, when the
        manifest does not sit beside its media (an upload, say).
    progress : callable, optional
        Called as ``progress(done, total, stage)``.

    Raises
    ------
    InputError
        If the source as a whole cannot be read (nothing is written).
    """
    source = Path(source).expanduser()
    fmt = detect_format(source) if fmt == "auto" else fmt
    if fmt == "predictions":
        return import_predictions(source, name, encoding=encoding, strict=strict)
    report = ImportReport(str(source), fmt, name)
    defaults = {"batch": batch or source_stem(source), "language": language, "vendor": vendor}
    records = read_source(source, fmt, report, defaults=defaults, encoding=encoding, base=base)
    kind = _label_kind(records)
    if store.dataset_exists(name):
        existing = store.open_dataset(name)
        held = store.label_kind(existing)
        if kind and held and kind != held:
            raise InputError(
                f"dataset {name!r} holds {held} labels and this source has {kind}; "
                "import it into a dataset of its own", str(source))
        present = store.existing_keys(existing)
        report.already_present = sum(r.key in present for r in records)
        records = [r for r in records if r.key not in present]
    prepared = _prepare_all(records, workers, progress)
    samples = []
    for rec, result in zip(records, prepared):
        where = f"{rec.source_file}:{rec.source_row}" if rec.source_row is not None else str(rec.media_path)
        if result.get("skip"):
            report.error(where, f"{media.file_name(rec.media_path)}: {result['skip']}; skipped")
        elif result.get("media_error") and skip_corrupt:
            report.error(where, f"{media.file_name(rec.media_path)}: {result['media_error']}; skipped")
        else:
            if result.get("media_error"):
                report.corrupt += 1
                report.warn(where, f"{media.file_name(rec.media_path)}: {result['media_error']}; imported as corrupt")
            elif note := media.container_mismatch(rec.media_path, (result.get("audio") or {}).get("container")):
                report.warn(where, f"{media.file_name(rec.media_path)}: {note}; decoded anyway")
            samples.append(_sample_fields(rec, result))
    if strict and (report.errors or report.corrupt):
        report.aborted = True
        return report
    if samples:
        ds = store.open_dataset(name, create=True)
        store.ensure_label_field(ds, kind)
        report.added = store.add_samples(ds, samples, progress=_stage(progress, "writing"))
    return report


def _label_kind(records: list[Record]) -> str | None:
    if any(r.detections is not None for r in records):
        return "detections"
    return "classification" if any(r.label is not None for r in records) else None


def _stage(progress: Progress | None, stage: str):
    return (lambda done, total: progress(done, total, stage)) if progress else None


def _prepare_all(records: list[Record], workers: int | None, progress: Progress | None) -> list[dict]:
    jobs = [(str(r.media_path), r.modality) for r in records]
    total = len(jobs)
    workers = workers or os.cpu_count() or 1
    results = []
    if total <= _INLINE_LIMIT or workers <= 1:
        iterator = (prepare_media(*job) for job in jobs)
        pool = None
    else:
        pool = process_pool(workers)
        iterator = pool.map(_prepare_job, jobs, chunksize=8)
    try:
        for i, result in enumerate(iterator, start=1):
            results.append(result)
            if progress:
                progress(i, total, "checking files")
    finally:
        if pool:
            pool.shutdown(cancel_futures=True)
    return results


def _prepare_job(job: tuple[str, str]) -> dict:
    return prepare_media(*job)


def prepare_media(path: str, modality: str) -> dict:
    """Hash, check and picture one file; runs in worker processes.

    Returns a dict with ``skip`` (missing or unreadable: nothing to import), or
    with ``content_hash``, ``filepath`` (what FiftyOne shows), ``thumbnail``,
    ``media_error`` (undecodable) and the image or audio facts.
    """
    try:
        media.check_readable(path)
        digest = media.content_hash(path)
    except MediaError as exc:
        return {"skip": exc.reason}
    out = {"content_hash": digest, "media_error": None}
    try:
        if modality == "image":
            out.update(_prepare_image(path, digest))
        else:
            out.update(_prepare_audio(path, digest))
    except MediaError as exc:
        tile = _placeholder(f"{modality} cannot be shown: {exc.reason}")
        out.update({"media_error": exc.reason, "filepath": tile, "thumbnail": tile})
        if modality == "image" and not media.is_url(path):
            out["filepath"] = path  # keep the original: FiftyOne shows its own broken-media tile
    return out


def _prepare_image(path: str, digest: str) -> dict:
    image, info = media.load_image(path)
    meta = {"width": info.width, "height": info.height, "size_bytes": info.size_bytes,
            "mime_type": f"image/{info.format.lower()}", "num_channels": len(image.getbands())}
    return {**image_pictures(image, path, digest), "image_metadata": meta}


def image_pictures(image, path: str, digest: str) -> dict:
    """``filepath`` and ``thumbnail`` for a decoded image; the thumbnail is drawn once per content."""
    thumb = config.derived_dir("thumbnails") / f"{digest}.jpg"
    _write_once(thumb, lambda tmp: media.save_thumbnail(image, tmp))
    # FiftyOne shows local files only: an image named by URL is shown through its thumbnail.
    return {"filepath": str(thumb) if media.is_url(path) else path, "thumbnail": str(thumb)}


def _prepare_audio(path: str, digest: str) -> dict:
    y, info = media.load_audio(path)
    return {**audio_pictures(y, info.sample_rate, digest), "audio": asdict(info)}


def audio_pictures(y, sr: int, digest: str) -> dict:
    """``filepath`` and ``thumbnail`` for decoded audio: its spectrogram, drawn once per content."""
    png = config.derived_dir("spectrograms") / f"{digest}.png"
    _write_once(png, lambda tmp: media.spectrogram_image(y, sr).save(tmp))
    return {"filepath": str(png), "thumbnail": str(png)}


def _write_once(path: Path, write: Callable[[Path], object]) -> None:
    """Create ``path`` through ``write(temporary path)`` unless it exists.

    Atomic: a kill mid-write leaves only a temporary file, never half a picture
    at ``path``, which every later run would take as drawn and keep.
    """
    if not path.exists():
        tmp = path.with_suffix(f".{os.getpid()}.tmp{path.suffix}")
        write(tmp)
        os.replace(tmp, path)


def _placeholder(text: str) -> str:
    path = config.derived_dir("placeholders") / f"{hashlib.sha1(text.encode()).hexdigest()[:16]}.png"
    _write_once(path, lambda tmp: media.placeholder_image(text).save(tmp))
    return str(path)


def _sample_fields(rec: Record, prepared: dict) -> dict:
    fields = {
        "filepath": prepared["filepath"],
        "thumbnail": prepared["thumbnail"],
        "media_path": str(rec.media_path),
        "item_key": rec.key,
        "modality": rec.modality,
        "content_hash": prepared["content_hash"],
        "media_error": prepared["media_error"],
        "label": rec.label,
        "detections": rec.detections,
        "transcript": rec.transcript,
        "annotations": [asdict(a) for a in rec.annotations],
        "prediction": rec.prediction,
        "confidence": rec.confidence,
        "source_file": rec.source_file,
        "source_row": rec.source_row,
        "audio": prepared.get("audio"),
        "image_metadata": prepared.get("image_metadata"),
        "source_extra": dict(rec.extra) or None,
    }
    for name in ("language", "batch", "vendor", "collected_at", "split", "speaker", "accent", "gender", "age"):
        fields[name] = getattr(rec, name)
    return fields


def import_predictions(source: Path, name: str, *, encoding: str = "utf-8-sig", strict: bool = False) -> ImportReport:
    """Attach a CSV of ``filepath`` (or ``id``), ``prediction`` and ``confidence`` to a dataset.

    File paths are resolved against the CSV's folder, as in a manifest.
    """
    report = ImportReport(str(source), "predictions", name)
    ds = store.open_dataset(name)
    by_key = store.sample_ids_by(ds, "item_key")
    known_ids = set(by_key.values())
    rows = iter_rows(source, report, encoding=encoding, required="prediction",
                     known=("filepath", "id", "sample_id", "prediction", "confidence"))
    updates: dict[str, tuple[str, float | None]] = {}
    for line, row in rows:
        report.rows += 1
        where = f"{source}:{line}"
        sample_id = _match_sample(row, source, by_key, known_ids, where, report)
        label = clean(row.get("prediction"))
        if sample_id is None:
            continue
        if label is None:
            report.error(where, "no prediction in this row; skipped")
            continue
        try:
            conf = float(row["confidence"]) if clean(row.get("confidence")) is not None else None
            if conf is not None and not 0.0 <= conf <= 1.0:
                raise ValueError
        except ValueError:
            report.error(where, f"confidence {row.get('confidence')!r} is not a number in 0..1; skipped")
            continue
        updates[sample_id] = (label, conf)
    if strict and report.errors:
        report.aborted = True
        return report
    fo = store.fo_module()
    store.set_field_by_id(ds, "prediction", {i: fo.Classification(label=l, confidence=c) for i, (l, c) in updates.items()})
    report.added = len(updates)
    return report


def _match_sample(row: dict, source: Path, by_key: dict, known_ids: set, where: str, report: ImportReport) -> str | None:
    sample_id = clean(row.get("id")) or clean(row.get("sample_id"))
    if sample_id:
        if sample_id in known_ids:
            return sample_id
        report.error(where, f"no sample with id {sample_id!r}; skipped")
        return None
    rel = clean(row.get("filepath"))
    if rel is None:
        report.error(where, "neither 'id' nor 'filepath' given; skipped")
        return None
    try:
        key = str(resolve_media(source.parent, rel))
    except InputError as exc:
        report.error(where, exc.message)
        return None
    if key not in by_key:
        report.error(where, f"no sample for file {rel!r}; skipped")
        return None
    return by_key[key]
