#!/usr/bin/env python
"""Scale benchmark, measured not asserted: pages, flag queries, export, drift and gate at 10k, 100k and 1M samples, and scan throughput on the local pool and on Ray.

Two parts, both written to the "Scale" section of docs/benchmarks.md
(``make bench-full`` runs both)::

    .venv/bin/python benchmarks/scale.py --output docs/benchmarks.md [--sizes 10000 100000 1000000] [--no-scan]
    .venv/bin/python benchmarks/scale.py --output docs/benchmarks.md --no-sizes [--scan-items 20000]

- **sizes**: a synthetic dataset per size (``benchmarks/synth.py``: metadata,
  metrics, labels and reviewed flags, no per-item media), then the Overview,
  Review and Drift pages in Chromium (``benchmarks/pages.py``: cold is a fresh
  server, warm and interaction the median of ``--repeats`` visits and picks),
  the library calls behind those pages and the Review queue with typical
  filters, and ``datasteward export``, ``drift`` and ``gate`` both as CLI
  processes and as library calls;
- **scan**: the real demo media hard-linked under distinct names until there
  are ``--scan-items`` items, imported once, then scanned on a fresh copy of
  that dataset by the local process pool and by a local Ray cluster with each
  of ``--ray-workers`` workers. The copies have the same bytes, so the
  exact-duplicate check fires on them; this part measures throughput only.

Each figure is stored in a JSON file (``--results``) as soon as it is measured
and the section is drawn from that file, so parts run separately (a machine
that cannot hold 1M samples and a browser at once, say) still give one table.
The machine's load average is recorded beside each part: on a shared machine
other work shows in the figures.
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

import pages  # noqa: E402  (sets up a private database and home; puts tests/ on the path for the browser helpers)

REPO = pages.REPO
_TMP = Path(tempfile.mkdtemp(prefix="datasteward-scale-"))
SIZES = (10_000, 100_000, 1_000_000)
PAGES = ("overview", "review", "drift")
REPEATS = 5
BIG = 1_000_000  # from this size on, fewer repeats (``--repeats-big``)
TOOLS_ONCE = 100_000  # from this size on, export, drift and gate run once
SCAN_ITEMS = 20_000
RAY_WORKERS = (1, 2, 4)
LOCAL_WORKERS = 2
TARGET_RENDER_S, TARGET_INTERACTION_S = pages.TARGET_RENDER_S, pages.TARGET_INTERACTION_S
SECTION = "## Scale"


# --- measuring ------------------------------------------------------------------

def load() -> list[float]:
    """The machine's 1, 5 and 15 minute load averages."""
    return [round(v, 2) for v in os.getloadavg()]


class Stopped(Exception):
    """A process stopped at its time limit (``--tool-timeout``); the argument is the limit in seconds."""


def timed(call: Callable[[], object], repeats: int) -> dict:
    """Seconds of the first call and of ``repeats - 1`` more (each from scratch, caches outside the call aside)."""
    runs = []
    for _ in range(max(1, repeats)):
        started = time.perf_counter()
        try:
            call()
        except Stopped as exc:
            return {"first": runs[0] if runs else None, "runs": runs, "stopped_after": exc.args[0]}
        runs.append(time.perf_counter() - started)
        gc.collect()
    return {"first": runs[0], "runs": runs}


def profiled(call: Callable[[], object]) -> dict:
    """The database work of one call, from MongoDB's profiler: operations, documents and index keys examined, server ms.

    ``plan`` is the plan summary of the operation that examined the most
    (``COLLSCAN`` reads every document; ``IXSCAN { field: 1 }`` walks an index).
    """
    import fiftyone.core.odm as foo

    db = foo.get_db_conn()
    db.command("profile", 0)
    db["system.profile"].drop()
    db.command("profile", 2)
    try:
        call()
    finally:
        db.command("profile", 0)
    ops = [d for d in db["system.profile"].find({}) if not str(d.get("ns", "")).endswith("system.profile")
           and "profile" not in (d.get("command") or {})]
    db["system.profile"].drop()
    heaviest = max(ops, key=lambda d: (d.get("docsExamined", 0) + d.get("keysExamined", 0), d.get("millis", 0)),
                   default={})
    return {"ops": len(ops), "docs_examined": sum(d.get("docsExamined", 0) for d in ops),
            "keys_examined": sum(d.get("keysExamined", 0) for d in ops), "server_ms": sum(d.get("millis", 0) for d in ops),
            "plan": heaviest.get("planSummary", "")}


def cli(*args: str, cwd: Path, timeout: float | None = None) -> Callable[[], None]:
    """A call that runs ``datasteward ARGS`` in a new process (the exit code of a failing gate is expected)."""
    exe = Path(sys.executable).with_name("datasteward")
    command = [str(exe)] if exe.exists() else [sys.executable, "-m", "datasteward.cli"]

    def run() -> None:
        try:
            done = subprocess.run(command + list(args), cwd=cwd, capture_output=True, text=True, env=os.environ.copy(),
                                  timeout=timeout)
        except subprocess.TimeoutExpired:
            raise Stopped(timeout) from None
        if done.returncode not in (0, 1):
            raise RuntimeError(f"datasteward {' '.join(args)} exited {done.returncode}: {done.stderr.strip()[-300:]}")
    return run


def queue_filters() -> dict[str, dict]:
    """The Review queue as people open it: the default (open flags), per owner, per check, per delivery, deep pages."""
    return {
        "open flags, page 1 (the page's default)": {"status": "open"},
        "owner annotation, open": {"owner": ["annotation"], "status": "open"},
        "check dark, open": {"check": ["dark"], "status": "open"},
        "batch b07 + language en, open": {"batch": ["b07"], "language": ["en"], "status": "open"},
        "severity high, open, page 20": {"severity": ["high"], "status": "open", "_page": 20},
        "my queue (confirmed, assigned to lee)": {"status": "confirmed", "assignee": "lee"},
    }


def flag_counts(ds) -> list[dict]:
    """Flags counted by owner, check and status in the database (what a dashboard of the whole queue needs)."""
    return list(ds._sample_collection.aggregate([
        {"$match": {"flags.0": {"$exists": True}}}, {"$unwind": "$flags"},
        {"$group": {"_id": {"owner": "$flags.owner", "check": "$flags.check", "status": "$flags.status"},
                    "n": {"$sum": 1}}}], allowDiskUse=True))


CUBE = ("owner", "check", "status", "severity")
CUBE_SAMPLE = ("batch", "language", "vendor")


def flag_cube(ds) -> list[dict]:
    """Flags and flagged items per (owner, check, status, severity, batch, language, vendor): the table that would
    answer every count the Overview and the Review queue show, if it were kept."""
    return list(ds._sample_collection.aggregate([
        {"$match": {"flags.0": {"$exists": True}}}, {"$unwind": "$flags"},
        {"$group": {"_id": {**{k: f"$flags.{k}" for k in CUBE}, **{k: f"${k}" for k in CUBE_SAMPLE}},
                    "flags": {"$sum": 1}, "items": {"$addToSet": "$_id"}}},
        {"$project": {"flags": 1, "items": {"$size": "$items"}}}], allowDiskUse=True))


def measure_queries(ds, repeats: int) -> dict[str, dict]:
    """The flag queries and the library calls behind the Overview, Review and Drift pages: timed, then profiled once."""
    out = {}
    for label, call in query_calls(ds):
        out[label] = timed(call, repeats)
        out[label]["profile"] = profiled(call)
    return out


def query_calls(ds) -> list[tuple[str, Callable[[], object]]]:
    """(label, call) of each query measured: the Review queue with typical filters, flag counts, the pages' loaders."""
    from datasteward import drift, overview, review, store, ui

    calls = []
    for label, filters in queue_filters().items():
        filters = dict(filters)
        page = filters.pop("_page", 1)
        calls.append((f"review.queue: {label}",
                      lambda f=filters, p=page: review.queue(ds, limit=50, skip=(p - 1) * 50, **f)))
    return calls + [
        ("flag counts by owner, check and status", lambda: flag_counts(ds)),
        ("flag cube: counts by owner, check, status, severity, batch, language, vendor", lambda: flag_cube(ds)),
        ("overview.kpis (Overview)", lambda: overview.kpis(ds)),
        ("overview.top_problems (Overview)", lambda: overview.top_problems(ds, limit=None)),
        ("overview.ownership (Overview)", lambda: overview.ownership(ds)),
        ("ui.dataset_stamp (every page's cache key)", lambda: ui.dataset_stamp(ds.name)),
        ("store.summary, kept (every page)", lambda: store.summary(ds)),
        ("store.summary, counted afresh", lambda: store._count_summary(ds)),
        ("drift.cached_drift by batch, kept (Drift)", lambda: drift.cached_drift(ds, "batch")),
        ("drift.cached_totals, kept (Drift)", lambda: drift.cached_totals(ds)),
    ]


def measure_tools(ds, name: str, repeats: int, *, timeout: float | None = None, library: bool = True) -> dict[str, dict]:
    """``export``, ``drift`` and ``gate`` as CLI processes (start-up included), each stopped after ``timeout`` s;
    with ``library``, also the calls in this process and a plain pymongo read of the exported fields (the floor)."""
    from datasteward import drift, exports, gate

    target = _TMP / f"{name}.csv"
    out: dict[str, dict] = {}
    try:
        for label, args in (("export (CSV)", ("export", name, "--output", str(target))),
                            ("drift (kept tables)", ("drift", name)), ("drift --refresh", ("drift", name, "--refresh")),
                            ("gate", ("gate", name))):
            out[f"CLI: datasteward {label}"] = timed(cli(*args, cwd=_TMP, timeout=timeout), repeats)
        out["library: exports.flags_table"] = timed(lambda: exports.flags_table(ds), repeats)
        out["library: drift.drift by batch (computed)"] = timed(lambda: drift.drift(ds, "batch"), repeats)
        if library:
            out["library: exports.samples_table"] = timed(lambda: exports.samples_table(ds), repeats)
            out["library: gate.run_gate"] = timed(lambda: gate.run_gate(name), repeats)
            out["pymongo: the exported fields read as plain documents"] = timed(lambda: raw_read(ds), repeats)
    finally:
        target.unlink(missing_ok=True)
    return out


def raw_read(ds) -> int:
    """Every sample's exported fields through pymongo, without FiftyOne's documents: what the export must read."""
    fields = ("media_path", "modality", "batch", "language", "vendor", "split", "speaker", "accent", "gender",
              "ground_truth.label", "consensus_label", "agreement", "transcript", "quality", "scores", "flags")
    return sum(1 for _ in ds._sample_collection.find({}, {f: 1 for f in fields}, batch_size=10_000))


def measure_pages(name: str, repeats: int, url_paths: list[str] = PAGES) -> dict[str, dict]:
    """Overview, Review and Drift (or the pages at ``url_paths``) in Chromium, through ``benchmarks/pages.py``."""
    # As a deployed server runs: no watcher of the source tree (on a busy checkout it takes a core of its own).
    os.environ.setdefault("STREAMLIT_SERVER_FILE_WATCHER_TYPE", "none")
    chosen = [p for p in pages.app_pages() if p.url_path in url_paths]
    results = pages.measure(chosen, name, repeats, _TMP / "streamlit.log")
    return {t.page.title: {"cold": t.cold, "warm": t.warm, "first": t.first, "interaction": t.interaction, "widget": t.widget,
                           "errors": list(dict.fromkeys(t.errors))} for t in results}


def dataset_for(n: int, *, reuse: bool) -> tuple[str, float | None]:
    """The synthetic dataset of ``n`` samples and the seconds it took to write (when reused, as its info recorded)."""
    import synth

    from datasteward import store

    name = f"scale-{n}"
    if reuse and store.dataset_exists(name):
        ds = store.open_dataset(name)
        kept = (ds.info or {}).get("synthetic") or {}
        pictures = ds.first()["media_path"] if ds.count() else None
        if kept.get("samples") == n and ds.count() == n and pictures and Path(pictures).exists():
            return name, kept.get("seconds")
    print(f"writing {n:,} synthetic samples…", flush=True)
    # In a child process, as benchmarks/pages.py does: a process that has just written the samples keeps a large
    # heap, and its garbage collections while it drives the browser slowed pages by ~0.6 s at 100,000 samples.
    subprocess.run([sys.executable, str(Path(synth.__file__)), name, "--samples", str(n), "--seed", "0", "--replace"],
                   check=True, env=os.environ.copy())
    written = store.refresh_info(store.open_dataset(name)).get("synthetic") or {}
    return name, written.get("seconds")


def collection_stats(ds) -> dict:
    """Size of the sample collection on disk and in memory: what a shard has to hold."""
    stats = ds._sample_collection.database.command("collStats", ds._sample_collection.name)
    return {k: stats.get(k) for k in ("count", "size", "avgObjSize", "storageSize", "totalIndexSize", "nindexes")}


def measure_size(n: int, args, results: dict) -> None:
    from datasteward import store

    repeats = args.repeats_big if n >= BIG else args.repeats
    tool_repeats = 1 if n >= TOOLS_ONCE else min(3, repeats)  # whole exports of 100k samples take minutes
    # Parts measured by an earlier run of the same size (--results) are kept unless measured again.
    entry = results.setdefault("sizes", {}).setdefault(str(n), {"load": {}})
    entry.update(samples=n, repeats=repeats, tool_repeats=tool_repeats)
    name, seconds = dataset_for(n, reuse=args.reuse)
    ds = store.open_dataset(name)
    entry["generated_s"] = seconds
    entry["collection"] = collection_stats(ds)
    entry["cube_rows"] = len(flag_cube(ds))
    counted = ds._sample_collection.aggregate([{"$group": {"_id": None, "n": {"$sum": {"$size": {"$ifNull": ["$flags", []]}}}}}])
    entry["flags"] = next(iter(counted), {}).get("n", 0)
    try:
        for part, run in (("queries", lambda: measure_queries(ds, repeats)),
                          ("pages", lambda: {**entry.get("pages", {}), **measure_pages(name, repeats, args.pages)}),
                          ("tools", lambda: measure_tools(ds, name, tool_repeats, timeout=args.tool_timeout,
                                                          library=n < TOOLS_ONCE))):
            if part in args.skip:
                continue
            print(f"{n:,}: {part}…", flush=True)
            entry["load"][part] = load()
            entry.setdefault("code", {})[part] = source_version()  # the pages are being optimised meanwhile
            entry[part] = run()
            save(results, args.results)
    finally:
        if not args.keep:
            store.delete_dataset(name)


# --- scan throughput ------------------------------------------------------------

def replicated_demo(items: int, dst: Path) -> Path:
    """The demo's files repeated as ``r0/``, ``r1/``, ... until there are at least ``items``; returns their manifest.

    Files are hard-linked (copied where links are not possible). Whole repeats
    keep the demo's mix of images and clips; fewer items than the demo are
    taken evenly across it. Every annotator row of each file is kept.
    """
    import numpy as np
    import pandas as pd

    from datasteward.demo import demo_dir

    root = demo_dir()
    manifest = pd.read_csv(root / "manifest.csv", dtype=str, keep_default_na=False)
    files = list(dict.fromkeys(manifest["filepath"]))
    every = [(k, rel) for k in range(math.ceil(items / len(files))) for rel in files]
    if items < len(files):  # a small run (the smoke test) takes files evenly across the demo
        every = [every[i] for i in np.linspace(0, len(every) - 1, items).round().astype(int)]
    parts = []
    by_file = manifest.groupby("filepath", sort=False)
    for k, rel in every:
        target = dst / f"r{k}" / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        if not target.exists():
            try:
                os.link(root / rel, target)
            except OSError:
                shutil.copyfile(root / rel, target)
        parts.append(by_file.get_group(rel).assign(filepath=f"r{k}/{rel}"))
    path = dst / "manifest.csv"
    pd.concat(parts).to_csv(path, index=False)
    return path


class PhaseClock:
    """Progress callback recording when each scan stage first and last reports."""

    def __init__(self) -> None:
        self.stages: dict[str, list[float]] = {}

    def __call__(self, done: int, total: int, stage: str) -> None:
        now = time.perf_counter()
        self.stages.setdefault(stage, [now, now])[1] = now

    def seconds(self, stage: str) -> float | None:
        span = self.stages.get(stage)
        return None if span is None else span[1] - span[0]


def scan_once(base: str, engine: str, workers: int) -> dict:
    """Scan a fresh copy of the imported dataset ``base``; seconds, items/s and the per-item phase."""
    from datasteward import store
    from datasteward.scan import scan

    name = f"{base}-{engine}-{workers}"
    store.delete_dataset(name)
    store.open_dataset(base).clone(name)
    clock = PhaseClock()
    kwargs = {} if engine == "local" else {"engine": engine}
    row = {"engine": engine, "workers": workers, "load": load()}
    try:
        started = time.perf_counter()
        report = scan(name, workers=workers, progress=clock, **kwargs)
        row["seconds"] = time.perf_counter() - started
        row["items"] = report.total
        row["decoded"] = report.decoded
        row["errors"] = len(report.errors)
        row["measuring_s"] = clock.seconds("measuring")
        row["stages"] = {stage: clock.seconds(stage) for stage in clock.stages}
        row["processes"] = getattr(report, "workers", None)  # distinct processes that measured items, where reported
    finally:
        store.delete_dataset(name)
    return row


def measure_scan(args, results: dict) -> None:
    from datasteward import store
    from datasteward.ingest import import_source

    entry: dict = {"runs": [], "load": {"import": load()}, "code": source_version()}
    results["scan"] = entry
    base = "scale-scan"
    store.delete_dataset(base)
    try:
        manifest = replicated_demo(args.scan_items, _TMP / "replicated")
        print(f"scan: importing {manifest}…", flush=True)
        started = time.perf_counter()
        report = import_source(manifest, base, workers=LOCAL_WORKERS)
        entry["import_s"] = time.perf_counter() - started
        entry["items"] = store.open_dataset(base).count()
        entry["bytes"] = sum(Path(p).stat().st_size for p in store.open_dataset(base).values("media_path"))
        entry["import_problems"] = len(report.problems)
        save(results, args.results)
        plans = [("local", LOCAL_WORKERS)] + [("ray", w) for w in args.ray_workers]
        for engine, workers in plans:
            if engine == "ray" and not args.ray_workers:
                continue
            print(f"scan: {engine} with {workers} workers…", flush=True)
            try:
                entry["runs"].append(scan_once(base, engine, workers))
            except Exception as exc:  # Ray missing or failing must not hide the local figures
                entry["runs"].append({"engine": engine, "workers": workers, "error": f"{type(exc).__name__}: {exc}"[:300]})
            save(results, args.results)
    finally:
        store.delete_dataset(base)
        shutil.rmtree(_TMP / "replicated", ignore_errors=True)


# --- the report -----------------------------------------------------------------

def save(results: dict, path: Path | None) -> None:
    if path is not None:
        path.write_text(json.dumps(results, indent=1, default=str), encoding="utf-8")


def _short(n: int) -> str:
    return f"{n // 1_000_000}M" if n >= 1_000_000 and n % 1_000_000 == 0 else (
        f"{n // 1000}k" if n % 1000 == 0 else f"{n:,}")


def _median(values) -> float | None:
    values = [v for v in values or [] if v is not None]
    return statistics.median(values) if values else None


def _figure(entry: dict | None) -> float | str | None:
    """The median of a measurement's runs, or what it was stopped at."""
    if entry is None:
        return None
    if entry.get("stopped_after") and not entry.get("runs"):
        return f"> {entry['stopped_after']:.0f} (stopped)"
    return _median(entry.get("runs"))


def _cell(seconds: float | str | None, target: float | None = None) -> str:
    if seconds is None:
        return "–"
    if isinstance(seconds, str):
        return seconds
    text = f"{seconds:.2f}" if seconds < 100 else f"{seconds:.0f}"
    return f"**{text}**" if target is not None and seconds > target else text


def _ratio(a: float | str | None, b: float | str | None) -> str:
    if not isinstance(a, float | int) or not isinstance(b, float | int) or a <= 0:
        return "–"
    return f"{b / a:.1f}x"


def growth_table(rows: dict[str, list[float | None]], sizes: list[int], head: str,
                 targets: dict[str, float] | None = None) -> list[str]:
    """One row per measurement, one column per size, then the growth between neighbouring sizes."""
    cols = [_short(n) for n in sizes]
    ratios = [f"{cols[i + 1]} ÷ {cols[i]}" for i in range(len(sizes) - 1)]
    lines = ["| " + " | ".join([head] + cols + ratios) + " |", "|" + "---|" * (1 + len(cols) + len(ratios))]
    for label, values in rows.items():
        target = (targets or {}).get(label)
        cells = [_cell(v, target) for v in values] + [_ratio(values[i], values[i + 1]) for i in range(len(values) - 1)]
        lines.append("| " + " | ".join([label] + cells) + " |")
    return lines


def render(results: dict) -> str:
    sizes = sorted(int(n) for n in results.get("sizes", {}))
    by = {n: results["sizes"][str(n)] for n in sizes}
    when = results.get("finished_at", datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M"))
    out = [SECTION, "",
           f"Measured by `make bench-full` (`benchmarks/scale.py`) up to {when} UTC, {platform.machine()}, "
           f"{os.cpu_count()} cores, Python {platform.python_version()}, MongoDB {results.get('mongo', '?')}, "
           f"code at {', '.join(results.get('commits') or ['?'])}. "
           "The machine is shared with other work and noisy: the load average (1, 5, 15 min) at the start of each "
           "part is given beside it, and on 2 cores a load above 2 means the figures include waiting for the CPU. "
           "Datasets are synthetic (`benchmarks/synth.py`: 20 batches, 8 languages, 4 vendors, flags at per-check "
           "rates with batch and language spikes, a part of them reviewed); each size was written into a fresh "
           "dataset with its indexes. Seconds.", ""]
    if sizes:
        out += ["### Datasets", "",
                "The sample collection's size from `collStats` (documents uncompressed, and on disk), its indexes, "
                "and the rows a kept table of flag counts by (owner, check, status, severity, batch, language, "
                "vendor) would have.", "",
                "| samples | flags | flag-count rows | data MB | bytes per sample | on disk MB | indexes (MB) "
                "| written in s | load at queries | load at pages | load at tools |",
                "|---|---|---|---|---|---|---|---|---|---|---|"]
        for n in sizes:
            e = by[n]
            # A part measured again on its own (say "pages (Drift)") shows beside the first.
            loads = ["; ".join((f"{k[len(p):].strip()}: " if k != p else "") + " / ".join(f"{v:.2f}" for v in lv)
                               for k, lv in e.get("load", {}).items() if k.startswith(p)) or "–"
                     for p in ("queries", "pages", "tools")]
            gen = "–" if e.get("generated_s") is None else f"{e['generated_s']:.0f}"
            c = e.get("collection") or {}
            mb = lambda key: f"{c[key] / 2**20:,.0f}" if c.get(key) is not None else "–"  # noqa: E731
            per = f"{c['avgObjSize']:,}" if c.get("avgObjSize") else "–"
            indexes = f"{c['nindexes']} ({mb('totalIndexSize')})" if c.get("nindexes") else "–"
            cube = f"{e['cube_rows']:,}" if e.get("cube_rows") is not None else "–"
            out.append(f"| {n:,} | {e.get('flags', 0):,} | {cube} | {mb('size')} | {per} | {mb('storageSize')} | "
                       f"{indexes} | {gen} | " + " | ".join(loads) + " |")
        out.append("")
        out += [f"{note}" for note in results.get("notes", [])] + ([""] if results.get("notes") else [])
        versions = [f"{_short(n)} {part} at {v}" for n in sizes for part, v in (by[n].get("code") or {}).items()]
        if versions:
            out += ["The code measured (the pages were being optimised while these ran): " + "; ".join(versions) + ".",
                    ""]
        page_rows: dict[str, list] = {}
        targets: dict[str, float] = {}
        widgets: dict[str, str] = {}
        errors: list[str] = []
        for title in dict.fromkeys(t for n in sizes for t in by[n].get("pages", {})):
            for kind, target in (("cold", TARGET_RENDER_S), ("warm", TARGET_RENDER_S),
                                 ("interaction", TARGET_INTERACTION_S)):
                label = f"{title}: {kind}"
                targets[label] = target
                page_rows[label] = []
                for n in sizes:
                    t = by[n].get("pages", {}).get(title)
                    # cold is one visit in runs before session 4, a list of fresh servers' visits since
                    value = None if t is None else (_median(t[kind]) if isinstance(t[kind], list) else t[kind])
                    page_rows[label].append(value)
                    if t and t.get("widget"):
                        widgets[title] = t["widget"]
                    if t and t.get("errors"):
                        errors += [f"{title} at {_short(n)}: {e}" for e in t["errors"]]
        if page_rows:
            repeats = ", ".join(f"{by[n]['repeats']} at {_short(n)}" for n in sizes)
            out += ["### Pages", "",
                    "`streamlit run app.py` driven by Chromium through `benchmarks/pages.py`: cold is the first visit on "
                    "a fresh server (after one visit to the root, which is how `benchmarks/pages.py` opens a page first), warm the median of further "
                    "visits, both from a returning browser (its HTTP cache kept; runs before 2026-11-27 22:00 UTC used new browser "
                    "sessions), interaction the median of option picks in the page's first "
                    f"drop-down ({'; '.join(f'{k}: “{v}”' for k, v in widgets.items())}), repeats: {repeats}. "
                    f"**Bold** is over the target ({TARGET_RENDER_S:g} s first render, {TARGET_INTERACTION_S:g} s "
                    "interaction).", "", *growth_table(page_rows, sizes, "page", targets), ""]
            if errors:
                out += ["Errors the pages showed: " + "; ".join(dict.fromkeys(e.replace("|", "/") for e in errors)), ""]
        for part, title, text in (
                ("queries", "Flag queries and the pages' library calls",
                 "In-process calls on the dataset (no Streamlit cache), median of the repeats above; the Review queue "
                 "returns one page of 50 rows and the total count."),
                ("tools", "Export, drift and gate",
                 "CLI rows are whole `datasteward` processes (start-up and import included); library rows are the "
                 "calls in a warm process, run below 100k samples only (the CLI rows cover the same work)"
                 + (", with a plain pymongo read of the exported fields as the floor of any export"
                    if any(k.startswith("pymongo") for n in sizes for k in by[n].get("tools", {})) else "")
                 + ". Median of " + ", ".join(f"{by[n]['tool_repeats']} at {_short(n)}"
                                                                 for n in sizes) + " runs.")):
            labels = list(dict.fromkeys(k for n in reversed(sizes) for k in by[n].get(part, {})))
            if not labels:
                continue
            rows = {k: [_figure(by[n].get(part, {}).get(k)) for n in sizes] for k in labels}
            out += [f"### {title}", "", text, "", *growth_table(rows, sizes, "measurement"), ""]
            slow_first = [f"{k} at {_short(n)}: {q['first']:.1f} s (median {_median(q['runs']):.2f} s)"
                          for n in sizes for k, q in by[n].get(part, {}).items()
                          if q.get("first") and len(q.get("runs", [])) > 1 and q["first"] > 5 * _median(q["runs"])]
            if slow_first:
                out += ["First calls much slower than the rest (a kept table that no longer matched and was "
                        "computed again, or cold database caches): " + "; ".join(slow_first) + ".", ""]
            if part == "queries":
                out += profile_table(by)
    scan = results.get("scan")
    if scan:
        out += ["### Scan throughput", "",
                f"The demo's media hard-linked under distinct names to {scan.get('items', 0):,} items "
                f"({scan.get('bytes', 0) / 2**20:,.0f} MB; imported once in {scan.get('import_s', 0):.0f} s; "
                "the copies are exact duplicates of each other, "
                "so that check fires, which does not matter for throughput), then each engine scans a fresh copy of "
                "that dataset: the whole `scan` (decoding and per-item metrics, dataset-level checks, flags, writes), "
                f"code at {scan.get('code', '?')}. "
                "The per-item phase is the time from the first to the last measured item.", "",
                "| engine | workers | processes that measured | items | seconds | items/s | per-item phase s "
                "| per-item items/s | load (1, 5, 15 min) |",
                "|---|---|---|---|---|---|---|---|---|"]
        for r in scan["runs"]:
            if "error" in r:
                out.append(f"| {r['engine']} | {r['workers']} | – | – | – | – | – | – | not run: "
                           f"{r['error'].replace('|', '/')} |")
                continue
            phase = r.get("measuring_s")
            per_item = f"{r['decoded'] / phase:.1f}" if phase else "–"
            loads = " / ".join(f"{v:.2f}" for v in r["load"])
            out.append(f"| {r['engine']} | {r['workers']} | {r.get('processes') or '–'} | {r['items']:,} | {r['seconds']:.0f} | "
                       f"{r['items'] / r['seconds']:.1f} | {_cell(phase)} | {per_item} | {loads} |")
        stages = [(r["engine"], r["workers"], r["stages"]) for r in scan["runs"] if r.get("stages")]
        if stages:
            out += ["", "Where each scan's time went, from its progress reports (first to last report of each stage, "
                    "seconds): " + "; ".join(f"{e} {w}: " + ", ".join(f"{k} {v:.0f}" for k, v in st.items() if v)
                                              for e, w, st in stages) + "."]
        out.append("")
    return "\n".join(out)


def profile_table(by: dict[int, dict]) -> list[str]:
    """Where the queries' time goes at the largest size profiled: MongoDB's own account of each call."""
    profiled_sizes = [n for n in sorted(by) if any("profile" in q for q in by[n].get("queries", {}).values())]
    if not profiled_sizes:
        return []
    n = profiled_sizes[-1]
    lines = [f"What the database did for each call at {n:,} samples, from MongoDB's profiler (one more run of each "
             "call): operations, the plan of the one that examined most (`COLLSCAN` reads every sample, `IXSCAN` "
             "walks an index), documents and index keys examined, and the server's milliseconds; the rest of a "
             "call's time is moving the results to Python and working on them there.", "",
             "| measurement | ops | plan of the heaviest op | docs examined | keys examined | server ms |",
             "|---|---|---|---|---|---|"]
    for label, q in by[n]["queries"].items():
        pr = q.get("profile")
        if pr:
            plan = (pr["plan"] or "–").replace("|", "/")
            lines.append(f"| {label} | {pr['ops']} | {plan} | {pr['docs_examined']:,} | {pr['keys_examined']:,} | "
                         f"{pr['server_ms']:,} |")
    return lines + [""]


def write_report(results: dict, output: Path | None) -> str:
    text = render(results)
    if output is not None:
        before = output.read_text(encoding="utf-8") if output.exists() else ""
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(pages.replace_section(before, text), encoding="utf-8")
    return text


def source_version() -> str:
    """The commit measured, marked when the checkout had uncommitted changes."""
    def git(*args: str) -> str:
        done = subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True)
        return done.stdout.strip() if done.returncode == 0 else ""

    commit = git("rev-parse", "--short", "HEAD") or "unknown"
    return commit + (" with uncommitted changes" if git("status", "--porcelain", "--untracked-files=no") else "")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", type=int, nargs="*", default=list(SIZES))
    ap.add_argument("--no-sizes", action="store_true", help="skip the synthetic datasets")
    ap.add_argument("--skip", nargs="*", default=[], choices=("queries", "pages", "tools"),
                    help="parts of the size measurements to leave out")
    ap.add_argument("--pages", nargs="*", default=list(PAGES), help="url paths of the pages to measure")
    ap.add_argument("--repeats", type=int, default=REPEATS, help="repeats below 1M samples")
    ap.add_argument("--repeats-big", type=int, default=3, help="repeats at 1M samples and more")
    ap.add_argument("--tool-timeout", type=float, help="stop a CLI run after this many seconds (default: never)")
    ap.add_argument("--no-scan", action="store_true", help="skip the scan throughput part")
    ap.add_argument("--scan-items", type=int, default=SCAN_ITEMS)
    ap.add_argument("--ray-workers", type=int, nargs="*", default=list(RAY_WORKERS),
                    help="Ray cluster sizes to scan with (none: local pool only)")
    ap.add_argument("--output", type=Path, help="markdown file whose Scale section is written")
    ap.add_argument("--results", type=Path, help="JSON file of figures, merged with the figures it already holds")
    ap.add_argument("--database", default="datasteward_bench_scale", help="database name (default: a private one)")
    ap.add_argument("--home", type=Path, help="Data Steward home for derived pictures (default: a temporary folder)")
    ap.add_argument("--reuse", action="store_true", help="measure an existing synthetic dataset of the same size")
    ap.add_argument("--keep", action="store_true", help="keep the synthetic datasets afterwards")
    args = ap.parse_args(argv)
    # pages.py chose its own database name and home on import; this benchmark's come after.
    os.environ["FIFTYONE_DATABASE_NAME"] = args.database
    os.environ["DATASTEWARD_HOME"] = str(args.home or _TMP / "home")

    results = json.loads(args.results.read_text(encoding="utf-8")) if args.results and args.results.exists() else {}
    try:
        import fiftyone.core.odm as foo

        results["mongo"] = foo.get_db_conn().client.server_info().get("version")
        results.setdefault("commits", [])
        results["commits"] = list(dict.fromkeys(results["commits"] + [source_version()]))
        if not args.no_sizes:
            for n in args.sizes:
                measure_size(n, args, results)
        if not args.no_scan:
            measure_scan(args, results)
        results["finished_at"] = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M")
        save(results, args.results)
        print(write_report(results, args.output))
    finally:
        shutil.rmtree(_TMP, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
