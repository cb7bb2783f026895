"""The `datasteward` command line: import, list, summarise, open the FiftyOne App, load the demo."""

from __future__ import annotations

import argparse
import sys

from datasteward.errors import DataStewardError
from datasteward.importers import FORMATS
from datasteward.records import ImportReport

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def _tqdm_progress():
    from tqdm import tqdm

    bars: dict[str, tqdm] = {}

    def update(done: int, total: int, stage: str) -> None:
        bar = bars.get(stage)
        if bar is None:
            bar = bars[stage] = tqdm(total=total, desc=stage, unit="item", file=sys.stderr, leave=False)
        bar.update(done - bar.n)  # honours tqdm's refresh interval, so logs stay short
        if done >= total:
            bar.close()

    return update


def _print_report(report: ImportReport, *, limit: int = 50) -> None:
    for problem in report.problems[:limit]:
        print(f"{problem.severity}: {problem}", file=sys.stderr)
    if len(report.problems) > limit:
        print(f"... and {len(report.problems) - limit} more problems", file=sys.stderr)
    print(report.summary())


def cmd_import(args) -> int:
    from datasteward.ingest import import_source

    report = import_source(
        args.source, args.name, fmt=args.format, batch=args.batch, language=args.language, vendor=args.vendor,
        strict=args.strict, skip_corrupt=args.skip_corrupt, encoding=args.encoding, workers=args.workers,
        progress=None if args.quiet else _tqdm_progress(),
    )
    _print_report(report)
    return EXIT_FAILED if report.aborted else EXIT_OK


def cmd_datasets(args) -> int:
    from datasteward import store

    for name in store.list_datasets():
        print(name)
    return EXIT_OK


def cmd_info(args) -> int:
    from datasteward import store

    ds = store.open_dataset(args.name)
    print(f"{args.name}: {ds.count()} samples")
    for field, frame in store.summary(ds).items():
        print(f"\nby {field}:")
        print(frame.to_string(index=False))
    return EXIT_OK


def cmd_app(args) -> int:
    from datasteward import store

    session = store.launch_app(args.name, port=args.port, address=args.address)
    print(f"FiftyOne App on http://{args.address}:{args.port}/datasets/{args.name} (Ctrl-C to stop)")
    session.wait(-1)
    return EXIT_OK


def cmd_demo(args) -> int:
    from datasteward.demo import load_demo

    report = load_demo(args.name, progress=None if args.quiet else _tqdm_progress())
    _print_report(report, limit=5)
    if not args.no_scan:
        from datasteward.scan import scan

        print(scan(args.name, progress=None if args.quiet else _tqdm_progress()).summary())
    return EXIT_OK


def cmd_scan(args) -> int:
    from datasteward.scan import scan

    checks = [c.strip() for c in args.checks.split(",") if c.strip()] if args.checks else None
    report = scan(args.name, checks=checks, workers=args.workers, contract=args.contract,
                  progress=None if args.quiet else _tqdm_progress(), chunk_size=args.chunk_size,
                  engine=args.engine, address=args.address)
    for path, message in report.errors[:50]:
        print(f"error: {path}: {message}", file=sys.stderr)
    print(report.summary())
    return EXIT_OK


def cmd_flags(args) -> int:
    from datasteward import exports, store

    table = exports.flags_table(store.open_dataset(args.name), status=args.status, check=args.check)
    text = exports.write_table(table, args.format, args.output)
    if text is not None:
        sys.stdout.write(text)
    else:
        print(f"{len(table)} flags written to {args.output}", file=sys.stderr)
    return EXIT_OK


def cmd_export(args) -> int:
    from datasteward import exports, store

    table = exports.samples_table(store.open_dataset(args.name))
    try:
        text = exports.write_table(table, args.format, args.output)
    except ValueError as exc:
        print(f"datasteward: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if text is not None:
        sys.stdout.write(text)
    else:
        print(f"{len(table)} samples written to {args.output}", file=sys.stderr)
    return EXIT_OK


def cmd_returns(args) -> int:
    from datasteward import returns, store

    table = returns.sent_back_table(store.open_dataset(args.name), batch=args.batch, vendor=args.vendor)
    returns.write_report(table, args.format, args.output, dataset=args.name)
    print(f"{len(table)} returned flags written to {args.output}", file=sys.stderr)
    return EXIT_OK


def cmd_gate(args) -> int:
    from datasteward import gate

    results = gate.run_gate(args.name, batch=args.batch, contract=args.contract)
    failed = [r for r in results if not r.passed]
    for r in results:
        mark = "PASS" if r.passed else "FAIL"
        value = "n/a" if r.value is None else f"{r.value:.3g}"
        limit = "" if r.limit is None else f" (limit {r.limit:g})"
        print(f"{mark}  {r.batch:<12} {r.rule:<28} {value}{limit}  {r.detail}")
        if not r.passed:
            for example in r.examples:
                print(f"        e.g. {example}")
    batches = len({r.batch for r in results})
    print(f"\n{len(failed)} of {len(results)} rules failed across {batches} batches")
    return EXIT_FAILED if failed else EXIT_OK


def cmd_drift(args) -> int:
    from datasteward import drift, store

    ds = store.open_dataset(args.name)
    table = drift.cached_drift(ds, args.by, reference=args.reference, baseline=args.baseline, refresh=args.refresh)
    if args.format == "json":
        text = drift.to_json(table if args.all else drift.alerts(table))
    elif args.format == "html":
        text = drift.to_html(table, dataset=args.name, by=args.by, reference=args.reference)
    else:
        shown = table if args.all else drift.alerts(table)
        columns = ["group", "metric", "owner", "reference", "value", "value_ref", "effect_name", "effect", "p_adjusted",
                   "n", "n_ref"] + (["verdict"] if args.all else [])
        text = (f"{len(drift.alerts(table))} drift alerts (changes for the worse) in {args.name} by {args.by}, "
                f"of {int((table['verdict'] != drift.NOT_ENOUGH).sum())} comparisons tested\n"
                + (shown[columns].to_string(index=False, float_format=lambda v: f"{v:.3g}") if len(shown) else ""))
    if args.output:
        from pathlib import Path

        Path(args.output).write_text(text + "\n", encoding="utf-8")
        print(f"wrote {args.output}", file=sys.stderr)
    else:
        print(text)
    return EXIT_OK


def cmd_scorecard(args) -> int:
    import pandas as pd

    from datasteward import store

    stats = (store.open_dataset(args.name).info or {}).get("scan")
    if not stats:
        print(f"datasteward: error: {args.name} has not been scanned yet; run `datasteward scan {args.name}`", file=sys.stderr)
        return EXIT_USAGE
    for title, key in (("Annotators", "annotators"), ("Vendors", "vendors")):
        frame = pd.DataFrame(stats.get(key) or [])
        print(f"{title}:")
        print(frame.to_string(index=False, float_format=lambda v: f"{v:.3f}") if len(frame) else "  (none)")
        print()
    alpha = stats.get("alpha_dataset")
    print("Krippendorff's alpha: " + ("n/a" if alpha is None else f"{alpha:.3f}") + " overall; by batch: "
          + ", ".join(f"{b} {'n/a' if a is None else f'{a:.3f}'}" for b, a in (stats.get("alpha_by_batch") or {}).items()))
    return EXIT_OK


def cmd_checks(args) -> int:
    from datasteward.checks import REGISTRY

    print(f"{'check':<26}{'modality':<9}{'owner':<12}{'severity':<9}{'fires when':<22}describes")
    for spec in REGISTRY.values():
        when = f"{spec.direction} {spec.default_threshold:g} {spec.unit}"
        print(f"{spec.name:<26}{spec.modality:<9}{spec.owner:<12}{spec.severity:<9}{when:<22}{spec.describes}")
    return EXIT_OK


def cmd_delete(args) -> int:
    from datasteward import store

    if not args.yes:
        print(f"refusing to delete {args.name!r} without --yes", file=sys.stderr)
        return EXIT_USAGE
    store.delete_dataset(args.name)
    print(f"deleted {args.name}")
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="datasteward", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("import", help="import a folder, manifest or annotation file into a dataset")
    p.add_argument("source")
    p.add_argument("--name", required=True, help="dataset name (created if new)")
    p.add_argument("--format", default="auto", choices=FORMATS)
    p.add_argument("--batch", help="batch for rows that name none (default: the source's name)")
    p.add_argument("--language", help="BCP-47 language for rows that name none")
    p.add_argument("--vendor", help="vendor for rows that name none")
    p.add_argument("--strict", action="store_true", help="abort before writing if any row or file has a problem")
    p.add_argument("--skip-corrupt", action="store_true", help="skip undecodable files instead of importing them as corrupt")
    p.add_argument("--encoding", default="utf-8-sig", help="text encoding of the manifest (default UTF-8)")
    p.add_argument("--workers", type=int, help="processes for checking files (default: all cores)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_import)

    p = sub.add_parser("scan", help="compute quality metrics and flags (incremental, resumable)")
    p.add_argument("name")
    p.add_argument("--workers", type=int, help="decoding processes, or CPUs of the local Ray (default: all cores)")
    p.add_argument("--engine", choices=("local", "ray"), default="local",
                   help="decode on the local process pool (default) or as Ray tasks (needs pip install '.[ray]')")
    p.add_argument("--address", help="Ray cluster to use, e.g. ray://host:10001 (default: start a local Ray)")
    p.add_argument("--checks", help="comma-separated check ids to (re)flag (default: all)")
    p.add_argument("--contract", help="quality contract TOML (remembered for the dataset)")
    p.add_argument("--chunk-size", type=int, default=128, help="items measured between two writes (default 128)")
    p.add_argument("--quiet", action="store_true")
    p.set_defaults(func=cmd_scan)

    p = sub.add_parser("flags", help="export flags")
    p.add_argument("name")
    p.add_argument("--format", default="csv", choices=("csv", "jsonl"))
    p.add_argument("--output", help="file to write (default: standard output)")
    p.add_argument("--status", choices=("open", "confirmed", "dismissed", "fixed", "sent_back"))
    p.add_argument("--check")
    p.set_defaults(func=cmd_flags)

    p = sub.add_parser("export", help="one row per sample with every metric and its open flags")
    p.add_argument("name")
    p.add_argument("--format", default="csv", choices=("csv", "parquet"))
    p.add_argument("--output")
    p.set_defaults(func=cmd_export)

    p = sub.add_parser("returns", help="return report: the items sent back to the vendor, with reasons and evidence")
    p.add_argument("name")
    p.add_argument("--batch", help="only this batch")
    p.add_argument("--vendor", help="only this vendor")
    p.add_argument("--format", default="csv", choices=("csv", "html"))
    p.add_argument("--output", required=True, help="file to write")
    p.set_defaults(func=cmd_returns)

    p = sub.add_parser("gate", help="evaluate the contract's acceptance rules per batch; exit 1 if any fails")
    p.add_argument("name")
    p.add_argument("--batch", help="only this batch")
    p.add_argument("--contract", help="contract TOML (default: the dataset's)")
    p.set_defaults(func=cmd_gate)

    p = sub.add_parser("drift", help="quality drift between batches, vendors or languages, with tests and effect sizes")
    p.add_argument("name")
    p.add_argument("--by", choices=["batch", "language", "vendor"], default="batch")
    p.add_argument("--reference", choices=["earlier", "previous", "baseline"], default="earlier",
                   help="what a batch is compared with (default: all earlier batches)")
    p.add_argument("--baseline", help="the baseline batch, with --reference baseline")
    p.add_argument("--format", choices=["table", "json", "html"], default="table")
    p.add_argument("--all", action="store_true", help="every comparison, not only the alerts")
    p.add_argument("--refresh", action="store_true",
                   help="recompute now (by default the tables kept since the last scan are used)")
    p.add_argument("--output", help="write to this file instead of standard output")
    p.set_defaults(func=cmd_drift)

    p = sub.add_parser("scorecard", help="annotator and vendor scorecard from the last scan")
    p.add_argument("name")
    p.set_defaults(func=cmd_scorecard)

    p = sub.add_parser("checks", help="list the checks with their owners and default thresholds")
    p.set_defaults(func=cmd_checks)

    p = sub.add_parser("datasets", help="list the datasets")
    p.set_defaults(func=cmd_datasets)

    p = sub.add_parser("info", help="a dataset's size by modality, batch, language and vendor")
    p.add_argument("name")
    p.set_defaults(func=cmd_info)

    p = sub.add_parser("app", help="serve the FiftyOne App on a dataset")
    p.add_argument("name")
    p.add_argument("--port", type=int, default=5151)
    p.add_argument("--address", default="127.0.0.1")
    p.set_defaults(func=cmd_app)

    p = sub.add_parser("demo", help="load and scan the bundled demo dataset (idempotent)")
    p.add_argument("--name", default="demo")
    p.add_argument("--no-scan", action="store_true", help="import only")
    p.add_argument("--quiet", action="store_true")
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("delete", help="delete a dataset")
    p.add_argument("name")
    p.add_argument("--yes", action="store_true")
    p.set_defaults(func=cmd_delete)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except DataStewardError as exc:
        print(f"datasteward: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("datasteward: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
