"""Tables for pipelines and notebooks: one row per flag, and one row per sample with every metric."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from datasteward import store

FLAG_COLUMNS = ["sample_id", "filepath", "modality", "check", "owner", "status", "severity", "score", "threshold",
                "assignee", "batch", "language", "vendor", "version", "created_at", "updated_at", "created_by",
                "updated_by", "detail"]


def flags_table(ds, *, status: str | None = None, check: str | None = None) -> pd.DataFrame:
    """One row per flag, with the sample's file path, batch, language and vendor."""
    ids, paths, modalities, batches, languages, vendors, flags = ds.values(
        ["id", "media_path", "modality", "batch", "language", "vendor", "flags"])
    rows = []
    for sid, path, modality, batch, language, vendor, fl in zip(ids, paths, modalities, batches, languages, vendors, flags):
        for flag in fl or []:
            if (status and flag.get("status") != status) or (check and flag.get("check") != check):
                continue
            rows.append({**{k: flag.get(k) for k in FLAG_COLUMNS}, "sample_id": sid, "filepath": path,
                         "modality": modality, "batch": batch, "language": language, "vendor": vendor})
    return pd.DataFrame(rows, columns=FLAG_COLUMNS)


def samples_table(ds, *, with_flags: bool = False) -> pd.DataFrame:
    """One row per sample: identity, labels, agreement, every metric and check score, and its open flags.

    ``with_flags`` adds the raw ``flags`` list (for the gate).
    """
    base = ["id", "media_path", "modality", "batch", "language", "vendor", "split", "speaker", "accent", "gender",
            "ground_truth.label", "consensus_label", "agreement", "transcript", "quality", "scores", "flags"]
    values = dict(zip(base, ds.values(base)))
    frame = pd.DataFrame({
        "sample_id": values["id"], "filepath": values["media_path"], "modality": values["modality"],
        "batch": values["batch"], "language": values["language"], "vendor": values["vendor"],
        "split": values["split"], "speaker": values["speaker"], "accent": values["accent"],
        "gender": values["gender"], "label": values["ground_truth.label"], "consensus_label": values["consensus_label"],
        "agreement": values["agreement"], "transcript": values["transcript"],
    })
    metrics = pd.DataFrame([_doc(q) for q in values["quality"]])
    scores = pd.DataFrame([_doc(s) for s in values["scores"]]).add_prefix("score.")
    frame["open_flags"] = [";".join(sorted(f["check"] for f in (fl or []) if f.get("status") == "open"))
                           for fl in values["flags"]]
    if with_flags:
        frame["flags"] = [fl or [] for fl in values["flags"]]
    return pd.concat([frame, metrics, scores], axis=1)


def _doc(doc) -> dict:
    if doc is None:
        return {}
    data = doc if isinstance(doc, dict) else doc.to_dict()
    return {k: v for k, v in data.items() if not k.startswith("_")}


def write_table(frame: pd.DataFrame, fmt: str, output: str | Path | None):
    """Write ``frame`` as csv, jsonl or parquet to ``output`` (a path), or return the text for stdout."""
    if fmt == "parquet":
        if output is None:
            raise ValueError("parquet needs --output")
        frame.to_parquet(output, index=False)
        return None
    if fmt == "jsonl":
        text = frame.to_json(orient="records", lines=True, date_format="iso")
    else:
        text = frame.to_csv(index=False)
    if output is None:
        return text
    Path(output).write_text(text, encoding="utf-8")
    return None


QUEUE_COLUMNS = ["sample_id", "filepath", "modality", "check", "owner", "severity", "status", "score", "threshold",
                 "assignee", "batch", "language", "vendor", "version", "detail"]


def queue_table(ds, *, page_size: int = 5000, **filters) -> pd.DataFrame:
    """Every flag of a review queue (the filters of :func:`datasteward.review.queue`), paged through the database."""
    from datasteward import review

    rows: list[dict] = []
    while True:
        total, page = review.queue(ds, limit=page_size, skip=len(rows), **filters)
        rows.extend(page)
        if not page or len(rows) >= total:
            break
    return pd.DataFrame(rows, columns=QUEUE_COLUMNS)
