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
