"""Scan a dataset: per-item metrics in worker processes, dataset-level checks over the table, then flags.

Phase 1 decodes only new or changed items (by file size and mtime, and by the
version of the metric code) and writes their metrics in chunks as they finish,
so an interrupted scan resumes where it stopped. The decoding runs on an engine
of :mod:`datasteward.engines` (the local process pool, or tasks on Ray). Phase 2
runs every check over the whole metric table (cheap: no decoding), resolves
thresholds from the contract, and merges findings into each sample's flags with
a version check, so a rerun never duplicates a flag and never overwrites a reviewer.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Callable

import numpy as np
import pandas as pd

from datasteward import flags as flaglib
from datasteward import engines, media, review, store
from datasteward.contract import Contract, load_contract
from datasteward.errors import DataStewardError, MediaError

Progress = Callable[[int, int, str], None]
PHASE1_VERSION = 1
_CHUNK = 128


@dataclass
class ScanReport:
    """What a scan did."""

    dataset: str
    total: int = 0
    decoded: int = 0
    up_to_date: int = 0
    errors: list[tuple[str, str]] = field(default_factory=list)
    fired: dict[str, int] = field(default_factory=dict)
    open_flags: int = 0
    conflicts: int = 0
    seconds: float = 0.0
    workers: int = 0  # distinct processes that measured items

    def summary(self) -> str:
        top = ", ".join(f"{k} {v}" for k, v in sorted(self.fired.items(), key=lambda kv: -kv[1])[:8])
        return (f"{self.dataset}: {self.total} samples, {self.decoded} decoded, {self.up_to_date} up to date, "
                f"{len(self.errors)} errors, {self.open_flags} open flags in {self.seconds:.1f} s"
                + (f" (top: {top})" if top else ""))


def phase1_signature() -> str:
    """Changes whenever the per-item metric code changes, forcing a re-decode."""
    from datasteward.checks import features

    return f"p{PHASE1_VERSION}-f{features.FEATURE_VERSION}-{registry_item_versions()}"


def registry_item_versions() -> str:
    from datasteward.checks import REGISTRY

    return ".".join(str(REGISTRY[n].version) for n in sorted(REGISTRY) if REGISTRY[n].level == "item")


def scan(
    name: str,
    *,
    checks: list[str] | None = None,
    workers: int | None = None,
    contract: str | None = None,
    progress: Progress | None = None,
    chunk_size: int = _CHUNK,
    engine: str = "local",
    address: str | None = None,
) -> ScanReport:
    """Compute metrics for new or changed samples, run the checks and update the flags.

    Parameters
    ----------
    checks : list of str, optional
        Check names to (re)flag; default all. Metrics are always kept complete.
    workers : int, optional
        Decoding processes, or the CPUs of the local Ray instance (default: all cores).
    contract : path, optional
        Quality contract to use; it is remembered for the dataset. Default: the
        dataset's remembered contract, else the checks' defaults.
    chunk_size : int
        Items measured between two writes; what is written survives a crash.
    engine : ``"local"`` or ``"ray"``
        Where items are decoded: the local process pool, or Ray tasks (see
        :func:`datasteward.engines.measured`). Results are written here either way.
    address : str, optional
        Ray cluster address (``ray://host:10001``); default a local Ray instance.
    """
    from datasteward.checks import REGISTRY

    engines.check_engine(engine, address)
    started = time.perf_counter()
    ds = store.open_dataset(name)
    store.ensure_scan_fields(ds)
    review.repair_history(ds)  # review actions a killed process left out of the history collection
    selected = _selected(checks, REGISTRY)
    contract_path = contract or (ds.info or {}).get("contract")
    terms = load_contract(contract_path, REGISTRY)
    if contract:
        store.set_info(ds, "contract", str(contract))
    report = ScanReport(name)
    stale, state = _stale_items(ds, report)
    _phase1(ds, stale, state, report, progress=progress, chunk_size=chunk_size, engine=engine, workers=workers,
            address=address)
    _phase2(ds, selected, terms, progress, report)
    report.seconds = time.perf_counter() - started
    return report


def _selected(checks: list[str] | None, registry) -> set[str]:
    if not checks:
        return set(registry)
    unknown = [c for c in checks if c not in registry]
    if unknown:
        raise DataStewardError(f"unknown check(s) {', '.join(unknown)}; known checks: {', '.join(registry)}")
    return set(checks)


# --- phase 1 -----------------------------------------------------------------

def _stale_items(ds, report: ScanReport) -> tuple[list[tuple], dict]:
    ids, paths, modalities, hashes, states = ds.values(["id", "media_path", "modality", "content_hash", "scan_state"])
    signature = phase1_signature()
    report.total = len(ids)
    stale, state = [], {}
    for sid, path, modality, digest, st in zip(ids, paths, modalities, hashes, states):
        stat = media.file_stamp(path)
        state[sid] = stat
        st = st or {}
        if st.get("signature") == signature and stat is not None and (st.get("size"), st.get("mtime")) == stat:
            report.up_to_date += 1
            continue
        stale.append((sid, path, modality, digest))
    return stale, state


def _phase1(ds, stale: list[tuple], state: dict, report: ScanReport, *, progress: Progress | None, chunk_size: int,
            engine: str, workers: int | None, address: str | None) -> None:
    if not stale:
        return
    jobs = [(path, modality, digest) for _, path, modality, digest in stale]
    signature = phase1_signature()
    buffer: list[tuple[str, dict]] = []
    pids: set[int] = set()
    with engines.measured(jobs, engine=engine, workers=workers, address=address) as results:
        for i, ((sid, path, _, _), result) in enumerate(zip(stale, results), start=1):
            pids.add(result.pop("worker", None))
            report.decoded += int(result.pop("decoded", 0))
            if result.get("scan_error"):
                report.errors.append((path, result["scan_error"]))
            size_mtime = state.get(sid)
            result["scan_state"] = {"signature": signature, "size": size_mtime[0] if size_mtime else None,
                                    "mtime": size_mtime[1] if size_mtime else None}
            buffer.append((sid, result))
            if len(buffer) >= chunk_size:
                _write_phase1(ds, buffer)
                buffer = []
            if progress:
                progress(i, len(stale), "measuring")
        _write_phase1(ds, buffer)
    report.workers = len(pids - {None})


def measure_item(path: str, modality: str, known_hash: str | None) -> dict:
    """Decode one file and compute its per-item metrics; runs in a worker process.

    ``path`` is a local path or an fsspec URL. Returns a dict of fields to
    store, and ``worker``, the id of the process that measured it. A file that
    cannot be decoded returns its ``media_error`` instead of metrics; an
    unexpected failure in a metric returns ``scan_error``, so one bad item
    never stops the scan.
    """
    from datasteward import ingest
    from datasteward.checks import audio, features, image

    out: dict = {"decoded": 1, "media_error": None, "scan_error": None, "worker": os.getpid()}
    try:
        digest = media.content_hash(path)
        out["content_hash"] = digest
        if modality == "image":
            picture, info = media.load_image(path)
            rgb = np.asarray(picture.convert("RGB"))
            out["quality"] = image.image_metrics(rgb)
            out["phash"] = image.perceptual_hash(rgb)
            out["features"] = features.image_features(rgb)
            out["image_info"] = {"width": info.width, "height": info.height, "size_bytes": info.size_bytes}
            if digest != known_hash:
                out["pictures"] = ingest.image_pictures(picture, path, digest)
        else:
            y, info = media.load_audio(path)
            out["quality"] = audio.audio_metrics(y, info.sample_rate)
            spec = audio.power_spectrogram(y, info.sample_rate)
            out["fingerprint"] = audio.audio_fingerprint(y, info.sample_rate, spec=spec)
            out["features"] = features.audio_features(y, info.sample_rate, spec=spec)
            out["audio_info"] = {"sample_rate": info.sample_rate, "channels": info.channels,
                                 "duration": info.duration, "frames": info.frames, "container": info.container,
                                 "subtype": info.subtype, "size_bytes": info.size_bytes}
            if digest != known_hash:
                out["pictures"] = ingest.audio_pictures(y, info.sample_rate, digest)
    except MediaError as exc:
        out["media_error"] = exc.reason
    except Exception as exc:  # a bug or an unforeseen input must not stop the other items
        out["scan_error"] = f"{type(exc).__name__}: {exc}"[:300]
    return out


def _write_phase1(ds, buffer: list[tuple[str, dict]]) -> None:
    """One bulk write for a chunk of measured items: what is written survives a crash."""
    if not buffer:
        return
    rows = {}
    for sid, result in buffer:
        fields = {key: result.get(key) for key in ("media_error", "scan_error", "scan_state")}
        fields["quality"] = result.get("quality") or {}
        for key in ("content_hash", "phash", "fingerprint"):
            if key in result:
                fields[key] = result[key]
        if result.get("features") is not None:
            fields["features"] = np.asarray(result["features"], dtype=np.float32)
        fields.update(result.get("pictures") or {})
        if "audio_info" in result:
            fields["audio"] = result["audio_info"]
        rows[sid] = fields
    store.write_fields(ds, rows, embedded={"quality", "audio"})


# --- phase 2 -----------------------------------------------------------------

TABLE_FIELDS = {
    "id": "id", "modality": "modality", "media_error": "media_error", "scan_error": "scan_error",
    "language": "language", "batch": "batch", "vendor": "vendor", "split": "split", "speaker": "speaker",
    "transcript": "transcript", "content_hash": "content_hash", "width": "metadata.width",
    "height": "metadata.height", "sample_rate": "audio.sample_rate", "channels": "audio.channels",
    "duration": "audio.duration", "phash": "phash", "fingerprint": "fingerprint", "label": "ground_truth.label",
    "annotations": "annotations", "prediction": "prediction.label", "confidence": "prediction.confidence",
    "features": "features", "quality": "quality",
}


def load_table(ds) -> pd.DataFrame:
    """One row per sample: metadata, labels and every stored metric, for the dataset-level checks."""
    schema = ds.get_field_schema()  # a delivery with transcripts only has no `ground_truth` field at all
    present = {name: path for name, path in TABLE_FIELDS.items() if path == "id" or path.split(".")[0] in schema}
    values = ds.values(list(present.values()))
    table = pd.DataFrame({name: vals for name, vals in zip(present, values)})
    table = table.assign(**{name: None for name in TABLE_FIELDS if name not in present})
    quality = pd.DataFrame([_as_dict(q) for q in table.pop("quality")], index=table.index)
    table["annotations"] = [[_as_dict(a) for a in (anns or [])] for anns in table["annotations"]]
    table["features"] = [None if f is None else np.asarray(f, dtype=np.float32) for f in table["features"]]
    text = pd.DataFrame([_text_metrics(t, l) for t, l in zip(table["transcript"], table["language"])], index=table.index)
    text[table["modality"] != "audio"] = np.nan
    table = pd.concat([table, quality.drop(columns=[c for c in text.columns if c in quality], errors="ignore"), text], axis=1)
    # An error at scan time (a file gone since import) counts as a media error.
    table["media_error"] = table["media_error"].where(table["media_error"].notna(), None)
    return table


def _text_metrics(text, language) -> dict:
    from datasteward.checks import text as textchecks

    return textchecks.transcript_metrics(text, language)


def _as_dict(doc) -> dict:
    if doc is None:
        return {}
    if isinstance(doc, dict):
        return {k: v for k, v in doc.items() if not k.startswith("_")}
    return {k: v for k, v in doc.to_dict().items() if not k.startswith("_")}


def _phase2(ds, selected: set[str], terms: Contract, progress: Progress | None, report: ScanReport) -> None:
    from datasteward.checks import REGISTRY, labels, signal
    from datasteward.checks.findings import decide

    if progress:
        progress(0, 1, "checking")
    table = load_table(ds)
    label_result = labels.label_scores(table)
    scores = pd.concat([signal.signal_scores(table), label_result.scores], ignore_index=True)
    languages = table.set_index("id")["language"]
    decided = decide(scores, REGISTRY, lambda c, lang=None: terms.threshold(REGISTRY[c], lang), languages)
    _write_item_results(ds, table, decided, label_result)
    _write_flags(ds, decided, selected, terms, report)
    _write_stats(ds, label_result, decided, terms)
    if progress:
        progress(1, 1, "checking")
    from datasteward import drift

    drift.precompute(ds, progress=progress)  # the Drift page and `datasteward drift` read these
    keep_page_tables(ds)


def keep_page_tables(ds) -> None:
    """Compute what Home, the Overview, the browsers and Expectations read, and keep it until the dataset next changes."""
    from datasteward import browse, expectations, overview

    store.summary(ds)
    overview.tables(ds)
    expectations.keep_score_values(ds)
    for modality in ("image", "audio"):
        browse.kept_facets(ds, modality)


def _write_item_results(ds, table: pd.DataFrame, decided: pd.DataFrame, label_result) -> None:
    metric_cols = [c for c in table.columns if c not in TABLE_FIELDS and pd.api.types.is_numeric_dtype(table[c])]
    wide = decided.pivot_table(index="id", columns="check", values="score", aggfunc="first")
    scores = {sid: row.dropna().to_dict() for sid, row in wide.iterrows()}
    items = label_result.items.set_index("id")
    consensus, agreement = items["consensus_label"].to_dict(), items["agreement"].to_dict()
    rows = {}
    for sid, metrics in zip(table["id"], table[metric_cols].to_dict("records")):
        rows[sid] = {"quality": {k: v for k, v in metrics.items() if v == v and v is not None},
                     "scores": scores.get(sid, {}), "consensus_label": consensus.get(sid),
                     "agreement": agreement.get(sid)}
    store.write_fields(ds, rows, embedded={"quality", "scores"})


def _write_flags(ds, decided: pd.DataFrame, selected: set[str], terms: Contract, report: ScanReport) -> None:
    from datasteward.checks import REGISTRY

    now = datetime.now(timezone.utc).replace(tzinfo=None)
    scanned = {c for c in selected if terms.enabled(REGISTRY[c])}
    rows = decided[decided["check"].isin(scanned)]
    by_sample: dict[str, dict[str, dict]] = {}
    for rec in rows.to_dict("records"):
        spec = REGISTRY[rec["check"]]
        rec["owner"], rec["severity"] = terms.owner(spec), terms.severity(spec)
        rec["fired"] = bool(rec["fired"])
        by_sample.setdefault(rec["id"], {})[rec["check"]] = rec
    for _attempt in range(3):
        current = store.read_flags(ds)
        updates = []
        for sid, (old, rev, tags) in current.items():
            merged = flaglib.merge_flags(old, by_sample.get(sid, {}), scanned, now=now)
            new_tags = flaglib.derived_tags(tags, merged)
            if flaglib.comparable(merged) != flaglib.comparable(old) or new_tags != tags:
                updates.append((sid, rev, merged, new_tags))
        conflicts = store.write_flags(ds, updates)
        if not conflicts:
            break
        report.conflicts += len(conflicts)
    final = store.read_flags(ds)
    report.open_flags = sum(1 for fl, _, _ in final.values() for f in fl if f.get("status") == "open")
    fired = rows[rows["fired"]]
    report.fired = fired.groupby("check").size().to_dict()


def _write_stats(ds, label_result, decided: pd.DataFrame, terms: Contract) -> None:
    stats = {
        "finished_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "alpha_dataset": _finite(label_result.alpha_dataset),
        "alpha_by_batch": {str(k): _finite(v) for k, v in label_result.alpha_by_batch.items()},
        "annotators": _records(label_result.annotators),
        "vendors": _records(label_result.vendors),
        "batch_findings": _records(label_result.batches),
    }
    store.set_info(ds, "scan", stats)


def _finite(value):
    try:
        value = float(value)
    except (TypeError, ValueError):
        return None
    return value if np.isfinite(value) else None


def _records(frame: pd.DataFrame | None) -> list[dict]:
    if frame is None or len(frame) == 0:
        return []
    clean = frame.astype(object).where(pd.notna(frame), None)
    return [{k: (_finite(v) if isinstance(v, (float, np.floating)) else (v.item() if hasattr(v, "item") else v))
             for k, v in row.items()} for row in clean.to_dict("records")]
