"""The drift engine: its statistics against scipy and hand-computed values, and its verdicts on known data."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from scipy.spatial.distance import jensenshannon

from datasteward import drift
from datasteward.errors import DataStewardError


def test_ks_equals_scipy(rng):
    a, b = rng.normal(0, 1, 200), rng.normal(0.3, 1, 150)
    expected = stats.ks_2samp(a, b, method="asymp")  # 200 x 150 values: the asymptotic distribution
    assert drift.ks_test(a, b) == pytest.approx((expected.statistic, expected.pvalue))


def test_two_proportion_z_squared_is_the_uncorrected_chi_square():
    z, p = drift.two_proportion_test(30, 200, 12, 180)
    chi2 = stats.chi2_contingency([[30, 170], [12, 168]], correction=False)
    assert z ** 2 == pytest.approx(chi2.statistic)
    assert p == pytest.approx(chi2.pvalue)
    assert z > 0
    assert drift.two_proportion_test(0, 50, 0, 60) == (0.0, 1.0)


def test_benjamini_hochberg_by_hand():
    # sorted 0.005, 0.01, 0.03, 0.04 -> 0.02, 0.02, 0.04, 0.04 (p * m / rank, then running minimum from the top)
    adjusted = drift.benjamini_hochberg([0.01, 0.04, 0.03, 0.005, np.nan])
    np.testing.assert_allclose(adjusted[:4], [0.02, 0.04, 0.04, 0.02])
    assert np.isnan(adjusted[4])


def test_psi_and_jensen_shannon_by_hand_and_against_scipy():
    p, q = np.array([50.0, 30.0, 20.0]), np.array([40.0, 40.0, 20.0])
    by_hand = (0.5 - 0.4) * np.log(0.5 / 0.4) + (0.3 - 0.4) * np.log(0.3 / 0.4)
    assert drift.psi(p, q) == pytest.approx(by_hand)
    assert drift.js_distance(p, q) == pytest.approx(jensenshannon(p / 100, q / 100, base=2))
    assert drift.psi(q, q) == 0.0 and drift.js_distance(q, q) == 0.0


def test_chi_square_ignores_categories_empty_on_both_sides():
    counts, ref = np.array([10.0, 20.0, 0.0]), np.array([15.0, 15.0, 0.0])
    expected = stats.chi2_contingency([[10, 20], [15, 15]], correction=False)
    assert drift.chi_square(counts, ref) == pytest.approx((expected.statistic, expected.pvalue))


def test_standardized_wasserstein_measures_a_shift_in_standard_deviations(rng):
    ref = rng.normal(0, 2, 5000)
    assert drift.standardized_wasserstein(ref + 2.0, ref) == pytest.approx(1.0, rel=0.05)
    assert drift.standardized_wasserstein(np.ones(30), np.ones(30)) == 0.0
    # A constant reference borrows the spread of both sides: 1 apart, pooled sd 0.5.
    assert drift.standardized_wasserstein(np.ones(30), np.zeros(30)) == pytest.approx(2.0)


def frame(rng, batches: dict[str, dict]) -> pd.DataFrame:
    """Image samples per batch with a brightness metric and dark flags at the given mean and rate."""
    rows = []
    for batch, spec in batches.items():
        n = spec.get("n", 200)
        bright = rng.normal(spec.get("mean", 0.5), 0.1, n)
        dark = rng.random(n) < spec.get("dark", 0.05)
        labels = rng.choice(["a", "b", "c"], n, p=spec.get("labels", [1 / 3, 1 / 3, 1 / 3]))
        rows += [{"batch": batch, "vendor": spec.get("vendor", "v1"), "language": "en", "modality": "image",
                  "label": lab, "brightness_mean": b, "fired": frozenset({"dark"} if d else set())}
                 for b, d, lab in zip(bright, dark, labels)]
    return pd.DataFrame(rows)


def cell(table: pd.DataFrame, group: str, metric: str) -> pd.Series:
    return table[(table["group"] == group) & (table["metric"] == metric)].iloc[0]


def test_a_shifted_batch_drifts_and_its_unchanged_neighbours_do_not(rng):
    data = frame(rng, {"b1": {}, "b2": {}, "b3": {"mean": 0.3, "dark": 0.3, "labels": [0.7, 0.2, 0.1]}, "b4": {}})
    table = drift.compare(data, "batch", batch_order=["b1", "b2", "b3", "b4"])
    b3 = {m: cell(table, "b3", m) for m in ("brightness_mean", "dark rate", "label mix")}
    assert all(row["verdict"] == drift.DRIFT for row in b3.values())
    assert b3["dark rate"]["owner"] == "data_ops" and b3["dark rate"]["worse"]
    assert b3["label mix"]["owner"] == "product"
    assert cell(table, "b2", "brightness_mean")["verdict"] == drift.STABLE
    assert cell(table, "b2", "dark rate")["verdict"] == drift.STABLE
    # b4 against b1-b3 pooled: a third of its reference is the bad batch, but b4 itself is fine.
    assert cell(table, "b4", "brightness_mean")["reference"] == "earlier batches (b1–b3)"
    assert set(drift.alerts(table)["group"]) == {"b3"}


def test_previous_and_baseline_references(rng):
    data = frame(rng, {"b1": {}, "b2": {"mean": 0.3}, "b3": {"mean": 0.3}})
    previous = drift.compare(data, "batch", reference="previous", batch_order=["b1", "b2", "b3"])
    assert cell(previous, "b3", "brightness_mean")["reference"] == "b2"
    assert cell(previous, "b3", "brightness_mean")["verdict"] == drift.STABLE  # same as the batch before
    baseline = drift.compare(data, "batch", reference="baseline", baseline="b1", batch_order=["b1", "b2", "b3"])
    assert cell(baseline, "b3", "brightness_mean")["verdict"] == drift.DRIFT
    assert "b1" not in set(baseline["group"])
    with pytest.raises(DataStewardError, match="baseline batch 'b9' not found"):
        drift.compare(data, "batch", reference="baseline", baseline="b9")


def test_small_groups_say_not_enough_data(rng):
    data = frame(rng, {"b1": {}, "b2": {"n": 12, "mean": 0.1}})
    table = drift.compare(data, "batch", batch_order=["b1", "b2"])
    assert set(table["verdict"]) == {drift.NOT_ENOUGH}
    assert drift.alerts(table).empty


def test_a_tiny_shift_in_a_huge_sample_is_significant_but_not_drift(rng):
    data = frame(rng, {"b1": {"n": 20000}, "b2": {"n": 20000, "mean": 0.51}})  # a tenth of a standard deviation
    row = cell(drift.compare(data, "batch", batch_order=["b1", "b2"]), "b2", "brightness_mean")
    assert row["p_adjusted"] < 0.05 and row["effect"] < drift.MIN_SHIFT
    assert row["verdict"] == drift.STABLE


def test_false_alarms_on_data_without_change_stay_rare(rng):
    data = frame(rng, {f"b{i:02d}": {} for i in range(20)})
    table = drift.compare(data, "batch", batch_order=[f"b{i:02d}" for i in range(20)])
    tested = table[table["verdict"] != drift.NOT_ENOUGH]
    assert len(tested) >= 19 * 3
    assert (tested["verdict"] == drift.DRIFT).mean() <= 0.05


def test_vendors_are_compared_with_the_others_and_languages_with_their_own_batches(rng):
    data = frame(rng, {"b1": {"vendor": "v1"}, "b2": {"vendor": "v2", "mean": 0.25}, "b3": {"vendor": "v1"}})
    vendors = drift.compare(data, "vendor")
    assert cell(vendors, "v2", "brightness_mean")["reference"] == "other vendors"
    assert cell(vendors, "v2", "brightness_mean")["verdict"] == drift.DRIFT
    languages = drift.compare(data.assign(language=np.where(data["batch"] == "b1", "en", "sw")), "language",
                              batch_order=["b1", "b2", "b3"])
    assert {"en", "sw", "sw · b3"} <= set(languages["group"])
    assert cell(languages, "sw · b3", "brightness_mean")["reference"] == "sw · b2"
    with pytest.raises(DataStewardError, match="drift by 'speaker'"):
        drift.compare(data, "speaker")


def test_a_decline_too_small_for_each_batch_shows_once_the_late_batches_are_pooled(rng):
    # 40 clips a batch; from b4 on, 20% flagged instead of 3%: about 8 against 1 per batch.
    order = [f"b{i}" for i in range(1, 7)]
    data = frame(rng, {b: {"n": 40, "dark": 0.2 if b >= "b4" else 0.03} for b in order}).assign(language="sw")
    table = drift.compare(data, "language", batch_order=order)
    pooled = cell(table, "sw · b4 onwards", "dark rate")
    assert pooled["reference"] == "sw · before b4 (b1–b3)"
    assert (pooled["n"], pooled["n_ref"]) == (120, 120)
    assert pooled["verdict"] == drift.DRIFT and pooled["worse"]
    # The first batch has nothing before it, and the last alone is already compared with all before it.
    assert {g for g in table["group"] if g.endswith("onwards")} == {f"sw · b{i} onwards" for i in range(2, 6)}
    assert "sw · b4 onwards" not in set(drift.compare(data, "language", reference="previous", batch_order=order)["group"])


def test_trends_from_cell_totals_equal_direct_means_and_rates(rng):
    data = frame(rng, {"b1": {"dark": 0.1, "vendor": "v1"}, "b2": {"dark": 0.3, "vendor": "v2"}}).assign(
        language=lambda f: np.where(np.arange(len(f)) % 2 == 0, "en", "sw"))
    data.loc[3, "vendor"] = None  # a missing value is its own cell, not lost
    totals = drift.cell_totals(data)
    assert totals["n"].sum() == len(data)
    means = drift.trend(totals, "brightness_mean", "language", batch_order=["b2", "b1"])
    assert list(means["batch"]) == ["b2", "b2", "b1", "b1"]  # delivery order, not name order
    expected = data.groupby(["batch", "language"])["brightness_mean"].mean()
    for row in means.itertuples():
        assert row.value == pytest.approx(expected[(row.batch, row.language)])
    rates = drift.trend(totals, "dark rate", None).set_index("batch")["value"]
    direct = data.assign(hit=[("dark" in f) for f in data["fired"]]).groupby("batch")["hit"].mean()
    assert rates.to_dict() == pytest.approx(direct.to_dict())
    by_vendor = drift.trend(totals, "dark rate", "vendor")
    assert "(missing)" in set(by_vendor["vendor"])


def test_ecdf_points_keep_the_quartiles_and_thin_long_columns():
    rng = np.random.default_rng(5)
    values = rng.normal(size=5000)
    points = drift.ecdf_points(values)
    assert len(points) == drift.ECDF_POINTS and points["value"].is_monotonic_increasing
    for share in (0.0, 0.25, 0.5, 0.75, 1.0):
        row = points.loc[np.isclose(points["ecdf"], share)]
        assert row["value"].item() == pytest.approx(np.quantile(values, share))
    few = drift.ecdf_points([3.0, 1.0, 2.0])  # fewer values than points: every one, with its ECDF height
    assert few["value"].tolist() == [1.0, 2.0, 3.0] and few["ecdf"].tolist() == pytest.approx([1 / 3, 2 / 3, 1.0])
