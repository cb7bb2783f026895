"""Scorecards on the scanned demo: the spammer and the weaker vendor stand out; review rates count in the database."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from conftest import REPO
from datasteward import review, scorecard, store
from datasteward.review import Actor
from test_review import flagged  # noqa: F401  (fixture)

pytestmark = pytest.mark.slow


def test_scorecard_page_on_the_demo(scanned_demo):
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=120)
    at.query_params["dataset"] = scanned_demo
    at.run()
    at.switch_page("pages/scorecard.py").run()
    assert not at.exception
    assert [i.value for i in at.info] == []
    vendors_table, annotators_table = at.dataframe  # in page order
    annotators = annotators_table.value
    assert annotators.iloc[0]["annotator"] == "ann07"  # worst first
    vendors = vendors_table.value.set_index("vendor")
    assert vendors.loc["polyglot-data", "ds_accuracy"] < vendors.loc["acme-annotations", "ds_accuracy"]


def test_review_rates_count_decisions(flagged):  # noqa: F811
    ds, dark = flagged
    ana = Actor("ana")
    review.act(ds, dark[0][0], "dark", "dismiss", ana, version=dark[0][1]["version"])
    review.act(ds, dark[1][0], "dark", "confirm", ana, version=dark[1][1]["version"])
    review.act(ds, dark[2][0], "dark", "send_back", ana, version=dark[2][1]["version"], note="too dark")
    rates = scorecard.review_rates(ds, "vendor").set_index("vendor").loc["acme"]
    flags = sum(len(fl) for fl, _, _ in store.read_flags(ds).values())
    assert (rates["flags"], rates["dismissed"], rates["confirmed"], rates["sent_back"]) == (flags, 1, 1, 1)
    assert rates["confirmed_rate"] == pytest.approx(2 / 3) and rates["dismissed_rate"] == pytest.approx(1 / 3)
