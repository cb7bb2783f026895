"""Review: the queue of flags, filtered by owner, check, batch, language and severity, with single and bulk actions."""

from pathlib import Path

import pandas as pd
import streamlit as st

from datasteward import review, store, ui
from datasteward.checks import OWNERS, REGISTRY
from datasteward.errors import DataStewardError

st.title("Review")
name = st.session_state.get("dataset_name")
if name is None:
    st.info("No dataset yet: import one on the Home page.")
    st.stop()
actor = ui.current_actor()
ds = store.open_dataset(name)
summary = ui.cached_summary(name, ui.dataset_stamp(name))

cols = st.columns(6)
owners = cols[0].multiselect("Owner", OWNERS, key="rv_owner")
checks = cols[1].multiselect("Check", list(REGISTRY), key="rv_check")
batches = cols[2].multiselect("Batch", list(summary["batch"]["batch"]), key="rv_batch")
languages = cols[3].multiselect("Language", list(summary["language"]["language"]), key="rv_language")
severities = cols[4].multiselect("Severity", ["high", "medium", "low"], key="rv_severity")
status = cols[5].selectbox("Status", ["open", "confirmed", "sent_back", "dismissed", "fixed"], key="rv_status")
mine = st.toggle(f"My queue (assigned to {actor.name})", key="rv_mine")

filters = dict(owner=owners, check=checks, batch=batches, language=languages, severity=severities,
               status="confirmed" if mine else status, assignee=actor.name if mine else None)
page_size = 50
total, rows = review.queue(ds, limit=page_size, skip=st.session_state.get("rv_page", 0) * page_size, **filters)
st.caption(f"{total:,} flags match")
if not rows:
    st.info("Nothing in this queue.")
    st.stop()
table = pd.DataFrame(rows)
table["item"] = [Path(p).name if p else s for p, s in zip(table["filepath"], table["sample_id"])]
st.dataframe(table[["item", "check", "owner", "severity", "status", "score", "threshold", "assignee", "batch",
                    "language", "vendor", "detail"]], hide_index=True, key="rv_table")
pages = max(1, -(-total // page_size))
if pages > 1:
    st.number_input("Page", 0, pages - 1, key="rv_page")

keys = [f"{item} · {check}" for item, check in zip(table["item"], table["check"])]
chosen = st.multiselect("Select flags to act on", keys, key="rv_selected")
selected = [(r["sample_id"], r["check"], r["version"]) for r, k in zip(rows, keys) if k in chosen]
a, b = st.columns(2)
assignee = a.text_input("Assign to (on confirm)", key="rv_assignee")
note = b.text_input("Reason or comment", key="rv_note")
buttons = st.columns(5)
action = None
for col, (label, key) in zip(buttons, [("Confirm", "confirm"), ("Dismiss", "dismiss"), ("Send back to vendor", "send_back"),
                                       ("Comment", "comment"), ("Reopen", "reopen")]):
    if col.button(label, key=f"rv_do_{key}", disabled=not selected):
        action = key
if action:
    try:
        result = review.bulk(ds, selected, action, actor, note=note, assignee=assignee or None)
    except DataStewardError as exc:
        st.error(str(exc))
    else:
        st.session_state["rv_last_bulk"] = result.bulk_id
        st.success(f"{action.replace('_', ' ')}: {len(result.done)} flags updated")
        for sid, check, message in result.conflicts:
            st.warning(message)
if st.session_state.get("rv_last_bulk") and st.button("Undo the last action", key="rv_undo"):
    try:
        undone = review.undo(ds, st.session_state.pop("rv_last_bulk"), actor)
        st.success(f"undone for {len(undone.done)} flags")
        for sid, check, message in undone.conflicts:
            st.warning(f"{check}: {message}")
    except DataStewardError as exc:
        st.error(str(exc))

with st.expander("History of an item"):
    item = st.selectbox("Item", sorted(set(table["item"])), key="rv_history_item")
    sid = table.loc[table["item"] == item, "sample_id"].iloc[0]
    entries = review.history(ds, sid)
    st.dataframe(pd.DataFrame(entries) if entries else pd.DataFrame(), hide_index=True, key="rv_history")
