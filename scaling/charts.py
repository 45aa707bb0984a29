"""Plotly figures of the Performance & Scaling dashboard (data in, Figure out)."""

from datetime import datetime

import plotly.graph_objects as go

BAND_95 = "rgba(31, 119, 180, 0.15)"
BAND_80 = "rgba(31, 119, 180, 0.30)"


def utilisation_figure(
    *, resource: str, actuals: list[tuple[datetime, float]], capacity: float | None
) -> go.Figure:
    """Measured use of a resource against the active bundle's capacity."""
    figure = go.Figure()
    figure.add_trace(
        go.Scatter(
            x=[t for t, _ in actuals],
            y=[v for _, v in actuals],
            mode="lines",
            name="used",
        )
    )
    if capacity is not None and actuals:
        figure.add_trace(
            go.Scatter(
                x=[actuals[0][0], actuals[-1][0]],
                y=[capacity, capacity],
                mode="lines",
                name="capacity",
                line={"dash": "dash", "color": "firebrick"},
            )
        )
    figure.update_layout(
        title=f"{resource}: utilisation", height=300, margin={"t": 40, "b": 30}
    )
    return figure


def forecast_with_interval_figure(
    *,
    resource: str,
    actuals: list[tuple[datetime, float]],
    points: list[dict],
    capacity: float | None = None,
) -> go.Figure:
    """Forecast with its 80 % and 95 % bands, the recent actuals overlaid."""
    x = [point["timestamp"] for point in points]
    figure = go.Figure()
    for level, color in ((95, BAND_95), (80, BAND_80)):
        figure.add_trace(
            go.Scatter(
                x=x + x[::-1],
                y=[p[f"upper_{level}"] for p in points]
                + [p[f"lower_{level}"] for p in points][::-1],
                fill="toself",
                fillcolor=color,
                line={"width": 0},
                name=f"{level}% interval",
                hoverinfo="skip",
            )
        )
    figure.add_trace(
        go.Scatter(x=x, y=[p["yhat"] for p in points], mode="lines", name="forecast")
    )
    figure.add_trace(
        go.Scatter(
            x=[t for t, _ in actuals],
            y=[v for _, v in actuals],
            mode="lines",
            name="actual",
            line={"color": "black", "width": 1},
        )
    )
    if capacity is not None and (x or actuals):
        start = actuals[0][0] if actuals else x[0]
        end = x[-1] if x else actuals[-1][0]
        figure.add_trace(
            go.Scatter(
                x=[start, end],
                y=[capacity, capacity],
                mode="lines",
                name="capacity",
                line={"dash": "dash", "color": "firebrick"},
            )
        )
    figure.update_layout(
        title=f"{resource}: forecast", height=320, margin={"t": 40, "b": 30}
    )
    return figure


def scaling_events_figure(*, events: list[dict]) -> go.Figure:
    """Bundle changes over time: ``events`` of {"occurred_at", "bundle", "kind",
    "monthly_price"} (price as Decimal, plotted as its text)."""
    figure = go.Figure(
        go.Scatter(
            x=[event["occurred_at"] for event in events],
            y=[str(event["monthly_price"]) for event in events],
            mode="lines+markers+text",
            text=[f"{event['kind']}: {event['bundle']}" for event in events],
            textposition="top center",
            line={"shape": "hv"},
            name="monthly price",
        )
    )
    figure.update_layout(title="Scaling events", height=260, margin={"t": 40, "b": 30})
    return figure
