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
