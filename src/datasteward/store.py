"""The one module that talks to FiftyOne and MongoDB: datasets, schema, bulk writes and summaries."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import TYPE_CHECKING

import pandas as pd

from datasteward.config import configure_environment
from datasteward.errors import DatasetNotFoundError

if TYPE_CHECKING:
    import fiftyone as fo

DATASET_TAG = "datasteward"
SCHEMA_VERSION = 1
_ADD_CHUNK = 500

# Top-level string fields that every page filters and groups by.
STRING_FIELDS = (
    "modality", "media_path", "thumbnail", "item_key", "content_hash", "media_error", "transcript",
    "language", "batch", "vendor", "split", "speaker", "accent", "gender", "age", "source_file",
)
SUMMARY_FIELDS = ("modality", "batch", "language", "vendor")
MISSING = "(missing)"


def fo_module():
    """``fiftyone``, imported after the environment defaults are in place."""
    configure_environment()
    import fiftyone

    return fiftyone


def list_datasets() -> list[str]:
    """Names of the Data Steward datasets in the current database."""
    return sorted(fo_module().list_datasets(tags=DATASET_TAG))


def dataset_exists(name: str) -> bool:
    return name in fo_module().list_datasets()


def open_dataset(name: str, *, create: bool = False) -> "fo.Dataset":
    """Load the dataset ``name``, creating it with the Data Steward schema if asked.

    Raises
    ------
    DatasetNotFoundError
        If it does not exist and ``create`` is false.
    """
    fo = fo_module()
    ds = _OPENED.get(name)
    if ds is not None and not create and _still_there(ds):
        return ds
    if name in fo.list_datasets():
        ds = fo.load_dataset(name)
        if create and DATASET_TAG not in ds.tags:  # a creation killed half-way: finish it
            _set_up(ds)
        _OPENED[name] = ds
        return ds
    if not create:
        known = ", ".join(list_datasets()) or "none yet"
        raise DatasetNotFoundError(f"no dataset named {name!r} (datasets: {known})")
    ds = fo.Dataset(name, persistent=True)
    _set_up(ds)
    _OPENED[name] = ds
    return ds


# Datasets this process has opened. `fo.load_dataset` lists every dataset and writes the
# dataset's last-loaded time on each call; pages open the same dataset many times a run.
_OPENED: dict[str, "fo.Dataset"] = {}


def _still_there(ds) -> bool:
    """Whether ``ds`` is still the stored dataset of its name (not deleted, nor deleted and created anew)."""
    import fiftyone.core.odm as foo

    if ds.deleted:
        return False
    doc = foo.get_db_conn().datasets.find_one({"name": ds.name}, {"_id": 1})
    return doc is not None and doc["_id"] == ds._doc.id


def _set_up(ds) -> None:
    """Schema, indexes and App settings first; the tag that lists the dataset last, once all is in place."""
    ds.info = {"datasteward_schema": SCHEMA_VERSION, "created_at": _now().isoformat(), **(ds.info or {})}
    _declare_schema(ds)
    _configure_app(ds)
    ds.tags = [*ds.tags, DATASET_TAG]
    ds.save()


def delete_dataset(name: str) -> None:
    """Delete the dataset and what Data Steward keeps beside it (summaries, drift tables, revision counter)."""
    import fiftyone.core.odm as foo

    fo = fo_module()
    if name in fo.list_datasets():
        fo.load_dataset(name).delete()
    db = foo.get_db_conn()
    db[SUMMARIES].delete_one({"_id": name})
    db[REVISIONS].delete_one({"_id": name})
    db["datasteward_drift"].delete_many({"dataset": name})
    db[KEPT].delete_many({"_id.dataset": name})
    _OPENED.pop(name, None)


def _declare_schema(ds) -> None:
    fo = fo_module()
    for name in STRING_FIELDS:
        ds.add_sample_field(name, fo.StringField)
    ds.add_sample_field("source_row", fo.IntField)
    ds.add_sample_field("collected_at", fo.DateTimeField)
    ds.add_sample_field("imported_at", fo.DateTimeField)
    ds.add_sample_field("prediction", fo.EmbeddedDocumentField, embedded_doc_type=fo.Classification)
    ds.add_sample_field(
        "annotations", fo.ListField, subfield=fo.EmbeddedDocumentField, embedded_doc_type=fo.DynamicEmbeddedDocument
    )
    ds.add_sample_field("audio", fo.EmbeddedDocumentField, embedded_doc_type=fo.DynamicEmbeddedDocument)
    ds.add_sample_field("source_extra", fo.DictField)
    for field in ("batch", "language", "vendor", "modality", "item_key", "content_hash"):
        ds.create_index(field)


def _configure_app(ds) -> None:
    """Grid tiles show the small `thumbnail` (a spectrogram for audio); the modal shows `filepath`."""
    ds.app_config.media_fields = ["filepath", "thumbnail"]
    ds.app_config.grid_media_field = "thumbnail"
    ds.app_config.modal_media_field = "filepath"


def label_kind(ds) -> str | None:
    """``"classification"``, ``"detections"`` or None: the type of the dataset's `ground_truth`."""
    fo = fo_module()
    field = ds.get_field("ground_truth")
    if field is None:
        return None
    return "detections" if field.document_type is fo.Detections else "classification"


def ensure_label_field(ds, kind: str | None) -> None:
    """Declare `ground_truth` with one concrete type, which the FiftyOne App needs to draw it.

    A FiftyOne field has one label type, so a dataset holds either class labels
    or boxes; :func:`label_kind` tells which before anything is written.
    """
    fo = fo_module()
    if kind is None or ds.get_field("ground_truth") is not None:
        return
    doc_type = fo.Detections if kind == "detections" else fo.Classification
    ds.add_sample_field("ground_truth", fo.EmbeddedDocumentField, embedded_doc_type=doc_type)


def existing_keys(ds) -> set[str]:
    """Item keys (resolved media paths) already in the dataset."""
    return set(ds.distinct("item_key"))


def add_samples(ds, samples: list[dict], *, progress=None) -> int:
    """Bulk-add samples given as field dicts; returns how many were added.

    Each dict holds ``filepath`` plus the Data Steward fields; label fields are
    given as plain values and converted here (see :func:`_to_sample`).
    """
    fo = fo_module()
    added = 0
    for start in range(0, len(samples), _ADD_CHUNK):
        chunk = [_to_sample(fo, s) for s in samples[start : start + _ADD_CHUNK]]
        ds.add_samples(chunk, dynamic=True, progress=False)
        added += len(chunk)
        if progress:
            progress(added, len(samples))
    if added:
        touch(ds)
    return added


def _to_sample(fo, fields: dict):
    fields = dict(fields)
    label, detections = fields.pop("label", None), fields.pop("detections", None)
    if detections is not None:
        fields["ground_truth"] = fo.Detections(
            detections=[fo.Detection(label=d.label, bounding_box=list(d.bbox)) for d in detections]
        )
    elif label is not None:
        fields["ground_truth"] = fo.Classification(label=label)
    pred, conf = fields.pop("prediction", None), fields.pop("confidence", None)
    if pred is not None:
        fields["prediction"] = fo.Classification(label=pred, confidence=conf)
    fields["annotations"] = [fo.DynamicEmbeddedDocument(**a) for a in fields.pop("annotations", [])] or None
    if fields.get("audio") is not None:
        fields["audio"] = fo.DynamicEmbeddedDocument(**fields["audio"])
    image_meta = fields.pop("image_metadata", None)
    if image_meta is not None:
        fields["metadata"] = fo.ImageMetadata(**image_meta)
    fields["imported_at"] = _now()
    return fo.Sample(**{k: v for k, v in fields.items() if v is not None})


def set_field_by_id(ds, field: str, values: dict[str, object]) -> None:
    """Write ``values`` (sample id -> value) into ``field`` in one bulk update."""
    if values:
        ds.set_values(field, values, key_field="id")


def sample_ids_by(ds, field: str) -> dict[str, str]:
    """Map of ``field`` value to sample id, e.g. item key or file path to id."""
    ids, keys = ds.values(["id", field])
    return {k: i for i, k in zip(ids, keys) if k is not None}


def batch_order(ds) -> list[str]:
    """Batch names ordered by their earliest delivery time, falling back to name order (kept with :func:`summary`)."""
    return [b for b in summary(ds)["batch"]["batch"] if b != MISSING]


def _batch_order(ds) -> list[str]:
    """:func:`batch_order` counted afresh: the first dated entry of each batch on the ``(batch, collected_at)`` index."""
    coll = ds._sample_collection
    coll.create_index([("batch", 1), ("collected_at", 1)])  # a no-op once it exists
    rows = coll.aggregate([{"$match": {"collected_at": {"$type": "date"}}},
                           {"$sort": {"batch": 1, "collected_at": 1}},
                           {"$group": {"_id": "$batch", "t": {"$first": "$collected_at"}}}])
    earliest = {r["_id"]: r["t"] for r in rows}
    pairs = [(b, earliest.get(b)) for b in coll.distinct("batch") if b is not None]
    far = datetime.max.replace(tzinfo=None)
    return [b for b, _ in sorted(pairs, key=lambda p: ((p[1].replace(tzinfo=None) if p[1] else far), p[0]))]


SUMMARIES = "datasteward_summaries"


def sample_basis(ds) -> dict:
    """Changes when samples are added or removed: the collection's document count (from its metadata, so
    constant time at any size) and its newest ``_id``."""
    coll = ds._sample_collection
    last = next(iter(coll.find({}, {"_id": 1}).sort("_id", -1).limit(1)), {}).get("_id")
    return {"count": coll.estimated_document_count(), "last": last}


def summary(ds) -> dict[str, pd.DataFrame]:
    """Sample counts by modality, batch (in delivery order), language and vendor.

    Counted in the database and kept there until samples are added or removed, so
    a page on a freshly started server reads them instead of scanning 100,000
    samples. Each frame has columns ``[field, "samples"]``, and a missing value
    shows as :data:`MISSING`.
    """
    import fiftyone.core.odm as foo

    basis = sample_basis(ds)
    kept = foo.get_db_conn()[SUMMARIES]
    doc = kept.find_one({"_id": ds.name})
    if doc and doc.get("basis") == basis:
        return {field: pd.DataFrame(rows, columns=[field, "samples"]) for field, rows in doc["frames"].items()}
    out = _count_summary(ds)
    kept.replace_one({"_id": ds.name}, {"basis": basis, "frames": {f: frame.to_dict("records") for f, frame in out.items()}},
                     upsert=True)
    return out


def _count_summary(ds) -> dict[str, pd.DataFrame]:
    counts = ds.aggregate([fo_module().CountValues(f) for f in SUMMARY_FIELDS])
    out = {}
    order = _batch_order(ds)
    for field, values in zip(SUMMARY_FIELDS, counts):
        frame = pd.DataFrame(
            [(MISSING if k is None else k, n) for k, n in values.items()], columns=[field, "samples"]
        )
        if field == "batch":
            rank = {b: i for i, b in enumerate(order)}
            frame = frame.sort_values(field, key=lambda s: s.map(lambda b: rank.get(b, len(rank))))
        else:
            frame = frame.sort_values(["samples", field], ascending=[False, True])
        out[field] = frame.reset_index(drop=True)
    return out


def launch_app(name: str, *, port: int = 5151, address: str = "127.0.0.1", view=None):
    """Start the FiftyOne App server on ``name`` (or a view of it); returns the session."""
    fo = fo_module()
    ds = open_dataset(name)
    return fo.launch_app(ds, view=view, port=port, address=address, remote=True, auto=False)


def _now() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)



# --- scan results and flags -------------------------------------------------

def ensure_scan_fields(ds) -> None:
    """Declare the fields a scan writes (idempotent)."""
    fo = fo_module()
    wanted = {
        "phash": (fo.StringField, {}),
        "fingerprint": (fo.StringField, {}),
        "scan_error": (fo.StringField, {}),
        "scan_state": (fo.DictField, {}),
        "features": (fo.VectorField, {}),
        "consensus_label": (fo.StringField, {}),
        "agreement": (fo.FloatField, {}),
        "flags": (fo.ListField, {"subfield": fo.DictField}),
        "corrections": (fo.ListField, {"subfield": fo.DictField}),
        "flags_rev": (fo.IntField, {}),
        "quality": (fo.EmbeddedDocumentField, {"embedded_doc_type": fo.DynamicEmbeddedDocument}),
        "scores": (fo.EmbeddedDocumentField, {"embedded_doc_type": fo.DynamicEmbeddedDocument}),
    }
    schema = ds.get_field_schema()
    for name, (ftype, kwargs) in wanted.items():
        if name not in schema:
            ds.add_sample_field(name, ftype, **kwargs)
    for field in ("flags.check", "flags.status", "flags.owner"):
        ds.create_index(field)
    ensure_indexes(ds)


# Besides the metrics, the fields the browsers sort by (browse_ui.SORT_FIELDS).
SORTED_FIELDS = ("agreement", "prediction.confidence")
MAX_INDEXES = 64  # MongoDB's limit per collection
_SPARE_INDEXES = 8  # left for FiftyOne's own indexes and a team's


def ensure_indexes(ds) -> list[str]:
    """Index every ``quality.<metric>`` the schema declares, and the other sorted fields; returns the new index names.

    Each index is ``(field, _id)``: a browser page sorted on a metric, ties in
    ``_id`` order, walks it forwards or backwards and stops after one page, and
    a metric range filter uses it too. Indexes past ``MAX_INDEXES`` minus a few
    spare are not created (the pages still work, by a collection scan).
    Writes pay for an index only when its field changes: a review action
    touches none of these.
    """
    fo = fo_module()
    metrics = sorted(k for k, v in ds.get_field_schema(flat=True).items()
                     if k.startswith("quality.") and isinstance(v, (fo.FloatField, fo.IntField)))
    # (batch, language): the ownership matrix counts items per cell from this index alone.
    return _create_indexes(ds, [(("batch", 1), ("language", 1)), *_sorted_keys([*SORTED_FIELDS, *metrics])])


def _sorted_keys(fields: list[str]) -> list[tuple]:
    return [((field, 1), ("_id", 1)) for field in fields]


def _create_indexes(ds, keys: list[tuple]) -> list[str]:
    coll = ds._sample_collection
    have = coll.index_information()
    existing = {tuple(tuple(k) for k in spec["key"]) for spec in have.values()}
    room = MAX_INDEXES - _SPARE_INDEXES - len(have)
    created = []
    for key in keys:
        if key in existing or room <= 0:
            continue
        created.append(coll.create_index(list(key)))
        room -= 1
    return created


def write_embedded(ds, field: str, values: dict[str, dict]) -> None:
    """Bulk-write ``{sample id: {name: number}}`` as an embedded document FiftyOne can filter on."""
    write_fields(ds, {i: {field: d} for i, d in values.items()}, embedded={field})


def write_values(ds, field: str, values: dict[str, object]) -> None:
    """Bulk-write one plain (already declared) field for the given sample ids."""
    write_fields(ds, {i: {field: v} for i, v in values.items()})


def write_fields(ds, rows: dict[str, dict[str, object]], *, embedded: set[str] = frozenset()) -> None:
    """Write several fields of many samples in one bulk operation.

    Plain fields go through their own FiftyOne serialiser (vectors become
    bytes). Fields named in ``embedded`` hold ``{name: number}`` dicts stored as
    embedded documents whose subfields are declared once in the schema, so the
    FiftyOne App can filter on them. FiftyOne's ``set_values`` re-infers the
    schema per sample, which costs seconds on a few thousand samples.
    """
    from bson import ObjectId
    from pymongo import UpdateOne

    if not rows:
        return
    for field in embedded:
        _declare_subfields(ds, field, [r[field] for r in rows.values() if r.get(field)])
    converters = {}
    ops = []
    for sample_id, fields in rows.items():
        update = {}
        for field, value in fields.items():
            if field in embedded:
                update[field] = {"_cls": "DynamicEmbeddedDocument", **{k: _number(v) for k, v in (value or {}).items()}}
                continue
            if field not in converters:
                converters[field] = ds.get_field(field).to_mongo
            update[field] = None if value is None else converters[field](_plain(value))
        ops.append(UpdateOne({"_id": ObjectId(sample_id)}, {"$set": update}))
    for start in range(0, len(ops), 1000):
        ds._sample_collection.bulk_write(ops[start : start + 1000], ordered=False)
    touch(ds)
    ds._reload()


def _declare_subfields(ds, field: str, docs: list[dict]) -> None:
    fo = fo_module()
    schema = ds.get_field_schema(flat=True)
    seen: dict[str, object] = {}
    for doc in docs:
        for key, value in doc.items():
            if key not in seen and _plain(value) is not None:
                seen[key] = _plain(value)
    new_metrics = []
    for key, value in seen.items():
        if f"{field}.{key}" not in schema:
            kind = fo.StringField if isinstance(value, str) else fo.BooleanField if isinstance(value, bool) else fo.FloatField
            ds.add_sample_field(f"{field}.{key}", kind)
            if field == "quality" and kind is fo.FloatField:
                new_metrics.append(f"{field}.{key}")
    if new_metrics:  # indexed before the values are written, so the bulk write fills the index as it goes
        _create_indexes(ds, _sorted_keys(new_metrics))


def _number(value):
    value = _plain(value)
    return float(value) if isinstance(value, int) and not isinstance(value, bool) else value


def _plain(value):
    if hasattr(value, "item") and getattr(value, "size", 1) == 1:
        value = value.item()
    if isinstance(value, float) and value != value:
        return None
    return value


def read_flags(ds, ids: list[str] | None = None) -> dict[str, tuple[list[dict], int, list[str]]]:
    """Sample id -> (flags, flags_rev, tags), straight from the database."""
    from bson import ObjectId

    query = {} if ids is None else {"_id": {"$in": [ObjectId(i) for i in ids]}}
    cursor = ds._sample_collection.find(query, {"flags": 1, "flags_rev": 1, "tags": 1})
    return {str(d["_id"]): (d.get("flags") or [], int(d.get("flags_rev") or 0), d.get("tags") or []) for d in cursor}


def write_flags(ds, updates: list[tuple[str, int, list[dict], list[str]]]) -> list[str]:
    """Atomically replace flags and tags of samples whose ``flags_rev`` is unchanged.

    Parameters
    ----------
    updates : list of (sample id, expected flags_rev, flags, tags)

    Returns
    -------
    list of str
        Ids whose ``flags_rev`` had moved on (someone else wrote first); their
        update was not applied, so nothing was overwritten.
    """
    from bson import ObjectId
    from pymongo import UpdateOne

    if not updates:
        return []
    now = datetime.now(timezone.utc).replace(tzinfo=None)
    ops = []
    for sample_id, rev, flags, tags in updates:
        current = {"$in": [0, None]} if rev == 0 else rev
        ops.append(UpdateOne({"_id": ObjectId(sample_id), "flags_rev": current},
                             {"$set": {"flags": flags, "tags": tags, "flags_rev": rev + 1, "last_modified_at": now}}))
    conflicts = []
    for start in range(0, len(ops), 1000):
        chunk = ops[start : start + 1000]
        result = ds._sample_collection.bulk_write(chunk, ordered=False)
        if result.matched_count != len(chunk):
            conflicts.extend(_unmatched(ds, updates[start : start + 1000]))
    touch(ds)
    ds._reload()
    return conflicts


def _unmatched(ds, updates) -> list[str]:
    current = read_flags(ds, [u[0] for u in updates])
    return [sid for sid, rev, flags, tags in updates if current.get(sid, ([], -1, []))[1] != rev + 1 or current[sid][0] != flags]


REVISIONS = "datasteward_revisions"


def touch(ds) -> None:
    """Count one change to ``ds``'s samples, flags or info; page caches key on :func:`revision`."""
    import fiftyone.core.odm as foo

    foo.get_db_conn()[REVISIONS].update_one({"_id": ds.name}, {"$inc": {"rev": 1}}, upsert=True)


def revision(name: str) -> int:
    """How many times the dataset ``name`` has changed through Data Steward (0 if never)."""
    import fiftyone.core.odm as foo

    fo_module()
    doc = foo.get_db_conn()[REVISIONS].find_one({"_id": name})
    return int(doc["rev"]) if doc else 0


def set_info_entry(ds, key: str, entry: str, value) -> dict:
    """Set (or, with ``value`` None, remove) ``ds.info[key][entry]`` in one atomic update; returns the new ``info[key]``.

    Unlike :func:`set_info`, nothing is read first, so two people changing
    different entries at the same moment (rejecting two batches) both keep
    theirs. ``entry`` may hold any characters, dots included.
    """
    import fiftyone.core.odm as foo

    current = {"$ifNull": [f"$info.{key}", {}]}
    change = {"$unsetField": {"field": {"$literal": entry}, "input": current}} if value is None else \
        {"$setField": {"field": {"$literal": entry}, "input": current, "value": {"$literal": value}}}
    foo.get_db_conn().datasets.update_one({"_id": ds._doc.id}, [{"$set": {f"info.{key}": change}}])
    ds.reload()
    touch(ds)
    return dict((ds.info or {}).get(key) or {})


def refresh_info(ds) -> dict:
    """``ds.info`` as stored now (another process, such as a scan from the CLI, may have written it).

    Reads the one field: ``Dataset.reload`` also rebuilds the sample schema and
    writes the dataset's last-loaded time, a few hundred milliseconds on a page.
    """
    import fiftyone.core.odm as foo

    doc = foo.get_db_conn().datasets.find_one({"_id": ds._doc.id}, {"info": 1})
    if doc is not None:
        ds._doc.info = doc.get("info") or {}
    return ds.info or {}


def set_info(ds, key: str, value) -> None:
    """Store a JSON-able value in the dataset's info under ``key``."""
    ds.reload()
    info = dict(ds.info or {})
    info[key] = value
    ds.info = info
    ds.save()
    touch(ds)


# --- kept results -----------------------------------------------------------

KEPT = "datasteward_kept"


def kept(ds, key: str, compute):
    """``compute(ds)``, kept in the database until the dataset next changes.

    A change is samples added or removed, or any write through Data Steward
    (:func:`touch`: a scan, a review action, a label fix, a rejected batch). A
    page on a freshly started server, or a second app process, then reads the
    result instead of counting 100,000 samples again. The value may hold
    numbers, strings, lists, dicts and DataFrames (kept as plain documents: a
    shared database never hands a page anything to execute).
    """
    import bson.errors
    import fiftyone.core.odm as foo

    basis = {**sample_basis(ds), "revision": revision(ds.name)}
    where = foo.get_db_conn()[KEPT]
    _id = {"dataset": ds.name, "key": key}
    doc = where.find_one({"_id": _id})
    if doc and doc.get("basis") == basis:
        return _decode(doc["value"])
    value = compute(ds)
    try:
        where.replace_one({"_id": _id}, {"basis": basis, "value": _encode(value)}, upsert=True)
    except (bson.errors.InvalidDocument, OverflowError):  # a value BSON cannot hold is computed every time
        pass
    return value


def _encode(value):
    if isinstance(value, pd.DataFrame):
        frame = value.astype(object).where(value.notna(), None)
        return {"__frame__": [str(c) for c in value.columns], "rows": frame.values.tolist()}
    if isinstance(value, dict):
        return {str(k): _encode(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_encode(v) for v in value]
    if hasattr(value, "item"):  # a numpy scalar
        return value.item()
    return value


def _decode(value):
    if isinstance(value, dict):
        if "__frame__" in value:
            return pd.DataFrame(value["rows"], columns=value["__frame__"])
        return {k: _decode(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_decode(v) for v in value]
    return value
