"""Plotly figures for the invoicing reports; they take selector output, never the
ORM."""

import plotly.graph_objects as go

from pricing.selectors import TierUtilisation


def tier_utilisation_figure(rows: list[TierUtilisation], *, title: str) -> go.Figure:
    """Subscribers whose period usage ended in each tier (bars, one per tier)."""
    figure = go.Figure(
        go.Bar(
            x=[row.label for row in rows],
            y=[row.customers for row in rows],
            text=[row.customers for row in rows],
            textposition="auto",
            name="subscribers",
        )
    )
    figure.update_layout(
        title=title,
        xaxis_title="tier (units)",
        yaxis_title="subscribers",
        margin={"t": 60, "r": 20, "b": 50, "l": 60},
    )
    return figure
