"""Test session set-up: a private FiftyOne database and Data Steward home, never a user's."""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import uuid
from pathlib import Path

import pytest

_ROOT = Path(tempfile.mkdtemp(prefix="datasteward-tests-"))
# Before anything imports fiftyone: tests use their own database name (and, unless
# a shared server is configured, their own embedded mongod and data folder).
if not os.environ.get("FIFTYONE_DATABASE_URI"):
    os.environ["FIFTYONE_DATABASE_DIR"] = str(_ROOT / "mongo")
# One database per test session: FiftyOne reuses a running mongod even when its data
# folder differs, so two sessions (or a user's app) may share a server, never a database.
os.environ["FIFTYONE_DATABASE_NAME"] = f"datasteward_test_{os.getpid()}"
os.environ["DATASTEWARD_HOME"] = str(_ROOT / "home")
os.environ["FIFTYONE_DO_NOT_TRACK"] = "true"

DATA = Path(__file__).parent / "data"
FORMATS = DATA / "formats"
REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def dataset_name():
    """A fresh dataset name, deleted after the test."""
    name = f"t-{uuid.uuid4().hex[:10]}"
    yield name
    from datasteward import store

    store.delete_dataset(name)


@pytest.fixture
def formats(tmp_path) -> Path:
    """A writable copy of the per-format fixtures."""
    dst = tmp_path / "formats"
    shutil.copytree(FORMATS, dst)
    return dst


@pytest.fixture
def rng():
    import numpy as np

    return np.random.default_rng(20261127)


def pytest_sessionfinish(session, exitstatus):
    shutil.rmtree(_ROOT / "home", ignore_errors=True)
    if "fiftyone" in sys.modules:  # drop this session's database; nothing else lives in it
        import fiftyone.core.odm as foo

        foo.get_db_conn().client.drop_database(os.environ["FIFTYONE_DATABASE_NAME"])


@pytest.fixture(scope="session")
def chromium():
    """One headless Chromium for the whole session."""
    from browser import CHROMIUM, CHROMIUM_ARGS

    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium (.ci/run does)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture(scope="session")
def demo_dataset() -> str:
    """The bundled demo, imported once per session into the test database."""
    from datasteward.demo import load_demo

    load_demo("demo")
    return "demo"


@pytest.fixture(scope="session")
def streamlit_server(demo_dataset):
    """One `streamlit run app.py` for the session, on a free port, against the test database."""
    from browser import streamlit_app

    with streamlit_app(REPO / "app.py", _ROOT / "streamlit.log") as url:
        yield url


@pytest.fixture(scope="session")
def scanned_demo(demo_dataset) -> str:
    """The demo, scanned once per session."""
    from datasteward.scan import scan

    scan(demo_dataset, workers=2)
    return demo_dataset


@pytest.fixture(scope="session")
def shared_mongod() -> str:
    """A real `mongod` of the session's own (free port, temporary data folder) for multi-process tests; its URI.

    Only child processes given ``FIFTYONE_DATABASE_URI`` use it: this process
    stays on the database it was configured with.
    """
    from mongod import running_mongod

    with running_mongod() as uri:
        yield uri
