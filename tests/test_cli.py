"""The command line: exit codes, messages and what lands in the store."""

from __future__ import annotations

from datasteward import store
from datasteward.cli import main
from datasteward.doctor import check_mongod


def test_import_then_info(formats, dataset_name, capsys):
    assert main(["import", str(formats / "nemo/manifest.jsonl"), "--name", dataset_name, "--quiet", "--batch", "n1"]) == 0
    assert "3 added" in capsys.readouterr().out
    assert main(["info", dataset_name]) == 0
    out = capsys.readouterr().out
    assert f"{dataset_name}: 3 samples" in out and "n1" in out
    assert main(["datasets"]) == 0
    assert dataset_name in capsys.readouterr().out.split()


def test_strict_import_exits_1_and_lists_the_problem(formats, dataset_name, capsys):
    manifest = formats / "multi/manifest.csv"
    manifest.write_text(manifest.read_text() + "images/ghost.jpg,hat,,,,,,,,,,,,,\n")
    assert main(["import", str(manifest), "--name", dataset_name, "--strict", "--quiet"]) == 1
    captured = capsys.readouterr()
    assert "ghost.jpg: file not found" in captured.err and "aborted, nothing written" in captured.out
    assert not store.dataset_exists(dataset_name)


def test_unreadable_source_exits_2_with_a_message(tmp_path, dataset_name, capsys):
    assert main(["import", str(tmp_path / "nope.csv"), "--name", dataset_name]) == 2
    assert "nope.csv: source not found" in capsys.readouterr().err


def test_unknown_dataset_is_a_clear_error(capsys):
    assert main(["info", "no-such-dataset"]) == 2
    assert "no dataset named 'no-such-dataset'" in capsys.readouterr().err


def test_delete_needs_yes(formats, dataset_name):
    main(["import", str(formats / "nemo/manifest.jsonl"), "--name", dataset_name, "--quiet"])
    assert main(["delete", dataset_name]) == 2
    assert store.dataset_exists(dataset_name)
    assert main(["delete", dataset_name, "--yes"]) == 0
    assert not store.dataset_exists(dataset_name)


def test_doctor_finds_the_shipped_mongod():
    assert "v6.0" in check_mongod()


def test_doctor_fails_loudly_without_mongod(monkeypatch, tmp_path):
    import pytest

    from datasteward import doctor
    from datasteward.errors import SetupError

    monkeypatch.delenv("FIFTYONE_DATABASE_URI", raising=False)
    monkeypatch.setattr(doctor, "mongod_path", lambda: tmp_path / "mongod")
    with pytest.raises(SetupError, match="mongod is missing"):
        doctor.check_mongod()
    assert doctor.main() == 1
