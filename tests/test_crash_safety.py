"""A kill -9 in the middle of an import, a scan or a stream of review writes: the rerun recovers, nothing is lost or doubled.

Each test starts the work in its own process against the test database,
waits until the database shows that the work is part-way done, kills the
process with SIGKILL (no cleanup, no ``finally``), reruns the work and checks
the outcome against what an uninterrupted run gives.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from datasteward import review, store
from datasteward.ingest import import_source
from datasteward.review import Actor
from datasteward.scan import scan
from test_concurrency import CHECKS, flag_now, make_flagged

TESTS = Path(__file__).parent
REPO = TESTS.parent


def start(*args: str) -> subprocess.Popen:
    """``args`` in a fresh Python process on the test database, in a process group of its own."""
    return subprocess.Popen([sys.executable, *args], cwd=REPO, env=os.environ.copy(), start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def cli(*args: str) -> subprocess.Popen:
    return start("-m", "datasteward.cli", *args)


def wait_for(condition, proc: subprocess.Popen, *, timeout: float = 240) -> None:
    """Poll ``condition`` until it holds; fail if the process ends first (it finished before it could be killed)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if proc.poll() is not None:
            pytest.fail(f"the process ended (exit {proc.returncode}) before the kill point: {proc.stderr.read()[-2000:]}")
        if time.monotonic() > deadline:
            proc.kill()
            pytest.fail("the kill point was never reached")
        time.sleep(0.01)


def kill9(proc: subprocess.Popen) -> None:
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    try:  # the worker processes it started, orphaned by the kill
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def finish(proc: subprocess.Popen) -> None:
    _, err = proc.communicate(timeout=600)
    assert proc.returncode == 0, err[-3000:]


def sample_collection(name: str):
    """The raw sample collection of ``name`` once another process has created it, else None."""
    if not store.dataset_exists(name):
        return None
    return store.open_dataset(name)._sample_collection


def image_folder(root: Path, rng, count: int) -> Path:
    """``count`` small photos in two class folders: noise at many brightness levels, some black, some repeated."""
    for i in range(count):
        folder = root / ("cats" if i % 2 else "dogs")
        folder.mkdir(parents=True, exist_ok=True)
        if i % 17 == 0:
            pixels = np.zeros((24, 24, 3), np.uint8)  # dark
        else:
            level = 40 + (i * 7) % 180
            pixels = np.clip(rng.normal(level, 30, (24, 24, 3)), 0, 255).astype(np.uint8)
        path = folder / f"{i:04d}.png"
        Image.fromarray(pixels).save(path)
        if i % 23 == 0 and i:
            Image.fromarray(pixels).save(folder / f"{i:04d}-copy.png")  # an exact duplicate
    return root


def test_a_killed_import_reruns_to_the_same_dataset_without_duplicates(tmp_path, rng, dataset_name):
    source = image_folder(tmp_path / "delivery", rng, 1500)
    files = sorted(str(p) for p in source.rglob("*.png"))
    proc = cli("import", str(source), "--name", dataset_name, "--workers", "2", "--quiet")
    seen = []

    def part_written():
        coll = sample_collection(dataset_name)
        seen.append(coll.count_documents({}) if coll is not None else 0)
        return seen[-1] > 0

    wait_for(part_written, proc)
    kill9(proc)
    at_kill = sample_collection(dataset_name).count_documents({})
    assert 0 < at_kill < len(files), "the import was not killed part-way"
    finish(cli("import", str(source), "--name", dataset_name, "--workers", "2", "--quiet"))
    ds = store.open_dataset(dataset_name)
    ds.reload()  # this process first loaded it while the killed import was creating it
    keys = ds.values("item_key")
    assert len(keys) == len(set(keys)) == len(files)
    assert sorted(ds.values("media_path")) == files
    assert store.DATASET_TAG in ds.tags
    print(f"\nkilled with {at_kill} of {len(files)} samples written; the rerun added the other {len(files) - at_kill}")


def flag_table(name: str) -> dict[str, list[tuple]]:
    """Each item's flags as (check, status, score, threshold), by file path."""
    ds = store.open_dataset(name)
    out = {}
    for doc in ds._sample_collection.find({}, {"media_path": 1, "flags": 1}):
        out[doc["media_path"]] = sorted((f["check"], f["status"], round(f["score"], 9) if f.get("score") is not None
                                        else None, f.get("threshold")) for f in doc.get("flags") or [])
    return out


def test_a_killed_scan_resumes_to_the_flags_of_an_uninterrupted_one(tmp_path, rng, dataset_name):
    source = image_folder(tmp_path / "delivery", rng, 300)
    reference = f"{dataset_name}-ref"
    try:
        for name in (dataset_name, reference):
            import_source(source, name, workers=1)
        scan(reference, workers=1)
        proc = cli("scan", dataset_name, "--workers", "2", "--chunk-size", "16", "--quiet")
        coll = sample_collection(dataset_name)
        wait_for(lambda: coll.count_documents({"scan_state": {"$ne": None}}) > 0, proc)
        kill9(proc)
        measured = coll.count_documents({"scan_state": {"$ne": None}})
        assert 0 < measured < coll.count_documents({}), "the scan was not killed part-way"
        assert coll.count_documents({"flags.0": {"$exists": True}}) == 0  # killed before any flag was written
        finish(cli("scan", dataset_name, "--workers", "2", "--quiet"))
        expected, got = flag_table(reference), flag_table(dataset_name)
        assert got == expected
        fired = {c for flags in got.values() for c, *_ in flags}
        assert {"dark", "exact_duplicate"} <= fired, fired  # the comparison covers item and dataset-level checks
        print(f"\nkilled after {measured} of {len(got)} items were measured; flags equal: {sorted(fired)}")
    finally:
        store.delete_dataset(reference)


def review_writer(name: str, log: str) -> None:
    """Act on flags in turn until killed, appending each action to ``log`` (fsynced) only after it returned."""
    ds = store.open_dataset(name)
    ids = sorted(ds.values("id"))
    actor = Actor("writer")
    cycle = ["confirm", "comment", "dismiss", "reopen", "send_back"]
    with open(log, "a") as out:
        for n in range(10**6):
            sid, check = ids[n % len(ids)], CHECKS[(n // len(ids)) % len(CHECKS)]
            action = cycle[n % len(cycle)]
            entry = review.act(ds, sid, check, action, actor, version=flag_now(ds, sid, check)["version"],
                               note=f"action {n}")
            out.write(json.dumps([sid, check, action, entry["version"], entry["note"]]) + "\n")
            out.flush()
            os.fsync(out.fileno())


def test_review_writes_confirmed_before_a_kill_are_all_kept(tmp_path, dataset_name):
    make_flagged(dataset_name, items=10)
    log = tmp_path / "confirmed.jsonl"
    log.touch()
    script = f"import sys; sys.path.insert(0, {str(TESTS)!r}); from test_crash_safety import review_writer; " \
             f"review_writer({dataset_name!r}, {str(log)!r})"
    proc = start("-c", script)
    wait_for(lambda: log.read_text().count("\n") >= 60, proc)
    kill9(proc)
    confirmed = [json.loads(line) for line in log.read_text().splitlines() if line.endswith("]")]
    ds = store.open_dataset(dataset_name)
    on_flags = {(sid, f["check"], h["action"], h["version"], h["note"])
                for sid, (flags, _, _) in store.read_flags(ds).items() for f in flags for h in f.get("history") or []}
    in_history = {(h["sample_id"], h["check"], h["action"], h["version"], h["note"]) for h in review.history(ds)}
    for sid, check, action, version, note in confirmed:
        assert (sid, check, action, version, note) in on_flags
        assert (sid, check, action, version, note) in in_history
    # At most the one action in flight at the kill is on its flag beyond the log, never half-applied:
    # each flag's history still replays to its status and version.
    assert len(on_flags) - len(confirmed) in (0, 1)
    for sid, (flags, _, _) in store.read_flags(ds).items():
        for flag in flags:
            history = flag.get("history") or []
            assert flag["version"] == 1 + len(history)
            assert flag["status"] == (history[-1]["after"] if history else "open")
    # The action in flight may have missed its copy in the history collection; the repair restores it, once.
    assert review.repair_history(ds) == len(on_flags) - len(in_history)
    in_history = [(h["sample_id"], h["check"], h["action"], h["version"], h["note"]) for h in review.history(ds)]
    assert sorted(in_history) == sorted(on_flags)
    # The rerun goes on from where the kill left each flag.
    sid = confirmed[-1][0]
    flag = flag_now(ds, sid, "dark")
    review.act(ds, sid, "dark", "comment", Actor("after"), version=flag["version"])
    assert flag_now(ds, sid, "dark")["version"] == flag["version"] + 1
    print(f"\n{len(confirmed)} confirmed actions before the kill, all kept")


class Killed(BaseException):
    """Stands for SIGKILL inside this process: nothing after it runs."""


@pytest.mark.parametrize("kind", ["thumbnail", "spectrogram", "placeholder"])
def test_a_picture_cut_off_mid_write_is_drawn_again(monkeypatch, rng, kind):
    """A kill while a thumbnail is written must not leave half a file that every later import keeps."""
    from datasteward import ingest, media

    image = Image.fromarray(rng.integers(0, 256, (40, 60, 3), dtype=np.uint8))
    y = np.sin(np.arange(16_000) / 5.0).astype(np.float32)
    digest = f"killed-{rng.integers(1 << 62)}"
    draw = {"thumbnail": lambda: ingest.image_pictures(image, "x.png", digest)["thumbnail"],
            "spectrogram": lambda: ingest.audio_pictures(y, 16_000, digest)["thumbnail"],
            "placeholder": lambda: ingest._placeholder(f"cannot be shown: {digest}")}[kind]

    def half_then_killed(*args, **kwargs):
        out = next(a for a in (*args, *kwargs.values()) if isinstance(a, (str, Path)))
        Path(out).write_bytes(b"\xff\xd8\xff\xe0 half a picture")
        raise Killed

    class Half:  # a picture whose save dies half-way
        def save(self, out, *args, **kwargs):
            half_then_killed(out)

    monkeypatch.setattr(media, "save_thumbnail", half_then_killed)
    monkeypatch.setattr(media, "spectrogram_image", lambda *a, **k: Half())
    monkeypatch.setattr(media, "placeholder_image", lambda *a, **k: Half())
    with pytest.raises(Killed):
        draw()
    monkeypatch.undo()
    with Image.open(draw()) as picture:
        picture.load()  # whole: drawn again, not the half file
    assert picture.width > 0


def test_an_action_killed_before_its_history_copy_is_repaired_once(monkeypatch, dataset_name):
    ids = make_flagged(dataset_name, items=2)
    ds = store.open_dataset(dataset_name)
    sid = ids[0]
    real_log, copies = review._log, []

    def killed_before_copy(ds, sample_id, entry):
        copies.append((sample_id, entry))
        raise Killed

    monkeypatch.setattr(review, "_log", killed_before_copy)
    with pytest.raises(Killed):
        review.act(ds, sid, "dark", "confirm", Actor("ana"), version=1, assignee="ben")
    monkeypatch.undo()
    assert flag_now(ds, sid, "dark")["status"] == "confirmed"  # the decision is kept ...
    assert review.history(ds, sid) == []  # ... but the history queries do not see it yet
    review.act(ds, ids[1], "dark", "dismiss", Actor("ana"), version=1)
    scan(dataset_name, workers=1)  # the next scan repairs the history (and keeps the decision)
    assert flag_now(ds, sid, "dark")["status"] == "confirmed"
    [entry] = review.history(ds, sid)
    assert (entry["action"], entry["who"], entry["version"], entry["assignee"]) == ("confirm", "ana", 2, "ben")
    assert review.repair_history(ds) == 0
    # The killed process's own copy arriving late (a slow writer, not a dead one) is not stored twice.
    real_log(ds, *copies[0])
    assert len(review.history(ds, sid)) == 1 and len(review.history(ds)) == 2


def test_a_dataset_whose_creation_was_killed_is_finished_on_the_rerun(dataset_name):
    """A kill between FiftyOne creating the dataset and Data Steward setting it up leaves a bare dataset."""
    fo = store.fo_module()
    fo.Dataset(dataset_name, persistent=True)
    assert dataset_name not in store.list_datasets()  # not yet listed: the tag comes last
    ds = store.open_dataset(dataset_name, create=True)  # what the rerun of the import does
    assert dataset_name in store.list_datasets()
    assert "batch" in ds.get_field_schema() and ds.app_config.grid_media_field == "thumbnail"
    assert {"batch", "item_key"} <= {k.split("_")[0] for k in ds.list_indexes()} | set(ds.list_indexes())
    assert ds.info["datasteward_schema"] == store.SCHEMA_VERSION
