"""A shared link opened first on a freshly started server shows its page inside the app, and the Drift page in Chromium."""

from __future__ import annotations

import pytest

from browser import streamlit_app
from conftest import REPO

pytestmark = pytest.mark.slow
SCREENSHOTS = REPO / "docs" / "screenshots"


@pytest.fixture
def fresh_server(scanned_demo, tmp_path):
    """A new `streamlit run app.py` that nobody has visited yet."""
    with streamlit_app(REPO / "app.py", tmp_path / "streamlit.log") as url:
        yield url


def finished(page) -> None:
    page.wait_for_selector('[data-test-script-state="notRunning"]', timeout=180_000)
    page.wait_for_timeout(1500)
    page.wait_for_selector('[data-test-script-state="notRunning"]', timeout=180_000)


def test_a_drift_link_opened_first_on_a_fresh_server_runs_inside_the_app(fresh_server, scanned_demo, chromium):
    page = chromium.new_page(viewport={"width": 1400, "height": 1800})
    try:
        page.goto(f"{fresh_server}/drift?dataset={scanned_demo}&dr_by=vendor")
        page.wait_for_selector("h1:has-text('Drift')", timeout=180_000)
        finished(page)
        sidebar = page.locator('[data-testid="stSidebar"]').inner_text()
        assert "Dataset" in sidebar and "Scorecard" in sidebar  # app.py's sidebar and navigation, not pages/ alone
        main = page.locator('[data-testid="stMain"]')
        text = main.inner_text()
        assert "Vendor × metric" in text and "Drift alerts" in text  # the comparison restored from the link
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / "drift.png"), full_page=True)
    finally:
        page.close()
