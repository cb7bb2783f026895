"""Images and Audio in Chromium against `streamlit run` on the scanned demo: a clip plays, and the FiftyOne App
opened from the page counts the same samples as the page; screenshots for the README."""

from __future__ import annotations

import os
import re

import pytest

from browser import free_port
from datasteward import browse, store
from test_overview_browser import TIMEOUT, open_page, screenshot

pytestmark = pytest.mark.browser

# The page starts its own FiftyOne App; give it a port of its own before the session's
# `streamlit run` starts (modules are imported before any fixture runs), so it never
# joins another session's App on the default 5151, which would show another database.
os.environ.setdefault("DATASTEWARD_FIFTYONE_PORT", str(free_port()))


def count_on(page, noun: str) -> int:
    text = page.get_by_text(re.compile(rf"[\d,]+ {noun} match")).first.inner_text()
    return int(re.match(r"([\d,]+)", text).group(1).replace(",", ""))


def fiftyone_count(chromium, url: str) -> int:
    """The sample count the FiftyOne App shows for ``url`` (a dataset opened on a saved view)."""
    app = chromium.new_page(viewport={"width": 1400, "height": 900})
    try:
        app.goto(url, timeout=TIMEOUT)
        shown = app.get_by_text(re.compile(r"^[\d,]+ samples?$")).first
        shown.wait_for(timeout=TIMEOUT)
        return int(shown.inner_text().split()[0].replace(",", ""))
    finally:
        app.close()


def test_images_page_count_equals_the_fiftyone_view(streamlit_server, chromium, scanned_demo):
    page = open_page(chromium, streamlit_server, f"images?dataset={scanned_demo}&im_check=grayscale&im_check=dark",
                     "images match")
    shown = count_on(page, "images")
    expected = browse.count(store.open_dataset(scanned_demo),
                            browse.Filters(modality="image", check=["grayscale", "dark"]))
    assert shown == expected > 0
    page.wait_for_function("document.querySelectorAll('[data-testid=\"stImage\"] img').length >= "
                           f"{min(expected, 24)}", timeout=60_000)
    screenshot(page, "images.png")

    page.get_by_role("button", name="Open in FiftyOne").click()
    link = page.get_by_role("link", name=re.compile(r"Open the view of [\d,]+ samples"))
    link.wait_for(timeout=TIMEOUT)
    url = link.get_attribute("href")
    assert re.search(r"/datasets/demo\?view=datasteward-image-[0-9a-f]{10}$", url)
    assert fiftyone_count(chromium, url) == shown
    page.close()


def test_audio_page_plays_a_clip(streamlit_server, chromium, scanned_demo):
    page = open_page(chromium, streamlit_server, f"audio?dataset={scanned_demo}", "clips match")
    assert count_on(page, "clips") == browse.count(store.open_dataset(scanned_demo), browse.Filters(modality="audio"))
    page.wait_for_function("document.querySelectorAll('audio').length >= 5", timeout=60_000)
    # each clip that decodes shows two pictures, its spectrogram and its waveform, loaded and drawn
    page.wait_for_function("Array.from(document.querySelectorAll('[data-testid=\"stMain\"] img'))"
                           ".filter(i => i.complete && i.naturalWidth > 0).length"
                           " >= 2 * document.querySelectorAll('audio').length", timeout=60_000)
    body = page.inner_text("body")
    assert "cannot be decoded" in body  # the demo's corrupt clip says why instead of crashing
    audio = page.locator("audio").first
    audio.evaluate("a => { a.muted = true; return a.play(); }")
    page.wait_for_function("() => { const a = document.querySelector('audio'); return a.currentTime > 0.05; }",
                           timeout=30_000)
    assert audio.evaluate("a => a.error === null && a.duration > 0")
    audio.evaluate("a => a.pause()")
    screenshot(page, "audio.png")
    page.close()
