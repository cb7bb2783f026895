"""The Review page through AppTest: filters, shared links, search, bulk actions with undo, fixes, export, return reports."""

from __future__ import annotations

from pathlib import Path

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


def act_on_dark(at: AppTest, n: int, action: str, **inputs) -> None:
    """Filter the queue to dark flags, select the first ``n``, fill ``inputs`` (key: text) and press ``action``."""
    at.multiselect(key="rv_check").set_value(["dark"]).run()
    at.multiselect(key="rv_selected").set_value(at.multiselect(key="rv_selected").options[:n]).run()
    for key, text in inputs.items():
        at.text_input(key=key).set_value(text).run()
    at.button(key=f"rv_do_{action}").click().run()


def test_filter_dismiss_in_bulk_and_undo(flagged):  # noqa: F811
    ds, dark = flagged
    at = open_review(ds.name)
    at.multiselect(key="rv_check").set_value(["dark"]).run()
    assert at.caption[0].value == "4 flags match"
    act_on_dark(at, 3, "dismiss")
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
    act_on_dark(at, 1, "confirm", rv_assignee="anonymous")
    assert "confirm: 1 flags updated" in at.success[0].value
    at.toggle(key="rv_mine").set_value(True).run()
    assert at.caption[0].value == "1 flags match"


def test_a_viewer_is_refused_with_a_message(flagged, monkeypatch):  # noqa: F811
    ds, _ = flagged
    monkeypatch.setenv("DATASTEWARD_ROLE", "viewer")
    at = open_review(ds.name)
    act_on_dark(at, 1, "confirm")
    assert "viewer" in at.error[0].value
    assert all(f["status"] == "open" for fl, _, _ in store.read_flags(ds).values() for f in fl if f["check"] == "dark")


def table_with(at: AppTest, column: str):
    """The first table on the page with ``column`` (plain tables carry no key in AppTest)."""
    return next(d.value for d in at.dataframe if column in d.value.columns)


def url(at: AppTest, param: str) -> list[str]:
    value = at.query_params.get(param)
    return [] if value is None else value if isinstance(value, list) else [value]


def open_review_at(name: str, **params) -> AppTest:
    """The Review page opened from a shared link: ``/review?dataset=name&key=value...``."""
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=120)
    at.query_params["dataset"] = name
    at.run()
    for key, value in params.items():
        at.query_params[key] = value
    at.switch_page("pages/review.py").run()
    assert not at.exception
    return at


def test_a_shared_link_restores_filters_page_and_item(flagged):  # noqa: F811
    ds, dark = flagged
    sid = dark[2][0]
    at = open_review_at(ds.name, check=["dark", "blurry"], owner="data_ops", severity=["high", "medium"],
                        status="open", q=".jpg", item=sid, mine="0")
    assert at.multiselect(key="rv_check").value == ["dark", "blurry"]
    assert at.multiselect(key="rv_owner").value == ["data_ops"]
    assert at.multiselect(key="rv_severity").value == ["high", "medium"]
    assert at.selectbox(key="rv_status").value == "open"
    assert at.text_input(key="rv_search").value == ".jpg"
    assert at.toggle(key="rv_mine").value is False
    assert at.selectbox(key="rv_item").value == sid
    blurry = sum(f["check"] == "blurry" for fl, _, _ in store.read_flags(ds).values() for f in fl)
    assert at.caption[0].value == f"{4 + blurry} flags match"
    # and every change goes back into the URL, defaults left out
    at.multiselect(key="rv_check").set_value(["dark"]).run()
    at.selectbox(key="rv_status").set_value("dismissed").run()
    assert url(at, "check") == ["dark"] and url(at, "status") == ["dismissed"]
    at.selectbox(key="rv_status").set_value("open").run()
    assert "status" not in at.query_params


def test_bad_link_values_are_dropped_with_a_warning(flagged):  # noqa: F811
    ds, _ = flagged
    at = open_review_at(ds.name, check=["dark", "<no such check>"], status="lost", page="many", item="nonsense")
    assert at.multiselect(key="rv_check").value == ["dark"]
    assert at.selectbox(key="rv_status").value == "open"
    warnings = " ".join(w.value for w in at.warning)
    assert "'<no such check>' not found" in warnings and "'lost' not found" in warnings
    assert "'nonsense' is not in" in warnings


def test_search_by_file_path_or_sample_id(flagged):  # noqa: F811
    ds, dark = flagged
    sid = dark[0][0]
    path = ds[sid].media_path
    at = open_review(ds.name)
    at.text_input(key="rv_search").set_value(Path(path).name.upper()).run()  # case does not matter
    n_flags = len(store.read_flags(ds, [sid])[sid][0])
    assert at.caption[0].value == f"{n_flags} flags match"
    assert set(at.dataframe(key="rv_table").value["item"]) == {Path(path).name}
    at.text_input(key="rv_search").set_value(sid).run()
    assert at.caption[0].value == f"{n_flags} flags match"
    assert url(at, "q") == [sid]
    at.text_input(key="rv_search").set_value("no-such-file").run()
    assert at.caption[0].value == "0 flags match" and not at.exception


def test_fix_a_label_keeps_the_old_value_and_shows_html_as_text(flagged):  # noqa: F811
    ds, dark = flagged
    sid = dark[1][0]
    old = ds[sid].ground_truth.label
    at = open_review_at(ds.name, check="dark", item=sid)
    facts = table_with(at, "field").set_index("field")["value"]
    assert facts["label"] == old
    at.text_input(key="rv_fix_label").set_value("<b>night</b>").run()
    at.button(key="rv_fix_save").click().run()
    assert not at.exception
    assert at.success[0].value == f"Fixed {sid}: label {old!r} → '<b>night</b>'"
    doc = ds._sample_collection.find_one({"_id": ds[sid]._id})
    assert doc["ground_truth"]["label"] == "<b>night</b>"
    assert (doc["corrections"][-1]["old_label"], doc["corrections"][-1]["who"]) == (old, "anonymous")
    assert all(f["status"] == "fixed" for f in doc["flags"])
    facts = table_with(at, "field").set_index("field")["value"]
    assert facts["label"] == "<b>night</b>"  # shown as text in a table cell, never rendered
    assert at.text_input(key="rv_fix_label").value == ""
    assert "fix" in list(table_with(at, "action")["action"])


def test_export_offers_every_matching_flag(flagged):  # noqa: F811
    from datasteward import exports

    ds, dark = flagged
    at = open_review(ds.name)
    at.multiselect(key="rv_check").set_value(["dark"]).run()
    assert at.get("download_button")[0].label == "Export this queue (4 flags, CSV)"
    table = exports.queue_table(ds, check=["dark"], status="open", page_size=3)  # paged: 3 + 1
    assert sorted(table["sample_id"]) == sorted(sid for sid, _ in dark)
    assert set(table["check"]) == {"dark"} and set(table["status"]) == {"open"}


def test_send_back_shows_in_the_return_report(flagged):  # noqa: F811
    ds, dark = flagged
    at = open_review(ds.name)
    act_on_dark(at, 2, "send_back", rv_note="too dark to label")
    assert "send back: 2 flags updated" in at.success[0].value
    assert any(c.value == "2 flags sent back" for c in at.caption)
    at.selectbox(key="rv_ret_vendor").set_value("acme").run()
    assert any(c.value == "2 flags sent back" for c in at.caption)
    assert url(at, "rvendor") == ["acme"]


@pytest.fixture
def clips(tmp_path, dataset_name):
    """Two recordings with transcripts, imported but not scanned (no flags)."""
    from datasteward.ingest import import_source
    from test_scan import heldout_delivery

    import_source(heldout_delivery(tmp_path, images=0, clips=2) / "manifest.csv", dataset_name)
    return store.open_dataset(dataset_name)


def test_fix_a_transcript_of_an_item_opened_by_link(clips):
    ds = clips
    sid = ds.first().id
    old = ds[sid].transcript
    at = open_review_at(ds.name, item=sid)
    assert at.info[0].value == "Nothing in this queue."
    assert at.selectbox(key="rv_item").value == sid
    at.text_area(key="rv_fix_transcript").set_value("seven <i>exactly</i>").run()
    at.button(key="rv_fix_save").click().run()
    assert at.success[0].value == f"Fixed {sid}: transcript corrected"
    doc = ds._sample_collection.find_one({"_id": ds[sid]._id})
    assert doc["transcript"] == "seven <i>exactly</i>"
    assert doc["corrections"][-1]["old_transcript"] == old
    assert [h["action"] for h in review.history(ds, sid)] == ["fix"]
