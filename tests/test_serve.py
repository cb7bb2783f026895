"""`python -m datasteward.serve`: what it sets up before it hands the command line to `streamlit run`."""

from __future__ import annotations

import sys

from streamlit.runtime.pages_manager import PagesManager
from streamlit.web import cli

from conftest import REPO
from datasteward import serve


def test_serve_routes_every_page_through_app_py_from_the_first_run(monkeypatch):
    seen = {}
    monkeypatch.setattr(serve, "preload", lambda: seen.setdefault("preloaded", True))
    monkeypatch.setattr(cli, "main", lambda: seen.update(argv=list(sys.argv), mode=PagesManager.uses_pages_directory))
    monkeypatch.setattr(PagesManager, "uses_pages_directory", None)  # as in a new process: decided on first use
    monkeypatch.setattr(sys, "argv", list(sys.argv))
    serve.main([str(REPO / "app.py"), "--server.port", "8599"])
    assert seen["preloaded"]
    assert seen["argv"] == ["streamlit", "run", str(REPO / "app.py"), "--server.port", "8599"]
    # Not None (Streamlit would find pages/ and run a first deep link as a bare page script) and not True.
    assert seen["mode"] is False
