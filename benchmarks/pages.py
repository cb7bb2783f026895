#!/usr/bin/env python
"""Page timings, measured not asserted: every app page's first render (cold and warm) and one interaction, at 100,000 samples.

Starts ``streamlit run app.py`` (through ``python -m datasteward.serve``, as ``make run``
does: the app's modules are imported and the database connected before the server
answers) against a synthetic dataset (``benchmarks/synth.py``)
in a private database and drives Debian's Chromium through Playwright. The
pages are read from ``app.py``'s ``st.navigation``, so new pages are measured
without changes here. Usage (``make bench`` runs it after ``run.py``)::

    .venv/bin/python benchmarks/pages.py --output docs/benchmarks.md --append [--samples 100000]

A render ends when Streamlit's app root reports the script as not running
(``data-test-script-state``), stays so for a moment, and no skeleton is left.
Times come from the browser's own clock: from navigation start for a first
render, and from the click that picks a widget option for an interaction.

- cold: the median over 5 fresh servers of the first visit to the page; for the
  default page that is the server's first visit (every cache empty); the others
  are then opened once each, in an order that turns by one page per server, so
  each has its own caches empty (see ``measure``); results the
  database keeps across restarts (``store.kept``, the drift tables) are read, as
  on any restart. The browser is a returning one: a tab in one browser session
  that has opened the app before, with its HTTP cache, as a user's browser has
  after the server restarts (every server listens on the same port, so the
  cache applies);
- warm: the median of 5 further visits, on the last of those servers, each in a
  new tab of that returning browser (server caches warm);
- first visit: the median of 5 visits on that server in new browser sessions with
  an empty cache, a user's first ever, which downloads Streamlit's frontend
  (about 130 scripts);
- interaction: the median of 5 option picks in the page's first drop-down
  (select box or multiselect) outside a form, where the page has one.
"""

from __future__ import annotations

import argparse
import ast
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
_TMP = Path(tempfile.mkdtemp(prefix="datasteward-pages-"))
if not os.environ.get("FIFTYONE_DATABASE_URI"):
    os.environ["FIFTYONE_DATABASE_DIR"] = str(_TMP / "mongo")
os.environ["FIFTYONE_DATABASE_NAME"] = "datasteward_bench_pages"
os.environ["DATASTEWARD_HOME"] = str(_TMP / "home")
os.environ["FIFTYONE_DO_NOT_TRACK"] = "true"
sys.path[:0] = [str(REPO / "benchmarks"), str(REPO / "tests")]

from browser import CHROMIUM, CHROMIUM_ARGS, free_port, wait_for_http  # noqa: E402

REPEATS = 5
QUIET_MS = 400  # the script must stay finished this long: a page may rerun itself once
TIMEOUT_S = 180
TARGET_RENDER_S, TARGET_INTERACTION_S = 2.0, 1.0

# Records every change of Streamlit's script state, and every click, on the browser's clock.
OBSERVER = """
window.__runs = [];
window.__clicks = [];
new MutationObserver(records => {
  for (const r of records) {
    const el = r.target;
    if (el.getAttribute && el.getAttribute('data-testid') === 'stApp')
      window.__runs.push([el.getAttribute('data-test-script-state'), performance.now()]);
  }
}).observe(document, {attributes: true, subtree: true, attributeFilter: ['data-test-script-state']});
document.addEventListener('click', () => window.__clicks.push(performance.now()), true);
"""
NOT_CHOICES = re.compile(r"^(Select all|No results)$")
DROPDOWNS = ('[data-testid="stMain"] :is([data-testid="stSelectbox"], [data-testid="stMultiSelect"])'
             ':not([data-testid="stForm"] *):not([data-testid="stExpander"] *)')


@dataclass(frozen=True)
class AppPage:
    file: str
    title: str
    url_path: str
    default: bool = False


@dataclass
class Timing:
    page: AppPage
    cold: list[float] = field(default_factory=list)
    warm: list[float] = field(default_factory=list)
    first: list[float] = field(default_factory=list)
    interaction: list[float] = field(default_factory=list)
    widget: str = ""
    errors: list[str] = field(default_factory=list)


def app_pages(app: Path = REPO / "app.py") -> list[AppPage]:
    """The pages ``app.py`` passes to ``st.navigation``, in its order: every ``st.Page(...)`` call."""
    out = []
    for node in ast.walk(ast.parse(app.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Call) and getattr(node.func, "attr", None) == "Page" and node.args:
            kwargs = {k.arg: k.value.value for k in node.keywords if isinstance(k.value, ast.Constant)}
            file = node.args[0].value
            out.append(AppPage(file, kwargs.get("title", Path(file).stem), kwargs.get("url_path", Path(file).stem),
                               bool(kwargs.get("default", False))))
    return out


def start_server(port: int, log: Path) -> subprocess.Popen:
    proc = subprocess.Popen(
        [sys.executable, "-m", "datasteward.serve", str(REPO / "app.py"), "--server.port", str(port),
         "--server.headless", "true", "--browser.gatherUsageStats", "false"],
        cwd=REPO, stdout=log.open("a"), stderr=subprocess.STDOUT, env=os.environ.copy())
    wait_for_http(f"http://127.0.0.1:{port}/_stcore/health", timeout=120)
    return proc


def wait_finished(page, since: int) -> float:
    """Browser time (ms) at which the script finished its last run after record ``since``; waits for quiet."""
    deadline = time.monotonic() + TIMEOUT_S
    while time.monotonic() < deadline:
        runs, now, skeletons = page.evaluate(
            "[window.__runs, performance.now(), document.querySelectorAll('[data-testid=\"stSkeleton\"]').length]")
        new = runs[since:]
        started = any(state in ("running", "rerunRequested") for state, _ in new)
        if started and new[-1][0] == "notRunning" and now - new[-1][1] >= QUIET_MS and not skeletons:
            return new[-1][1]
        page.wait_for_timeout(50)
    raise TimeoutError(f"the script did not finish within {TIMEOUT_S} s")


def errors_on(page) -> list[str]:
    """Exceptions the page shows (a traceback box), first line each."""
    return [t.strip().splitlines()[0][:160] for t in page.locator('[data-testid="stException"]').all_inner_texts() if t.strip()]


def new_session(browser):
    """A new browser session (empty cache) that records Streamlit's script states and clicks."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    context.add_init_script(OBSERVER)
    return context


def visit(browser, url: str, *, returning=None) -> tuple[float, list[str]]:
    """Seconds from navigation start to the first finished script run.

    In a new browser session, or in a new tab of ``returning`` (a session kept
    open, with the HTTP cache of its earlier visits).
    """
    context = returning or new_session(browser)
    page = context.new_page()
    try:
        page.goto(url, wait_until="commit", timeout=TIMEOUT_S * 1000)
        finished = wait_finished(page, 0)
        return finished / 1000.0, errors_on(page)
    finally:
        page.close()
        if returning is None:
            context.close()


def interactions(browser, url: str, repeats: int) -> tuple[str, list[float], list[str]]:
    """Pick an option in the page's first drop-down ``repeats`` times; seconds from the click to the finished rerun."""
    context = new_session(browser)
    try:
        page = context.new_page()
        page.goto(url, wait_until="commit", timeout=TIMEOUT_S * 1000)
        wait_finished(page, 0)
        times: list[float] = []
        label = ""
        for k in range(repeats):
            boxes = page.locator(DROPDOWNS).filter(visible=True)
            if boxes.count() == 0:
                return "", [], []
            box = boxes.first
            label = label or box.locator("label").first.inner_text().strip()
            box.locator('[role="combobox"]').first.click()
            page.locator('[role="option"]').first.wait_for(timeout=10_000)
            options = page.locator('[role="option"]:not([aria-selected="true"])').filter(has_not_text=NOT_CHOICES)
            if options.count() == 0:  # a multiselect with every option picked
                break
            since = len(page.evaluate("window.__runs"))
            options.nth(k % options.count()).click()
            finished = wait_finished(page, since)
            clicked = page.evaluate("window.__clicks[window.__clicks.length - 1]")
            times.append((finished - clicked) / 1000.0)
            page.keyboard.press("Escape")  # a multiselect keeps its menu open
        return label, times, errors_on(page)
    finally:
        context.close()


def measure(pages: list[AppPage], name: str, repeats: int, log: Path) -> list[Timing]:
    """Cold visits on ``repeats`` fresh servers, then warm, first and interaction timings on the last one."""
    from playwright.sync_api import sync_playwright

    timings = {p.url_path: Timing(p) for p in pages}
    port = free_port()  # every server on one port: a returning browser's cache is kept per origin

    def url(path: str) -> str:
        return f"http://127.0.0.1:{port}/{path}?dataset={name}"

    def timed(timing: Timing, into: list[float], address: str, returning=None) -> None:
        try:
            seconds, errs = visit(browser, address, returning=returning)
            into.append(seconds)
            timing.errors += errs
        except Exception as exc:  # one broken page must not hide the others' figures
            timing.errors.append(f"{type(exc).__name__}: {exc}"[:200])

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        returning = new_session(browser)
        server = None
        try:
            # The returning browser opens every page once first, as a user of the app has (not counted).
            server = start_server(port, log)
            for app_page in [AppPage("", "root", ""), *pages]:
                visit(browser, url(app_page.url_path), returning=returning)
            for k in range(repeats):
                server.terminate()
                server.wait(timeout=30)
                server = start_server(port, log)
                print(f"cold visits, fresh server {k + 1} of {repeats}…", flush=True)
                # A fresh server runs a page URL opened before any visit to the root as a bare script from pages/
                # (Streamlit's old multipage mode) until app.py has called st.navigation once; so the root is opened
                # first (the default page's cold visit: every cache empty), then every other page once, each with
                # its own caches empty. The order turns by one page per server, so no page always comes first.
                root = next((t for t in timings.values() if t.page.default), Timing(AppPage("", "root", "")))
                timed(root, root.cold, url(""), returning)  # counted only when the default page is measured
                others = [t for t in timings.values() if not t.page.default]
                for timing in others[k % len(others):] + others[:k % len(others)] if others else []:
                    timed(timing, timing.cold, url(timing.page.url_path), returning)
            for timing in timings.values():  # on the last fresh server, now warm
                print(f"{timing.page.title}: warm, first visits and interaction…", flush=True)
                for _ in range(repeats):
                    timed(timing, timing.warm, url(timing.page.url_path), returning)
                for _ in range(repeats):
                    timed(timing, timing.first, url(timing.page.url_path))
                try:
                    timing.widget, timing.interaction, errs = interactions(browser, url(timing.page.url_path), repeats)
                    timing.errors += errs
                except Exception as exc:
                    timing.errors.append(f"{type(exc).__name__}: {exc}"[:200])
                print(f"  {row(timing)}", flush=True)
        finally:
            if server is not None:
                server.terminate()
                server.wait(timeout=30)
            returning.close()
            browser.close()
    return list(timings.values())


def _fmt(seconds: float | None, target: float, spread: list[float] | None = None) -> str:
    """Seconds, **bold** over ``target``, with the range of ``spread`` (the measurements behind a median)."""
    if seconds is None:
        return "n/a"
    text = f"**{seconds:.2f}**" if seconds > target else f"{seconds:.2f}"
    return f"{text} ({min(spread):.2f}–{max(spread):.2f})" if spread and len(spread) > 1 else text


def row(t: Timing) -> str:
    cold = statistics.median(t.cold) if t.cold else None
    warm = statistics.median(t.warm) if t.warm else None
    first = statistics.median(t.first) if t.first else None
    inter = statistics.median(t.interaction) if t.interaction else None
    widget = f"pick in “{t.widget}”" if t.widget else "no drop-down"
    errors = "; ".join(dict.fromkeys(e.splitlines()[0].replace("|", "/") for e in t.errors if e.strip()))
    return (f"| {t.page.title} (`/{t.page.url_path}`) | {_fmt(cold, TARGET_RENDER_S, t.cold)} "
            f"| {_fmt(warm, TARGET_RENDER_S, t.warm)} | {_fmt(first, TARGET_RENDER_S, t.first)} | {_fmt(inter, TARGET_INTERACTION_S, t.interaction)} | {widget} "
            f"| {errors} |")


def report(results: list[Timing], n: int, gen_seconds: float, repeats: int) -> str:
    lines = [
        f"## Pages at {n:,} samples", "",
        f"Measured by `benchmarks/pages.py` on {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC, {os.cpu_count()} cores: "
        f"`streamlit run app.py` against a synthetic dataset of {n:,} samples (`benchmarks/synth.py`, written in "
        f"{gen_seconds:.0f} s), driven by Debian's Chromium through Playwright. The server is started as `make run` "
        "starts it (`python -m datasteward.serve`: FiftyOne imported and the database connected before it answers). "
        f"Cold is the median over {repeats} fresh servers of the first visit to the page: the root (the default page) "
        "first, with every server cache empty, then every other page once, each with its own caches empty, in an "
        "order that turns by one page per server. "
        "What the database keeps across restarts (the scan's drift tables and kept results, which the generator "
        "computes as a scan does) is read as on any restart. "
        "Cold and warm visits come from a returning browser: each is a new tab of one browser session that has "
        "opened the app before, so Streamlit's frontend scripts (hashed files it serves as immutable) come from the "
        "browser's cache, as they do for a user after the server restarts. "
        f"Warm is the median of {repeats} further visits to the last of those servers. "
        f"First visit is the median of {repeats} visits to that server in new browser sessions with an empty cache "
        "(a user's first ever, which downloads the frontend's ~130 scripts; earlier reports measured cold and warm "
        f"this way). An interaction is the median of {repeats} option picks in the page's first drop-down, from the "
        "click to the finished rerun. "
        f"Load average (1 min) {os.getloadavg()[0]:.1f} when the report was written. Seconds, median (range); "
        f"**bold** is over the target ({TARGET_RENDER_S:g} s first render, {TARGET_INTERACTION_S:g} s interaction).", "",
        "| page | cold | warm | first visit (empty browser cache) | interaction | interaction measured | errors |",
        "|---|---|---|---|---|---|---|",
        *[row(t) for t in results], ""]
    return "\n".join(lines)


def replace_section(document: str, section: str) -> str:
    """``document`` with ``section`` in place of its section of the same heading, or appended after it."""
    heading = section.split("\n", 1)[0]
    start = document.find(heading + "\n")
    if start < 0:
        return document.rstrip("\n") + ("\n\n" if document.strip() else "") + section
    end = document.find("\n## ", start + len(heading))
    rest = document[end + 1:] if end >= 0 else ""
    return document[:start] + section + ("\n" + rest if rest else "")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--samples", type=int, default=100_000)
    ap.add_argument("--output", type=Path, default=None, help="markdown file to write (default: print only)")
    ap.add_argument("--append", action="store_true", help="append to --output instead of replacing it")
    ap.add_argument("--repeats", type=int, default=REPEATS)
    ap.add_argument("--pages", help="comma-separated url paths to measure (default: every page in app.py)")
    args = ap.parse_args(argv)
    from datasteward import store

    pages = app_pages()
    if args.pages:
        pages = [p for p in pages if p.url_path in args.pages.split(",")]
    name = f"synth-{args.samples}"
    log = _TMP / "streamlit.log"
    try:
        print(f"generating {args.samples:,} samples…", flush=True)
        started = time.perf_counter()
        # In a child process: a process that has just written 100,000 samples keeps a large heap, and its
        # garbage collections while it polls the browser took CPU from Chromium (Drift measured ~0.6 s slower).
        store.list_datasets()  # connect first, so an embedded database outlives the child
        subprocess.run([sys.executable, str(REPO / "benchmarks" / "synth.py"), name, "--samples", str(args.samples),
                        "--replace"], check=True, env=os.environ.copy())
        gen_seconds = time.perf_counter() - started
        results = measure(pages, name, args.repeats, log)
        text = report(results, args.samples, gen_seconds, args.repeats)
        print(text)
        if args.output:
            args.output.parent.mkdir(parents=True, exist_ok=True)
            before = args.output.read_text(encoding="utf-8") if args.append and args.output.exists() else ""
            args.output.write_text(replace_section(before, text), encoding="utf-8")
    finally:
        store.delete_dataset(name)
        shutil.rmtree(_TMP / "home", ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
