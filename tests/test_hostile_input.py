"""A hostile delivery (bombs, empty and odd media, NaN audio, disguised files, hostile text) imports and scans
without a crash; each bad item says why, good ones get metrics, and the pages show HTML labels as text."""

from __future__ import annotations

import uuid

import pytest

from datasteward import store
from datasteward.errors import InputError
from datasteward.ingest import import_source
from hostile import IMG_LABEL, SCRIPT_LABEL, write_corpus, write_latin1_manifest

# What each broken file must be reported as, in the import report, the item and its corrupt_file flag.
REASONS = {
    "bomb.png": "image too large to decode safely",
    "zero.png": "not a recognised image format",
    "nan_inf.wav": "20 audio samples are not finite numbers (10 NaN, 10 infinite)",
    "empty.wav": "audio has no samples",
    "zero_bytes.wav": "zero-byte file",
    "notes.wav": "cannot decode audio",
}


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    """The hostile corpus, imported from its manifest and scanned once: (corpus, import report, scan report, name)."""
    from datasteward.scan import scan

    corpus = write_corpus(tmp_path_factory.mktemp("hostile"))
    name = f"hostile-{uuid.uuid4().hex[:8]}"
    report = import_source(corpus.manifest, name, workers=2)
    scanned = scan(name, workers=2)
    yield corpus, report, scanned, name
    store.delete_dataset(name)


def samples_by_file(name: str) -> dict:
    from pathlib import Path

    return {Path(s.media_path).name: s for s in store.open_dataset(name)}


def test_every_file_is_imported_and_scanned_without_a_crash(hostile):
    corpus, report, scanned, name = hostile
    assert corpus.bad == REASONS
    assert report.added == len(corpus.bad) + len(corpus.good) == 17
    assert report.errors == []
    assert report.corrupt == len(REASONS)
    assert scanned.errors == [] and scanned.total == 17


@pytest.mark.parametrize("file", sorted(REASONS), ids=sorted(REASONS))
def test_a_bad_item_is_reported_with_its_reason(hostile, file):
    corpus, report, _, name = hostile
    reason = REASONS[file]
    assert any(w.message.startswith(f"{file}: {reason}") and w.message.endswith("imported as corrupt")
               for w in report.warnings), [w.message for w in report.warnings]
    sample = samples_by_file(name)[file]
    assert reason in sample.media_error
    [corrupt] = [f for f in sample.flags if f["check"] == "corrupt_file"]
    assert corrupt["status"] == "open" and reason in corrupt["detail"]


def test_good_items_get_their_metrics(hostile):
    corpus, _, _, name = hostile
    by_file = samples_by_file(name)
    for file in corpus.good:
        sample = by_file[file]
        assert sample.media_error is None, file
        metric = "duration_s" if sample.modality == "audio" else "brightness_mean"
        assert sample.quality[metric] is not None, file


def test_odd_but_valid_images_are_measured_as_they_look(hostile):
    _, _, _, name = hostile
    by_file = samples_by_file(name)
    # 16-bit pixels are scaled to 8 bits, not clipped to white.
    deep = by_file["deep16.png"].quality
    assert deep.white_fraction == 0.0 and deep.brightness_mean == pytest.approx(0.47, abs=0.05)
    # The same picture as CMYK JPEG, palette PNG and GIF measures about the same brightness.
    for file in ("cmyk.jpg", "palette.png", "palette.gif"):
        assert by_file[file].quality.brightness_mean == pytest.approx(0.47, abs=0.05), file
    # EXIF orientation 6: stored 120x40, shown (and measured) 40x120.
    for file in ("rotated.jpg", "rotated.png"):
        meta = by_file[file].metadata
        assert (meta.width, meta.height) == (40, 120), file
    line = by_file["line.png"]
    assert (line.metadata.width, line.metadata.height) == (100000, 1)
    assert {"odd_aspect_ratio", "odd_size"} <= {f["check"] for f in line.flags}


def test_odd_but_valid_audio_is_measured_and_flagged_for_what_it_is(hostile):
    _, report, _, name = hostile
    by_file = samples_by_file(name)
    eight, ultra, m4a = by_file["eight.wav"], by_file["ultrasonic.wav"], by_file["really_m4a.mp3"]
    assert (eight.audio.channels, eight.quality.duration_s) == (8, pytest.approx(1.0))
    assert "channel_mismatch" in {f["check"] for f in eight.flags}
    assert (ultra.audio.sample_rate, ultra.quality.duration_s) == (384000, pytest.approx(0.5))
    assert "sample_rate_mismatch" in {f["check"] for f in ultra.flags}
    assert m4a.audio.container == "MP4" and m4a.quality.duration_s == pytest.approx(1.0, abs=0.05)
    assert any(w.message == "really_m4a.mp3: the file is MP4 audio, not MP3 as its .mp3 extension says; decoded anyway"
               for w in report.warnings)


def test_hostile_text_is_kept_verbatim_and_broken_text_is_named(hostile):
    corpus, report, _, name = hostile
    by_file = samples_by_file(name)
    for file, label in corpus.labels.items():
        assert by_file[file].ground_truth.label == label
    for file, transcript in corpus.transcripts.items():
        assert by_file[file].transcript == transcript
    [surrogate] = [w for w in report.warnings if "lone surrogate" in w.message]
    assert surrogate.where.endswith("delivery.jsonl:17")
    assert surrogate.message == ("transcript is not valid Unicode text (lone surrogate U+DCE9, from bytes that were "
                                 "not UTF-8); replaced by U+FFFD")
    assert by_file["latin1.wav"].transcript == "caf\ufffd au lait"


def test_a_latin1_transcript_in_a_utf8_manifest_names_its_line(hostile, dataset_name):
    corpus = hostile[0]
    with pytest.raises(InputError) as err:
        import_source(write_latin1_manifest(corpus), dataset_name)
    assert err.value.where.endswith("latin1.csv:3") and "not valid utf-8 text (byte 0xe9" in str(err.value)
    assert not store.dataset_exists(dataset_name)


def browser_case(page_name: str, name: str) -> tuple[str, str, list[str]]:
    """The page path that shows a hostile label, the text that says it is drawn, and the texts it must show."""
    from urllib.parse import quote

    if page_name == "review":  # the item's label is the placeholder of the fix box
        sid = next(s.id for s in store.open_dataset(name) if s.media_path.endswith("cmyk.jpg"))
        return f"review?dataset={name}&item={sid}", "Save the fix", []
    if page_name == "images":  # the label filter's chip holds the label
        return f"images?dataset={name}&im_label={quote(SCRIPT_LABEL)}", "1 images match", [SCRIPT_LABEL]
    return (f"audio?dataset={name}&au_label={quote(IMG_LABEL)}", "1 clips match",
            [IMG_LABEL, f"Delivered: {SCRIPT_LABEL}"])


@pytest.mark.browser
@pytest.mark.parametrize("page_name", ["review", "images", "audio"])
def test_pages_show_hostile_labels_as_text_and_run_no_script(hostile, streamlit_server, chromium, page_name):
    from test_overview_browser import open_page

    name = hostile[3]
    path, ready, shown = browser_case(page_name, name)
    dialogs = []
    page = open_page(chromium, streamlit_server, path, ready)
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    for text in shown:
        page.get_by_text(text, exact=False).first.wait_for(timeout=60_000)
        assert text in page.inner_text("body")
    if page_name == "review":
        assert page.get_by_label("New label").get_attribute("placeholder") == SCRIPT_LABEL
    page.wait_for_timeout(1500)  # time for an injected onerror handler to fire, if one had been rendered
    assert page.evaluate("typeof window.__pwned") == "undefined"
    assert dialogs == []
    assert page.locator("main img[src='x']").count() == 0
    page.close()


def run_page(page_file: str, **params):
    """``pages/<page_file>.py`` run through app.py by AppTest with ``params`` in the URL."""
    from streamlit.testing.v1 import AppTest

    from conftest import REPO

    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=180)
    for key, value in params.items():
        at.query_params[key] = value
    at.run()
    return at.switch_page(f"pages/{page_file}.py").run()


@pytest.mark.parametrize("page_file", ["home", "overview", "images", "audio", "review", "expectations", "drift",
                                       "scorecard"])
def test_every_page_draws_the_hostile_dataset_without_an_exception(hostile, page_file):
    at = run_page(page_file, dataset=hostile[3])
    assert not at.exception, [e.value for e in at.exception]


def test_every_hostile_item_opens_in_its_page_and_review(hostile):
    """The detail of each item (the original picture, the clip, its flags) draws without an exception."""
    name = hostile[3]
    for sample in store.open_dataset(name).select_fields(["modality", "media_path"]):
        for page_file in ("images" if sample.modality == "image" else "audio", "review"):
            at = run_page(page_file, dataset=name, item=sample.id)
            assert not at.exception, (sample.media_path, page_file, [e.value for e in at.exception])
