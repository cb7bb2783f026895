"""Gate rules per batch, on a table whose answers are worked out by hand."""

from __future__ import annotations

import pandas as pd

from datasteward.contract import Contract, CoverageRule
from datasteward.gate import evaluate


def table():
    high = [{"check": "corrupt_file", "status": "open", "severity": "high"}]
    rows = []
    for i in range(10):  # b1: 1 of 10 has an open high flag; 3 of its 10 images are dim
        rows.append({"id": f"a{i}", "filepath": f"b1/{i}.jpg", "batch": "b1", "modality": "image",
                     "flags": high if i == 0 else [], "brightness": 0.1 if i < 3 else 0.5, "accent": None})
    for i in range(4):  # b2: 2 of 4 have open high flags; no dim image; accents 3 + 1
        rows.append({"id": f"b{i}", "filepath": f"b2/{i}.jpg", "batch": "b2", "modality": "image",
                     "flags": high if i < 2 else [{"check": "dark", "status": "dismissed", "severity": "high"}],
                     "brightness": 0.6, "accent": "x" if i < 3 else "y"})
    return pd.DataFrame(rows)


def by(results):
    return {(r.batch, r.rule): r for r in results}


def test_flag_rate_agreement_and_coverage_rules():
    contract = Contract(gate={"max_open_high_rate": 0.2, "min_agreement": 0.6},
                        coverage=[CoverageRule("dim share", "share", 0.2, modality="image", metric="brightness", below=0.3),
                                  CoverageRule("per accent", "min_count", 2, by="accent")])
    results = by(evaluate(table(), contract, alpha_by_batch={"b1": 0.7, "b2": 0.4}))
    assert results[("b1", "max_open_high_rate")].value == 0.1 and results[("b1", "max_open_high_rate")].passed
    rate = results[("b2", "max_open_high_rate")]
    assert rate.value == 0.5 and not rate.passed and rate.examples == ["b2/0.jpg", "b2/1.jpg"]
    assert results[("b1", "min_agreement")].passed and not results[("b2", "min_agreement")].passed
    assert results[("b1", "dim share")].value == 0.3 and results[("b1", "dim share")].passed
    assert not results[("b2", "dim share")].passed
    accent = results[("b2", "per accent")]
    assert not accent.passed and accent.detail == "y: 1" and accent.examples == ["b2/3.jpg"]


def test_a_rejected_batch_fails_with_its_reason():
    results = evaluate(table(), Contract(), rejected={"b1": {"reason": "wrong language", "by": "ana", "at": "2026-03-01"}})
    [rejection] = [r for r in results if r.rule == "not rejected"]
    assert rejection.batch == "b1" and not rejection.passed and "wrong language" in rejection.detail


def test_a_batch_without_several_annotators_passes_agreement_as_not_applicable():
    [r] = [r for r in evaluate(table(), Contract(gate={"min_agreement": 0.5})) if r.batch == "b1"]
    assert r.value is None and r.passed
