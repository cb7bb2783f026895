"""Scanning on Ray: the same flags as the local pool, work spread over several worker processes, and media by URL."""

from __future__ import annotations

import shutil
import uuid
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from datasteward import engines, media, store
from datasteward.errors import DataStewardError, SetupError, UnsafePathError
from datasteward.importers._common import resolve_media
from datasteward.ingest import import_source
from datasteward.scan import scan
from test_scan import heldout_delivery

pytest.importorskip("ray")


@pytest.fixture(scope="module")
def ray_cluster():
    """One local Ray instance with two worker CPUs for the whole module: Ray takes seconds to start."""
    with engines.ray_cluster(workers=2) as ray:
        yield ray


@pytest.fixture
def dataset_names():
    names = [f"t-{uuid.uuid4().hex[:10]}" for _ in range(2)]
    yield names
    for name in names:
        store.delete_dataset(name)


def delivery_with_url(root: Path, *, images: int = 4, clips: int = 4) -> Path:
    """Held-out photos and recordings, one darkened (known to fire `dark`), and one photo named by a file:// URL."""
    out = heldout_delivery(root, images=images, clips=clips)
    first = sorted((out / "images").glob("*.jpg"))[0]
    _darken(first)
    remote = out / "remote"
    remote.mkdir()
    shutil.copy(sorted((out / "images").glob("*.jpg"))[1], remote / "by_url.jpg")
    with open(out / "manifest.csv", "a") as fh:
        fh.write(f"file://{remote / 'by_url.jpg'},shirt,,en,b1,acme,,train\n")
    return out


def _darken(path: Path) -> None:
    with Image.open(path) as im:
        Image.fromarray((np.asarray(im.convert("RGB")) * 0.04).astype(np.uint8)).save(path, quality=90)


def flag_set(name: str) -> set[tuple]:
    """(check, item file name, score) of every flag: comparable across two copies of one delivery."""
    ds = store.open_dataset(name)
    return {(f["check"], media.file_name(path), round(float(f["score"]), 9) if f.get("score") is not None else None)
            for path, flags in zip(*ds.values(["media_path", "flags"])) for f in flags or []}


def test_ray_scan_spreads_over_workers_and_equals_the_local_scan(ray_cluster, tmp_path, dataset_names):
    on_ray, local = dataset_names
    import_source(delivery_with_url(tmp_path / "a") / "manifest.csv", on_ray)
    import_source(delivery_with_url(tmp_path / "b") / "manifest.csv", local)

    report = scan(on_ray, engine="ray")
    expected = scan(local, workers=1)

    assert report.decoded == expected.decoded == 9 and not report.errors
    assert report.workers >= 2  # tasks ran in more than one Ray worker process
    assert expected.workers == 1
    flags = flag_set(on_ray)
    darkened = sorted((tmp_path / "a" / "delivery" / "images").glob("*.jpg"))[0].name
    assert ("dark", darkened) in {(check, item) for check, item, _ in flags}
    assert flags == flag_set(local)
    ds = store.open_dataset(on_ray)
    by_url = ds.match({"media_path": {"$regex": "^file://"}}).first()
    assert by_url.media_error is None and by_url.quality.brightness_mean > 0 and by_url.features is not None
    assert Path(by_url.thumbnail).is_file()  # the picture a worker drew is where the app looks


def test_ray_rescan_decodes_exactly_the_changed_item(ray_cluster, tmp_path, dataset_name):
    root = delivery_with_url(tmp_path, images=2, clips=1)
    import_source(root / "manifest.csv", dataset_name)
    scan(dataset_name, engine="ray")
    unchanged = scan(dataset_name, engine="ray")
    assert (unchanged.decoded, unchanged.up_to_date) == (0, 4)

    target = root / "remote" / "by_url.jpg"  # the item read by URL: its stamp comes from fsspec
    _darken(target)
    report = scan(dataset_name, engine="ray")
    assert (report.decoded, report.up_to_date) == (1, 3)
    ds = store.open_dataset(dataset_name)
    item = ds.match({"media_path": f"file://{target.resolve()}"}).first()
    assert "dark" in {f["check"] for f in item.flags}


def test_memory_url_is_measured_by_the_local_scan(tmp_path, dataset_name):
    fsspec = pytest.importorskip("fsspec")
    photo = next((Path(__file__).parent / "data" / "heldout" / "images").glob("*.jpg"))
    url = f"memory://ds-{uuid.uuid4().hex[:8]}/photo.jpg"
    fsspec.filesystem("memory").pipe(url, photo.read_bytes())
    (tmp_path / "m.csv").write_text(f"filepath,label\n{url},shirt\n")
    import_source(tmp_path / "m.csv", dataset_name)
    report = scan(dataset_name, workers=1)  # in this process: a memory:// file lives in one process only
    assert report.decoded == 1 and not report.errors
    sample = store.open_dataset(dataset_name).first()
    assert sample.media_path == url and sample.media_error is None
    assert sample.content_hash == media.content_hash(photo)
    assert sample.quality.brightness_mean == pytest.approx(_local_brightness(photo))


def _local_brightness(photo: Path) -> float:
    from datasteward.checks import image

    picture, _ = media.load_image(photo)
    return image.image_metrics(np.asarray(picture.convert("RGB")))["brightness_mean"]


@pytest.mark.parametrize("value, reason", [
    ("ftp://host/a.jpg", "scheme 'ftp'"),
    ("file:///etc/a.jpg", "outside the source folder"),
    ("../a.jpg", "outside the source folder"),
], ids=["unknown-scheme", "file-url-outside", "relative-escape"])
def test_manifest_urls_are_refused_unless_remote_or_inside(tmp_path, value, reason):
    with pytest.raises(UnsafePathError, match=reason):
        resolve_media(tmp_path, value)


def test_manifest_names_a_remote_url_or_a_file_url_inside(tmp_path):
    assert resolve_media(tmp_path, "s3://bucket/a b.jpg") == "s3://bucket/a b.jpg"
    assert resolve_media(tmp_path, f"file://{tmp_path}/x/a.jpg") == f"file://{tmp_path.resolve()}/x/a.jpg"
    # Not a URL (fsspec's chaining is never opened): a local name inside the folder that is simply not found.
    assert resolve_media(tmp_path, "simplecache::s3://b/a.jpg") == tmp_path.resolve() / "simplecache::s3:" / "b" / "a.jpg"


def test_unknown_engine_and_missing_ray_are_clear_errors(monkeypatch):
    with pytest.raises(DataStewardError, match="unknown engine 'spark'"):
        engines.check_engine("spark")
    with pytest.raises(DataStewardError, match="needs --engine ray"):
        engines.check_engine("local", "ray://head:10001")
    monkeypatch.setitem(__import__("sys").modules, "ray", None)  # as if the extra were not installed
    with pytest.raises(SetupError, match=r"pip install '\.\[ray\]'"):
        engines.import_ray()


def test_a_failed_ray_task_is_a_clear_error(ray_cluster):
    # measure_item catches every item's error; what can still fail is the task itself (here: a malformed job).
    with engines.measured([("only-a-path",)], engine="ray") as results:
        with pytest.raises(DataStewardError, match="a Ray task failed .* a rerun resumes"):
            list(results)
