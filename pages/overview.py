"""Overview: headline quality KPIs, the top problems, and who owns what (owning layer x batch and x language)."""

import streamlit as st

from datasteward import overview, store, ui
from datasteward.checks import OWNER_DUTIES


@st.cache_data(max_entries=32, show_spinner=False)
def load(name: str, stamp: tuple) -> dict:
    return overview.tables(store.open_dataset(name))


st.title("Overview")
name = st.session_state.get("dataset_name")
if name is None:
    st.info("No dataset yet: import one on the Home page.")
    st.stop()
data = load(name, ui.dataset_stamp(name))
k = data["kpis"]

cols = st.columns(7)
cols[0].metric("Samples", f"{k['samples']:,}")
cols[1].metric("Scanned", f"{k['scanned_share']:.0%}", help=f"{k['scanned']:,} items measured by a scan")
cols[2].metric("Open flags", f"{k['open_flags']:,}")
cols[3].metric("Items with open flags", f"{k['items_flagged']:,}")
cols[4].metric("Share of items flagged", f"{k['flagged_share']:.1%}")
cols[5].metric("Open high-severity", f"{k['open_high']:,}", help=f"on {k['items_high']:,} items")
cols[6].metric("Agreement (alpha)", "n/a" if k["alpha"] is None else f"{k['alpha']:.2f}",
               help="Krippendorff's alpha among annotators, from the last scan")
if k["samples"] == 0:
    st.info("This dataset is empty: import a delivery on the Home page.")
    st.stop()
if k["scanned"] == 0:
    st.info("Not scanned yet: run a scan on the Home page to measure the items and raise flags.")
    st.stop()

st.subheader("Who owns what")
totals = data["batch"].groupby("owner", sort=False)[["open_flags"]].sum()["open_flags"]
for owner, duty in OWNER_DUTIES.items():
    n = int(totals.get(owner, 0))
    st.markdown(f"**{owner}** — {duty} [{n:,} open flags]({overview.review_link(name, owner=owner)})")

problems = data["problems"]
st.subheader("Top problems")
if problems.empty:
    st.success("No open flags.")
else:
    top = problems.head(10).copy()
    top["review"] = [overview.review_link(name, check=c, owner=o) for c, o in zip(top["check"], top["owner"])]
    left, right = st.columns(2)
    ui.chart("problem_bars", top, key="ov_problems_chart", container=left)
    right.dataframe(top[["check", "owner", "open_flags", "share", "review"]], hide_index=True,
                    key="ov_problems", column_config={
                        "share": st.column_config.NumberColumn("share of samples", format="percent"),
                        "review": st.column_config.LinkColumn("items", display_text="open")})

for by, label in (("batch", "batch"), ("language", "language")):
    frame = data[by]
    st.subheader(f"Ownership by {label}")
    st.caption("Each cell: open flags · share of the cell's items with an open flag of that layer. "
               "Click a cell to see its items on the Review page.")
    if frame.empty:
        st.info(f"No {label} values yet.")
        continue
    order = list(dict.fromkeys(frame[by]))
    linked = frame.assign(href=[overview.review_link(name, owner=o, **{by: v}) if v != store.MISSING else None
                                for o, v in zip(frame["owner"], frame[by])])
    ui.chart("ownership_heatmap", linked, by, sort=order, key=f"ov_heatmap_{by}")
    with st.expander(f"Table: owning layer x {label}, with links", expanded=len(order) <= 12):
        st.markdown(overview.link_table(frame, by, name))
