"""Vendor and annotator scorecards: estimated accuracy, agreement, and how reviewers judged their flags."""

from __future__ import annotations

import pandas as pd

from datasteward import store

RATE_COLUMNS = ["flags", "open", "confirmed", "sent_back", "dismissed", "fixed", "confirmed_rate", "dismissed_rate"]


def review_rates(ds, by: str = "vendor") -> pd.DataFrame:
    """Flag counts by status per ``by`` value, counted in the database.

    ``confirmed_rate`` is the share of reviewed flags that reviewers upheld
    (confirmed, sent back or fixed); ``dismissed_rate`` the share they called
    false alarms.
    """
    pipeline = [{"$match": {"flags.0": {"$exists": True}}}, {"$unwind": "$flags"},
                {"$group": {"_id": {"key": f"${by}", "status": "$flags.status"}, "n": {"$sum": 1}}}]
    rows = [{by: d["_id"].get("key"), "status": d["_id"].get("status"), "n": d["n"]}
            for d in ds._sample_collection.aggregate(pipeline)]
    if not rows:
        return pd.DataFrame(columns=[by, *RATE_COLUMNS])
    wide = pd.DataFrame(rows).pivot_table(index=by, columns="status", values="n", aggfunc="sum", fill_value=0)
    for status in ("open", "confirmed", "sent_back", "dismissed", "fixed"):
        if status not in wide:
            wide[status] = 0
    wide["flags"] = wide[["open", "confirmed", "sent_back", "dismissed", "fixed"]].sum(axis=1)
    upheld = wide["confirmed"] + wide["sent_back"] + wide["fixed"]
    reviewed = upheld + wide["dismissed"]
    wide["confirmed_rate"] = (upheld / reviewed).where(reviewed > 0)
    wide["dismissed_rate"] = (wide["dismissed"] / reviewed).where(reviewed > 0)
    return wide.reset_index()[[by, *RATE_COLUMNS]]


def vendor_scorecard(ds) -> pd.DataFrame:
    """Per vendor: items, estimated accuracy and agreement from the last scan, and review rates."""
    stats = (ds.info or {}).get("scan") or {}
    cards = pd.DataFrame(stats.get("vendors") or [], columns=["vendor", "items", "ds_accuracy", "agreement_with_consensus"])
    rates = store.kept(ds, "review_rates:vendor", lambda d: review_rates(d, "vendor"))
    return cards.merge(rates, on="vendor", how="outer")


def annotator_scorecard(ds) -> pd.DataFrame:
    """Per annotator who answered items with several annotators: estimated accuracy and agreement."""
    stats = (ds.info or {}).get("scan") or {}
    cards = pd.DataFrame(stats.get("annotators") or [])
    if cards.empty:
        return cards
    return cards[cards["multi_items"] > 0].sort_values("ds_accuracy").reset_index(drop=True)
