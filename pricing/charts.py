"""Plotly figures for the pricing reports; they take selector output, never the ORM."""

import plotly.graph_objects as go

from pricing.selectors import BpoComparison


def bpo_comparison_figure(rows: list[BpoComparison], *, currency: str) -> go.Figure:
    """Monthly cost of each billing model beside the BPO benchmark for the scenario."""
    names = [row.billing_model for row in rows]
    figure = go.Figure(
        [
            go.Bar(
                name="billing model",
                x=names,
                y=[row.our_cost for row in rows],
                text=[row.verdict for row in rows],
                textposition="outside",
            ),
            go.Bar(name="BPO", x=names, y=[row.bpo_cost for row in rows]),
        ]
    )
    figure.update_layout(
        barmode="group",
        title="Monthly cost against BPO staffing",
        yaxis_title=f"cost per month ({currency})",
        margin={"t": 60, "r": 20, "b": 80, "l": 60},
    )
    return figure
