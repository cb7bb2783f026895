"""``python -m datasteward.serve``: ``streamlit run app.py``, ready before it answers.

Streamlit imports a page's modules on the first visit, so on a fresh server the
first person to open the app waits for FiftyOne, pandas, Altair and SciPy to
import and for the database to connect: several seconds. This launcher does
that work first, in the same process, and only then hands the command line to
Streamlit's own ``streamlit run``; the server's health check answers once the
app can render at once. Extra arguments go to ``streamlit run``::

    python -m datasteward.serve --server.port 8501 --server.headless true
"""

from __future__ import annotations

import gc
import importlib
import sys
import time
from pathlib import Path

# What the pages import. `datasteward.ui` and `browse_ui` are left to the first page
# run: importing `ui` inside a script run is what routes a deep link opened first on a
# fresh server through `app.py` (see `ui._leave_pages_directory_mode`).
MODULES = (
    "pandas", "numpy", "altair", "scipy.stats", "fiftyone",
    "datasteward.store", "datasteward.checks", "datasteward.contract", "datasteward.flags", "datasteward.review",
    "datasteward.browse", "datasteward.overview", "datasteward.expectations", "datasteward.gate",
    "datasteward.drift", "datasteward.exports", "datasteward.returns", "datasteward.scorecard",
    "datasteward.charts", "datasteward.media", "datasteward.ingest", "datasteward.importers",
)


WARM_UP_WAIT = 10.0  # seconds the server waits for librosa's warm-up before it answers


def preload(*, log=print) -> float:
    """Import what the pages use, connect to the database and freeze what that made; returns the seconds it took.

    librosa's first call compiles with numba (about 2 s once cached, 20 s cold); it
    runs in a background thread that the server waits for up to ``WARM_UP_WAIT``.
    """
    started = time.perf_counter()
    for name in MODULES:
        importlib.import_module(name)
    from datasteward import store

    store.list_datasets()  # connects, and starts the embedded MongoDB when no shared one is configured
    _first_use()
    # Streamlit collects garbage fully after every script run; the ~400,000 objects that the imports
    # leave would make that a few hundred milliseconds a page. They live as long as the server: freeze them.
    gc.collect()
    gc.freeze()
    from datasteward.media import start_warm_up

    # Run at the same time as the first page, the warm-up holds the GIL for most of its ~2 s and makes that
    # page about a second slower; so wait for it, up to WARM_UP_WAIT: a cold numba cache (the first start after
    # an install) takes ~20 s, and then the server answers first and the compiling goes on in the background.
    start_warm_up().join(WARM_UP_WAIT)
    seconds = time.perf_counter() - started
    log(f"datasteward: modules imported and database connected in {seconds:.1f} s")
    return seconds


def _first_use() -> None:
    """What the first page of a server would otherwise pay for once: Altair builds its channel and schema caches
    on a chart type's first use (every chart the pages draw is drawn once, :func:`datasteward.charts.examples`),
    and pandas' Arrow conversion (every table) loads its machinery."""
    from datasteward import charts

    for builder, args, kwargs in charts.examples():
        charts.spec_of(builder, args, kwargs)


def main(argv: list[str] | None = None) -> None:
    args = list(sys.argv[1:] if argv is None else argv)
    app = Path("app.py")
    if args and args[0].endswith(".py"):
        app = Path(args.pop(0))
    if not app.exists():
        sys.exit(f"datasteward: error: {app} not found; run from the folder that holds app.py, or name it first")
    preload()
    from streamlit.runtime.pages_manager import PagesManager
    from streamlit.web import cli

    # app.py routes every page through st.navigation. Left unset, Streamlit would take the pages/
    # folder for an old-style multipage app until app.py's first run, and ui would then rerun that
    # first page through app.py (see ui._leave_pages_directory_mode): a second script run on the
    # first visit to a fresh server.
    PagesManager.uses_pages_directory = False

    sys.argv = ["streamlit", "run", str(app), *args]
    cli.main()


if __name__ == "__main__":
    main()
