"""Altair charts for pages, the CLI's reports and notebooks; no computation happens inside a chart."""

from __future__ import annotations

import altair as alt
import pandas as pd


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
