"""Drift: where quality changed between batches, vendors and languages, with tests, effect sizes and owners."""

from urllib.parse import urlencode

import numpy as np
import pandas as pd
import streamlit as st

from datasteward import drift, store, ui

P = "dr"  # widget keys and query parameters of this page start with it
REFERENCE_LABELS = {"earlier": "all earlier batches", "previous": "the previous batch", "baseline": "a baseline batch"}


@st.cache_data(max_entries=16, show_spinner="Comparing batches, vendors and languages…")
def drift_table(name: str, stamp: tuple, by: str, reference: str, baseline: str | None,
                refresh: int = 0) -> pd.DataFrame:
    return drift.cached_drift(store.open_dataset(name), by, reference=reference, baseline=baseline,
                              refresh=refresh > 0)


@st.cache_data(max_entries=8, show_spinner=False)
def totals(name: str, stamp: tuple, refresh: int = 0) -> pd.DataFrame:
    return drift.cached_totals(store.open_dataset(name), refresh=refresh > 0)


@st.cache_data(max_entries=64, show_spinner=False)
def metric_values(name: str, stamp: tuple, metric: str, where: tuple, expected: int) -> np.ndarray:
    return np.sort(drift.sample_values(store.open_dataset(name), metric, dict(where), expected=expected))


@st.cache_data(max_entries=32, show_spinner=False)
def batches(name: str, stamp: tuple) -> list[str]:
    return store.batch_order(store.open_dataset(name))


def heatmap(table: pd.DataFrame, key: str):
    cells = drift.heatmap_frame(table)
    # A vendor's or language's own batches are drawn where one of their cells drifts: with 20 deliveries and
    # 8 languages the full grid is thousands of blank cells. The alerts and the pair picker list every group.
    drifting = set(cells.loc[cells["verdict"] == drift.DRIFT, "group"])
    shown = cells["group"].isin(drifting) | ~cells["group"].str.contains(" · ", regex=False)
    hidden = cells.loc[~shown, "group"].nunique()
    cells = cells[shown]
    if hidden:
        st.caption(f"{hidden} batch groups without any drift are not drawn; pick them below to compare.")
    cells = cells.assign(signed=np.where(cells["worse"].fillna(False).astype(bool), 1, -1) * cells["strength"].clip(0, 3),
                         p_adjusted=cells["p_adjusted"].astype(float))
    cells["signed"] = cells["signed"].where(cells["verdict"] == drift.DRIFT, 0.0)
    # Only what the chart draws and its tooltip show travel to the browser.
    tested = cells.loc[cells["verdict"] != drift.NOT_ENOUGH,
                       ["group", "metric", "owner", "verdict", "effect", "p_adjusted", "n", "n_ref", "signed"]]
    return ui.chart("drift_heatmap", tested, groups=list(dict.fromkeys(cells["group"])),
                    metrics=list(dict.fromkeys(cells["metric"])), key=key, on_select="rerun")


def items_link(name: str, row) -> str:
    """A link to the items of a drift row in the image or audio browser, sorted by the metric when it is one."""
    from datasteward.checks import REGISTRY

    modality = REGISTRY[row["check"]].modality
    page, prefix = ("audio", "au") if modality == "audio" else ("images", "im")
    params = [("dataset", name)]
    for field, values in (row["where"] or {}).items():
        params += [(f"{prefix}_{field}", v) for v in values]
    if row["kind"] == "flag_rate":
        params.append((f"{prefix}_check", row["check"]))
    elif row["kind"] == "metric" and row["metric"] != "agreement":
        params.append((f"{prefix}_sort", row["metric"]))
        if row["worse"] and drift.METRICS[row["metric"]][1] == "higher":
            params.append((f"{prefix}_desc", "true"))
    return f"/{page}?{urlencode(params)}"


def distribution(name: str, stamp: tuple, row) -> None:
    """Box plots and ECDFs of a metric in a group and its reference, or the two flag rates."""
    if row["kind"] != "metric":
        bars = pd.DataFrame({"side": [row["group"], row["reference"]], "value": [row["value"], row["value_ref"]]})
        ui.chart("rate_bars", bars, row["metric"], key=f"{P}_rates")
        return
    sides = []
    for side, where, n in ((row["group"], row["where"], row["n"]), (row["reference"], row["ref_where"], row["n_ref"])):
        values = metric_values(name, stamp, row["metric"], tuple((k, tuple(v)) for k, v in sorted(where.items())),
                               int(n))
        sides.append(drift.ecdf_points(values).assign(side=side))
    data = pd.concat(sides, ignore_index=True)
    if data.empty:
        st.info("No values to show.")
        return
    st.caption(f"Drawn from {drift.ECDF_POINTS} quantiles of each side's values (up to {drift.MAX_TEST_SAMPLE:,} per side, "
               "as tested).")
    left, right = st.columns(2)
    ui.chart("distribution_box", data, row["metric"], key=f"{P}_box", container=left)
    ui.chart("distribution_ecdf", data, row["metric"], key=f"{P}_ecdf", container=right)


st.title("Drift")
name = ui.require_dataset()
stamp = ui.dataset_stamp(name)
st.caption("Each group is compared with its reference: Kolmogorov-Smirnov and Wasserstein for metrics, a "
           "two-proportion test for flag rates, chi-square with PSI and Jensen-Shannon for the label mix; p-values "
           "adjusted together (Benjamini-Hochberg). Drift needs a significant test and at least a small effect.")
cols = st.columns([1, 1, 1])
by = ui.param_select("Compare", list(drift.BY), key=f"{P}_by", param=f"{P}_by", container=cols[0],
                     format_func=lambda b: {"batch": "batches", "language": "languages", "vendor": "vendors"}[b])
reference = ui.param_select("Batches against", list(drift.REFERENCES), key=f"{P}_ref", param=f"{P}_ref",
                            container=cols[1], format_func=REFERENCE_LABELS.get)
order = batches(name, stamp)
baseline = None
if reference == "baseline":
    baseline = ui.param_select("Baseline batch", order, key=f"{P}_base", param=f"{P}_base", container=cols[2])
if len(order) < 2 and by == "batch":
    st.info("Drift between batches needs at least two batches.")
    st.stop()

refresh = st.session_state.get(f"{P}_refresh", 0)
table = drift_table(name, stamp, by, reference, baseline, refresh)
if "computed_at" in table and len(table):
    note, button = st.columns([4, 1])
    note.caption(f"Computed at {table['computed_at'].iloc[0]} UTC, after the last scan; review decisions made since "
                 "are counted when you recompute.")
    if button.button("Recompute", key=f"{P}_recompute"):
        st.session_state[f"{P}_refresh"] = refresh + 1
        st.rerun()
if table.empty:
    st.info("Nothing to compare yet: scan the dataset first (Home page).")
    st.stop()
alerts = drift.alerts(table)
tested = table[table["verdict"] != drift.NOT_ENOUGH]
m = st.columns(4)
m[0].metric("Drift alerts (for the worse)", len(alerts))
m[1].metric("Comparisons tested", f"{len(tested):,}")
m[2].metric("Changes for the better", int(((tested["verdict"] == drift.DRIFT) & ~tested["worse"].fillna(False).astype(bool)).sum()))
m[3].metric("Not enough data", int((table["verdict"] == drift.NOT_ENOUGH).sum()))

st.subheader(f"{by.capitalize()} × metric")
event = heatmap(table, f"{P}_heatmap")

st.subheader("Alerts")
if alerts.empty:
    st.success("No change for the worse passes both the test and the effect-size floor.")
else:
    shown = alerts.assign(items=[items_link(name, r) for r in alerts.to_dict("records")])
    st.dataframe(shown[["group", "metric", "owner", "reference", "value", "value_ref", "effect_name", "effect",
                        "p_adjusted", "n", "n_ref", "items"]], hide_index=True, key=f"{P}_alerts",
                 column_config={"items": st.column_config.LinkColumn("items", display_text="open"),
                                "value": st.column_config.NumberColumn("value", format="%.3g"),
                                "value_ref": st.column_config.NumberColumn("reference value", format="%.3g"),
                                "effect": st.column_config.NumberColumn(format="%.2f"),
                                "p_adjusted": st.column_config.NumberColumn("p (adjusted)", format="%.2g")})

st.subheader("Compare one group with its reference")
choices = list(dict.fromkeys(tested["group"]))
picked = (event.selection.get("cell") or [{}])[0] if event and event.selection else {}
metrics = drift.metric_choices(table)
if picked and picked != st.session_state.get(f"{P}_picked"):  # a new click on the heatmap picks the pair
    st.session_state[f"{P}_picked"] = picked
    if picked.get("group") in choices:
        ui.set_param(f"{P}_group", picked["group"])
    if picked.get("metric") in metrics:
        ui.set_param(f"{P}_metric", picked["metric"])
default_row = alerts.iloc[0] if len(alerts) else tested.iloc[0]
c1, c2 = st.columns(2)
group = ui.param_select("Group", choices, key=f"{P}_group", param=f"{P}_group", default=default_row["group"],
                        container=c1)
metric = ui.param_select("Metric or flag rate", metrics, key=f"{P}_metric", param=f"{P}_metric",
                         default=default_row["metric"] if default_row["metric"] in metrics else None, container=c2)
match = table[(table["group"] == group) & (table["metric"] == metric)]
if match.empty:
    st.info(f"{metric} was not compared for {group}.")
else:
    row = match.iloc[0]
    st.caption(f"{group} against {row['reference']}: {row['verdict']}, {row['test']} p = {row['p_value']:.2g} "
               f"(adjusted {row['p_adjusted']:.2g}), {row['effect_name']} {row['effect']:.2f}; owner {row['owner']}.")
    distribution(name, stamp, row)

st.subheader("Trend over batches")
t1, t2 = st.columns(2)
trend_metric = ui.param_select("Metric or flag rate", metrics, key=f"{P}_trend", param=f"{P}_trend",
                               default=metric, container=t1)
split = ui.param_select("Split by", ["language", "vendor", "none"], key=f"{P}_split", param=f"{P}_split",
                        container=t2)
trend = drift.trend(totals(name, stamp, refresh), trend_metric, None if split == "none" else split, batch_order=order)
column = "all" if split == "none" else split
ui.chart("trend_lines", trend, column, order=order,
         title=trend_metric if trend_metric.endswith("rate") else f"mean {trend_metric}", key=f"{P}_trend_chart")
