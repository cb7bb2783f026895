"""Scanning a store: flags with owners, incremental rescans, resuming after a kill, and review decisions kept."""

from __future__ import annotations

import csv
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from conftest import DATA
from datasteward import exports, store
from datasteward.cli import main
from datasteward.ingest import import_source
from datasteward.scan import scan

HELDOUT = DATA / "heldout"


def heldout_delivery(root: Path, *, images: int = 20, clips: int = 20) -> Path:
    """A manifest over copies of held-out real photos and recordings, with known labels."""
    with open(HELDOUT / "labels.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    picked = [r for r in rows if r["modality"] == "image"][:images] + [r for r in rows if r["modality"] == "audio"][:clips]
    out = root / "delivery"
    lines = []
    for i, r in enumerate(picked):
        dst = out / r["filepath"]
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(HELDOUT / r["filepath"], dst)
        lines.append({"filepath": r["filepath"], "label": r["label"], "transcript": r["label"] if r["modality"] == "audio" else "",
                      "language": "en", "batch": f"b{i % 2 + 1}", "vendor": "acme", "speaker": r.get("speaker") or "",
                      "split": "train"})
    with open(out / "manifest.csv", "w", newline="") as fh:
        writer = csv.DictWriter(fh, list(lines[0]))
        writer.writeheader()
        writer.writerows(lines)
    return out


@pytest.fixture
def scanned(tmp_path, dataset_name):
    root = heldout_delivery(tmp_path)
    import_source(root / "manifest.csv", dataset_name)
    report = scan(dataset_name, workers=1)
    return dataset_name, root, report


def test_scan_stores_metrics_scores_and_owned_flags(scanned):
    name, root, report = scanned
    ds = store.open_dataset(name)
    assert report.decoded == ds.count() == 40 and not report.errors
    sample = ds.match({"modality": "image"}).first()
    assert sample.quality is not None and sample.scores is not None and sample.features is not None
    image = ds.match({"modality": "image"}).first()
    darken = Path(image.media_path)
    with Image.open(darken) as im:
        Image.fromarray((np.asarray(im.convert("RGB")) * 0.04).astype(np.uint8)).save(darken, quality=90)
    scan(name, workers=1)
    flagged = store.open_dataset(name)[image.id]
    dark = [f for f in flagged.flags if f["check"] == "dark"]
    assert len(dark) == 1
    flag = dark[0]
    assert (flag["owner"], flag["status"], flag["created_by"], flag["version"]) == ("data_ops", "open", "auto", 1)
    assert flag["score"] is not None and flag["threshold"] is not None
    assert "flag:dark" in flagged.tags


def test_rescan_of_unchanged_data_decodes_nothing_and_changes_no_flag(scanned):
    name, _, _ = scanned
    before = exports.flags_table(store.open_dataset(name))
    report = scan(name, workers=1)
    assert report.decoded == 0 and report.up_to_date == 40
    after = exports.flags_table(store.open_dataset(name))
    pd.testing.assert_frame_equal(before.reset_index(drop=True), after.reset_index(drop=True))


def test_incremental_rescan_decodes_exactly_the_changed_and_added_items(scanned, tmp_path):
    name, root, _ = scanned
    ds = store.open_dataset(name)
    changed = ds.match({"modality": "audio"}).first()
    y = np.random.default_rng(7).uniform(-1, 1, 16000).astype(np.float32)
    import soundfile as sf

    sf.write(changed.media_path, y, 16000, format="FLAC")
    extra = root / "extra.csv"
    new_file = root / "new.jpg"
    shutil.copy(next(HELDOUT.rglob("*.jpg")), new_file)
    extra.write_text("filepath,label,language,batch,vendor\nnew.jpg,shirt,en,b3,acme\n")
    import_source(extra, name)
    report = scan(name, workers=1)
    assert report.decoded == 2
    refreshed = store.open_dataset(name)[changed.id]
    assert refreshed.content_hash != changed.content_hash
    assert refreshed.thumbnail != changed.thumbnail  # the spectrogram is redrawn for the new content


def test_review_decisions_survive_a_rescan(scanned):
    name, _, _ = scanned
    ds = store.open_dataset(name)
    flags = store.read_flags(ds)
    sid, (fl, rev, tags) = next((k, v) for k, v in flags.items() if v[0])
    dismissed = [{**fl[0], "status": "dismissed", "version": fl[0]["version"] + 1, "updated_by": "ana"}] + fl[1:]
    assert store.write_flags(ds, [(sid, rev, dismissed, tags)]) == []
    scan(name, workers=1)
    after, _, tags_after = store.read_flags(ds, [sid])[sid]
    same = [f for f in after if f["check"] == fl[0]["check"]]
    assert len(same) == 1 and same[0]["status"] == "dismissed" and same[0]["updated_by"] == "ana"
    assert "review:dismissed" in tags_after


def test_a_stale_version_is_refused_not_overwritten(scanned):
    name, _, _ = scanned
    ds = store.open_dataset(name)
    sid, (fl, rev, tags) = next((k, v) for k, v in store.read_flags(ds).items() if v[0])
    assert store.write_flags(ds, [(sid, rev, fl, tags + ["first"])]) == []
    assert store.write_flags(ds, [(sid, rev, [], tags + ["second"])]) == [sid]
    assert "first" in store.read_flags(ds, [sid])[sid][2]


def test_one_bad_item_is_reported_and_the_rest_is_scanned(tmp_path, dataset_name, monkeypatch):
    root = heldout_delivery(tmp_path, images=4, clips=0)
    import_source(root / "manifest.csv", dataset_name)
    from datasteward.checks import image

    victim = store.open_dataset(dataset_name).first().media_path
    original = image.image_metrics

    def failing(rgb):
        if failing.calls == 0:
            failing.calls += 1
            raise RuntimeError("synthetic failure")
        return original(rgb)

    failing.calls = 0
    monkeypatch.setattr(image, "image_metrics", failing)
    report = scan(dataset_name, workers=1)
    assert len(report.errors) == 1 and "synthetic failure" in report.errors[0][1]
    assert report.errors[0][0] == victim or report.errors[0][0].endswith(".jpg")
    ds = store.open_dataset(dataset_name)
    assert ds.match({"scan_error": {"$ne": None}}).count() == 1
    assert ds.match({"quality.brightness_mean": {"$exists": True}}).count() == 3


def _flag_set(name: str) -> set[tuple]:
    table = exports.flags_table(store.open_dataset(name))
    return {(Path(p).name, c, s, round(float(v), 6) if v == v and v is not None else None)
            for p, c, s, v in zip(table["filepath"], table["check"], table["status"], table["score"])}


def test_a_killed_scan_resumes_to_the_same_flags(tmp_path):
    root = heldout_delivery(tmp_path, images=60, clips=60)
    names = [f"killed-{os.getpid()}", f"whole-{os.getpid()}"]
    try:
        for n in names:
            import_source(root / "manifest.csv", n)
        scan(names[1], workers=1)
        cmd = [sys.executable, "-m", "datasteward.cli", "scan", names[0], "--workers", "1", "--chunk-size", "8", "--quiet"]
        proc = subprocess.Popen(cmd, env=os.environ.copy(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        ds = store.open_dataset(names[0])
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline and proc.poll() is None:
            done = ds.match({"scan_state": {"$ne": None}}).count()
            if done >= 16:
                break
            time.sleep(0.2)
        assert proc.poll() is None, "the scan finished before it could be killed"
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        partial = store.open_dataset(names[0]).match({"scan_state": {"$ne": None}}).count()
        assert 16 <= partial < 120
        report = scan(names[0], workers=1)
        assert report.decoded == 120 - partial
        assert _flag_set(names[0]) == _flag_set(names[1])
        assert _flag_set(names[0])  # the comparison is not vacuous
    finally:
        for n in names:
            store.delete_dataset(n)


def test_cli_scan_flags_export_and_gate(scanned, tmp_path, capsys):
    name, _, _ = scanned
    assert main(["scan", name, "--quiet", "--workers", "1"]) == 0
    assert "0 decoded" in capsys.readouterr().out
    out = tmp_path / "flags.csv"
    assert main(["flags", name, "--format", "csv", "--output", str(out)]) == 0
    flags = pd.read_csv(out)
    assert {"sample_id", "filepath", "check", "owner", "status", "batch", "language", "vendor"} <= set(flags.columns)
    assert len(flags) == len(exports.flags_table(store.open_dataset(name)))
    parquet = tmp_path / "samples.parquet"
    assert main(["export", name, "--format", "parquet", "--output", str(parquet)]) == 0
    samples = pd.read_parquet(parquet)
    assert len(samples) == 40 and {"consensus_label", "agreement", "open_flags", "brightness_mean"} <= set(samples.columns)
    contract = tmp_path / "strict.toml"
    contract.write_text("version = 1\n[gate]\nmin_samples = 1000\n")
    capsys.readouterr()
    assert main(["gate", name, "--contract", str(contract)]) == 1
    text = capsys.readouterr().out
    assert "FAIL  b1" in text and "min_samples" in text
    contract.write_text("version = 1\n[gate]\nmin_samples = 1\n")
    assert main(["gate", name, "--contract", str(contract), "--batch", "b2"]) == 0
