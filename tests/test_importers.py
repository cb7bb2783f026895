"""Every supported format imports from real files, and what is stored is what the source says."""

from __future__ import annotations

import shutil
from datetime import datetime

import pytest

from datasteward import store
from datasteward.importers import detect_format
from datasteward.ingest import import_source


def by_name(ds):
    from pathlib import Path

    return {Path(s.media_path).name: s for s in ds.iter_samples()}


@pytest.mark.parametrize(
    "relpath, expected",
    [("imagefolder", "imagefolder"), ("coco/instances.json", "coco"), ("multi/manifest.csv", "manifest"),
     ("nemo/manifest.jsonl", "nemo"), ("commonvoice/validated.tsv", "commonvoice")],
    ids=["imagefolder", "coco", "manifest", "nemo", "commonvoice"],
)
def test_detect_format(formats, relpath, expected):
    assert detect_format(formats / relpath) == expected


def test_imagefolder_labels_and_splits(formats, dataset_name):
    report = import_source(formats / "imagefolder", dataset_name, vendor="acme")
    assert (report.added, report.errors) == (6, [])
    ds = store.open_dataset(dataset_name)
    samples = list(ds.iter_samples())
    assert sorted(s.ground_truth.label for s in samples) == ["pants", "pants", "shirt", "shirt", "shirt", "shoes"]
    assert sorted(s.split for s in samples) == ["test", "test", "train", "train", "train", "train"]
    assert {s.batch for s in samples} == {"imagefolder"}  # a delivery with no batch is named after its source
    assert {s.vendor for s in samples} == {"acme"}
    assert all(s.modality == "image" and s.metadata.width > 0 for s in samples)


def test_coco_boxes_are_relative(formats, dataset_name):
    report = import_source(formats / "coco/instances.json", dataset_name, batch="d1")
    assert report.added == 3
    samples = list(store.open_dataset(dataset_name).iter_samples())
    counts = sorted(len(s.ground_truth.detections) for s in samples)
    assert counts == [1, 1, 2]
    hat = next(s for s in samples if any(d.label == "hat" for d in s.ground_truth.detections))
    box = next(d for d in hat.ground_truth.detections if d.label == "hat").bounding_box
    assert box == pytest.approx([0.1, 0.2, 0.5, 0.6], abs=1e-6)
    assert {d.label for d in hat.ground_truth.detections} == {"hat", "shoes"}


def test_manifest_with_several_annotators(formats, dataset_name):
    report = import_source(formats / "multi/manifest.csv", dataset_name)
    assert (report.rows, report.added, report.errors) == (13, 5, [])
    items = by_name(store.open_dataset(dataset_name))
    assert len(items) == 5
    skirt = next(s for s in items.values() if s.prediction and s.prediction.label == "skirt")
    assert [(a.annotator, a.label) for a in skirt.annotations] == [("ann1", "skirt"), ("ann2", "skirt"), ("ann3", "dress")]
    assert skirt.ground_truth.label == "skirt"  # majority of the three
    assert skirt.prediction.confidence == pytest.approx(0.9)
    assert skirt.collected_at == datetime(2026, 1, 15)
    assert (skirt.batch, skirt.vendor, skirt.split, skirt.language) == ("b01", "acme", "train", "en")
    audio = items["5_nicolas_3.wav"]
    assert audio.modality == "audio"
    assert [(a.annotator, a.transcript) for a in audio.annotations] == [("tx1", "five"), ("tx2", "fire")]
    assert audio.transcript == "five"  # a tie goes to the first answer
    assert (audio.speaker, audio.accent, audio.gender) == ("nicolas", "BEL/French", "male")
    assert audio.audio.sample_rate == 8000 and audio.audio.channels == 1
    assert audio.filepath.endswith(".png") and audio.media_path.endswith(".wav")
    assert audio.source_file.endswith("manifest.csv") and audio.source_row == 13  # header, 9 image rows, 2 rows of the first clip


def test_predictions_attach_to_existing_samples(formats, dataset_name):
    import_source(formats / "multi/manifest.csv", dataset_name)
    report = import_source(formats / "multi/predictions.csv", dataset_name, fmt="predictions")
    assert (report.added, report.errors) == (2, [])
    items = by_name(store.open_dataset(dataset_name))
    assert (items["3_jackson_7.wav"].prediction.label, items["3_jackson_7.wav"].prediction.confidence) == ("eight", 0.55)
    changed = [s for s in items.values() if s.prediction and s.prediction.label == "dress"]
    assert len(changed) == 1 and changed[0].prediction.confidence == pytest.approx(0.7)


def test_predictions_report_unknown_items(formats, dataset_name):
    import_source(formats / "multi/manifest.csv", dataset_name)
    bad = formats / "multi/bad_predictions.csv"
    bad.write_text("filepath,prediction,confidence\nimages/nope.jpg,hat,0.5\naudio/3_jackson_7.wav,two,7\n")
    report = import_source(bad, dataset_name, fmt="predictions")
    assert report.added == 0
    assert [p.where.rsplit(":", 1)[1] for p in report.errors] == ["2", "3"]
    assert "no sample for file 'images/nope.jpg'" in report.errors[0].message
    assert "not a number in 0..1" in report.errors[1].message


def test_nemo_manifest(formats, dataset_name):
    report = import_source(formats / "nemo/manifest.jsonl", dataset_name)
    assert report.added == 3
    items = by_name(store.open_dataset(dataset_name))
    assert items["7_yweweler_2.wav"].transcript == "seven"
    assert {s.language for s in items.values()} == {"en"}
    declared = float(items["0_theo_1.wav"].source_extra["declared_duration"])
    assert declared == pytest.approx(items["0_theo_1.wav"].audio.duration, abs=1e-3)


def test_common_voice_tsv_with_mp3_clips(formats, dataset_name):
    report = import_source(formats / "commonvoice/validated.tsv", dataset_name)
    assert (report.added, report.corrupt) == (3, 0)
    items = by_name(store.open_dataset(dataset_name))
    clip = items["common_voice_en_1001.mp3"]
    assert clip.transcript == "two"
    assert (clip.speaker, clip.accent, clip.gender, clip.age, clip.language) == (
        "client001nicolas", "BEL/French", "male_masculine", "thirties", "en")
    assert clip.audio.container == "MP3" and clip.audio.sample_rate == 16000
    assert clip.source_extra == {"up_votes": "2", "down_votes": "0"}


def test_fiftyone_export_folder(formats, tmp_path, dataset_name):
    fo = store.fo_module()
    import_source(formats / "imagefolder", dataset_name)
    export_dir = tmp_path / "fo-export"
    store.open_dataset(dataset_name).export(
        export_dir=str(export_dir), dataset_type=fo.types.FiftyOneDataset, export_media=True, progress=False)
    target = dataset_name + "-copy"
    try:
        report = import_source(export_dir, target)
        assert report.format == "fiftyone" and report.added == 6
        copied = store.open_dataset(target)
        assert sorted(copied.values("ground_truth.label")) == ["pants", "pants", "shirt", "shirt", "shirt", "shoes"]
        assert all(str(export_dir) in p for p in copied.values("media_path"))
        assert set(copied.values("split")) == {"train", "test"}
    finally:
        store.delete_dataset(target)


def test_reimport_adds_nothing_and_new_delivery_appends_a_batch(formats, dataset_name):
    first = import_source(formats / "multi/manifest.csv", dataset_name)
    again = import_source(formats / "multi/manifest.csv", dataset_name)
    assert (first.added, again.added, again.already_present) == (5, 0, 5)
    delivery = formats / "multi/delivery2.csv"
    shutil.copy(formats / "nemo/audio/0_theo_1.wav", formats / "multi/audio/0_theo_1.wav")
    delivery.write_text("filepath,transcript,language,collected_at\naudio/0_theo_1.wav,zero,en,2026-03-01\n")
    import_source(delivery, dataset_name, vendor="newco")
    ds = store.open_dataset(dataset_name)
    assert ds.count() == 6
    assert store.batch_order(ds) == ["b01", "b02", "delivery2"]
    assert store.summary(ds)["vendor"].set_index("vendor")["samples"].to_dict() == {"acme": 3, "polyglot": 2, "newco": 1}


def test_boxes_cannot_join_a_dataset_of_class_labels(formats, dataset_name):
    from datasteward.errors import InputError

    import_source(formats / "imagefolder", dataset_name)
    with pytest.raises(InputError, match="holds classification labels and this source has detections"):
        import_source(formats / "coco/instances.json", dataset_name)
    assert store.open_dataset(dataset_name).count() == 6
    assert store.label_kind(store.open_dataset(dataset_name)) == "classification"
