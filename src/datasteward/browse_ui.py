"""Streamlit pieces shared by the Images and Audio pages: URL-bound filters, paging, detail, manual flags, FiftyOne."""

from __future__ import annotations

import functools
import io
import os
import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pandas as pd
import streamlit as st

from datasteward import browse, review, store, ui
from datasteward.checks import OWNERS, REGISTRY
from datasteward.errors import DataStewardError
from datasteward.flags import STATUSES

NO_SORT = "(import order)"
SORT_FIELDS = ("agreement", "prediction.confidence")  # besides the metrics
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$:&])")
ITEM_PARAM = "item"


def md(text) -> str:
    """``text`` escaped for Markdown: labels and paths show as typed, never as formatting or HTML."""
    return _MD_SPECIAL.sub(r"\\\1", str(text))


# --- cached loaders, keyed by (name, ui.dataset_stamp(name)) ---------------------

@st.cache_data(max_entries=32, ttl=300, show_spinner=False)
def cached_facets(name: str, samples: int, modality: str) -> dict[str, list[str]]:
    """Filter options, keyed on the sample count rather than the full stamp: review actions never change them,
    and a fixed label shows within the ``ttl``."""
    return browse.kept_facets(store.open_dataset(name), modality)


@st.cache_data(max_entries=32, show_spinner=False)
def cached_metrics(name: str, stamp: tuple, modality: str) -> list[str]:
    return browse.metric_names(store.open_dataset(name), modality)


@st.cache_data(max_entries=256, show_spinner=False)
def cached_count(name: str, stamp: tuple, filters: browse.Filters) -> int:
    return browse.count(store.open_dataset(name), filters)


@st.cache_data(max_entries=256, show_spinner=False)
def cached_page(name: str, stamp: tuple, filters: browse.Filters, sort_by: str | None, descending: bool, skip: int,
                limit: int) -> browse.Page:
    return browse.page(store.open_dataset(name), filters, sort_by=sort_by, descending=descending, skip=skip,
                       limit=limit, total=cached_count(name, stamp, filters))


@functools.lru_cache(maxsize=2000)
def thumbnail_jpeg(thumbnail: str | None, media_path: str | None, label, prediction, confidence,
                   detections: tuple) -> bytes:
    """The annotated thumbnail as JPEG bytes; cached on everything that changes the picture.

    A plain LRU cache, not ``st.cache_data``, so that a page's tiles can be drawn
    in threads (:func:`page_thumbnails`).
    """
    row = {"thumbnail": thumbnail, "media_path": media_path, "label": label, "prediction": prediction,
           "confidence": confidence, "detections": list(detections)}
    buf = io.BytesIO()
    browse.annotated_thumbnail(row).save(buf, "JPEG", quality=88)
    return buf.getvalue()


def row_thumbnail(row: dict) -> bytes:
    return thumbnail_jpeg(row["thumbnail"], row["media_path"], row["label"], row["prediction"], row["confidence"],
                          tuple(row["detections"]))


def page_thumbnails(rows: list[dict]) -> list[bytes]:
    """Every tile of a page, drawn in threads (Pillow decodes, resizes and encodes without the GIL)."""
    if len(rows) < 2:
        return [row_thumbnail(r) for r in rows]
    with ThreadPoolExecutor(max_workers=min(4, len(rows))) as pool:
        return list(pool.map(row_thumbnail, rows))


# --- filters in the URL ----------------------------------------------------------

def _reset_page(prefix: str) -> None:
    st.session_state[f"{prefix}_page"] = 1


def filter_bar(name: str, stamp: tuple, modality: str, prefix: str) -> tuple[browse.Filters, str | None, bool]:
    """Filter, search and sort widgets, each bound to a query parameter named by its key.

    Returns the filter, the metric to sort by (None for import order) and
    whether to sort descending. Changing any of them goes back to page 1.
    """
    facets = cached_facets(name, stamp[0], modality)
    metrics = cached_metrics(name, stamp, modality)
    checks = [c for c in REGISTRY if REGISTRY[c].modality in (modality, "any")] + ["manual"]
    bound = {"bind": "query-params", "on_change": _reset_page, "args": (prefix,)}
    search = st.text_input("Search by file path or sample id", key=f"{prefix}_q", placeholder="b01/img_0004 or an id",
                           **bound)
    cols = st.columns(6)
    picked = {}
    for col, (field, options) in zip(cols, [("batch", facets["batch"]), ("language", facets["language"]),
                                             ("vendor", facets["vendor"]), ("label", facets["label"]),
                                             ("check", checks), ("status", list(STATUSES))]):
        picked[field] = col.multiselect(field.capitalize(), options, key=f"{prefix}_{field}", **bound)
    cols = st.columns([2, 1, 1, 2, 1, 1])
    metric = cols[0].selectbox("Metric range", metrics, index=None, key=f"{prefix}_metric",
                               placeholder="no metric filter", **bound)
    lo = cols[1].number_input("from", value=None, key=f"{prefix}_lo", format="%g", **bound)
    hi = cols[2].number_input("to", value=None, key=f"{prefix}_hi", format="%g", **bound)
    sort = cols[3].selectbox("Sort by", [NO_SORT, *metrics, *SORT_FIELDS], key=f"{prefix}_sort", **bound)
    descending = cols[4].toggle("Descending", key=f"{prefix}_desc", **bound)
    picked["disagree"] = cols[5].toggle("Disagrees", key=f"{prefix}_disagree",
                                        help="Only items whose model prediction differs from the label", **bound)
    try:
        filters = browse.Filters(modality=modality, search=search or "", metric=metric, lo=lo, hi=hi, **picked)
    except DataStewardError as exc:
        st.warning(f"{exc}; the metric range is ignored.")
        filters = browse.Filters(modality=modality, search=search or "", **picked)
    return filters, (None if sort == NO_SORT else sort), bool(descending)


def pager(total: int, prefix: str, page_size: int) -> int:
    """A page picker bound to ``?<prefix>_page=``; returns how many rows to skip."""
    pages = max(1, -(-total // page_size))
    if pages == 1:
        return 0
    number = st.pagination(pages, key=f"{prefix}_page", bind="query-params", max_visible_pages=9)
    return (min(number, pages) - 1) * page_size


# --- the selected item --------------------------------------------------------------

def selected_item() -> str | None:
    return st.query_params.get(ITEM_PARAM) or None


def _open(sample_id: str) -> None:
    st.query_params[ITEM_PARAM] = sample_id


def _close() -> None:
    st.query_params.pop(ITEM_PARAM, None)


def open_button(row: dict, prefix: str, label: str = "Details") -> None:
    st.button(label, key=f"{prefix}_open_{row['id']}", on_click=_open, args=(row["id"],))


def close_button(prefix: str) -> None:
    st.button("Close", key=f"{prefix}_close", on_click=_close)


def name_of(row: dict) -> str:
    return Path(row.get("media_path") or row["id"]).name


def metrics_table(row: dict) -> pd.DataFrame:
    return pd.DataFrame(sorted(row["quality"].items()), columns=["metric", "value"])


def flags_table(row: dict) -> pd.DataFrame:
    columns = ["check", "status", "owner", "severity", "score", "threshold", "detail", "assignee", "created_by"]
    return pd.DataFrame([{k: f.get(k) for k in columns} for f in row["flags"]], columns=columns)


def flag_summary(row: dict) -> str:
    """``dark (open), manual (confirmed)``, or ``no flags``."""
    return ", ".join(f"{f['check']} ({f['status']})" for f in row["flags"]) or "no flags"


def flag_form(ds, row: dict, prefix: str) -> None:
    """Flag the item by hand with a reason, for a chosen owning layer.

    The flag is written in the submit callback, before the page runs again, so
    the tables and counts drawn on that run already show it.
    """
    outcome = st.session_state.pop(f"{prefix}_flag_outcome", None)
    if outcome:
        (st.success if outcome[0] == "ok" else st.error)(outcome[1])
    with st.form(f"{prefix}_flag_form", clear_on_submit=True):
        st.markdown("**Flag this item by hand**")
        st.text_area("Reason", key=f"{prefix}_flag_reason", placeholder="What is wrong with it?")
        a, b = st.columns(2)
        a.selectbox("For", OWNERS, index=OWNERS.index("annotation"), key=f"{prefix}_flag_owner")
        b.selectbox("Severity", ["low", "medium", "high"], index=1, key=f"{prefix}_flag_severity")
        st.form_submit_button("Flag it", key=f"{prefix}_flag_submit", on_click=_submit_flag,
                              args=(ds.name, row["id"], name_of(row), prefix))


def _submit_flag(name: str, sample_id: str, item: str, prefix: str) -> None:
    state = st.session_state
    reason, owner = state.get(f"{prefix}_flag_reason") or "", state.get(f"{prefix}_flag_owner")
    try:
        review.flag_item(store.open_dataset(name), sample_id, ui.current_actor(), reason, owner=owner,
                         severity=state.get(f"{prefix}_flag_severity"))
    except DataStewardError as exc:
        state[f"{prefix}_flag_outcome"] = ("error", f"{item}: {exc}")
    else:
        state[f"{prefix}_flag_outcome"] = ("ok", f"{item} flagged for {owner}: {reason.strip()}")


def item_header(row: dict) -> None:
    st.subheader(name_of(row), anchor=False)
    st.text(f"id {row['id']} · batch {row['batch']} · language {row['language']} · vendor {row['vendor']} · "
            f"split {row['split']}\n{row['media_path']}")


def annotators_table(row: dict, column: str) -> pd.DataFrame:
    return pd.DataFrame([{"annotator": a["annotator"], column: a[column]} for a in row["annotations"]],
                        columns=["annotator", column])


# --- the FiftyOne App ------------------------------------------------------------------

def fiftyone_port() -> int:
    return int(os.environ.get("DATASTEWARD_FIFTYONE_PORT", "5151"))


@st.cache_resource(show_spinner="Starting the FiftyOne App…")
def fiftyone_app(port: int, address: str, _first_dataset: str):
    """One FiftyOne App server per Streamlit server; every user opens saved views in it by URL."""
    return store.launch_app(_first_dataset, port=port, address=address)


def _app_host() -> str:
    wanted = os.environ.get("DATASTEWARD_FIFTYONE_HOST")
    if wanted:
        return wanted
    host = (st.context.headers or {}).get("host") or "localhost"
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


def fiftyone_panel(name: str, ds, filters: browse.Filters, sort_by: str | None, descending: bool, prefix: str,
                   total: int) -> None:
    """'Open in FiftyOne': save the filter as a view, start the App once, and link (or embed) it.

    Once opened, the link follows the filter: a changed filter is saved again
    (only when it changed, so a rerun writes nothing).
    """
    if st.button("Open in FiftyOne", key=f"{prefix}_fiftyone", icon=":material/open_in_new:"):
        st.session_state[f"{prefix}_fiftyone_on"] = True
    if not st.session_state.get(f"{prefix}_fiftyone_on"):
        return
    port = fiftyone_port()
    wanted = (name, filters, sort_by, descending)
    try:
        if st.session_state.get(f"{prefix}_fiftyone_saved", (None,))[0] != wanted:
            slug = browse.save_view(ds, filters, sort_by=sort_by, descending=descending)
            st.session_state[f"{prefix}_fiftyone_saved"] = (wanted, slug)
        slug = st.session_state[f"{prefix}_fiftyone_saved"][1]
        fiftyone_app(port, os.environ.get("DATASTEWARD_FIFTYONE_ADDRESS", "127.0.0.1"), name)
    except Exception as exc:  # the App is optional: a failed start must not take the page down
        st.error(f"Could not open the FiftyOne App on port {port}: {exc}")
        return
    url = browse.app_url(name, slug, host=_app_host(), port=port)
    st.link_button(f"Open the view of {total:,} samples in the FiftyOne App", url, key=f"{prefix}_fiftyone_link")
    st.caption(f"Saved view `{slug}`: {md(browse.describe(filters) or 'all samples')}")
    if st.toggle("Show the App here", key=f"{prefix}_fiftyone_embed"):
        st.iframe(url, height=800)


# --- the page skeleton both browsers share -----------------------------------------------

class Browser:
    """The filtered, sorted, paged state of a browser page, drawn from (and kept in) the URL."""

    def __init__(self, name: str, modality: str, prefix: str, page_size: int, noun: str):
        self.name, self.prefix, self.modality, self.noun = name, prefix, modality, noun
        self.ds = store.open_dataset(name)
        stamp = ui.dataset_stamp(name)
        self.filters, self.sort_by, self.descending = filter_bar(name, stamp, modality, prefix)
        self.skip = pager(cached_count(name, stamp, self.filters), prefix, page_size)
        self.result = cached_page(name, stamp, self.filters, self.sort_by, self.descending, self.skip, page_size)
        shown = f" · showing {self.skip + 1:,}–{self.skip + len(self.result.rows):,}" if self.result.rows else ""
        st.caption(f"{self.result.total:,} {noun} match{shown}")
        fiftyone_panel(name, self.ds, self.filters, self.sort_by, self.descending, prefix, self.result.total)

    def selected(self) -> dict | None:
        """The item named by ``?item=``, or None; a wrong id says so and offers to close."""
        wanted = selected_item()
        if not wanted:
            return None
        row = browse.item(self.ds, wanted)
        if row is None or row["modality"] != self.modality:
            st.warning(f"No {self.modality} item with id {wanted} in {self.name}.")
            close_button(self.prefix)
            return None
        return row

    def review_tables(self, row: dict) -> None:
        """Flags, metrics and the manual flag form of the detail view."""
        st.markdown("**Flags**")
        st.dataframe(flags_table(row), hide_index=True, key=f"{self.prefix}_flags")
        st.markdown("**Metrics**")
        st.dataframe(metrics_table(row), hide_index=True, key=f"{self.prefix}_metrics")
        flag_form(self.ds, row, self.prefix)

    def stop_if_empty(self) -> None:
        if not self.result.rows:
            st.info(f"No {self.noun} match these filters." if self.result.total == 0 else "This page is empty.")
            st.stop()
