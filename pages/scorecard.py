"""Scorecard: per vendor and per annotator, estimated accuracy, agreement and how their flags were judged."""

import streamlit as st

from datasteward import charts, scorecard, store, ui

st.title("Scorecard")
name = ui.require_dataset()
ds = store.open_dataset(name)
info = ui.scan_info(name, ui.dataset_stamp(name))
if not info:
    st.info("Run a scan first (Home page): the scorecard comes from it.")
    st.stop()

alpha = info.get("alpha_dataset")
st.metric("Agreement among annotators (Krippendorff's alpha)", "n/a" if alpha is None else f"{alpha:.2f}")
st.subheader("Vendors")
vendors = scorecard.vendor_scorecard(ds)
st.dataframe(vendors, hide_index=True, key="sc_vendors")
st.subheader("Annotators")
annotators = scorecard.annotator_scorecard(ds)
if annotators.empty:
    st.info("No items have several annotators, so no annotator can be scored.")
    st.stop()
st.altair_chart(charts.accuracy_bars(annotators, "annotator"), key="sc_chart")
st.dataframe(annotators, hide_index=True, key="sc_annotators")
