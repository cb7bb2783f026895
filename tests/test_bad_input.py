"""Bad input gets a clear message naming the item, the rest imports, and the store stays consistent."""

from __future__ import annotations

import shutil

import pytest

from datasteward import store
from datasteward.errors import InputError
from datasteward.ingest import import_source

HEADER = "filepath,label,transcript,annotator\n"


@pytest.fixture
def delivery(formats):
    """A folder with two good images and one good clip, plus a helper to write a manifest."""
    root = formats / "multi"

    def write(*rows: str, name: str = "delivery.csv", header: str = HEADER):
        path = root / name
        path.write_text(header + "".join(r + "\n" for r in rows), encoding="utf-8")
        return path

    images = sorted(p.name for p in (root / "images").iterdir())
    write.root = root
    write.good = [f"images/{images[0]},skirt,,", f"images/{images[1]},shirt,,", "audio/3_jackson_7.wav,three,three,"]
    return write


def count(name: str) -> int:
    return store.open_dataset(name).count() if store.dataset_exists(name) else 0


def test_missing_file_is_reported_and_the_rest_imports(delivery, dataset_name):
    report = import_source(delivery(*delivery.good, "images/not-there.jpg,hat,,"), dataset_name)
    assert report.added == 3
    [problem] = report.errors
    assert problem.where.endswith("delivery.csv:5")
    assert "not-there.jpg: file not found" in problem.message
    assert count(dataset_name) == 3


def test_zero_byte_file_is_imported_as_corrupt_with_its_reason(delivery, dataset_name):
    (delivery.root / "images/empty.jpg").write_bytes(b"")
    report = import_source(delivery(*delivery.good, "images/empty.jpg,hat,,"), dataset_name)
    assert (report.added, report.corrupt) == (4, 1)
    assert "empty.jpg: zero-byte file; imported as corrupt" in report.warnings[0].message
    ds = store.open_dataset(dataset_name)
    assert ds.match({"media_error": "zero-byte file"}).count() == 1


def test_truncated_jpeg_is_named_as_undecodable(delivery, dataset_name):
    src = next((delivery.root / "images").iterdir()).read_bytes()
    (delivery.root / "images/cut.jpg").write_bytes(src[: len(src) // 2])
    report = import_source(delivery(*delivery.good, "images/cut.jpg,hat,,"), dataset_name, skip_corrupt=True)
    assert report.added == 3
    [problem] = report.errors
    assert "cut.jpg: cannot decode image" in problem.message and "truncated" in problem.message


def test_text_named_wav_is_reported_as_undecodable_audio(delivery, dataset_name):
    (delivery.root / "audio/notes.wav").write_text("this is a text file, not audio\n" * 20)
    report = import_source(delivery(*delivery.good, "audio/notes.wav,one,one,"), dataset_name)
    assert report.corrupt == 1
    assert "notes.wav: cannot decode audio" in report.warnings[0].message
    bad = store.open_dataset(dataset_name).match({"media_error": {"$exists": True, "$ne": None}}).first()
    assert bad.modality == "audio" and bad.transcript == "one"
    assert bad.filepath.endswith(".png")  # a placeholder tile that says why


def test_wrong_text_encoding_names_the_line_and_writes_nothing(delivery, dataset_name):
    path = delivery.root / "latin1.csv"
    good = delivery.good[0]
    path.write_bytes((HEADER + good + "\n" + "images/caf\u00e9.jpg,hat,,\n").encode("latin-1"))
    with pytest.raises(InputError) as err:
        import_source(path, dataset_name)
    assert err.value.where.endswith("latin1.csv:3")
    assert "not valid utf-8 text (byte 0xe9" in str(err.value)
    assert not store.dataset_exists(dataset_name)


def test_latin1_manifest_imports_with_the_right_encoding(delivery, dataset_name):
    path = delivery.root / "latin1.csv"
    path.write_bytes((HEADER + delivery.good[0].replace("skirt", "jupe pliss\u00e9e") + "\n").encode("latin-1"))
    report = import_source(path, dataset_name, encoding="latin-1")
    assert report.added == 1
    assert store.open_dataset(dataset_name).first().ground_truth.label == "jupe pliss\u00e9e"


def test_malformed_jsonl_line_is_reported_as_file_and_line(delivery, dataset_name):
    path = delivery.root / "rows.jsonl"
    first, second = (g.split(",")[0] for g in delivery.good[:2])
    path.write_text(f'{{"filepath": "{first}", "label": "skirt"}}\n{{"filepath": "broken",\n{{"filepath": "{second}"}}\n')
    report = import_source(path, dataset_name)
    assert report.added == 2
    [problem] = report.errors
    assert problem.where.endswith("rows.jsonl:2") and "not valid JSON" in problem.message


def test_path_traversal_is_refused(delivery, dataset_name, tmp_path):
    outside = tmp_path / "secret.jpg"
    shutil.copy(next((delivery.root / "images").iterdir()), outside)
    report = import_source(delivery(delivery.good[0], "../../secret.jpg,hat,,", f"{outside},hat,,"), dataset_name)
    assert report.added == 1
    assert len(report.errors) == 2
    assert all("points outside the source folder" in p.message for p in report.errors)
    assert not any("secret" in p for p in store.open_dataset(dataset_name).values("media_path"))


def test_exact_duplicate_rows_are_kept_once_but_annotators_are_not(delivery, dataset_name):
    image = delivery.good[0].split(",")[0]
    rows = [f"{image},skirt,,ann1", f"{image},skirt,,ann1", f"{image},skirt,,ann2", f"{image},dress,,ann3"]
    report = import_source(delivery(*rows), dataset_name)
    [warning] = report.warnings
    assert warning.where.endswith(":3") and "repeats line 2" in warning.message
    sample = store.open_dataset(dataset_name).first()
    assert [(a.annotator, a.label) for a in sample.annotations] == [("ann1", "skirt"), ("ann2", "skirt"), ("ann3", "dress")]


def test_unknown_column_is_named_and_ignored(delivery, dataset_name):
    path = delivery(delivery.good[0] + ",42", header="filepath,label,transcript,annotator,colour_score\n")
    report = import_source(path, dataset_name)
    assert report.added == 1
    [warning] = report.warnings
    assert "unknown column(s) 'colour_score' ignored" in warning.message


@pytest.mark.parametrize("content", ["", HEADER], ids=["no-header", "header-only"])
def test_empty_manifest_is_an_error_and_writes_nothing(delivery, dataset_name, content):
    path = delivery.root / "empty.csv"
    path.write_text(content)
    with pytest.raises(InputError, match="empty|no rows"):
        import_source(path, dataset_name)
    assert not store.dataset_exists(dataset_name)


def test_strict_aborts_before_anything_is_written(delivery, dataset_name):
    import_source(delivery(delivery.good[0]), dataset_name)
    report = import_source(delivery(*delivery.good, "images/not-there.jpg,hat,,"), dataset_name, strict=True)
    assert report.aborted and report.added == 0
    assert count(dataset_name) == 1  # the earlier import is untouched, nothing new was added


def test_missing_filepath_column_is_an_error(delivery, dataset_name):
    path = delivery.root / "nofile.csv"
    path.write_text("path,label\nx.jpg,hat\n")
    with pytest.raises(InputError, match="no 'filepath' column"):
        import_source(path, dataset_name)


def test_bad_language_and_time_are_warnings_not_crashes(delivery, dataset_name):
    image = delivery.good[0].split(",")[0]
    path = delivery(f"{image},skirt,english!,2026-13-45", header="filepath,label,language,collected_at\n")
    report = import_source(path, dataset_name)
    assert report.added == 1
    messages = " ".join(p.message for p in report.warnings)
    assert "not a BCP-47 tag" in messages and "not an ISO-8601" in messages
    sample = store.open_dataset(dataset_name).first()
    assert sample.language is None and sample.collected_at is None
