"""Plotly figures of the Performance & Scaling dashboard (data in, Figure out).

Every series of a chart is at one step (see ``scaling.selectors.metric_step``),
capacity is drawn as the step line of the plans in force, every axis names its
unit and a time axis spans at least a day, however few points it has.
"""

from datetime import datetime, timedelta

import plotly.graph_objects as go

from scaling.models import ResourceKind
from scaling.selectors import LEVEL_RESOURCES, CapacityChange

BAND_95 = "rgba(31, 119, 180, 0.15)"
BAND_80 = "rgba(31, 119, 180, 0.30)"
CAPACITY_LINE = {"dash": "dash", "color": "firebrick", "shape": "hv"}
MIN_TIME_SPAN = timedelta(days=1)
TIME_AXIS_TITLE = "time (UTC)"


def resource_unit(resource: str) -> str:
    """The unit a resource is counted in, from its ``ResourceKind`` label
    ("Bandwidth (GB)" is GB, "Compute (hours)" compute hours), else from the
    code's last word ("gpu_hours": gpu hours, "archive_gb": GB), else "units"."""
    labels = dict(ResourceKind.choices)
    if resource in labels and "(" in labels[resource]:
        name, unit = labels[resource].rstrip(")").split(" (", 1)
        return unit if unit.isupper() else f"{name.lower()} {unit}"
    head, _, last = resource.rpartition("_")
    if last == "gb":
        return "GB"
    if last == "hours" and head:
        return f"{head.replace('_', ' ')} hours"
    return "units"


def value_axis_title(resource: str, step: str) -> str:
    """An amount is per step ("GB per day"); a level is in its unit ("GB")."""
    unit = resource_unit(resource)
    return unit if resource in LEVEL_RESOURCES else f"{unit} per {step}"


def time_axis(moments: list[datetime]) -> dict:
    """A time axis with its title; fewer than a day of points gets a day's range
    centred on them instead of plotly's sub-millisecond zoom on a single point."""
    axis: dict = {"title": {"text": TIME_AXIS_TITLE}}
    if moments:
        first, last = min(moments), max(moments)
        if last - first < MIN_TIME_SPAN:
            middle = first + (last - first) / 2
            axis["range"] = [middle - MIN_TIME_SPAN / 2, middle + MIN_TIME_SPAN / 2]
    return axis


def capacity_steps(
    changes: list[CapacityChange], *, start: datetime, end: datetime
) -> tuple[list[datetime], list[float | None]]:
    """The capacity step line over ``[start, end]`` (draw with shape "hv"): the
    capacity in force at ``start``, each change after it, held until ``end``.
    Before the first plan, and while a plan has none, there is no line."""
    xs: list[datetime] = []
    ys: list[float | None] = []
    in_force = [change for change in changes if change.at <= start]
    if in_force:
        xs.append(start)
        ys.append(in_force[-1].capacity)
    for change in changes:
        if not start < change.at < end:
            continue
        if change.capacity is None and ys and ys[-1] is not None:
            xs.append(change.at)  # end the previous plan's line where it ends
            ys.append(ys[-1])
        xs.append(change.at)
        ys.append(change.capacity)
    if xs:
        xs.append(end)
        ys.append(ys[-1])
    return xs, ys


def _capacity_trace(
    changes: list[CapacityChange], *, start: datetime, end: datetime
) -> go.Scatter | None:
    xs, ys = capacity_steps(changes, start=start, end=end)
    if not any(y is not None for y in ys):
        return None
    return go.Scatter(x=xs, y=ys, mode="lines", name="capacity", line=CAPACITY_LINE)


def utilisation_figure(
    *,
    resource: str,
    step: str,
    actuals: list[tuple[datetime, float]],
    capacity: list[CapacityChange],
) -> go.Figure:
    """Use of a resource per ``step`` against the capacity of the plans in force."""
    figure = go.Figure()
    figure.add_trace(
        go.Scatter(
            x=[t for t, _ in actuals],
            y=[v for _, v in actuals],
            mode="lines+markers" if len(actuals) == 1 else "lines",
            name="used",
        )
    )
    if actuals:
        trace = _capacity_trace(capacity, start=actuals[0][0], end=actuals[-1][0])
        if trace is not None:
            figure.add_trace(trace)
    figure.update_layout(
        title=f"{resource}: utilisation",
        height=300,
        margin={"t": 40, "b": 40},
        xaxis=time_axis([t for t, _ in actuals]),
        yaxis={"title": {"text": value_axis_title(resource, step)}},
    )
    return figure


def forecast_with_interval_figure(
    *,
    resource: str,
    step: str,
    actuals: list[tuple[datetime, float]],
    points: list[dict],
    capacity: list[CapacityChange],
) -> go.Figure:
    """Forecast with its 80 % and 95 % bands, the recent actuals overlaid, all per
    ``step`` (``points`` as ``scaling.selectors.forecast_points_by_step``)."""
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
    moments = [t for t, _ in actuals] + x
    if moments:
        trace = _capacity_trace(capacity, start=min(moments), end=max(moments))
        if trace is not None:
            figure.add_trace(trace)
    figure.update_layout(
        title=f"{resource}: forecast",
        height=320,
        margin={"t": 40, "b": 40},
        xaxis=time_axis(moments),
        yaxis={"title": {"text": value_axis_title(resource, step)}},
    )
    return figure


def scaling_events_figure(*, events: list[dict], currency: str) -> go.Figure:
    """Bundle changes over time: ``events`` of {"occurred_at", "bundle", "kind",
    "monthly_price"} (price as Decimal, plotted as its text on a linear axis)."""
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
    figure.update_layout(
        title="Scaling events",
        height=260,
        margin={"t": 40, "b": 40},
        xaxis=time_axis([event["occurred_at"] for event in events]),
        yaxis={"title": {"text": f"monthly price ({currency})"}, "type": "linear"},
    )
    return figure
