"""Plotly figures for the pricing reports; they take selector output, never the ORM."""

import plotly.graph_objects as go

from pricing.selectors import BpoComparison

# Smallest readable text in px: plotly shrinks bar labels to fit, down to this size.
LABEL_FONT_SIZE = 12


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
                textfont={"size": LABEL_FONT_SIZE},
                cliponaxis=False,
            ),
            go.Bar(name="BPO", x=names, y=[row.bpo_cost for row in rows]),
        ]
    )
    figure.update_layout(
        barmode="group",
        font={"size": LABEL_FONT_SIZE},
        uniformtext={"minsize": LABEL_FONT_SIZE, "mode": "show"},
        title="Monthly cost against BPO staffing",
        yaxis_title=f"cost per month ({currency})",
        margin={"t": 60, "r": 20, "b": 80, "l": 60},
    )
    return figure
