"""Review in a real browser: find a flag by a shared link and a search, export it, confirm it, send another back and
download its return report; the DB follows.

Saves the README screenshots of Home, Review and Scorecard on the scanned demo.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest
from playwright.sync_api import expect

from conftest import REPO
from datasteward import review, store

pytestmark = pytest.mark.slow
SHOTS = REPO / "docs" / "screenshots"
TIMEOUT = 120_000


@pytest.fixture
def page(chromium):
    page = chromium.new_page(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
    yield page
    page.close()


def settled(page) -> None:
    """Wait until the app has finished running (the status widget with "Stop" is gone)."""
    page.wait_for_selector('[data-testid="stStatusWidget"]', state="detached", timeout=60_000)


def choose_flag(page, option: str) -> None:
    """Pick ``option`` in "Select flags to act on", once the page has stopped redrawing."""
    settled(page)
    page.locator('[data-testid="stMultiSelect"]').filter(has_text="Select flags to act on").click()
    page.get_by_role("option", name=option).click()
    page.keyboard.press("Escape")
    settled(page)


def url_params(page) -> dict[str, list[str]]:
    return parse_qs(urlparse(page.url).query)


def test_flags_found_exported_confirmed_and_sent_back_in_the_browser(scanned_demo, streamlit_server, page):
    ds = store.open_dataset(scanned_demo)
    _, rows = review.queue(ds, limit=1, status="open", check="dark")
    target = rows[0]
    sid, item = target["sample_id"], Path(target["filepath"]).name
    SHOTS.mkdir(parents=True, exist_ok=True)

    page.goto(f"{streamlit_server}/?dataset={scanned_demo}", timeout=TIMEOUT)
    page.get_by_text(f"{scanned_demo}:", exact=False).first.wait_for(timeout=TIMEOUT)
    page.wait_for_function("document.querySelectorAll('.vega-embed canvas, .vega-embed svg').length >= 4",
                           timeout=60_000)
    settled(page)
    page.screenshot(path=str(SHOTS / "home.png"))

    # a shared link restores the filter
    page.goto(f"{streamlit_server}/review?dataset={scanned_demo}&check=dark", timeout=TIMEOUT)
    total, _ = review.queue(ds, limit=1, status="open", check="dark")
    page.get_by_text(f"{total:,} flags match", exact=True).wait_for(timeout=TIMEOUT)
    page.locator('[data-testid="stDataFrame"]').first.wait_for(timeout=60_000)
    settled(page)
    page.screenshot(path=str(SHOTS / "review.png"))

    # a search narrows the queue to the item, and goes into the URL
    search = page.get_by_label("Search by file path or sample id")
    search.fill(sid)
    search.press("Enter")
    page.get_by_text("1 flags match", exact=True).wait_for(timeout=60_000)
    page.wait_for_function(f"window.location.search.includes('q={sid}')", timeout=30_000)
    assert url_params(page)["check"] == ["dark"]

    settled(page)  # a button from before the last rerun would ask for a revoked file
    with page.expect_download(timeout=60_000) as download:
        page.get_by_role("button", name="Export this queue (1 flags, CSV)").click()
    exported = list(csv.DictReader(io.StringIO(Path(download.value.path()).read_text(encoding="utf-8"))))
    assert [(r["sample_id"], r["check"], r["status"]) for r in exported] == [(sid, "dark", "open")]

    choose_flag(page, f"{item} · dark")
    assignee = page.get_by_label("Assign to (on confirm)")
    assignee.fill("ana")
    assignee.press("Enter")
    page.get_by_role("button", name="Confirm", exact=True).click()
    page.get_by_text("confirm: 1 flags updated").wait_for(timeout=60_000)

    flag = next(f for f in store.read_flags(ds, [sid])[sid][0] if f["check"] == "dark")
    assert (flag["status"], flag["assignee"], flag["updated_by"]) == ("confirmed", "ana", "anonymous")
    assert [h["action"] for h in review.history(ds, sid)][-1] == "confirm"

    # reloading the link brings the same state back
    # (The first render after a reload can draw the caption before the search box, and a box that is still being
    # drawn reads empty: wait for the run to end and let the value assertion retry.)
    page.reload(timeout=TIMEOUT)
    page.get_by_text("0 flags match", exact=True).wait_for(timeout=TIMEOUT)  # confirmed: no longer open
    settled(page)
    expect(page.get_by_label("Search by file path or sample id")).to_have_value(sid, timeout=30_000)

    # send another item back, and download its vendor's return report
    _, rows = review.queue(ds, limit=2, status="open", check="dark")
    other = next(r for r in rows if r["sample_id"] != sid)
    page.goto(f"{streamlit_server}/review?dataset={scanned_demo}&check=dark&q={other['sample_id']}"
              f"&rvendor={other['vendor']}", timeout=TIMEOUT)
    page.get_by_text("1 flags match", exact=True).wait_for(timeout=TIMEOUT)
    choose_flag(page, f"{Path(other['filepath']).name} · dark")
    reason = page.get_by_label("Reason or comment")
    reason.fill("<b>too dark</b> to label")
    reason.press("Enter")
    page.get_by_role("button", name="Send back to vendor").click()
    page.get_by_text("send back: 1 flags updated").wait_for(timeout=60_000)
    settled(page)  # a button from before the last rerun would ask for a revoked file
    with page.expect_download(timeout=60_000) as download:
        page.get_by_role("button", name="Return report (HTML)").click()
    assert download.value.suggested_filename == f"{scanned_demo}-returns-{other['vendor']}.html"
    report = Path(download.value.path()).read_text(encoding="utf-8")
    assert Path(other["filepath"]).name in report and "&lt;b&gt;too dark&lt;/b&gt; to label" in report
    assert f"vendor {other['vendor']}" in report

    page.goto(f"{streamlit_server}/scorecard?dataset={scanned_demo}", timeout=TIMEOUT)
    page.get_by_text("Annotators").first.wait_for(timeout=TIMEOUT)
    page.wait_for_function("document.querySelectorAll('.vega-embed canvas, .vega-embed svg').length >= 1",
                           timeout=60_000)
    settled(page)
    page.screenshot(path=str(SHOTS / "scorecard.png"))
