"""The browsers' library: filters counted in MongoDB equal the same filters as FiftyOne views; pictures, diffs, manual flags."""

from __future__ import annotations

import csv
import uuid
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from datasteward import browse, review, store
from datasteward.browse import Filters
from datasteward.errors import AccessDenied, DataStewardError
from datasteward.ingest import import_source
from datasteward.review import Actor

IMAGES, CLIPS = 30, 4
ANA, VIC = Actor("ana"), Actor("vic", "viewer")


def label_of(i: int) -> str:
    return ("cat", "dog", "bird")[i % 3]


def write_delivery(root: Path) -> Path:
    """30 grey photos and 4 tones plus one broken clip, with a manifest whose every answer is known.

    Photo ``i``: batch b1 (i < 15) or b2, language en (even i) or de, vendor va (i < 10) or vb,
    label cat/dog/bird by ``i % 3``, a prediction that disagrees for i = 2 and 7.
    Clips: batch b3, two annotators whose transcripts differ, one of them holding HTML.
    """
    import soundfile as sf
    from PIL import Image

    rows = []
    for i in range(IMAGES):
        batch = "b1" if i < 15 else "b2"
        rel = f"images/{batch}/img_{i:02d}.jpg"
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        Image.new("RGB", (64, 48), (i * 8, i * 8, i * 8)).save(root / rel, quality=95)
        rows.append({"filepath": rel, "label": label_of(i), "language": "en" if i % 2 == 0 else "de",
                     "batch": batch, "vendor": "va" if i < 10 else "vb", "annotator": "ann1",
                     "prediction": "cat" if i in (2, 7) else label_of(i), "confidence": "0.9"})
    (root / "audio").mkdir(parents=True, exist_ok=True)
    t = np.arange(8000) / 16000
    for j in range(CLIPS):
        rel = f"audio/clip_{j}.wav"
        sf.write(root / rel, (0.1 * (j + 1) * np.sin(2 * np.pi * 440 * t)).astype(np.float32), 16000)
        for annotator, text in [("ann1", "five six seven"), ("ann2", "five six seven"),
                                ("ann3", "five <b>six</b> eleven")]:
            rows.append({"filepath": rel, "transcript": text, "language": "en", "batch": "b3", "vendor": "va",
                         "annotator": annotator})
    (root / "audio/clip_broken.wav").write_text("this is not audio")
    rows.append({"filepath": "audio/clip_broken.wav", "transcript": "broken", "language": "en", "batch": "b3",
                 "vendor": "va", "annotator": "ann1"})
    manifest = root / "manifest.csv"
    with open(manifest, "w", newline="") as fh:
        writer = csv.DictWriter(fh, ["filepath", "label", "transcript", "language", "batch", "vendor", "annotator",
                                     "prediction", "confidence"])
        writer.writeheader()
        writer.writerows(rows)
    return manifest


def flag(check: str, status: str, owner: str = "data_ops") -> dict:
    now = datetime(2026, 1, 1)
    return {"check": check, "status": status, "owner": owner, "severity": "medium", "score": 0.5, "threshold": 0.1,
            "detail": "", "assignee": None, "version": 1, "created_at": now, "updated_at": now, "created_by": "auto",
            "updated_by": "auto"}


def build(root: Path, name: str):
    """Import the delivery, then write known metrics and flags.

    brightness = i / 100 on photo i; snr_db = 10 j on clip j. Flags: photo 0 dark
    open; photo 1 dark dismissed; photo 2 dark confirmed and blurry open.
    """
    from datasteward.flags import derived_tags

    import_source(write_delivery(root), name)
    ds = store.open_dataset(name)
    store.ensure_scan_fields(ds)
    ids = store.sample_ids_by(ds, "media_path")
    photo = {i: ids[str(root / f"images/{'b1' if i < 15 else 'b2'}/img_{i:02d}.jpg")] for i in range(IMAGES)}
    clip = {j: ids[str(root / f"audio/clip_{j}.wav")] for j in range(CLIPS)}
    quality = {photo[i]: {"quality": {"brightness": i / 100}} for i in range(IMAGES)}
    quality |= {clip[j]: {"quality": {"snr_db": 10.0 * j}} for j in range(CLIPS)}
    store.write_fields(ds, quality, embedded={"quality"})
    flags = {0: [flag("dark", "open")], 1: [flag("dark", "dismissed")],
             2: [flag("dark", "confirmed"), flag("blurry", "open")]}
    store.write_flags(ds, [(photo[i], 0, fl, derived_tags([], fl)) for i, fl in flags.items()])
    return ds, photo, clip


@pytest.fixture(scope="module")
def browse_set(tmp_path_factory):
    """A read-only dataset with known answers, shared by the module's tests."""
    name = f"t-browse-{uuid.uuid4().hex[:8]}"
    ds, photo, clip = build(tmp_path_factory.mktemp("browse"), name)
    yield ds, photo, clip
    store.delete_dataset(name)


@pytest.fixture
def fresh_set(tmp_path, dataset_name):
    """The same dataset, for one test that changes it."""
    return build(tmp_path, dataset_name)


CASES = [
    (Filters(modality="image"), IMAGES),
    (Filters(modality="audio"), CLIPS + 1),
    (Filters(), IMAGES + CLIPS + 1),
    (Filters(modality="image", batch=["b2"]), 15),
    (Filters(modality="image", batch=["b2"], language=["de"]), 8),
    (Filters(modality="image", vendor="va"), 10),
    (Filters(modality="image", label=["cat"]), 10),
    (Filters(modality="image", label=["cat", "bird"]), 20),
    (Filters(modality="image", check=["dark"]), 3),
    (Filters(modality="image", check=["dark"], status=["open"]), 1),  # photo 2's open flag is blurry, not dark
    (Filters(modality="image", status=["open"]), 2),
    (Filters(modality="image", check=["blurry"], status=["dismissed"]), 0),
    (Filters(modality="image", metric="brightness", lo=0.05, hi=0.1), 6),
    (Filters(metric="brightness", hi=0.015), 2),  # clips have no brightness: never in range
    (Filters(metric="snr_db", lo=15), 2),
    (Filters(modality="image", search="B2/IMG_1"), 5),
    (Filters(modality="image", batch="b1", label="dog", metric="brightness", hi=0.1), 4),
    (Filters(modality="image", search="no such file"), 0),
    (Filters(modality="image", disagree=True), 2),  # photos 2 and 7
    (Filters(disagree=True, label="bird"), 1),
]


@pytest.mark.parametrize("filters, expected", CASES, ids=[browse.describe(f) or f.modality or "all" for f, _ in CASES])
def test_page_total_and_fiftyone_view_agree_with_the_known_count(browse_set, filters, expected):
    ds, _, _ = browse_set
    assert browse.page(ds, filters, limit=5).total == expected
    assert browse.count(ds, filters) == expected
    assert browse.fiftyone_view(ds, filters).count() == expected


def test_search_by_sample_id_finds_exactly_that_sample(browse_set):
    ds, photo, _ = browse_set
    filters = Filters(search=f"  {photo[7]} ")
    page = browse.page(ds, filters)
    assert page.total == 1 and page.rows[0]["id"] == photo[7]
    assert browse.fiftyone_view(ds, filters).values("id") == [photo[7]]


def test_saved_view_holds_the_same_samples_in_the_same_order(browse_set):
    ds, _, _ = browse_set
    filters = Filters(modality="image", batch=["b1"], language=["en"])
    slug = browse.save_view(ds, filters, sort_by="brightness", descending=True)
    assert slug == browse.view_name(filters, sort_by="brightness", descending=True)
    assert browse.save_view(ds, filters, sort_by="brightness", descending=True) == slug  # replaced, not piled up
    saved = ds.load_saved_view(slug)
    page = browse.page(ds, filters, sort_by="brightness", descending=True, limit=100)
    assert saved.count() == page.total == 8
    assert saved.values("id") == [r["id"] for r in page.rows]
    assert [r["quality"]["brightness"] for r in page.rows] == pytest.approx([0.14, 0.12, 0.10, 0.08, 0.06, 0.04,
                                                                             0.02, 0.0])
    assert browse.app_url(ds.name, slug, host="h", port=5151) == f"http://h:5151/datasets/{ds.name}?view={slug}"


def test_pages_are_sorted_and_sliced_in_the_database(browse_set):
    ds, photo, _ = browse_set
    filters = Filters(modality="image")
    ascending = browse.page(ds, filters, sort_by="brightness", skip=0, limit=4)
    assert [r["id"] for r in ascending.rows] == [photo[i] for i in range(4)]
    last = browse.page(ds, filters, sort_by="brightness", descending=True, skip=28, limit=4)
    assert last.total == IMAGES and [r["id"] for r in last.rows] == [photo[1], photo[0]]
    by_confidence = browse.page(ds, filters, sort_by="prediction.confidence", limit=IMAGES)
    assert by_confidence.total == IMAGES and len(by_confidence.rows) == IMAGES
    every = [r["id"] for s in range(0, IMAGES, 7) for r in browse.page(ds, filters, skip=s, limit=7).rows]
    assert sorted(every) == sorted(photo.values())  # pages neither repeat nor skip


def test_rows_carry_what_the_pages_draw(browse_set):
    ds, photo, clip = browse_set
    row = browse.item(ds, photo[2])
    assert (row["label"], row["prediction"], row["batch"], row["language"]) == ("bird", "cat", "b1", "en")
    assert browse.disagrees(row) and not browse.disagrees(browse.item(ds, photo[3]))
    assert sorted((f["check"], f["status"]) for f in row["flags"]) == [("blurry", "open"), ("dark", "confirmed")]
    assert row["quality"] == {"brightness": pytest.approx(0.02)}
    audio = browse.item(ds, clip[1])
    assert sorted(a["transcript"] for a in audio["annotations"]) == ["five <b>six</b> eleven", "five six seven",
                                                                      "five six seven"]
    assert audio["transcript"] == "five six seven"  # the majority answer is delivered
    assert audio["duration"] == pytest.approx(0.5)
    assert browse.item(ds, "not-an-id") is None and browse.item(ds, "0" * 24) is None
    assert [r["id"] for r in browse.page(ds, Filters(disagree=True)).rows] == [photo[2], photo[7]]


def test_facets_and_metric_names_per_modality(browse_set):
    ds, _, _ = browse_set
    assert browse.facets(ds, "image") == {"batch": ["b1", "b2", "b3"], "language": ["de", "en"],
                                          "vendor": ["va", "vb"], "label": ["bird", "cat", "dog"]}
    assert browse.facets(ds, "audio")["label"] == []  # the clips have transcripts, no class labels
    assert browse.metric_names(ds, "image") == ["brightness"]
    assert browse.metric_names(ds, "audio") == ["snr_db"]


@pytest.mark.parametrize("bad", [dict(metric="quality.x"), dict(metric="$where"), dict(metric="x", lo=2, hi=1)],
                         ids=["dotted", "operator", "empty-range"])
def test_bad_metric_filters_are_refused(bad):
    with pytest.raises(DataStewardError):
        Filters(**bad)


def test_detections_filter_on_box_labels(formats, dataset_name):
    import_source(formats / "coco/instances.json", dataset_name)
    ds = store.open_dataset(dataset_name)
    assert store.label_kind(ds) == "detections"
    labels = browse.facets(ds)["label"]
    assert labels
    for label in labels:
        filters = Filters(label=[label])
        expected = sum(label in [d.label for d in (s.ground_truth.detections if s.ground_truth else [])] for s in ds)
        assert browse.page(ds, filters).total == browse.fiftyone_view(ds, filters).count() == expected


# --- pictures -----------------------------------------------------------------------

@pytest.fixture
def grey_thumbnail(tmp_path) -> str:
    from PIL import Image

    path = tmp_path / "thumb.jpg"
    Image.new("RGB", (100, 100), (128, 128, 128)).save(path, quality=95)
    return str(path)


def test_a_disagreeing_prediction_is_framed_in_red(grey_thumbnail):
    row = {"thumbnail": grey_thumbnail, "label": "cat", "prediction": "dog", "confidence": 0.7, "detections": []}
    framed = np.asarray(browse.annotated_thumbnail(row))
    assert framed.shape == (browse.TILE, browse.TILE, 3)
    assert tuple(framed[128, 1]) == browse._DISAGREE
    agreeing = np.asarray(browse.annotated_thumbnail({**row, "prediction": "cat"}))
    assert abs(int(agreeing[128, 1, 0]) - 128) < 10  # no frame


def test_detection_boxes_are_drawn_where_they_are(tmp_path):
    from PIL import Image

    path = tmp_path / "wide.jpg"  # 200 x 100: letterboxed to 256 x 128, rows 64 to 191 of the tile
    Image.new("RGB", (200, 100), (128, 128, 128)).save(path, quality=95)
    row = {"thumbnail": str(path), "label": None, "prediction": None, "confidence": None,
           "detections": [("car", (0.5, 0.5, 0.25, 0.4))]}
    image = np.asarray(browse.annotated_thumbnail(row)).astype(int)
    y = 64 + int(0.85 * 128)  # below the box's label, inside its height
    box = np.array(browse._BOX)
    assert np.abs(image[y, 127:131] - box).sum(axis=1).min() < 30  # left edge at x = 0.5 * 256
    assert np.abs(image[y, 190:194] - box).sum(axis=1).min() < 30  # right edge at x = 0.75 * 256
    assert abs(image[y, 160, 0] - 128) < 10  # inside the box the photo is untouched
    assert abs(image[30, 128, 0] - 24) < 10  # above the letterboxed photo: the tile's background


def test_an_unreadable_thumbnail_becomes_a_placeholder(tmp_path):
    bad = tmp_path / "bad.jpg"
    bad.write_text("no picture")
    image = browse.annotated_thumbnail({"thumbnail": str(bad), "media_path": "x/bad.jpg", "detections": []})
    assert image.size == (browse.TILE, browse.TILE)


def test_envelope_bounds_every_sample(rng):
    sr = 8000
    y = (0.5 * np.sin(2 * np.pi * 5 * np.arange(sr) / sr) + 0.01 * rng.standard_normal(sr)).astype(np.float32)
    frame = browse.envelope(y, sr, points=100)
    assert len(frame) == 100 and frame["time_s"].iloc[0] == 0 and frame["time_s"].iloc[-1] < 1.0
    assert frame["high"].max() == pytest.approx(y.max()) and frame["low"].min() == pytest.approx(y.min())
    buckets = np.array_split(y, 100)
    assert all(lo <= b.min() and b.max() <= hi for b, lo, hi in zip(buckets, frame["low"], frame["high"]))
    spec = browse.waveform_chart(frame).to_dict()
    assert spec["mark"]["type"] == "area" and spec["encoding"]["y2"]["field"] == "high"
    # the cached form: the same chart, its data as Arrow bytes that Streamlit sends as they are
    cached = browse.waveform_spec(frame, height=90)
    assert cached["mark"] == spec["mark"] and cached["encoding"] == spec["encoding"] and cached["height"] == 90
    shipped = pa.ipc.open_stream(cached["datasets"][cached["data"]["name"]]).read_all().to_pandas()
    pd.testing.assert_frame_equal(shipped, frame.reset_index(drop=True), check_dtype=False)
    assert browse.envelope(np.zeros(0), sr).empty


def test_word_diff_marks_removed_and_added_words():
    assert browse.word_diff("the cat sat", "the dog sat down") == [
        ("=", "the"), ("-", "cat"), ("+", "dog"), ("=", "sat"), ("+", "down")]
    assert browse.word_diff("same words", "same  words") == [("=", "same words")]
    assert browse.word_diff(None, "new") == [("+", "new")]


def test_diff_html_escapes_every_word():
    out = browse.diff_html("five six", "five <script>alert(1)</script>")
    assert "<script>" not in out and "&lt;script&gt;alert(1)&lt;/script&gt;" in out
    assert '<del style="' in out and '<ins style="' in out


# --- manual flags ------------------------------------------------------------------------

def test_flag_an_item_by_hand_and_review_it(fresh_set):
    ds, photo, _ = fresh_set
    sid = photo[5]
    made = review.flag_item(ds, sid, ANA, "  the label is wrong: a dog  ", owner="annotation", severity="high")
    flags, rev, tags = store.read_flags(ds, [sid])[sid]
    assert rev == 1 and "flag:manual" in tags and flags == [made]
    assert {k: made[k] for k in ("check", "status", "owner", "severity", "created_by", "detail")} == {
        "check": "manual", "status": "open", "owner": "annotation", "severity": "high", "created_by": "ana",
        "detail": "the label is wrong: a dog"}
    assert [h["action"] for h in made["history"]] == ["flag"]
    assert browse.page(ds, Filters(check=["manual"], status=["open"])).total == 1
    review.act(ds, sid, "manual", "dismiss", ANA, version=made["version"])
    again = review.flag_item(ds, sid, ANA, "still wrong")  # reopens the one manual flag
    flags, _, tags = store.read_flags(ds, [sid])[sid]
    assert len(flags) == 1 and again["status"] == "open" and again["version"] == made["version"] + 2
    assert [h["action"] for h in again["history"]] == ["flag", "dismiss", "flag"]
    assert [h["action"] for h in review.history(ds, sid)] == ["flag", "dismiss", "flag"]
    with pytest.raises(DataStewardError, match="already has an open 'manual' flag"):
        review.flag_item(ds, sid, ANA, "third time")


def test_flagging_by_hand_keeps_the_scan_flags(fresh_set):
    ds, photo, _ = fresh_set
    review.flag_item(ds, photo[2], ANA, "odd crop", owner="data_ops")
    flags, _, tags = store.read_flags(ds, [photo[2]])[photo[2]]
    assert sorted(f["check"] for f in flags) == ["blurry", "dark", "manual"]
    assert {"flag:dark", "flag:blurry", "flag:manual", "review:confirmed"} <= set(tags)


@pytest.mark.parametrize("actor, reason, kwargs, error", [
    (VIC, "wrong", {}, AccessDenied),
    (ANA, "   ", {}, DataStewardError),
    (ANA, "wrong", {"owner": "nobody"}, DataStewardError),
    (ANA, "wrong", {"severity": "urgent"}, DataStewardError),
], ids=["viewer", "no-reason", "bad-owner", "bad-severity"])
def test_manual_flags_are_refused_without_the_right_or_a_reason(fresh_set, actor, reason, kwargs, error):
    ds, photo, _ = fresh_set
    with pytest.raises(error):
        review.flag_item(ds, photo[5], actor, reason, **kwargs)
    assert store.read_flags(ds, [photo[5]])[photo[5]] == ([], 0, [])


def test_flagging_a_missing_sample_says_so(fresh_set):
    ds, _, _ = fresh_set
    with pytest.raises(DataStewardError, match="no sample"):
        review.flag_item(ds, "0" * 24, ANA, "wrong")
