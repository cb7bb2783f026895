"""The Drift page through AppTest on the scanned demo: alerts with owners, shareable state, pair and trend charts."""

from __future__ import annotations

from urllib.parse import parse_qs, urlparse

import pytest
from streamlit.testing.v1 import AppTest

from conftest import REPO

pytestmark = pytest.mark.slow


def open_drift(name: str, **params) -> AppTest:
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=300)
    at.query_params["dataset"] = name
    for key, value in params.items():
        at.query_params[key] = value
    at.run()
    at.switch_page("pages/drift.py").run()
    assert not at.exception, at.exception
    return at


def metric_value(at: AppTest, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)


def test_vendor_drift_lists_the_bad_delivery_with_owners_and_links(scanned_demo):
    at = open_drift(scanned_demo, dr_by="vendor")
    assert at.selectbox(key="dr_by").value == "vendor"  # restored from the link
    alerts = at.dataframe[0].value
    bad = alerts[alerts["group"] == "acme-annotations · b05"].set_index("metric")
    assert bad.loc["dark rate", "owner"] == "data_ops"
    assert bad.loc["model_disagreement rate", "owner"] == "ml"
    link = urlparse(bad.loc["dark rate", "items"])
    query = parse_qs(link.query)
    assert link.path == "/images"
    assert query == {"dataset": [scanned_demo], "im_vendor": ["acme-annotations"], "im_batch": ["b05"],
                     "im_check": ["dark"]}
    assert int(metric_value(at, "Drift alerts (for the worse)")) == len(alerts)


def test_changing_the_comparison_is_kept_in_the_url_and_picks_a_pair(scanned_demo):
    at = open_drift(scanned_demo)
    at.selectbox(key="dr_by").set_value("language").run()
    assert not at.exception
    assert at.query_params["dr_by"] == "language"
    at.selectbox(key="dr_group").set_value("sw · b04").run()
    at.selectbox(key="dr_metric").set_value("snr_db").run()
    assert not at.exception
    caption = at.caption[-1].value if "sw · b04 against" in at.caption[-1].value else \
        next(c.value for c in at.caption if "sw · b04 against" in c.value)
    assert "sw · earlier batches (b01–b03): drift" in caption and "owner data_ops" in caption
    assert at.query_params["dr_group"] == "sw · b04"


def test_a_baseline_reference_compares_every_other_batch_with_it(scanned_demo):
    at = open_drift(scanned_demo, dr_ref="baseline", dr_base="b02")
    assert at.selectbox(key="dr_base").value == "b02"
    assert set(at.selectbox(key="dr_group").options) == {"b01", "b03", "b04", "b05", "b06"}
    earlier = open_drift(scanned_demo)
    assert set(earlier.selectbox(key="dr_group").options) == {"b02", "b03", "b04", "b05", "b06"}


def test_a_bad_link_value_is_reported_not_fatal(scanned_demo):
    at = open_drift(scanned_demo, dr_by="speaker")
    assert any("dr_by" in w.value and "speaker" in w.value for w in at.warning)
    assert at.selectbox(key="dr_by").value == "batch"
