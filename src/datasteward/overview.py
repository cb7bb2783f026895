"""The Overview's numbers: headline KPIs, top problems and the ownership matrix, counted in MongoDB."""

from __future__ import annotations

import pandas as pd

from datasteward import store
from datasteward.checks import OWNERS, REGISTRY

MATRIX_COLUMNS = ["owner", "open_flags", "items_flagged", "items", "rate"]
PROBLEM_COLUMNS = ["check", "owner", "severity", "open_flags", "share", "describes"]

# Only open flags count; this keeps them and drops every other flag of the sample.
_OPEN = {"$filter": {"input": {"$ifNull": ["$flags", []]}, "cond": {"$eq": ["$$this.status", "open"]}}}


def tables(ds) -> dict:
    """Everything the Overview shows: ``kpis``, ``problems`` (every check) and the ``batch`` and ``language``
    ownership matrices; kept in the database until the dataset changes (:func:`store.kept`)."""
    def compute(ds):
        store.refresh_info(ds)  # the last scan's agreement lives in the info, which another process may have written
        return {"kpis": kpis(ds), "problems": top_problems(ds, limit=None), **ownership(ds)}

    return store.kept(ds, "overview", compute)


def kpis(ds) -> dict:
    """Headline numbers of a dataset.

    Returns
    -------
    dict
        ``samples``; ``scanned`` (items measured by a scan) and ``scanned_share``;
        ``open_flags``; ``items_flagged`` (items with at least one open flag) and
        ``flagged_share``; ``open_high`` (open high-severity flags) and
        ``items_high``; ``alpha`` (Krippendorff's alpha of the last scan, or None).
    """
    is_doc = lambda field: {"$eq": [{"$type": field}, "object"]}  # noqa: E731
    pipeline = [  # one pass over the samples
        {"$project": {"scanned": {"$cond": [{"$or": [is_doc("$scan_state"), is_doc("$quality")]}, 1, 0]},
                      "open": _OPEN}},
        {"$project": {"scanned": 1, "n": {"$size": "$open"},
                      "high": {"$size": {"$filter": {"input": "$open", "cond": {"$eq": ["$$this.severity", "high"]}}}}}},
        {"$group": {"_id": None, "samples": {"$sum": 1}, "scanned": {"$sum": "$scanned"}, "open_flags": {"$sum": "$n"},
                    "items_flagged": {"$sum": {"$cond": [{"$gt": ["$n", 0]}, 1, 0]}}, "open_high": {"$sum": "$high"},
                    "items_high": {"$sum": {"$cond": [{"$gt": ["$high", 0]}, 1, 0]}}}},
    ]
    counts = next(iter(ds._sample_collection.aggregate(pipeline, allowDiskUse=True)), {})
    out = {key: int(counts.get(key, 0))
           for key in ("samples", "scanned", "open_flags", "items_flagged", "open_high", "items_high")}
    samples = out["samples"]
    out["scanned_share"] = out["scanned"] / samples if samples else 0.0
    out["flagged_share"] = out["items_flagged"] / samples if samples else 0.0
    out["alpha"] = ((ds.info or {}).get("scan") or {}).get("alpha_dataset")
    return out


def top_problems(ds, *, limit: int | None = 10) -> pd.DataFrame:
    """Checks ordered by their open flags, with the owning layer and the share of items they flag.

    Columns: ``check``, ``owner`` (as written in the flags, so a contract's
    override shows), ``severity``, ``open_flags``, ``share`` (of all samples)
    and ``describes``.
    """
    pipeline = [
        {"$match": {"flags.status": "open"}},
        {"$project": {"open": _OPEN}},
        {"$unwind": "$open"},
        {"$group": {"_id": {"check": "$open.check", "owner": "$open.owner", "severity": "$open.severity"},
                    "n": {"$sum": 1}}},
    ]
    rows = [{**d["_id"], "open_flags": d["n"]} for d in ds._sample_collection.aggregate(pipeline)]
    if not rows:
        return pd.DataFrame(columns=PROBLEM_COLUMNS)
    frame = pd.DataFrame(rows)
    # A contract change between scans can leave one check's flags under two owners; one row per check and owner.
    frame = (frame.groupby(["check", "owner"], dropna=False, as_index=False)
             .agg(severity=("severity", "first"), open_flags=("open_flags", "sum")))
    samples = ds._sample_collection.estimated_document_count()  # collection metadata: no scan
    frame["share"] = frame["open_flags"] / samples if samples else 0.0
    frame["describes"] = [REGISTRY[c].describes if c in REGISTRY else "" for c in frame["check"]]
    frame = frame.sort_values(["open_flags", "check"], ascending=[False, True]).reset_index(drop=True)
    return frame[PROBLEM_COLUMNS] if limit is None else frame[PROBLEM_COLUMNS].head(limit)


def ownership(ds) -> dict[str, pd.DataFrame]:
    """The ownership matrix: owning layer x batch and owning layer x language.

    One ``$unwind`` of the open flags, grouped by (item, owner) and then by
    (owner, batch, language); because an item has one batch and one language,
    both matrices are sums of that one small result.

    Returns
    -------
    dict
        ``{"batch": frame, "language": frame}``; each frame has one row per
        owning layer and value, every layer and value present (zeros included),
        with columns ``owner``, the value's name, ``open_flags``,
        ``items_flagged`` (items with an open flag of that layer), ``items``
        (items in the cell's batch or language) and ``rate``
        (``items_flagged / items``). Batches are in delivery order; a missing
        value shows as :data:`store.MISSING`.
    """
    coll = ds._sample_collection
    pipeline = [
        {"$match": {"flags.status": "open"}},
        {"$project": {"batch": 1, "language": 1, "open": _OPEN}},
        {"$unwind": "$open"},
        {"$group": {"_id": {"sample": "$_id", "owner": "$open.owner"}, "n": {"$sum": 1},
                    "batch": {"$first": "$batch"}, "language": {"$first": "$language"}}},
        {"$group": {"_id": {"owner": "$_id.owner", "batch": "$batch", "language": "$language"},
                    "open_flags": {"$sum": "$n"}, "items_flagged": {"$sum": 1}}},
    ]
    flagged = pd.DataFrame([{**d["_id"], "open_flags": d["open_flags"], "items_flagged": d["items_flagged"]}
                            for d in coll.aggregate(pipeline, allowDiskUse=True)],
                           columns=["owner", "batch", "language", "open_flags", "items_flagged"])
    # Sorted on the (batch, language) index, the count reads that index alone rather than every sample.
    sizes = pd.DataFrame([{**d["_id"], "items": d["n"]} for d in coll.aggregate(
        [{"$sort": {"batch": 1, "language": 1}},
         {"$group": {"_id": {"batch": "$batch", "language": "$language"}, "n": {"$sum": 1}}}])],
        columns=["batch", "language", "items"])
    for frame in (flagged, sizes):
        frame[["batch", "language"]] = frame[["batch", "language"]].astype(object).where(
            frame[["batch", "language"]].notna(), store.MISSING)
    batches = store.batch_order(ds)
    batches += [b for b in dict.fromkeys(sizes["batch"]) if b not in batches]
    languages = sizes.groupby("language")["items"].sum().sort_values(ascending=False).index.tolist()
    return {"batch": _matrix(flagged, sizes, "batch", batches), "language": _matrix(flagged, sizes, "language", languages)}


def _matrix(flagged: pd.DataFrame, sizes: pd.DataFrame, by: str, values: list[str]) -> pd.DataFrame:
    owners = list(OWNERS) + sorted(set(flagged["owner"].dropna()) - set(OWNERS))
    grid = pd.MultiIndex.from_product([owners, values], names=["owner", by]).to_frame(index=False)
    counts = flagged.groupby(["owner", by], as_index=False)[["open_flags", "items_flagged"]].sum()
    items = sizes.groupby(by, as_index=False)["items"].sum()
    out = grid.merge(counts, on=["owner", by], how="left").merge(items, on=by, how="left")
    out[["open_flags", "items_flagged", "items"]] = out[["open_flags", "items_flagged", "items"]].fillna(0).astype(int)
    out["rate"] = (out["items_flagged"] / out["items"]).where(out["items"] > 0, 0.0)
    return out[["owner", by, "open_flags", "items_flagged", "items", "rate"]]


def review_link(dataset: str, **filters) -> str:
    """A relative URL of the Review page showing the open flags that match ``filters``.

    Filters with a value of None (or the missing-value marker) are left out.
    """
    from urllib.parse import urlencode

    params = {"dataset": dataset, **{k: v for k, v in filters.items() if v not in (None, "", store.MISSING)}}
    params.setdefault("status", "open")
    return "review?" + urlencode(params)


def link_table(frame: pd.DataFrame, by: str, dataset: str) -> str:
    """The ownership matrix as a Markdown table whose cells link to their open flags on the Review page.

    Each cell reads ``open flags · rate``; an empty cell reads ``–``. Values
    are escaped, so a batch named ``*b|1*`` shows as written.
    """
    values = list(dict.fromkeys(frame[by]))
    lines = ["| owner | " + " | ".join(md_escape(v) for v in values) + " |", "|---" * (len(values) + 1) + "|"]
    for owner, rows in frame.groupby("owner", sort=False):
        cells = []
        for row in rows.itertuples(index=False):
            value = getattr(row, by)
            if row.open_flags == 0:
                cells.append("–")
                continue
            text = f"{row.open_flags:,} · {row.rate:.0%}"
            cells.append(text if value == store.MISSING else f"[{text}]({review_link(dataset, owner=owner, **{by: value})})")
        lines.append(f"| **{md_escape(owner)}** | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def md_escape(text) -> str:
    """Markdown- and HTML-safe text for a table cell."""
    import html
    import re

    return re.sub(r"([\\`*_{}\[\]()#+\-.!|~>])", r"\\\1", html.escape(str(text), quote=False))
