"""Plotly figures of profiling: the segment projection and transition heatmaps."""

from dataclasses import dataclass

import plotly.graph_objects as go


@dataclass(frozen=True)
class ProjectedCustomer:
    label: str  # customer name shown on hover
    segment: str
    x: float
    y: float


def segment_projection_figure(points: list[ProjectedCustomer]) -> go.Figure:
    """Customers on the first two principal components, one trace per segment."""
    figure = go.Figure()
    for segment in sorted({p.segment for p in points}):
        members = [p for p in points if p.segment == segment]
        figure.add_trace(
            go.Scattergl(
                x=[p.x for p in members],
                y=[p.y for p in members],
                mode="markers",
                name=segment,
                text=[p.label for p in members],
                hovertemplate="%{text}<extra>" + segment + "</extra>",
                marker={"size": 6, "opacity": 0.75},
            )
        )
    figure.update_layout(
        title="Customers by segment (PCA projection)",
        xaxis_title="component 1",
        yaxis_title="component 2",
        height=480,
        margin={"l": 40, "r": 20, "t": 50, "b": 40},
    )
    return figure


def transition_heatmap_figure(
    operations: list[str], transitions: list[list[float]], title: str
) -> go.Figure:
    """``P(next | last)``: rows are the last operation, columns the next one."""
    figure = go.Figure(
        go.Heatmap(
            z=transitions,
            x=operations,
            y=operations,
            colorscale="Blues",
            zmin=0,
            zmax=1,
            hovertemplate="after %{y} → %{x}: %{z:.2f}<extra></extra>",
        )
    )
    figure.update_layout(
        title=title,
        xaxis_title="next operation",
        yaxis_title="last operation",
        yaxis={"autorange": "reversed"},
        height=520,
        margin={"l": 120, "r": 20, "t": 50, "b": 120},
    )
    return figure
