"""The Review page through AppTest: filter the queue, act in bulk, undo, and see each item's history."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from conftest import REPO
from datasteward import review, store
from test_review import flagged  # noqa: F401  (fixture)


def open_review(name: str) -> AppTest:
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=120)
    at.query_params["dataset"] = name
    at.run()
    at.switch_page("pages/review.py").run()
    assert not at.exception
    return at


def test_filter_dismiss_in_bulk_and_undo(flagged):  # noqa: F811
    ds, dark = flagged
    at = open_review(ds.name)
    at.multiselect(key="rv_check").set_value(["dark"]).run()
    assert at.caption[0].value == "4 flags match"
    at.multiselect(key="rv_selected").set_value(at.multiselect(key="rv_selected").options[:3]).run()
    at.button(key="rv_do_dismiss").click().run()
    assert not at.exception
    assert "dismiss: 3 flags updated" in at.success[0].value
    statuses = sorted(f["status"] for fl, _, _ in store.read_flags(ds).values() for f in fl if f["check"] == "dark")
    assert statuses == ["dismissed", "dismissed", "dismissed", "open"]
    at.button(key="rv_undo").click().run()
    assert "undone for 3 flags" in at.success[0].value
    assert all(f["status"] == "open" for fl, _, _ in store.read_flags(ds).values() for f in fl if f["check"] == "dark")
    trails = [[h["action"] for h in review.history(ds, sid)] for sid, _ in dark]
    assert sorted(trails) == [[], ["dismiss", "undo"], ["dismiss", "undo"], ["dismiss", "undo"]]


def test_confirm_with_assignee_shows_in_my_queue(flagged):  # noqa: F811
    ds, dark = flagged
    at = open_review(ds.name)
    at.multiselect(key="rv_check").set_value(["dark"]).run()
    at.multiselect(key="rv_selected").set_value(at.multiselect(key="rv_selected").options[:1]).run()
    at.text_input(key="rv_assignee").set_value("anonymous").run()
    at.button(key="rv_do_confirm").click().run()
    assert "confirm: 1 flags updated" in at.success[0].value
    at.toggle(key="rv_mine").set_value(True).run()
    assert at.caption[0].value == "1 flags match"


def test_a_viewer_is_refused_with_a_message(flagged, monkeypatch):  # noqa: F811
    ds, _ = flagged
    monkeypatch.setenv("DATASTEWARD_ROLE", "viewer")
    at = open_review(ds.name)
    at.multiselect(key="rv_check").set_value(["dark"]).run()
    at.multiselect(key="rv_selected").set_value(at.multiselect(key="rv_selected").options[:1]).run()
    at.button(key="rv_do_confirm").click().run()
    assert "viewer" in at.error[0].value
    assert all(f["status"] == "open" for fl, _, _ in store.read_flags(ds).values() for f in fl if f["check"] == "dark")
