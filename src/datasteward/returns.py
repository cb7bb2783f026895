"""Return reports: the items sent back to a vendor, with reasons and evidence, as CSV and a readable HTML page."""

from __future__ import annotations

import html
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd

from datasteward.errors import DataStewardError

COLUMNS = ["batch", "vendor", "item", "sample_id", "check", "reason", "score", "threshold", "who", "when", "evidence",
           "filepath"]


def sent_back_table(ds, *, batch: str | None = None, vendor: str | None = None) -> pd.DataFrame:
    """One row per flag with status ``sent_back``, ordered by batch, vendor, item and check.

    ``reason`` is what the reviewer wrote when sending it back, ``who``/``when``
    the last send-back in the flag's history, and ``evidence`` the item's
    metric values (``quality``) and the flag's detail. Filtered in the database.
    """
    match = {"flags": {"$elemMatch": {"status": "sent_back"}}}
    if batch:
        match["batch"] = batch
    if vendor:
        match["vendor"] = vendor
    pipeline = [{"$match": match}, {"$unwind": "$flags"}, {"$match": {"flags.status": "sent_back"}},
                {"$project": {"media_path": 1, "batch": 1, "vendor": 1, "quality": 1, "flags": 1}},
                {"$sort": {"batch": 1, "vendor": 1, "media_path": 1, "flags.check": 1}}]
    rows = []
    for doc in ds._sample_collection.aggregate(pipeline):
        flag = doc["flags"]
        sent = [h for h in flag.get("history") or [] if h.get("action") == "send_back"]
        last = sent[-1] if sent else {}
        path = doc.get("media_path") or ""
        rows.append({"batch": doc.get("batch"), "vendor": doc.get("vendor"), "item": Path(path).name or str(doc["_id"]),
                     "sample_id": str(doc["_id"]), "check": flag.get("check"),
                     "reason": flag.get("returned_reason") or last.get("note") or "",
                     "score": flag.get("score"), "threshold": flag.get("threshold"),
                     "who": last.get("who") or flag.get("updated_by"), "when": last.get("when") or flag.get("updated_at"),
                     "evidence": _evidence(doc.get("quality"), flag.get("detail")), "filepath": path})
    return pd.DataFrame(rows, columns=COLUMNS)


def _evidence(quality, detail) -> str:
    metrics = {k: v for k, v in (quality or {}).items() if not k.startswith("_") and isinstance(v, (int, float))}
    parts = [f"{k}={v:.4g}" for k, v in sorted(metrics.items())]
    return "; ".join(([str(detail)] if detail else []) + parts)


def to_csv(table: pd.DataFrame) -> str:
    """The report as CSV text (one row per returned flag)."""
    return table.to_csv(index=False, date_format="%Y-%m-%d %H:%M:%S")


def to_html(table: pd.DataFrame, *, dataset: str) -> str:
    """A self-contained HTML page, one section per batch and vendor; every value is escaped."""
    esc = html.escape
    made = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    parts = [f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>Return report: {esc(dataset)}</title>",
             f"<style>{_CSS}</style></head><body>",
             f"<h1>Return report: {esc(dataset)}</h1>",
             f"<p>{len(table)} flagged items sent back to the vendor. Made {made}.</p>"]
    if table.empty:
        parts.append("<p>Nothing has been sent back.</p>")
    for (batch, vendor), group in table.groupby(["batch", "vendor"], dropna=False, sort=True):
        parts.append(f"<h2>Batch {esc(_text(batch))} · vendor {esc(_text(vendor))} ({len(group)} items)</h2>")
        parts.append("<table><thead><tr>" + "".join(f"<th>{c}</th>" for c in _SHOWN) + "</tr></thead><tbody>")
        for row in group.itertuples(index=False):
            cells = [row.item, row.check, row.reason, _num(row.score), _num(row.threshold), row.who,
                     _when(row.when), row.evidence]
            parts.append("<tr>" + "".join(f"<td>{esc(_text(c))}</td>" for c in cells) + "</tr>")
        parts.append("</tbody></table>")
    parts.append("</body></html>")
    return "\n".join(parts)


_SHOWN = ["item", "check", "reason", "score", "threshold", "who", "when", "evidence"]
_CSS = ("body{font-family:system-ui,sans-serif;margin:2em;color:#222}table{border-collapse:collapse;width:100%;"
        "margin-bottom:2em}th,td{border:1px solid #ccc;padding:4px 8px;text-align:left;vertical-align:top;"
        "font-size:14px}th{background:#f3f3f3}td:last-child{font-size:12px;color:#555}")


def _text(value) -> str:
    return "" if value is None or (isinstance(value, float) and value != value) else str(value)


def _num(value) -> str:
    return "" if value is None or value != value else f"{value:.4g}"


def _when(value) -> str:
    if value is None or pd.isna(value):
        return ""
    return value.strftime("%Y-%m-%d %H:%M") if hasattr(value, "strftime") else _text(value)


def write_report(table: pd.DataFrame, fmt: str, output: str | Path, *, dataset: str) -> None:
    """Write the report as ``csv`` or ``html`` to ``output``."""
    if fmt not in ("csv", "html"):
        raise DataStewardError(f"unknown return report format {fmt!r}; use csv or html")
    text = to_csv(table) if fmt == "csv" else to_html(table, dataset=dataset)
    Path(output).write_text(text, encoding="utf-8")
