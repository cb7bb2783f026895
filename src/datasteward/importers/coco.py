"""COCO detection importer: `images`, `annotations` (pixel `bbox`) and `categories` in one JSON file."""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

from datasteward.errors import InputError, UnsafePathError
from datasteward.importers._common import read_text, resolve_inside
from datasteward.records import Detection, ImportReport, Record, normalize_language


def read(source: Path, report: ImportReport, *, defaults: dict | None = None, encoding: str = "utf-8-sig") -> list[Record]:
    """Records of a COCO JSON; image files are found beside it or in an ``images/`` folder."""
    defaults = defaults or {}
    try:
        doc = json.loads(read_text(source, encoding))
    except json.JSONDecodeError as exc:
        raise InputError(f"not valid JSON ({exc.msg})", f"{source}:{exc.lineno}") from exc
    if not isinstance(doc, dict) or "images" not in doc or "annotations" not in doc:
        raise InputError("not a COCO file: it needs 'images' and 'annotations' lists", str(source))
    categories = {c.get("id"): str(c.get("name")) for c in doc.get("categories", []) if isinstance(c, dict)}
    boxes = defaultdict(list)
    for i, ann in enumerate(doc["annotations"]):
        if isinstance(ann, dict):
            boxes[ann.get("image_id")].append((i, ann))
    base = source.parent
    media_root = _media_root(base, doc["images"])
    language = normalize_language(defaults.get("language")) if defaults.get("language") else None
    records = []
    for i, image in enumerate(doc["images"]):
        where = f"{source}:images[{i}]"
        report.rows += 1
        if not isinstance(image, dict) or not image.get("file_name"):
            report.error(where, "image entry without 'file_name'; skipped")
            continue
        try:
            path = resolve_inside(base, str(Path(media_root) / image["file_name"]))
        except UnsafePathError as exc:
            report.error(where, exc.message)
            continue
        width, height = image.get("width"), image.get("height")
        detections = []
        for j, ann in boxes.get(image.get("id"), []):
            det = _detection(ann, categories, width, height)
            if det is None:
                report.warn(f"{source}:annotations[{j}]", "box without a known category or a valid bbox; ignored")
            else:
                detections.append(det)
        records.append(
            Record(
                media_path=path, modality="image", source_file=str(source), source_row=i,
                detections=detections, batch=defaults.get("batch"), vendor=defaults.get("vendor"), language=language,
            )
        )
    return records


def _media_root(base: Path, images: list) -> str:
    """``""`` when file names resolve beside the JSON, else ``"images"`` when they resolve there."""
    first = next((im.get("file_name") for im in images if isinstance(im, dict) and im.get("file_name")), None)
    if first and not (base / first).exists() and (base / "images" / first).exists():
        return "images"
    return ""


def _detection(ann: dict, categories: dict, width, height) -> Detection | None:
    label = categories.get(ann.get("category_id"))
    bbox = ann.get("bbox")
    if label is None or not isinstance(bbox, (list, tuple)) or len(bbox) != 4 or not width or not height:
        return None
    try:
        x, y, w, h = (float(v) for v in bbox)
    except (TypeError, ValueError):
        return None
    if w <= 0 or h <= 0:
        return None
    return Detection(label, (x / width, y / height, w / width, h / height))
