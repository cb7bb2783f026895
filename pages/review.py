"""Review: the queue of flags, filtered by owner, check, batch, language and severity, with single and bulk actions,
label and transcript fixes, each item's history, exports and return reports; every state is in the URL."""

from pathlib import Path

import pandas as pd
import streamlit as st

from datasteward import exports, returns, review, store, ui
from datasteward.checks import OWNERS, REGISTRY
from datasteward.errors import DataStewardError

STATUSES = ["open", "confirmed", "sent_back", "dismissed", "fixed"]
PAGE_SIZE = 50
ALL = "(all)"


@st.cache_data(max_entries=64, show_spinner=False)
def load_queue(name: str, stamp: tuple, page: int, filters: tuple) -> tuple[int, list[dict]]:
    def compute(ds):
        total, rows = review.queue(ds, limit=PAGE_SIZE, skip=(page - 1) * PAGE_SIZE,
                                   **{k: list(v) if isinstance(v, tuple) else v for k, v in filters})
        return [total, rows]

    total, rows = store.kept(store.open_dataset(name), f"queue:{page}:{filters!r}", compute)
    return total, rows


@st.cache_data(max_entries=16, show_spinner=False)
def load_returns(name: str, stamp: tuple, batch: str | None, vendor: str | None) -> pd.DataFrame:
    return returns.sent_back_table(store.open_dataset(name), batch=batch, vendor=vendor)


def first_page() -> None:
    """A new filter starts the queue at its first page."""
    ui.set_param("rv_page", 1)


def pick_row() -> None:
    """A row clicked in the queue becomes the selected item."""
    rows = st.session_state["rv_table"]["selection"]["rows"]
    ids = st.session_state.get("rv_page_ids") or []
    if rows and rows[0] < len(ids):
        ui.set_param("rv_item", ids[rows[0]])


def say(kind: str, message: str) -> None:
    """Show ``message`` (``st.success``, ``st.warning``...) after the rerun that follows an action."""
    st.session_state.setdefault("rv_messages", []).append((kind, message))


def save_fix(ds, sample_id: str, actor) -> None:
    """Write the typed label and/or transcript; clears the inputs when it worked."""
    label = st.session_state.get("rv_fix_label", "").strip() or None
    transcript = st.session_state.get("rv_fix_transcript", "").strip() or None
    if label is None and transcript is None:
        st.session_state["rv_fix_msg"] = ("warning", "Type a new label or transcript first.")
        return
    try:
        correction = review.fix_label(ds, sample_id, actor, label=label, transcript=transcript)
    except DataStewardError as exc:
        st.session_state["rv_fix_msg"] = ("error", str(exc))
        return
    what = (f"label {correction['old_label']!r} → {correction['new_label']!r}" if label is not None else "") + \
           (" and " if label is not None and transcript is not None else "") + \
           ("transcript corrected" if transcript is not None else "")
    st.session_state["rv_fix_msg"] = ("success", f"Fixed {sample_id}: {what}")
    st.session_state["rv_shown"] = {}  # its flags are fixed now: read them afresh
    st.session_state["rv_fix_label"] = ""
    st.session_state["rv_fix_transcript"] = ""


st.title("Review")
name = ui.require_dataset()
actor = ui.current_actor()
ds = store.open_dataset(name)
stamp = ui.dataset_stamp(name)
summary = ui.cached_summary(name, stamp)

search = ui.param_text("Search by file path or sample id", key="rv_search", param="q", on_change=first_page,
                       placeholder="e.g. b03/img_0042 or 6650f0c2…")
cols = st.columns(6)
owners = ui.param_multiselect("Owner", OWNERS, key="rv_owner", param="owner", container=cols[0], on_change=first_page)
checks = ui.param_multiselect("Check", list(REGISTRY), key="rv_check", param="check", container=cols[1],
                              on_change=first_page)
batches = ui.param_multiselect("Batch", list(summary["batch"]["batch"]), key="rv_batch", param="batch",
                               container=cols[2], on_change=first_page)
languages = ui.param_multiselect("Language", list(summary["language"]["language"]), key="rv_language",
                                 param="language", container=cols[3], on_change=first_page)
severities = ui.param_multiselect("Severity", ["high", "medium", "low"], key="rv_severity", param="severity",
                                  container=cols[4], on_change=first_page)
status = ui.param_select("Status", STATUSES, key="rv_status", param="status", container=cols[5], on_change=first_page)
mine = ui.param_toggle(f"My queue (assigned to {actor.name})", key="rv_mine", param="mine", on_change=first_page)

filters = dict(owner=owners, check=checks, batch=batches, language=languages, severity=severities,
               status="confirmed" if mine else status, assignee=actor.name if mine else None, search=search or None)
key = tuple((k, tuple(v) if isinstance(v, list) else v) for k, v in filters.items())
total, _ = load_queue(name, stamp, 1, key)
pages = max(1, -(-total // PAGE_SIZE))
st.caption(f"{total:,} flags match")
if pages > 1:
    page = ui.param_int(f"Page (of {pages:,})", key="rv_page", param="page", min_value=1, max_value=pages)
else:
    page = 1
    ui.drop_param("page")
total, rows = load_queue(name, stamp, page, key)

table = pd.DataFrame(rows)
if rows:
    table["item"] = [Path(p).name if p else s for p, s in zip(table["filepath"], table["sample_id"])]
    st.session_state["rv_page_ids"] = list(table["sample_id"])
    st.dataframe(table[["item", "check", "owner", "severity", "status", "score", "threshold", "assignee", "batch",
                        "language", "vendor", "detail"]], hide_index=True, key="rv_table", on_select=pick_row,
                 selection_mode="single-row")
else:
    st.info("Nothing in this queue.")
st.download_button(f"Export this queue ({total:,} flags, CSV)", key="rv_export", file_name=f"{name}-queue.csv",
                   mime="text/csv", disabled=total == 0,
                   data=lambda: exports.queue_table(store.open_dataset(name), **filters).to_csv(index=False))

keys = [f"{item} · {check}" for item, check in zip(table["item"], table["check"])] if rows else []
# Act on the versions the user saw (the last run's), so that a change made meanwhile by someone else is
# refused and named, not silently built upon; a picked flag that has left the queue since stays picked.
shown = st.session_state.get("rv_shown", {})
current: dict[str, list] = {}  # two items of the same file name share a key, as they always have
for r, k in zip(rows, keys):
    current.setdefault(k, []).append((r["sample_id"], r["check"], r["version"]))
gone = [k for k in st.session_state.get("rv_selected", []) if k in shown and k not in current]
st.session_state["rv_shown"] = {**current, **{k: shown[k] for k in gone}}
if current or gone:
    chosen = st.multiselect("Select flags to act on", keys + gone, key="rv_selected")
    selected = [flag for k in chosen for flag in shown.get(k) or current[k]]
    a, b = st.columns(2)
    assignee = a.text_input("Assign to (on confirm)", key="rv_assignee")
    note = b.text_input("Reason or comment", key="rv_note")
    buttons = st.columns(5)
    action = None
    for col, (label, act) in zip(buttons, [("Confirm", "confirm"), ("Dismiss", "dismiss"),
                                           ("Send back to vendor", "send_back"), ("Comment", "comment"),
                                           ("Reopen", "reopen")]):
        if col.button(label, key=f"rv_do_{act}", disabled=not selected):
            action = act
    if action:
        try:
            result = review.bulk(ds, selected, action, actor, note=note, assignee=assignee or None)
        except DataStewardError as exc:
            st.error(str(exc))
        else:
            st.session_state["rv_last_bulk"] = result.bulk_id
            say("success", f"{action.replace('_', ' ')}: {len(result.done)} flags updated")
            for sid, check, message in result.conflicts:
                say("warning", message)
            # Read what was acted on afresh: those that left the queue leave the selection, the rest show anew.
            st.session_state["rv_shown"] = {k: v for k, v in st.session_state["rv_shown"].items() if k not in chosen}
            st.rerun()  # redraw the queue with the new statuses
if st.session_state.get("rv_last_bulk") and st.button("Undo the last action", key="rv_undo"):
    try:
        undone = review.undo(ds, st.session_state.pop("rv_last_bulk"), actor)
    except DataStewardError as exc:
        st.error(str(exc))
    else:
        say("success", f"undone for {len(undone.done)} flags")
        for sid, check, message in undone.conflicts:
            say("warning", f"{check}: {message}")
        st.session_state["rv_shown"] = {}  # the undone flags changed: read everything afresh
        st.rerun()
for kind, message in st.session_state.pop("rv_messages", []):
    getattr(st, kind)(message)

st.subheader("Item")
names = dict(zip(table["sample_id"], table["item"])) if rows else {}
wanted = st.session_state.get("rv_item") or st.query_params.get("item")
if wanted and wanted not in names:
    found = review.item_details(ds, wanted)
    if found is None:
        st.warning(f"Item {wanted!r} is not in {name}.")
    else:
        names = {wanted: Path(found["media_path"] or wanted).name, **names}
if not names:
    st.info("Pick a queue with flags, or search for an item, to see its details.")
    st.stop()
sid = ui.param_select("Item (click a row above, or choose here)", list(names), key="rv_item", param="item",
                      format_func=lambda s: f"{names.get(s, s)} ({s})")
details = review.item_details(ds, sid)
if details is None:
    st.warning(f"Item {sid} was deleted from {name}.")
    st.stop()
st.text(details["media_path"] or "")  # text, not Markdown: paths may hold _ and *
if details["media_error"]:
    st.warning(f"{Path(details['media_path'] or sid).name}: {details['media_error']}")
left, right = st.columns([1, 2])
if details["picture"] and Path(details["picture"]).is_file():
    try:
        left.image(details["picture"], width="stretch")
    except Exception as exc:  # a picture Streamlit cannot draw (100000x1 pixels, say) must not stop the review
        left.warning(f"{Path(details['media_path'] or sid).name}: the picture cannot be shown ({exc})")
facts = {"label": details["label"], "transcript": details["transcript"],
         "prediction": None if details["prediction"] is None else
         f"{details['prediction']} ({details['confidence']:.2f})" if details["confidence"] is not None
         else details["prediction"],
         "modality": details["modality"], "batch": details["batch"], "language": details["language"],
         "vendor": details["vendor"]}
# st.dataframe shows every value as text, so labels carrying HTML are never rendered.
right.dataframe(pd.DataFrame({"field": list(facts), "value": [None if v is None else str(v) for v in facts.values()]}),
                hide_index=True, key="rv_item_facts")
if details["annotations"]:
    right.caption("Each annotator's answer")
    right.dataframe(pd.DataFrame(details["annotations"]).astype("string"), hide_index=True, key="rv_item_annotators")
if details["flags"]:
    right.caption("Flags on this item")
    right.dataframe(pd.DataFrame(details["flags"])[[c for c in ("check", "status", "score", "threshold", "owner",
                                                                "assignee", "returned_reason", "detail")
                                                    if c in pd.DataFrame(details["flags"])]],
                    hide_index=True, key="rv_item_flags")

with st.container(border=True):
    st.markdown("**Fix the label or transcript** (the old value is kept; the item's flags become *fixed*)")
    f1, f2 = st.columns(2)
    f1.text_input("New label", key="rv_fix_label", placeholder=details["label"] or "")
    f2.text_area("New transcript", key="rv_fix_transcript", placeholder=details["transcript"] or "", height=68)
    st.button("Save the fix", key="rv_fix_save", on_click=save_fix, args=(ds, sid, actor))
    kind, message = st.session_state.pop("rv_fix_msg", (None, None))
    if kind:
        getattr(st, kind)(message)
if details["corrections"]:
    st.caption("Corrections")
    st.dataframe(pd.DataFrame(details["corrections"]).astype("string"), hide_index=True, key="rv_item_corrections")
st.caption("History (who did what, when)")
entries = review.history(ds, sid)
st.dataframe(pd.DataFrame(entries).astype("string") if entries else pd.DataFrame({"history": ["no review actions yet"]}),
             hide_index=True, key="rv_history")

st.subheader("Return reports")
st.caption("Items sent back to the vendor, with reasons and evidence, per batch and vendor.")
r1, r2 = st.columns(2)
ret_batch = ui.param_select("Batch", [ALL, *summary["batch"]["batch"]], key="rv_ret_batch", param="rbatch",
                            container=r1)
ret_vendor = ui.param_select("Vendor", [ALL, *summary["vendor"]["vendor"]], key="rv_ret_vendor", param="rvendor",
                             container=r2)
report = load_returns(name, stamp, None if ret_batch == ALL else ret_batch, None if ret_vendor == ALL else ret_vendor)
st.caption(f"{len(report):,} flags sent back")
stem = "-".join(p for p in (name, "returns", None if ret_batch == ALL else ret_batch,
                            None if ret_vendor == ALL else ret_vendor) if p)
d1, d2 = st.columns(2)
# Written on click, not on every render: the HTML of a large report takes a noticeable fraction of a second.
d1.download_button("Return report (CSV)", lambda: returns.to_csv(report), file_name=f"{stem}.csv", mime="text/csv",
                   key="rv_returns_csv", disabled=report.empty)
d2.download_button("Return report (HTML)", lambda: returns.to_html(report, dataset=name), file_name=f"{stem}.html",
                   mime="text/html", key="rv_returns_html", disabled=report.empty)
