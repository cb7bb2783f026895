"""The quality contract: overrides resolve in one place, and mistakes name the file and key."""

from __future__ import annotations

import pytest

from datasteward.checks.registry import CheckSpec, Registry
from datasteward.contract import load_contract, save_thresholds
from datasteward.errors import InputError

REG = Registry([
    CheckSpec("dark", "image", "data_ops", "high", "too dark", "below", 0.1, "ratio"),
    CheckSpec("speech_rate_outlier", "audio", "annotation", "medium", "rate", "above", 3.5, "robust z", "dataset"),
])


def write(tmp_path, text):
    path = tmp_path / "contract.toml"
    path.write_text(text)
    return path


def test_defaults_without_a_contract():
    terms = load_contract(None, REG)
    assert terms.threshold(REG["dark"]) == 0.1 and terms.owner(REG["dark"]) == "data_ops"


def test_overrides_and_per_language_thresholds(tmp_path):
    terms = load_contract(write(tmp_path, """
version = 1
[checks.dark]
threshold = 0.2
owner = "product"
severity = "low"
[checks.speech_rate_outlier.languages]
th = 4.5
"""), REG)
    assert terms.threshold(REG["dark"]) == 0.2
    assert (terms.owner(REG["dark"]), terms.severity(REG["dark"])) == ("product", "low")
    assert terms.threshold(REG["speech_rate_outlier"], "th") == 4.5
    assert terms.threshold(REG["speech_rate_outlier"], "sw") == 3.5


@pytest.mark.parametrize("text, message", [
    ("[checks.darkk]\nthreshold = 1", "unknown check"),
    ("[checks.dark]\nowner = 'vendor'", "owner 'vendor' is not one of"),
    ("[checks.dark]\nthreshold = 'low'", "threshold must be a number"),
    ("[gate]\nmax_flags = 3", "unknown rule"),
    ("[[coverage]]\nname = 'x'\nkind = 'share'\nmin = 0.1", "needs 'metric'"),
    ("[checks.dark\n", "not a valid TOML file"),
], ids=["unknown-check", "bad-owner", "bad-type", "unknown-gate-rule", "incomplete-coverage", "syntax"])
def test_mistakes_name_the_file_and_key(tmp_path, text, message):
    path = write(tmp_path, text)
    with pytest.raises(InputError, match=message) as err:
        load_contract(path, REG)
    assert str(path) in str(err.value)


def test_saving_thresholds_keeps_comments(tmp_path):
    path = write(tmp_path, "# our contract\nversion = 1\n\n[checks.dark]\n# agreed with vendor\nthreshold = 0.1\n")
    save_thresholds(path, {"dark": 0.15, "speech_rate_outlier": 3.0})
    text = path.read_text()
    assert "# our contract" in text and "# agreed with vendor" in text
    terms = load_contract(path, REG)
    assert terms.threshold(REG["dark"]) == 0.15 and terms.threshold(REG["speech_rate_outlier"]) == 3.0
