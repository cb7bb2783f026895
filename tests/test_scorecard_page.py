"""The Scorecard page keeps its vendor filter and sort order in the URL."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from conftest import REPO

pytestmark = pytest.mark.slow


def open_scorecard(name: str, **params) -> AppTest:
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=120)
    at.query_params["dataset"] = name
    at.run()
    at.query_params.update(params)
    at.switch_page("pages/scorecard.py").run()
    assert not at.exception
    return at


def test_a_link_restores_the_vendor_filter_and_sort(scanned_demo):
    at = open_scorecard(scanned_demo, vendor="acme-annotations", sort="items")
    assert at.multiselect(key="sc_vendor").value == ["acme-annotations"]
    assert at.selectbox(key="sc_sort").value == "items"
    vendors, annotators = (d.value for d in at.dataframe)
    assert list(vendors["vendor"]) == ["acme-annotations"]
    assert set(annotators["vendor"]) == {"acme-annotations"}
    assert list(annotators["items"]) == sorted(annotators["items"])
    at.multiselect(key="sc_vendor").set_value([]).run()
    at.selectbox(key="sc_sort").set_value("estimated accuracy").run()
    assert "vendor" not in at.query_params and "sort" not in at.query_params
    vendors, annotators = (d.value for d in at.dataframe)
    assert len(vendors) == 2 and annotators.iloc[0]["annotator"] == "ann07"  # the spammer, worst first
