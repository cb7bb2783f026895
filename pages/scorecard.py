"""Scorecard: per vendor and per annotator, estimated accuracy, agreement and how their flags were judged."""

import streamlit as st

from datasteward import scorecard, store, ui

st.title("Scorecard")
name = ui.require_dataset()
ds = store.open_dataset(name)
info = ui.scan_info(name, ui.dataset_stamp(name))
if not info:
    st.info("Run a scan first (Home page): the scorecard comes from it.")
    st.stop()

SORTS = {"estimated accuracy": "ds_accuracy", "agreement with consensus": "agreement_with_consensus",
         "items": "items"}

alpha = info.get("alpha_dataset")
st.metric("Agreement among annotators (Krippendorff's alpha)", "n/a" if alpha is None else f"{alpha:.2f}")
vendors = scorecard.vendor_scorecard(ds)
chosen = ui.param_multiselect("Vendors (all if none chosen)", sorted(vendors["vendor"].dropna()), key="sc_vendor",
                              param="vendor")
st.subheader("Vendors")
st.dataframe(vendors[vendors["vendor"].isin(chosen)] if chosen else vendors, hide_index=True, key="sc_vendors")
st.subheader("Annotators")
annotators = scorecard.annotator_scorecard(ds)
if annotators.empty:
    st.info("No items have several annotators, so no annotator can be scored.")
    st.stop()
if chosen:
    annotators = annotators[annotators["vendor"].isin(chosen)]
sort = ui.param_select("Sort annotators by (lowest first)", list(SORTS), key="sc_sort", param="sort")
annotators = annotators.sort_values(SORTS[sort], kind="stable").reset_index(drop=True)
ui.chart("accuracy_bars", annotators, "annotator", key="sc_chart")
st.dataframe(annotators, hide_index=True, key="sc_annotators")
