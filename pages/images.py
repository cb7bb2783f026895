"""Images: a paged grid of thumbnails with labels drawn, filters in the URL, a detail view, manual flags, FiftyOne."""

import streamlit as st

from datasteward import browse
from datasteward import browse_ui as bu

P = "im"  # widget keys and query parameters of this page start with it
COLUMNS, ROWS = 6, 4

st.title("Images")
name = st.session_state.get("dataset_name")
if name is None:
    st.info("No dataset yet: import one on the Home page.")
    st.stop()
page = bu.Browser(name, "image", P, COLUMNS * ROWS, "images")

row = page.selected()
if row is not None:
    with st.container(border=True, key=f"{P}_detail"):
        left, right = st.columns([1, 2])
        with left:
            st.image(bu.row_thumbnail(row), width="stretch")
            if row["media_error"]:
                st.error(f"{bu.name_of(row)} cannot be decoded: {row['media_error']}")
            elif row["media_path"] and row["media_path"] != row["thumbnail"]:
                try:
                    st.image(row["media_path"], caption="original", width="stretch")
                except Exception as exc:  # the file moved or broke since import
                    st.warning(f"{bu.name_of(row)}: the original cannot be shown ({exc})")
            bu.close_button(P)
        with right:
            bu.item_header(row)
            truth = row["label"] if row["label"] is not None else ", ".join(str(l) for l, _ in row["detections"])
            facts = {"label": truth, "prediction": row["prediction"], "confidence": row["confidence"],
                     "consensus": row["consensus_label"], "agreement": row["agreement"]}
            st.dataframe([{k: ("" if v is None else str(v)) for k, v in facts.items()}], hide_index=True,
                         key=f"{P}_facts")
            if browse.disagrees(row):
                st.warning(f"The model predicts {row['prediction']!r} where the label says {row['label']!r}.")
            st.markdown("**Each annotator's label**")
            st.dataframe(bu.annotators_table(row, "label"), hide_index=True, key=f"{P}_annotators")
            page.review_tables(row)

page.stop_if_empty()
tiles = bu.page_thumbnails(page.result.rows)
for start in range(0, len(page.result.rows), COLUMNS):
    row_items = zip(page.result.rows[start : start + COLUMNS], tiles[start : start + COLUMNS])
    for col, (item, tile) in zip(st.columns(COLUMNS), row_items):
        with col:
            st.image(tile, width="stretch")
            st.caption(f"{bu.md(bu.name_of(item))} · {bu.md(item['batch'])}  \n{bu.md(bu.flag_summary(item))}")
            bu.open_button(item, P)
