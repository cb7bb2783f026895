"""The Images and Audio pages through AppTest: filters (from widgets and the URL), paging, sort, search, detail, manual flags."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from conftest import REPO
from datasteward import store
from test_browse import IMAGES, browse_set, fresh_set  # noqa: F401  (fixtures)


def open_page(name: str, page: str, **params) -> AppTest:
    """The app on ``page`` for dataset ``name``, with the URL's other query parameters ``params``."""
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=120)
    at.query_params["dataset"] = name
    for key, value in params.items():
        at.query_params[key] = value
    at.run()
    at.switch_page(page).run()
    assert not at.exception, at.exception
    return at


def count_line(at: AppTest) -> str:
    return next(c.value for c in at.caption if " match" in c.value)


def table(at: AppTest, column: str):
    """The first table with ``column`` (read-only tables have no key AppTest can find)."""
    return next(d.value for d in at.dataframe if column in d.value.columns)


def tile_names(at: AppTest) -> list[str]:
    """File names of the grid's tiles, in order (their captions start with the escaped name)."""
    return [c.value.split(" · ")[0].replace("\\", "") for c in at.caption if c.value.startswith("img")]


def test_images_filter_by_widgets(browse_set):  # noqa: F811
    ds, _, _ = browse_set
    at = open_page(ds.name, "pages/images.py")
    assert count_line(at) == f"{IMAGES} images match · showing 1–24"
    assert len(tile_names(at)) == 24
    at.multiselect(key="im_check").set_value(["dark"]).run()
    assert count_line(at) == "3 images match · showing 1–3"
    assert tile_names(at) == ["img_00.jpg", "img_01.jpg", "img_02.jpg"]
    at.multiselect(key="im_status").set_value(["open"]).run()  # the same flag: dark and open
    assert count_line(at).startswith("1 images match")
    at.multiselect(key="im_check").set_value([]).run()
    at.multiselect(key="im_status").set_value([]).run()
    at.selectbox(key="im_metric").set_value("brightness").run()
    at.number_input(key="im_lo").set_value(0.05).run()
    at.number_input(key="im_hi").set_value(0.1).run()
    assert count_line(at).startswith("6 images match")
    at.toggle(key="im_disagree").set_value(True).run()
    assert count_line(at).startswith("1 images match") and tile_names(at) == ["img_07.jpg"]
    assert not at.exception


def test_images_filters_come_from_the_url(browse_set):  # noqa: F811
    ds, _, _ = browse_set
    at = open_page(ds.name, "pages/images.py", im_batch="b2", im_language="de")
    assert at.multiselect(key="im_batch").value == ["b2"]
    assert count_line(at).startswith("8 images match")
    at = open_page(ds.name, "pages/images.py", im_label=["cat", "bird"], im_vendor="va")
    assert count_line(at).startswith("7 images match")  # cat or bird among photos 0-9


def test_images_page_through_and_sort(browse_set):  # noqa: F811
    ds, _, _ = browse_set
    at = open_page(ds.name, "pages/images.py")
    at.pagination(key="im_page").set_value(2).run()
    assert count_line(at) == f"{IMAGES} images match · showing 25–30"
    assert tile_names(at) == [f"img_{i:02d}.jpg" for i in range(24, 30)]
    at.selectbox(key="im_sort").set_value("brightness").run()
    at.toggle(key="im_desc").set_value(True).run()
    assert count_line(at) == f"{IMAGES} images match · showing 1–24"  # a new order starts at page 1
    assert tile_names(at)[:3] == ["img_29.jpg", "img_28.jpg", "img_27.jpg"]
    at = open_page(ds.name, "pages/images.py", im_sort="brightness", im_desc="true", im_page="2")
    assert tile_names(at) == [f"img_{i:02d}.jpg" for i in range(5, -1, -1)]


@pytest.mark.parametrize("query, expected", [("B2/IMG_1", 5), ("img_2", 10), ("nothing like it", 0)],
                         ids=["path-any-case", "substring", "no-match"])
def test_images_search_by_path(browse_set, query, expected):  # noqa: F811
    ds, _, _ = browse_set
    at = open_page(ds.name, "pages/images.py")
    at.text_input(key="im_q").set_value(query).run()
    assert count_line(at).startswith(f"{expected} images match")
    if not expected:
        assert "No images match these filters." in [i.value for i in at.info]


def test_images_search_by_id(browse_set):  # noqa: F811
    ds, photo, _ = browse_set
    at = open_page(ds.name, "pages/images.py", im_q=photo[11])
    assert count_line(at).startswith("1 images match") and tile_names(at) == ["img_11.jpg"]


def test_images_detail_shows_labels_flags_and_metrics(browse_set):  # noqa: F811
    ds, photo, _ = browse_set
    at = open_page(ds.name, "pages/images.py")
    at.button(key=f"im_open_{photo[2]}").click().run()
    assert not at.exception
    assert any(photo[2] in t.value for t in at.text)
    assert "The model predicts 'cat' where the label says 'bird'." in [w.value for w in at.warning]
    flags = table(at, "severity")
    assert sorted(zip(flags["check"], flags["status"])) == [("blurry", "open"), ("dark", "confirmed")]
    assert table(at, "metric").set_index("metric")["value"].to_dict() == {
        "brightness": pytest.approx(0.02)}
    assert list(table(at, "annotator")["label"]) == ["bird"]
    at.button(key="im_close").click().run()
    assert not any(photo[2] in t.value for t in at.text)


def test_a_wrong_item_in_the_url_is_a_warning(browse_set):  # noqa: F811
    ds, _, clip = browse_set
    at = open_page(ds.name, "pages/images.py", item="not-an-id")
    assert any("No image item with id not-an-id" in w.value for w in at.warning)
    at = open_page(ds.name, "pages/images.py", item=clip[0])  # an audio clip is not an image
    assert any("No image item" in w.value for w in at.warning)


def test_flag_an_image_by_hand(fresh_set):  # noqa: F811
    ds, photo, _ = fresh_set
    at = open_page(ds.name, "pages/images.py", item=photo[9])
    at.text_area(key="im_flag_reason").set_value("a <b>dog</b>, not a cat")  # a form: sent on submit
    at.selectbox(key="im_flag_owner").set_value("ml")
    at.button(key="im_flag_submit").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert at.success[0].value.startswith("img_09.jpg flagged for ml")
    flags = store.read_flags(ds, [photo[9]])[photo[9]][0]
    assert [(f["check"], f["owner"], f["status"], f["detail"]) for f in flags] == [
        ("manual", "ml", "open", "a <b>dog</b>, not a cat")]
    assert list(table(at, "severity")["check"]) == ["manual"]  # the page shows it at once
    at.multiselect(key="im_check").set_value(["manual"]).run()
    assert count_line(at).startswith("1 images match")


def test_a_viewer_cannot_flag(fresh_set, monkeypatch):  # noqa: F811
    ds, photo, _ = fresh_set
    monkeypatch.setenv("DATASTEWARD_ROLE", "viewer")
    at = open_page(ds.name, "pages/images.py", item=photo[9])
    at.text_area(key="im_flag_reason").set_value("wrong")
    at.button(key="im_flag_submit").click().run()
    assert "viewer" in at.error[0].value
    assert store.read_flags(ds, [photo[9]])[photo[9]][0] == []


def test_open_in_fiftyone_saves_the_filter_as_a_view(browse_set, monkeypatch):  # noqa: F811
    ds, _, _ = browse_set
    launched = []
    monkeypatch.setenv("DATASTEWARD_FIFTYONE_PORT", "5999")
    monkeypatch.setattr(store, "launch_app", lambda name, **kw: launched.append((name, kw)) or object())
    at = open_page(ds.name, "pages/images.py", im_batch="b2")
    at.button(key="im_fiftyone").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert launched == [(ds.name, {"port": 5999, "address": "127.0.0.1"})]
    link = at.get("link_button")[0].proto
    assert link.url.startswith(f"http://localhost:5999/datasets/{ds.name}?view=datasteward-image-")
    slug = link.url.split("view=")[1]
    assert ds.load_saved_view(slug).count() == 15 and "15 samples" in link.label
    at.multiselect(key="im_batch").set_value(["b1", "b2"]).run()  # the link follows the filter
    assert at.get("link_button")[0].proto.url != link.url
    assert len(launched) == 1  # one App per server


# --- audio ---------------------------------------------------------------------------------

def test_audio_list_shows_media_transcript_diffs_and_corrupt_clips(browse_set):  # noqa: F811
    ds, _, clip = browse_set
    at = open_page(ds.name, "pages/audio.py")
    assert count_line(at) == "5 clips match · showing 1–5"
    assert any("clip_broken.wav cannot be decoded" in w.value for w in at.warning)
    assert len(at.get("audio")) == 4  # a player for every clip that decodes
    assert len(at.get("image")) == 8  # its spectrogram and its waveform, as pictures: no chart in the list
    assert not at.get("vega_lite_chart")
    diffs = [h.proto.body for h in at.html if "ann3" in h.proto.body]
    assert len(diffs) == 4
    assert all("&lt;b&gt;six&lt;/b&gt;" in d and "<b>six</b>" not in d for d in diffs)  # shown as text
    assert all(">six seven</del>" in d and "&gt; eleven</ins>" in d for d in diffs)


def test_audio_filter_search_and_detail(browse_set):  # noqa: F811
    ds, _, clip = browse_set
    at = open_page(ds.name, "pages/audio.py", au_metric="snr_db", au_lo="15")
    assert count_line(at).startswith("2 clips match")
    at.text_input(key="au_q").set_value("clip_3").run()
    assert count_line(at).startswith("1 clips match")
    at.button(key=f"au_open_{clip[3]}").click().run()
    assert not at.exception
    assert table(at, "metric").set_index("metric")["value"].to_dict() == {"snr_db": 30.0}
    assert len(at.get("vega_lite_chart")) == 1  # the detail view's waveform is a chart with axes
    assert sorted(table(at, "annotator")["transcript"]) == [
        "five <b>six</b> eleven", "five six seven", "five six seven"]


def test_flag_a_clip_by_hand(fresh_set):  # noqa: F811
    ds, _, clip = fresh_set
    at = open_page(ds.name, "pages/audio.py", item=clip[1])
    at.text_area(key="au_flag_reason").set_value("speaker says eleven")
    at.button(key="au_flag_submit").click().run()
    assert at.success[0].value.startswith("clip_1.wav flagged for annotation")
    assert [f["check"] for f in store.read_flags(ds, [clip[1]])[clip[1]][0]] == ["manual"]


def test_pages_open_on_the_scanned_demo(scanned_demo):
    for page, noun in [("pages/images.py", "images"), ("pages/audio.py", "clips")]:
        at = open_page(scanned_demo, page)
        assert f"{noun} match" in count_line(at)
        at = open_page(scanned_demo, page, **{f"{page[6:8]}_status": "open"})
        assert not at.exception
