"""Login through Streamlit's OIDC against a local provider (oidc-provider-mock): the app asks to log in, the role
comes from the secrets, and the review history records the logged-in identity."""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import shutil
import subprocess
import sys
import uuid

import pytest

from browser import free_port, wait_for_http
from conftest import FORMATS, REPO
from datasteward import review, store
from datasteward.review import Actor

pytestmark = pytest.mark.browser
TIMEOUT = 120_000


@contextlib.contextmanager
def running(args: list[str], health: str, log_path, **kwargs):
    """A subprocess, once ``health`` answers; terminated afterwards."""
    with open(log_path, "w") as log:
        proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, **kwargs)
        try:
            wait_for_http(health, timeout=120)
            yield proc
        finally:
            proc.terminate()
            proc.wait(timeout=30)


@pytest.fixture(scope="module")
def provider(tmp_path_factory):
    """oidc-provider-mock on a free port: any client, any user name typed on its login page."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = tmp_path_factory.mktemp("oidc") / "provider.log"
    with running([sys.executable, "-m", "oidc_provider_mock", "--port", str(port)],
                 f"{url}/.well-known/openid-configuration", log):
        yield url


@pytest.fixture(scope="module")
def team_app(provider, tmp_path_factory):
    """`streamlit run app.py` from a folder whose .streamlit/secrets.toml turns login on and maps roles."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    cwd = tmp_path_factory.mktemp("team")
    (cwd / ".streamlit").mkdir()
    (cwd / ".streamlit" / "secrets.toml").write_text(f"""
[auth]
redirect_uri = "{url}/oauth2callback"
cookie_secret = "{secrets.token_hex(16)}"
client_id = "datasteward-test"
client_secret = "{secrets.token_hex(8)}"
server_metadata_url = "{provider}/.well-known/openid-configuration"

[datasteward.roles]
"ana@example.com" = "reviewer"
"*" = "viewer"
""")
    args = [sys.executable, "-m", "streamlit", "run", str(REPO / "app.py"), "--server.port", str(port),
            "--server.headless", "true", "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none"]
    with running(args, f"{url}/_stcore/health", cwd / "streamlit.log", cwd=cwd, env=os.environ.copy()):
        yield url


@pytest.fixture(scope="module")
def one_flag(tmp_path_factory):
    """A dataset of one image with one open manual flag: (name, sample id, file name)."""
    from datasteward.ingest import import_source

    root = tmp_path_factory.mktemp("one")
    image = sorted((FORMATS / "multi" / "images").iterdir())[0]
    shutil.copy(image, root / image.name)
    (root / "manifest.csv").write_text(f"filepath,label\n{image.name},skirt\n")
    name = f"oidc-{uuid.uuid4().hex[:8]}"
    import_source(root / "manifest.csv", name)
    ds = store.open_dataset(name)
    sid = ds.first().id
    review.flag_item(ds, sid, Actor("setup"), "check the hem")
    yield name, sid, image.name
    store.delete_dataset(name)


def log_in(chromium, app: str, who: str):
    """A new browser tab logged in to ``app`` as ``who`` through the provider's login page."""
    page = chromium.new_context(viewport={"width": 1400, "height": 1000}).new_page()
    page.goto(app, timeout=TIMEOUT)
    page.get_by_role("button", name="Log in").click(timeout=TIMEOUT)
    page.wait_for_url(re.compile(r".*/oauth2/authorize.*"), timeout=TIMEOUT)
    page.locator("input[name=sub]").fill(who)
    page.get_by_role("button", name="Authorize").click()
    page.get_by_text(f"Signed in as {who}").first.wait_for(timeout=TIMEOUT)
    return page


def act_on_flag(page, app: str, name: str, sid: str, item: str, button: str) -> None:
    from test_review_browser import choose_flag

    [flag] = store.read_flags(store.open_dataset(name), [sid])[sid][0]
    page.goto(f"{app}/review?dataset={name}&q={sid}&status={flag['status']}", timeout=TIMEOUT)
    page.get_by_text("1 flags match", exact=True).wait_for(timeout=TIMEOUT)
    choose_flag(page, f"{item} · manual")
    # In the main block: the drop-down of the flag picker has a "Dismiss" button of its own.
    page.get_by_test_id("stMainBlockContainer").get_by_role("button", name=button, exact=True).click()


def test_the_app_asks_for_a_login_first(team_app, chromium):
    page = chromium.new_context().new_page()
    page.goto(team_app, timeout=TIMEOUT)
    page.get_by_role("button", name="Log in").wait_for(timeout=TIMEOUT)
    body = page.inner_text("body")
    assert "Log in to review this team's data." in body and "Review" not in body  # no pages before a login
    page.context.close()


def test_a_logged_in_reviewer_is_recorded_in_the_history(team_app, chromium, one_flag):
    name, sid, item = one_flag
    page = log_in(chromium, team_app, "ana@example.com")
    assert page.get_by_text("Signed in as ana@example.com (reviewer)").count() == 1
    act_on_flag(page, team_app, name, sid, item, "Confirm")
    page.get_by_text("confirm: 1 flags updated").wait_for(timeout=60_000)
    entry = review.history(store.open_dataset(name), sid)[-1]
    assert (entry["action"], entry["who"], entry["role"]) == ("confirm", "ana@example.com", "reviewer")
    page.context.close()


def test_a_logged_in_viewer_is_refused(team_app, chromium, one_flag):
    name, sid, item = one_flag
    before = review.history(store.open_dataset(name), sid)
    page = log_in(chromium, team_app, "vic@example.com")
    assert page.get_by_text("Signed in as vic@example.com (viewer)").count() == 1
    act_on_flag(page, team_app, name, sid, item, "Dismiss")
    page.get_by_text("vic@example.com is a viewer", exact=False).first.wait_for(timeout=60_000)
    assert review.history(store.open_dataset(name), sid) == before
    page.context.close()
