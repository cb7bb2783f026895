"""Overview and Expectations in Chromium against `streamlit run` on the scanned demo; screenshots for the README."""

from __future__ import annotations

import re

from conftest import REPO

SCREENSHOTS = REPO / "docs" / "screenshots"
TIMEOUT = 120_000


def open_page(chromium, server: str, path: str, text: str):
    """A new tab on ``server/path``, once ``text`` shows."""
    page = chromium.new_page(viewport={"width": 1500, "height": 1100})
    # Until app.py has run once, a fresh server treats pages/ as a Streamlit v1 pages folder and
    # runs a deep-linked page without app.py (no sidebar, no dataset); the root page runs app.py.
    page.goto(f"{server}/", timeout=TIMEOUT)
    page.get_by_text("Your name").first.wait_for(timeout=TIMEOUT)
    page.goto(f"{server}/{path}", timeout=TIMEOUT)
    page.get_by_text(text, exact=False).first.wait_for(timeout=TIMEOUT)
    return page


def screenshot(page, name: str) -> None:
    """The whole page: Streamlit scrolls inside its main block, so the window is made as tall as that block."""
    height = page.evaluate("() => document.querySelector('[data-testid=\"stMain\"]').scrollHeight")
    page.set_viewport_size({"width": 1500, "height": min(int(height) + 40, 6000)})
    page.wait_for_timeout(1500)  # let the charts redraw at the new size
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / name))


def test_overview_cells_lead_to_their_items(streamlit_server, chromium, scanned_demo):
    page = open_page(chromium, streamlit_server, f"overview?dataset={scanned_demo}", "Ownership by language")
    page.wait_for_function("document.querySelectorAll('.vega-embed canvas, .vega-embed svg').length >= 3",
                           timeout=60_000)
    body = page.inner_text("body")
    assert "Open flags" in body and "Who owns what" in body
    link = page.locator("a[href*='owner=data_ops'][href*='batch=']").first
    cell, href = link.inner_text(), link.get_attribute("href")
    screenshot(page, "overview.png")
    page.close()

    flags = int(re.match(r"([\d,]+) ·", cell).group(1).replace(",", ""))
    review = open_page(chromium, streamlit_server, href, "flags match")
    assert f"{flags:,} flags match" in review.inner_text("body")
    review.close()


def test_expectations_page_loads_with_live_count(streamlit_server, chromium, scanned_demo):
    page = open_page(chromium, streamlit_server, f"expectations?dataset={scanned_demo}&check=dark",
                     "Items that would be flagged")
    body = page.inner_text("body")
    assert "Acceptance per batch" in body and "Coverage per batch and language" in body
    from datasteward import expectations, store
    from datasteward.checks import REGISTRY
    from datasteward.contract import load_contract

    ds = store.open_dataset(scanned_demo)
    contract = load_contract(expectations.contract_path(ds), REGISTRY)
    expected = expectations.would_flag(ds, "dark", contract.threshold(REGISTRY["dark"]), contract=contract)
    metric = page.locator('[data-testid="stMetric"]', has_text="Items that would be flagged").inner_text()
    assert metric.split()[-1] == f"{expected:,}"
    screenshot(page, "expectations.png")
    page.close()
