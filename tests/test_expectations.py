"""Expectations: acceptance per batch and language, live threshold counts, saving to the contract, batch rejection."""

from __future__ import annotations

import tomllib

import pytest

from datasteward import expectations, gate, review, store
from datasteward.checks import REGISTRY
from datasteward.contract import load_contract
from datasteward.errors import AccessDenied, DataStewardError
from datasteward.review import Actor
from test_overview import build_tiny, open_page

ANA, VIC = Actor("ana"), Actor("vic", "viewer")

CONTRACT = """\
# Product's contract for the tiny dataset
version = 1

[checks.speech_rate_outlier.languages]
fr = 6.0

[gate]
max_open_high_rate = 0.2

[[coverage]]
name = "dim photos"
kind = "share"
modality = "image"
metric = "brightness"
below = 0.3
min = 0.5

[[coverage]]
name = "clips per language"
kind = "min_count"
modality = "audio"
by = "language"
min = 2
"""


@pytest.fixture
def tiny(dataset_name, tmp_path):
    """The hand-flagged tiny dataset (see test_overview) with a contract file of its own."""
    ds, ids = build_tiny(dataset_name)
    path = tmp_path / "contract.toml"
    path.write_text(CONTRACT, encoding="utf-8")
    store.set_info(ds, "contract", str(path))
    return ds, ids, path


def results(ds, path):
    frame = expectations.acceptance(ds, load_contract(path, REGISTRY))
    return {(r["batch"], r["rule"]): r for r in frame.to_dict("records")}


def test_acceptance_per_batch_with_examples(tiny):
    ds, ids, path = tiny
    r = results(ds, path)
    assert r[("b1", "max_open_high_rate")]["passed"] and r[("b1", "max_open_high_rate")]["value"] == pytest.approx(1 / 6)
    high = r[("b2", "max_open_high_rate")]
    assert not high["passed"] and high["value"] == 0.5 and high["kind"] == "gate"
    assert [e["id"] for e in high["examples"]] == [ids[6], ids[8]]
    assert [e["modality"] for e in high["examples"]] == ["audio", "audio"]
    assert r[("b1", "dim photos")]["passed"] and r[("b1", "dim photos")]["value"] == 0.5
    assert not r[("b2", "dim photos")]["passed"]  # no photos at all in b2
    assert r[("b2", "clips per language")]["passed"] and not r[("b1", "clips per language")]["passed"]
    assert expectations.item_link("d", high["examples"][0]) == f"audio?dataset=d&item={ids[6]}"


def same_as_the_gate(ds, contract_path=None):
    """Counted in the database, each rule's value, verdict, detail and failing examples equal the gate's."""
    from pathlib import Path

    ours = expectations.evaluate(ds, load_contract(contract_path or expectations.contract_path(ds), REGISTRY))
    theirs = gate.run_gate(ds.name, contract=contract_path)
    assert [(r.batch, r.rule) for r in ours] == [(r.batch, r.rule) for r in theirs]
    for a, b in zip(ours, theirs):
        assert (a.passed, a.limit, a.detail) == (b.passed, b.limit, b.detail), (a.batch, a.rule)
        assert a.value == pytest.approx(b.value, nan_ok=True), (a.batch, a.rule)
        if not a.passed:
            assert [e["name"] for e in a.examples] == [Path(p).name for p in b.examples], (a.batch, a.rule)
    return ours


def test_acceptance_equals_the_gate_on_the_whole_table(tiny):
    ds, _, _ = tiny
    gate.reject_batch(ds, "b2", "late", ANA)
    ours = same_as_the_gate(ds)
    assert {(r.batch, r.rule) for r in ours if not r.passed} == {
        ("b1", "clips per language"),  # no clips at all in b1
        ("b2", "not rejected"), ("b2", "max_open_high_rate"), ("b2", "dim photos")}  # no photos in b2


def test_acceptance_equals_the_gate_on_the_scanned_demo(scanned_demo):
    ours = same_as_the_gate(store.open_dataset(scanned_demo))
    assert len({r.batch for r in ours}) == 6 and any(not r.passed for r in ours)


def test_coverage_breakdown_per_batch_and_language(tiny):
    ds, _, path = tiny
    dim, clips = load_contract(path, REGISTRY).coverage
    share = expectations.coverage_breakdown(ds, dim)
    assert share[["batch", "language", "items", "matching"]].values.tolist() == [["b1", "en", 4, 3], ["b1", "fr", 2, 0]]
    assert share["passed"].tolist() == [True, False]
    counts = expectations.coverage_breakdown(ds, clips)
    assert counts[["batch", "language", "items", "passed"]].values.tolist() == [["b2", "en", 2, True], ["b2", "fr", 2, True]]


@pytest.mark.parametrize("check, threshold, language, expected", [
    ("dark", 0.15, None, 3),        # 0.05 0.10 0.12 are below
    ("dark", 0.25, None, 4),        # ... and 0.20
    ("dark", 0.11, None, 2),
    ("dark", 0.10, None, 1),        # strictly below: the 0.10 photo does not count
    ("dark", 0.25, "fr", 1),        # the fr photos score 0.30 and 0.20
    ("speech_rate_outlier", 3.5, None, 1),   # en: 4.0 fires; fr keeps its own 6.0: nothing
    ("speech_rate_outlier", 0.5, None, 2),   # en: both; fr still 6.0
    ("speech_rate_outlier", 4.0, None, 0),   # strictly above: en's 4.0 does not count
    ("speech_rate_outlier", 1.5, "fr", 2),   # fr at 1.5: 5.0 and 2.0
], ids=["dark-default", "dark-wider", "dark-narrower", "dark-at-a-score", "dark-fr", "rate-en-only", "rate-low",
        "rate-at-a-score", "rate-fr"])
def test_would_flag_counts_exactly(tiny, check, threshold, language, expected):
    ds, _, path = tiny
    assert expectations.would_flag(ds, check, threshold, language=language,
                                   contract=load_contract(path, REGISTRY)) == expected


def test_kept_scores_follow_a_rescore(tiny):
    ds, _, _ = tiny
    assert expectations.would_flag(ds, "dark", 0.15) == 3
    store.kept(ds, "score_values:dark", lambda d: pytest.fail("kept, not recomputed"))  # computed once, then read
    lowest = ds._sample_collection.find_one({"scores.dark": 0.05})["_id"]
    ds._sample_collection.update_one({"_id": lowest}, {"$set": {"scores.dark": 0.9}})
    store.touch(ds)  # as a scan does after writing scores
    assert expectations.would_flag(ds, "dark", 0.15) == 2
    assert expectations.score_range(ds, "dark") == {"scored": 6, "min": 0.10, "max": 0.9}


def test_score_range_and_slider_bounds(tiny):
    ds, _, _ = tiny
    assert expectations.score_range(ds, "dark") == {"scored": 6, "min": 0.05, "max": 0.5}
    assert expectations.score_range(ds, "blurry") == {"scored": 0, "min": None, "max": None}
    lo, hi, step = expectations.slider_range(0.05, 0.5, 0.15)
    assert (lo, hi, step) == (0.05, 0.5, 0.001)
    assert expectations.slider_range(-3.0, 2.0, 4.0) == (-3.0, 4.0, 0.01)


def test_save_threshold_writes_the_contract_and_the_history(tiny):
    ds, _, path = tiny
    entry = expectations.save_threshold(ds, "dark", 0.25, ANA)
    assert entry["who"] == "ana" and entry["note"] == "dark: 0.15 -> 0.25"
    expectations.save_threshold(ds, "speech_rate_outlier", 5.5, ANA, language="fr")
    doc = tomllib.loads(path.read_text())
    assert doc["checks"]["dark"]["threshold"] == 0.25 and doc["checks"]["speech_rate_outlier"]["languages"]["fr"] == 5.5
    assert "# Product's contract" in path.read_text()
    log = expectations.decisions(ds)
    assert log[["who", "action", "check", "language"]].values.tolist() == [
        ["ana", "save_threshold", "speech_rate_outlier", "fr"], ["ana", "save_threshold", "dark", None]]


def test_save_to_a_new_file_makes_it_the_datasets_contract(tiny, tmp_path):
    ds, _, _ = tiny
    store.set_info(ds, "contract", None)
    with pytest.raises(DataStewardError, match="no contract file"):
        expectations.save_threshold(ds, "dark", 0.2, ANA)
    target = tmp_path / "new.toml"
    expectations.save_threshold(ds, "dark", 0.2, ANA, path=target)
    assert expectations.contract_path(ds) == str(target)
    assert load_contract(target, REGISTRY).threshold(REGISTRY["dark"]) == 0.2


def test_rejecting_a_batch_fails_the_gate_with_the_reason_until_lifted(tiny):
    ds, _, _ = tiny
    gate.reject_batch(ds, "b1", "wrong camera", ANA)
    [rule] = [r for r in gate.run_gate(ds.name, batch="b1") if r.rule == "not rejected"]
    assert not rule.passed and "wrong camera" in rule.detail and "by ana" in rule.detail
    assert [h["action"] for h in review.history(ds)] == ["reject_batch"]
    assert review.history(ds)[0]["who"] == "ana" and review.history(ds)[0]["batch"] == "b1"
    gate.unreject_batch(ds, "b1", ANA)
    assert not [r for r in gate.run_gate(ds.name, batch="b1") if r.rule == "not rejected"]
    assert expectations.decisions(ds)["action"].tolist() == ["unreject_batch", "reject_batch"]


def test_a_rejection_made_elsewhere_meanwhile_is_kept(tiny):
    import fiftyone.core.odm as foo

    ds, _, _ = tiny
    # Another process rejects b2 after this one loaded the dataset: this process's copy of the info is stale.
    other = {"reason": "noisy", "by": "bo", "at": "2026-11-27T10:00:00+00:00"}
    foo.get_db_conn().datasets.update_one({"_id": ds._doc.id}, {"$set": {"info.rejected_batches": {"b2": other}}})
    gate.reject_batch(ds, "b1", "wrong camera", ANA)
    assert set(gate.rejected_batches(ds)) == {"b1", "b2"}
    gate.unreject_batch(ds, "b1", ANA)
    assert gate.rejected_batches(ds) == {"b2": other}


def test_rejection_needs_a_reason_and_a_known_batch(tiny):
    ds, _, _ = tiny
    with pytest.raises(DataStewardError, match="needs a reason"):
        gate.reject_batch(ds, "b1", "  ", ANA)
    with pytest.raises(DataStewardError, match="no batch 'b9'"):
        gate.reject_batch(ds, "b9", "late", ANA)
    with pytest.raises(DataStewardError, match="not rejected"):
        gate.unreject_batch(ds, "b1", ANA)


def test_a_viewer_can_neither_save_thresholds_nor_reject(tiny):
    ds, _, path = tiny
    before = path.read_text()
    with pytest.raises(AccessDenied, match="vic is a viewer and cannot save thresholds"):
        expectations.save_threshold(ds, "dark", 0.3, VIC)
    with pytest.raises(AccessDenied, match="cannot reject batches"):
        gate.reject_batch(ds, "b1", "no", VIC)
    gate.reject_batch(ds, "b1", "wrong camera", ANA)
    with pytest.raises(AccessDenied):
        gate.unreject_batch(ds, "b1", VIC)
    assert path.read_text() == before and list(gate.rejected_batches(ds)) == ["b1"]
    assert [h["who"] for h in review.history(ds)] == ["ana"]


# --- the page ---------------------------------------------------------------------

def test_page_shows_pass_fail_and_coverage(tiny):
    ds, ids, _ = tiny
    at = open_page(ds.name, "pages/expectations.py")
    results = at.dataframe[1].value
    row = results[(results["batch"] == "b2") & (results["rule"] == "max_open_high_rate")].iloc[0]
    assert row["result"] == "FAIL" and row["detail"] == "2 of 4 samples have open high-severity flags"
    text = "\n".join(m.value for m in at.markdown)
    assert f"(audio?dataset={ds.name}&item={ids[6]})" in text  # an example item links to its page
    coverage = at.dataframe[2].value  # dim photos per batch x language
    assert coverage.loc["b1", "en"] == "75% (3/4)" and coverage.loc["b1", "fr"] == "0% (0/2)"


def test_page_slider_changes_the_live_count(tiny):
    ds, _, _ = tiny
    at = open_page(ds.name, "pages/expectations.py")
    at.selectbox(key="ex_check").set_value("dark").run()
    metric = lambda: next(m.value for m in at.metric if m.label == "Items that would be flagged")  # noqa: E731
    assert metric() == "3"
    at.slider(key="ex_threshold").set_value(0.25).run()
    assert metric() == "4" and at.query_params["threshold"] == "0.25"
    at.selectbox(key="ex_language").set_value("fr").run()
    assert at.slider(key="ex_threshold").value == 0.15 and metric() == "0"  # fr: 0.30 and 0.20


def test_page_saves_thresholds_and_rejects_with_history(tiny):
    ds, _, path = tiny
    at = open_page(ds.name, "pages/expectations.py")
    at.selectbox(key="ex_check").set_value("dark").run()
    at.slider(key="ex_threshold").set_value(0.2).run()
    at.button(key="ex_save").click().run()
    assert not at.exception
    assert "dark: 0.15 -> 0.2" in at.success[0].value
    assert tomllib.loads(path.read_text())["checks"]["dark"]["threshold"] == 0.2
    at.selectbox(key="ex_reject_batch").set_value("b2")  # a form: its values go with the submit
    at.text_input(key="ex_reject_reason").set_value("clips cut short")
    at.button(key="ex_reject").click().run()
    assert "Rejected b2" in at.success[0].value
    [rule] = [r for r in gate.run_gate(ds.name, batch="b2") if r.rule == "not rejected"]
    assert "clips cut short" in rule.detail
    log = at.dataframe[-1].value  # the decisions, newest first
    assert log[["who", "action"]].values.tolist() == [["anonymous", "reject_batch"], ["anonymous", "save_threshold"]]
    at.button(key="ex_lift").click().run()
    assert "Lifted the rejection of b2" in at.success[0].value and gate.rejected_batches(ds) == {}


def test_page_refuses_a_viewer_with_a_message(tiny, monkeypatch):
    ds, _, path = tiny
    monkeypatch.setenv("DATASTEWARD_ROLE", "viewer")
    before = path.read_text()
    at = open_page(ds.name, "pages/expectations.py")
    at.selectbox(key="ex_check").set_value("dark").run()
    at.button(key="ex_save").click().run()
    assert "viewer" in at.error[0].value and path.read_text() == before
    at.text_input(key="ex_reject_reason").set_value("no")
    at.button(key="ex_reject").click().run()
    assert "cannot reject batches" in at.error[0].value and gate.rejected_batches(ds) == {}
