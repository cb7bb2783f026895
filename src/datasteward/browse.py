"""Browse samples page by page: one filter as a MongoDB match, and the same filter as a FiftyOne saved view.

The Images and Audio pages filter, sort and page in the database (a
``find`` with the match below, ``skip`` and ``limit``), so a page costs the
same at 100 samples and at 100,000. :func:`fiftyone_view` builds the same
filter from FiftyOne stages, so the App shows exactly the samples the page
counted; tests hold the two to the same count.
"""

from __future__ import annotations

import difflib
import hashlib
import html
import json
import re
import urllib.parse
from dataclasses import asdict, dataclass, field
from pathlib import Path

import altair as alt
import numpy as np
import pandas as pd
from PIL import Image, ImageDraw, ImageFont

from datasteward import media, store
from datasteward.errors import DataStewardError, MediaError

_METRIC_NAME = re.compile(r"^[A-Za-z0-9_]+$")
_LIST_FIELDS = ("batch", "language", "vendor", "label", "check", "status")
_FIND_FIELDS = {
    "media_path": 1, "filepath": 1, "thumbnail": 1, "modality": 1, "batch": 1, "language": 1, "vendor": 1,
    "split": 1, "ground_truth": 1, "prediction": 1, "consensus_label": 1, "agreement": 1, "transcript": 1,
    "annotations": 1, "flags": 1, "media_error": 1, "quality": 1, "audio": 1, "content_hash": 1,
}
_FLAG_KEYS = ("check", "status", "owner", "severity", "score", "threshold", "detail", "assignee", "version",
              "created_by", "updated_by", "updated_at")


@dataclass(frozen=True)
class Filters:
    """What a browser page shows; every field empty means everything.

    ``metric`` names a ``quality`` sub-field (``brightness_mean``); ``lo`` and
    ``hi`` bound it (inclusive, either may be None). ``check`` and ``status``
    must hold for one and the same flag. ``search`` matches a substring of the
    item key, the media file's resolved path (any case), or a whole sample id.
    ``disagree`` keeps the samples whose model prediction differs from their
    (class) label.
    """

    modality: str | None = None
    batch: tuple[str, ...] = ()
    language: tuple[str, ...] = ()
    vendor: tuple[str, ...] = ()
    label: tuple[str, ...] = ()
    check: tuple[str, ...] = ()
    status: tuple[str, ...] = ()
    metric: str | None = None
    lo: float | None = None
    hi: float | None = None
    search: str = ""
    disagree: bool = False

    def __post_init__(self):
        for name in _LIST_FIELDS:  # accept lists and single strings, keep a hashable tuple
            value = getattr(self, name)
            object.__setattr__(self, name, (value,) if isinstance(value, str) else tuple(value or ()))
        if self.metric is not None and not _METRIC_NAME.match(self.metric):
            raise DataStewardError(f"{self.metric!r} is not a metric name (letters, digits and _ only)")
        if self.lo is not None and self.hi is not None and self.lo > self.hi:
            raise DataStewardError(f"metric range is empty: {self.lo:g} is above {self.hi:g}")
        object.__setattr__(self, "search", (self.search or "").strip())

    @property
    def ranged(self) -> bool:
        return self.metric is not None and (self.lo is not None or self.hi is not None)

    def key(self) -> str:
        """A short stable digest of the filter, for view names and cache keys."""
        return hashlib.sha1(json.dumps(asdict(self), sort_keys=True).encode()).hexdigest()[:10]


def metric_field(metric: str) -> str:
    if not _METRIC_NAME.match(metric or ""):
        raise DataStewardError(f"{metric!r} is not a metric name (letters, digits and _ only)")
    return f"quality.{metric}"


def match(filters: Filters, *, detections: bool = False) -> dict:
    """The MongoDB query for ``filters``; ``detections`` when `ground_truth` holds boxes."""
    from bson import ObjectId

    query: dict = {}
    if filters.modality:
        query["modality"] = filters.modality
    for name in ("batch", "language", "vendor"):
        if getattr(filters, name):
            query[name] = {"$in": list(getattr(filters, name))}
    if filters.label:
        query["ground_truth.detections.label" if detections else "ground_truth.label"] = {"$in": list(filters.label)}
    flag = {}
    if filters.check:
        flag["check"] = {"$in": list(filters.check)}
    if filters.status:
        flag["status"] = {"$in": list(filters.status)}
    if flag:
        query["flags"] = {"$elemMatch": flag}
    if filters.ranged:
        bounds = {"$gte": filters.lo} if filters.lo is not None else {}
        if filters.hi is not None:
            bounds["$lte"] = filters.hi
        query[metric_field(filters.metric)] = bounds
    if filters.disagree:
        query["$and"] = [{"prediction.label": {"$ne": None}}, {"ground_truth.label": {"$ne": None}},
                         {"$expr": {"$ne": ["$prediction.label", "$ground_truth.label"]}}]
    if filters.search:
        path = {"item_key": {"$regex": re.escape(filters.search), "$options": "i"}}
        if ObjectId.is_valid(filters.search):
            query["$or"] = [{"_id": ObjectId(filters.search)}, path]
        else:
            query.update(path)
    return query


def _detections(ds) -> bool:
    return store.label_kind(ds) == "detections"


@dataclass
class Page:
    """One page of rows and the number of samples matching the filter."""

    total: int
    rows: list[dict] = field(default_factory=list)


def count(ds, filters: Filters) -> int:
    """How many samples match ``filters`` (counted in the database)."""
    return ds._sample_collection.count_documents(match(filters, detections=_detections(ds)), **_hint(ds, filters))


def _hint(ds, filters: Filters) -> dict:
    """A path search scans the `item_key` index rather than every document (a third of the time at 100k).

    Not for a search that may be a sample id: MongoDB answers that ``$or`` with
    one index per branch by itself.
    """
    from bson import ObjectId

    if (filters.search and not ObjectId.is_valid(filters.search)
            and "item_key_1" in ds._sample_collection.index_information()):
        return {"hint": "item_key_1"}
    return {}


def page(ds, filters: Filters, *, sort_by: str | None = None, descending: bool = False, skip: int = 0,
         limit: int = 24, total: int | None = None) -> Page:
    """Rows ``skip`` to ``skip + limit`` of the samples matching ``filters``, in the database.

    Parameters
    ----------
    sort_by : str, optional
        A metric name (sorted on ``quality.<name>``) or a sample field
        (``agreement``, ``media_path``); None keeps insertion order. Samples
        without the value sort first ascending, last descending; ties go by
        sample id in the same direction.
    total : int, optional
        The count, when the caller already has it (saves counting twice).
    """
    query = match(filters, detections=_detections(ds))
    coll = ds._sample_collection
    total = coll.count_documents(query, **_hint(ds, filters)) if total is None else total
    cursor = coll.find(query, _FIND_FIELDS, **_hint(ds, filters))
    if sort_by:
        key = sort_by if "." in sort_by or sort_by in _FIND_FIELDS else metric_field(sort_by)
        order = -1 if descending else 1  # ties in the same direction: one (key, _id) index serves both
        cursor = cursor.sort([(key, order), ("_id", order)])
    rows = [row_of(doc) for doc in cursor.skip(max(0, int(skip))).limit(max(1, int(limit)))]
    return Page(total, rows)


def row_of(doc: dict) -> dict:
    """A sample document as the plain row the pages draw."""
    truth = doc.get("ground_truth") or {}
    pred = doc.get("prediction") or {}
    boxes = [(d.get("label"), tuple(d.get("bounding_box") or ())) for d in truth.get("detections") or []]
    quality = {k: v for k, v in (doc.get("quality") or {}).items() if not k.startswith("_")}
    return {
        "id": str(doc["_id"]), "media_path": doc.get("media_path"), "filepath": doc.get("filepath"),
        "thumbnail": doc.get("thumbnail"), "modality": doc.get("modality"), "batch": doc.get("batch"),
        "language": doc.get("language"), "vendor": doc.get("vendor"), "split": doc.get("split"),
        "label": truth.get("label"), "detections": boxes, "prediction": pred.get("label"),
        "confidence": pred.get("confidence"), "consensus_label": doc.get("consensus_label"),
        "agreement": doc.get("agreement"), "transcript": doc.get("transcript"),
        "annotations": [{k: a.get(k) for k in ("annotator", "label", "transcript")} for a in doc.get("annotations") or []],
        "flags": [{k: f.get(k) for k in _FLAG_KEYS} for f in doc.get("flags") or []],
        "media_error": doc.get("media_error"), "quality": quality,
        "duration": (doc.get("audio") or {}).get("duration"), "content_hash": doc.get("content_hash"),
    }


def item(ds, sample_id: str) -> dict | None:
    """Everything the detail view shows about one sample, or None if there is no such sample."""
    from bson import ObjectId
    from bson.errors import InvalidId

    try:
        doc = ds._sample_collection.find_one({"_id": ObjectId(sample_id)})
    except (InvalidId, TypeError):
        return None
    if doc is None:
        return None
    row = row_of(doc)
    row["scores"] = {k: v for k, v in (doc.get("scores") or {}).items() if not k.startswith("_")}
    row["audio"] = {k: v for k, v in (doc.get("audio") or {}).items() if not k.startswith("_")}
    row["corrections"] = doc.get("corrections") or []
    for key in ("speaker", "accent", "gender", "age", "collected_at", "source_file", "source_row", "scan_error"):
        row[key] = doc.get(key)
    return row


def facets(ds, modality: str | None = None) -> dict[str, list[str]]:
    """The values the filters offer: batch, language and vendor of the dataset, labels within ``modality``.

    Batch, language and vendor come from their indexes (milliseconds at
    100,000 samples), so they list the whole dataset's values; labels differ
    by modality (photo classes, spoken words) and are read within it.
    """
    coll = ds._sample_collection
    label = "ground_truth.detections.label" if _detections(ds) else "ground_truth.label"
    out = {name: sorted(v for v in coll.distinct(name) if isinstance(v, str)) for name in ("batch", "language", "vendor")}
    out["label"] = sorted(v for v in coll.distinct(label, {"modality": modality} if modality else {})
                          if isinstance(v, str))
    return out


def kept_facets(ds, modality: str) -> dict[str, list[str]]:
    """:func:`facets`, kept in the database until the dataset changes (the scan keeps them for the browsers)."""
    return store.kept(ds, f"facets:{modality}", lambda d: facets(d, modality))


def metric_names(ds, modality: str | None = None, *, probe: int = 2000) -> list[str]:
    """Names of the numeric ``quality`` metrics, those seen on the first ``probe`` samples of ``modality``."""
    fo = store.fo_module()
    declared = {k.split(".", 1)[1] for k, v in ds.get_field_schema(flat=True).items()
                if k.startswith("quality.") and isinstance(v, (fo.FloatField, fo.IntField))}
    if not declared:
        return []
    pipeline = ([{"$match": {"modality": modality}}] if modality else []) + [
        {"$limit": probe}, {"$project": {"q": {"$objectToArray": {"$ifNull": ["$quality", {}]}}}},
        {"$unwind": "$q"}, {"$group": {"_id": "$q.k"}}]
    seen = {d["_id"] for d in ds._sample_collection.aggregate(pipeline)}
    return sorted(declared & seen)


# --- the same filter in the FiftyOne App -------------------------------------

def fiftyone_view(ds, filters: Filters, *, sort_by: str | None = None, descending: bool = False):
    """The samples of :func:`match` as a FiftyOne view, built from stages the App shows by name."""
    from bson import ObjectId
    from fiftyone import ViewField as F

    view = ds.view()
    if filters.modality:
        view = view.match(F("modality") == filters.modality)
    for name in ("batch", "language", "vendor"):
        if getattr(filters, name):
            view = view.match(F(name).is_in(list(getattr(filters, name))))
    if filters.label:
        view = view.filter_labels("ground_truth", F("label").is_in(list(filters.label)))
    if filters.check or filters.status:
        cond = None
        if filters.check:
            cond = F("check").is_in(list(filters.check))
        if filters.status:
            by_status = F("status").is_in(list(filters.status))
            cond = by_status if cond is None else cond & by_status
        view = view.match(F("flags").filter(cond).length() > 0)
    if filters.ranged:
        value = F(metric_field(filters.metric))
        cond = value.exists()
        if filters.lo is not None:
            cond = cond & (value >= filters.lo)
        if filters.hi is not None:
            cond = cond & (value <= filters.hi)
        view = view.match(cond)
    if filters.disagree:
        pred, truth = F("prediction.label"), F("ground_truth.label")
        view = view.match(pred.exists() & truth.exists() & (pred != truth))
    if filters.search:
        cond = F("item_key").contains_str(filters.search, case_sensitive=False)
        if ObjectId.is_valid(filters.search):
            cond = cond | (F("_id") == ObjectId(filters.search))
        view = view.match(cond)
    if sort_by:
        view = view.sort_by(sort_by if "." in sort_by or sort_by in _FIND_FIELDS else metric_field(sort_by),
                            reverse=descending)
    return view


def view_name(filters: Filters, *, sort_by: str | None = None, descending: bool = False) -> str:
    """The saved view's name (already a URL slug): the same filter always gets the same name."""
    digest = hashlib.sha1(f"{filters.key()}|{sort_by}|{descending}".encode()).hexdigest()[:10]
    return f"datasteward-{filters.modality or 'all'}-{digest}"


def save_view(ds, filters: Filters, slug: str | None = None, *, sort_by: str | None = None,
              descending: bool = False) -> str:
    """Save the filter as a view of ``ds`` that the FiftyOne App can open; returns its slug.

    Views are named after the filter, so users who share a filter share a
    view, and saving again replaces it rather than piling up copies.
    """
    slug = slug or view_name(filters, sort_by=sort_by, descending=descending)
    description = "Data Steward: " + (describe(filters) or "all samples")
    ds.save_view(slug, fiftyone_view(ds, filters, sort_by=sort_by, descending=descending),
                 description=description[:250], overwrite=True)
    return slug


def app_url(dataset: str, slug: str | None = None, *, host: str = "localhost", port: int = 5151) -> str:
    """The FiftyOne App's address of ``dataset``, opened on the saved view ``slug``."""
    url = f"http://{host}:{port}/datasets/{urllib.parse.quote(dataset, safe='')}"
    return f"{url}?view={urllib.parse.quote(slug)}" if slug else url


def describe(filters: Filters) -> str:
    """The filter in words: ``batch b01, b02; check dark (open); brightness_mean 0.1..0.3``."""
    parts = [f"{name} {', '.join(getattr(filters, name))}" for name in ("batch", "language", "vendor", "label", "check")
             if getattr(filters, name)]
    if filters.status:
        parts.append(f"status {', '.join(filters.status)}")
    if filters.ranged:
        lo = "" if filters.lo is None else f"{filters.lo:g}"
        hi = "" if filters.hi is None else f"{filters.hi:g}"
        parts.append(f"{filters.metric} {lo}..{hi}")
    if filters.disagree:
        parts.append("prediction disagrees with label")
    if filters.search:
        parts.append(f"search {filters.search!r}")
    return "; ".join(parts)


# --- pictures -------------------------------------------------------------------

TILE = 256  # pixels on a side of a grid tile
_BOX = (255, 196, 0)
_AGREE, _DISAGREE = (46, 160, 67), (220, 38, 38)


def _font(size: int):
    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow without scalable default font
        return ImageFont.load_default()


def _tag(draw: ImageDraw.ImageDraw, xy: tuple[float, float], text: str, colour, font) -> None:
    left, top, right, bottom = draw.textbbox(xy, text, font=font)
    draw.rectangle([left - 2, top - 1, right + 2, bottom + 1], fill=colour)
    draw.text(xy, text, fill=(255, 255, 255), font=font)


def annotated_thumbnail(row: dict, *, side: int = TILE) -> Image.Image:
    """The sample's thumbnail on a square tile with its labels drawn: class text, boxes, prediction against label.

    Every tile has the same size and type size, so a grid lines up whatever
    the photos' shapes. A prediction that disagrees with the label is drawn in
    red inside a red frame; one that agrees in green. A thumbnail that cannot
    be read becomes a placeholder that says why.
    """
    try:
        picture, _ = media.load_image(row["thumbnail"], draft=False)
    except (MediaError, TypeError) as exc:
        reason = exc.reason if isinstance(exc, MediaError) else "no thumbnail"
        return media.placeholder_image(f"{Path(row.get('media_path') or '?').name}: {reason}", size=(side, side))
    picture = picture.convert("RGB")
    scale = side / max(picture.size)
    w, h = max(1, round(picture.width * scale)), max(1, round(picture.height * scale))
    left, top = (side - w) // 2, (side - h) // 2
    image = Image.new("RGB", (side, side), (24, 24, 24))
    image.paste(picture.resize((w, h), Image.Resampling.LANCZOS), (left, top))
    draw = ImageDraw.Draw(image)
    font = _font(max(10, side // 16))
    for label, box in row.get("detections") or []:
        if len(box) == 4:
            x, y, bw, bh = box
            draw.rectangle([left + x * w, top + y * h, left + (x + bw) * w, top + (y + bh) * h], outline=_BOX, width=2)
            _tag(draw, (left + x * w + 3, top + y * h + 2), str(label), (150, 110, 0), font)
    if row.get("label") is not None:
        _tag(draw, (6, 5), str(row["label"]), (30, 30, 30), font)
    if row.get("prediction") is not None:
        agrees = row.get("label") is None or row["prediction"] == row["label"]
        conf = f" {row['confidence']:.2f}" if row.get("confidence") is not None else ""
        text = f"pred {row['prediction']}{conf}"
        _tag(draw, (6, side - draw.textbbox((0, 0), text, font=font)[3] - 6), text, _AGREE if agrees else _DISAGREE,
             font)
        if not agrees:
            draw.rectangle([0, 0, side - 1, side - 1], outline=_DISAGREE, width=4)
    return image


def disagrees(row: dict) -> bool:
    """Whether a model prediction exists and differs from the delivered label."""
    return row.get("prediction") is not None and row.get("label") is not None and row["prediction"] != row["label"]


# --- audio ----------------------------------------------------------------------

def envelope(y: np.ndarray, sr: int, *, points: int = 400) -> pd.DataFrame:
    """The waveform's min/max envelope in ``points`` buckets: columns ``time_s``, ``low``, ``high``.

    Drawing the envelope rather than every sample keeps a 10-minute clip as
    light in the browser as a 1-second one, and still shows clipping and gaps.
    """
    starts, low, high = media.envelope_bounds(y, points)
    return pd.DataFrame({"time_s": starts / float(sr), "low": low, "high": high})


def waveform_chart(frame: pd.DataFrame, *, height: int = 110) -> alt.Chart:
    """An area chart of :func:`envelope`, scaled to the clip's peak (at least 0.05) so quiet speech still shows."""
    peak = max(float(frame["high"].max()), -float(frame["low"].min()), 0.05) if len(frame) else 1.0
    return alt.Chart(frame).mark_area(opacity=0.8, color="#4c78a8").encode(
        x=alt.X("time_s:Q", title="time (s)"),
        y=alt.Y("low:Q", title=f"amplitude (peak {peak:.2f})", scale=alt.Scale(domain=[-peak, peak])),
        y2="high:Q",
    ).properties(height=height)


def waveform_spec(frame: pd.DataFrame, *, height: int = 110) -> dict:
    """:func:`waveform_chart` as a cached-ready Vega-Lite spec with Arrow data (:func:`datasteward.charts.to_spec`)."""
    from datasteward import charts

    return charts.to_spec(waveform_chart(frame, height=height))


def audio_format(path: str) -> str:
    """The MIME type a browser needs to play ``path``."""
    ext = Path(path).suffix.lower().lstrip(".")
    return {"mp3": "audio/mpeg", "m4a": "audio/mp4", "aac": "audio/aac", "oga": "audio/ogg", "opus": "audio/ogg",
            "aif": "audio/aiff"}.get(ext, f"audio/{ext or 'wav'}")


def word_diff(reference: str | None, other: str | None) -> list[tuple[str, str]]:
    """Word-level differences of ``other`` against ``reference``: ``(op, text)`` with op ``=``, ``-`` or ``+``.

    ``-`` words are in the reference only, ``+`` words in ``other`` only.
    """
    ref, new = (reference or "").split(), (other or "").split()
    out: list[tuple[str, str]] = []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(a=ref, b=new, autojunk=False).get_opcodes():
        if op == "equal":
            out.append(("=", " ".join(ref[i1:i2])))
            continue
        if i2 > i1:
            out.append(("-", " ".join(ref[i1:i2])))
        if j2 > j1:
            out.append(("+", " ".join(new[j1:j2])))
    return out


def diff_html(reference: str | None, other: str | None) -> str:
    """:func:`word_diff` as HTML, every word escaped: removed words struck through in red, added in green."""
    style = {"-": "background:#fdd;color:#900;text-decoration:line-through",
             "+": "background:#dfd;color:#060;text-decoration:none"}
    tag = {"-": "del", "+": "ins"}
    parts = []
    for op, text in word_diff(reference, other):
        text = html.escape(text)
        parts.append(text if op == "=" else f'<{tag[op]} style="{style[op]}">{text}</{tag[op]}>')
    return " ".join(parts) or "<em>(empty)</em>"
