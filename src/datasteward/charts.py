"""Altair charts for pages, the CLI's reports and notebooks; no computation happens inside a chart."""

from __future__ import annotations

import altair as alt
import pandas as pd


def to_spec(chart: alt.TopLevelMixin) -> dict:
    """``chart`` as a Vega-Lite spec for ``st.vega_lite_chart``, each dataset as Arrow bytes.

    ``st.altair_chart`` validates the chart against the Vega-Lite schema and
    converts its data on every render: tens of milliseconds a chart, and most of
    the Overview's script time. A page caches this spec instead
    (:func:`datasteward.ui.chart`), and Streamlit sends the bytes as they are. A
    chart's frame goes to Arrow as it is, as ``st.altair_chart`` sends it. Not
    validated here: every chart the pages draw is validated by the tests
    (:func:`examples`).
    """
    import pyarrow as pa

    frame = chart.data if isinstance(chart.data, pd.DataFrame) else None
    if frame is None:  # no data, or data inside the layers: Altair inlines it as records
        with alt.data_transformers.enable("default", max_rows=None):
            spec = chart.to_dict(validate=False)
        frames = {name: pd.DataFrame.from_records(rows) for name, rows in spec.get("datasets", {}).items()}
    else:
        named = chart.copy(deep=False)
        named.data = alt.NamedData(name="data")
        spec = named.to_dict(validate=False)
        frames = {"data": frame}
    spec["datasets"] = {}
    for name, table in frames.items():
        table = pa.Table.from_pandas(table.reset_index(drop=True), preserve_index=False, nthreads=1)
        sink = pa.BufferOutputStream()
        with pa.ipc.new_stream(sink, table.schema) as writer:
            writer.write_table(table)
        spec["datasets"][name] = sink.getvalue().to_pybytes()
    return spec


def count_bars(frame: pd.DataFrame, field: str, *, title: str | None = None, sort: list[str] | None = None) -> alt.Chart:
    """Horizontal bars of ``frame["samples"]`` per ``frame[field]``.

    ``sort`` fixes the category order (for example batches in delivery order);
    by default the longest bar comes first.
    """
    order = sort if sort is not None else "-x"
    return (
        alt.Chart(frame, title=title or f"Samples by {field}")
        .mark_bar()
        .encode(
            x=alt.X("samples:Q", title="samples"),
            y=alt.Y(f"{field}:N", sort=order, title=None, axis=alt.Axis(labelOverlap=False, labelLimit=160)),
            tooltip=[alt.Tooltip(f"{field}:N"), alt.Tooltip("samples:Q", format=",")],
        )
        .properties(height=alt.Step(22))
    )


def accuracy_bars(frame: pd.DataFrame, who: str) -> alt.Chart:
    """Estimated accuracy per annotator or vendor, worst first, coloured by vendor where known."""
    color = alt.Color("vendor:N") if "vendor" in frame and who != "vendor" else alt.value("#1f77b4")
    return (
        alt.Chart(frame, title=f"Estimated accuracy by {who} (Dawid-Skene)")
        .mark_bar()
        .encode(
            x=alt.X("ds_accuracy:Q", title="estimated accuracy", scale=alt.Scale(domain=[0, 1])),
            y=alt.Y(f"{who}:N", sort="x", title=None),
            color=color,
            tooltip=[f"{who}:N", alt.Tooltip("ds_accuracy:Q", format=".2f"),
                     alt.Tooltip("agreement_with_consensus:Q", format=".2f")],
        )
        .properties(height=alt.Step(20))
    )


def ownership_heatmap(frame: pd.DataFrame, by: str, *, sort: list[str] | None = None) -> alt.Chart:
    """Owning layer x ``by`` (batch or language): colour is the share of items flagged, text the open flags.

    ``frame`` comes from :func:`datasteward.overview.ownership`, plus an
    ``href`` column: clicking a cell opens its items. Layers keep the frame's order.
    """
    owners = list(dict.fromkeys(frame["owner"]))
    base = alt.Chart(frame, title=f"Open flags by owning layer and {by}").encode(
        x=alt.X(f"{by}:N", sort=sort, title=None, axis=alt.Axis(labelAngle=-40, labelLimit=120)),
        y=alt.Y("owner:N", sort=owners, title=None),
    )
    cells = base.mark_rect(stroke="white").encode(
        color=alt.Color("rate:Q", title="items flagged", scale=alt.Scale(scheme="orangered", domainMin=0),
                        legend=alt.Legend(format="%")),
        href="href:N",
        tooltip=[alt.Tooltip("owner:N"), alt.Tooltip(f"{by}:N"), alt.Tooltip("open_flags:Q", title="open flags"),
                 alt.Tooltip("items_flagged:Q", title="items flagged"), alt.Tooltip("items:Q"),
                 alt.Tooltip("rate:Q", format=".1%", title="rate")],
    )
    labels = base.mark_text(fontSize=11).encode(
        text=alt.Text("open_flags:Q", format=","),
        color=alt.condition("datum.rate > 0.25", alt.value("white"), alt.value("black")),
    )
    return (cells + labels).properties(height=alt.Step(34))


def problem_bars(frame: pd.DataFrame) -> alt.Chart:
    """Open flags per check, most first, coloured by owning layer."""
    return (
        alt.Chart(frame, title="Top problems: open flags by check")
        .mark_bar()
        .encode(
            x=alt.X("open_flags:Q", title="open flags"),
            y=alt.Y("check:N", sort="-x", title=None, axis=alt.Axis(labelLimit=200)),
            color=alt.Color("owner:N", title="owner"),
            tooltip=["check:N", "owner:N", "severity:N", alt.Tooltip("open_flags:Q", format=","),
                     alt.Tooltip("share:Q", format=".1%", title="share of samples"), "describes:N"],
        )
        .properties(height=alt.Step(22))
    )


# --- drift -----------------------------------------------------------------------

def drift_heatmap(cells: pd.DataFrame, *, groups: list[str], metrics: list[str]) -> alt.Chart:
    """Group x metric, coloured by signed effect strength (red worse, blue better); a click selects ``cell``.

    ``cells`` is :func:`datasteward.drift.heatmap_frame` with a ``signed`` column
    (strength, negative for a change for the better, 0 where nothing drifted).
    """
    pick = alt.selection_point(fields=["group", "metric"], name="cell")
    base = alt.Chart(cells).encode(
        x=alt.X("metric:N", sort=metrics, title=None),
        y=alt.Y("group:N", sort=groups, title=None),
        tooltip=["group:N", "metric:N", "owner:N", "verdict:N", alt.Tooltip("effect:Q", format=".2f"),
                 alt.Tooltip("p_adjusted:Q", format=".2g"), "n:Q", "n_ref:Q"])
    return base.mark_rect(stroke="#ddd").encode(
        color=alt.Color("signed:Q", scale=alt.Scale(domain=[-3, 0, 3], range=["#4575b4", "#ffffff", "#d7301f"]),
                        legend=alt.Legend(title="effect / small (red worse)")),
        opacity=alt.condition(pick, alt.value(1.0), alt.value(0.5)),
    ).add_params(pick).properties(height=max(160, 16 * len(groups)))


def rate_bars(bars: pd.DataFrame, metric: str) -> alt.Chart:
    """A group's rate against its reference's: ``bars`` has ``side`` and ``value``."""
    return alt.Chart(bars).mark_bar().encode(x=alt.X("value:Q", title=metric), y="side:N",
                                             tooltip=["side:N", alt.Tooltip("value:Q", format=".3f")])


def distribution_box(points: pd.DataFrame, metric: str) -> alt.Chart:
    """Box plots of a metric per ``side``, from :func:`datasteward.drift.ecdf_points` rows."""
    return alt.Chart(points).mark_boxplot().encode(x=alt.X("value:Q", title=metric), y="side:N",
                                                   color=alt.Color("side:N", legend=None))


def distribution_ecdf(points: pd.DataFrame, metric: str) -> alt.Chart:
    """Step ECDFs of a metric per ``side``, from :func:`datasteward.drift.ecdf_points` rows."""
    return alt.Chart(points).mark_line(interpolate="step-after").encode(
        x=alt.X("value:Q", title=metric), y=alt.Y("ecdf:Q", title="share at or below"), color="side:N")


def trend_lines(trend: pd.DataFrame, column: str, *, order: list[str], title: str) -> alt.Chart:
    """A metric or rate over batches in delivery order, a line per ``column`` value; click the legend to pick one."""
    highlight = alt.selection_point(fields=[column], bind="legend")
    return alt.Chart(trend).mark_line(point=True).encode(
        x=alt.X("batch:N", sort=order, title="batch (delivery order)"),
        y=alt.Y("value:Q", title=title),
        color=alt.Color(f"{column}:N", title=column),
        opacity=alt.condition(highlight, alt.value(1.0), alt.value(0.15)),
        tooltip=["batch:N", f"{column}:N", alt.Tooltip("value:Q", format=".3g"), "n:Q"],
    ).add_params(highlight).interactive(bind_y=False)


def spec_of(builder: str, args: tuple = (), kwargs: dict | None = None) -> dict:
    """:func:`to_spec` of the chart ``<builder>(*args, **kwargs)`` of this module, as :func:`examples` names them."""
    return to_spec(globals()[builder](*args, **(kwargs or {})))


def examples() -> list[tuple[str, tuple, dict]]:
    """Every chart the pages draw, as ``(builder, args, kwargs)`` on a few rows of made-up data.

    ``datasteward.serve`` draws each once before the server answers: Altair builds
    its channel and schema caches on a chart type's first use, about a tenth of a
    second each, which a fresh server's first page would otherwise wait for. The
    tests check that each is a valid Vega-Lite spec.
    """
    counts = pd.DataFrame({"batch": ["b1", "b2"], "samples": [3, 5]})
    people = pd.DataFrame({"annotator": ["a1", "a2"], "vendor": ["v1", "v2"], "ds_accuracy": [0.9, 0.7],
                           "agreement_with_consensus": [0.8, 0.6]})
    owners = pd.DataFrame({"owner": ["ml", "data_ops"], "batch": ["b1", "b1"], "open_flags": [2, 1],
                           "items_flagged": [2, 1], "items": [10, 10], "rate": [0.2, 0.1], "href": ["/review", None]})
    problems = pd.DataFrame({"check": ["dark", "blurry"], "owner": ["data_ops", "data_ops"], "severity": ["high", "low"],
                             "open_flags": [5, 2], "share": [0.05, 0.02], "describes": ["Dark photo", "Blurry photo"]})
    cells = pd.DataFrame({"group": ["b2", "b2"], "metric": ["snr_db", "dark rate"], "owner": ["data_ops", "data_ops"],
                          "verdict": ["drift", "stable"], "effect": [0.4, 0.01], "p_adjusted": [0.01, 0.9],
                          "n": [30, 30], "n_ref": [90, 90], "signed": [2.0, 0.0]})
    sides = pd.DataFrame({"side": ["b2", "b2", "before", "before"], "value": [1.0, 2.0, 1.5, 2.5],
                          "ecdf": [0.5, 1.0, 0.5, 1.0]})
    trend = pd.DataFrame({"batch": ["b1", "b2"], "language": ["en", "en"], "value": [0.1, 0.2], "n": [10, 12]})
    return [
        ("count_bars", (counts, "batch"), {"sort": ["b1", "b2"]}),
        ("accuracy_bars", (people, "annotator"), {}),
        ("ownership_heatmap", (owners, "batch"), {"sort": ["b1"]}),
        ("problem_bars", (problems,), {}),
        ("drift_heatmap", (cells,), {"groups": ["b2"], "metrics": ["snr_db", "dark rate"]}),
        ("rate_bars", (sides[["side", "value"]].head(2), "dark rate"), {}),
        ("distribution_box", (sides, "snr_db"), {}),
        ("distribution_ecdf", (sides, "snr_db"), {}),
        ("trend_lines", (trend, "language"), {"order": ["b1", "b2"], "title": "mean snr_db"}),
    ]
