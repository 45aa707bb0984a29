"""The dashboard's charts: one step per chart, capacity over its real history,
time axes of at least a day and a unit on every value axis."""

import datetime as dt
from decimal import Decimal

import pytest

from scaling import charts, selectors
from scaling.models import BundleCapacity, Recommendation, ResourceMetric
from scaling.services import provisioning
from scaling.tests.factories import ForecastFactory, account_with_recommendation

pytestmark = pytest.mark.django_db

DAY1 = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)
DAY2 = DAY1 + dt.timedelta(days=1)
DAY3 = DAY1 + dt.timedelta(days=2)
SECOND = dt.timedelta(seconds=1)


def _point(customer, resource, at, value, *, derived=False):
    ResourceMetric.objects.create(
        organization=customer.organization,
        customer=customer,
        resource=resource,
        timestamp=at,
        value=value,
        derived=derived,
    )


@pytest.fixture
def mixed_bandwidth(customer):
    """Measured daily totals on days 1 and 2 (142 and 90 GB) among hourly derived
    points of 1 GB (zeros on day 1), and only derived points on day 3."""
    for hour in range(1, 24):
        _point(
            customer, "bandwidth_gb", DAY1 + dt.timedelta(hours=hour), 0.0, derived=True
        )
        _point(
            customer, "bandwidth_gb", DAY2 + dt.timedelta(hours=hour), 1.0, derived=True
        )
    for hour in range(24):
        _point(
            customer, "bandwidth_gb", DAY3 + dt.timedelta(hours=hour), 2.0, derived=True
        )
    _point(customer, "bandwidth_gb", DAY1, 142.0)
    _point(customer, "bandwidth_gb", DAY2, 90.0)
    return customer


def test_measured_daily_points_make_the_series_daily(mixed_bandwidth):
    assert (
        selectors.metric_step(customer=mixed_bandwidth, resource="bandwidth_gb")
        == "day"
    )


def test_hourly_points_only_make_the_series_hourly(customer):
    _point(customer, "compute_hours", DAY1, 1.0)
    _point(customer, "compute_hours", DAY1 + dt.timedelta(hours=1), 2.0)
    assert selectors.metric_step(customer=customer, resource="compute_hours") == "hour"


def test_utilisation_plots_daily_totals_with_measured_days_winning(mixed_bandwidth):
    actuals = selectors.metric_series_by_step(
        customer=mixed_bandwidth, resource="bandwidth_gb", step="day"
    )
    figure = charts.utilisation_figure(
        resource="bandwidth_gb", step="day", actuals=actuals, capacity=[]
    )
    (used,) = figure.data
    assert list(used.x) == [DAY1, DAY2, DAY3]
    assert list(used.y) == [142.0, 90.0, 48.0]
    assert figure.layout.yaxis.title.text == "GB per day"
    assert figure.layout.xaxis.title.text == "time (UTC)"


def test_a_day_still_in_progress_is_not_plotted(mixed_bandwidth):
    # Ten hours of day 4 so far: 20 GB would read as a fall from 48.
    for hour in range(1, 11):
        _point(
            mixed_bandwidth,
            "bandwidth_gb",
            DAY3 + dt.timedelta(days=1, hours=hour),
            2.0,
            derived=True,
        )
    daily = selectors.metric_series_by_step(
        customer=mixed_bandwidth, resource="bandwidth_gb", step="day"
    )
    assert daily == [(DAY1, 142.0), (DAY2, 90.0), (DAY3, 48.0)]
    # Hour by hour, every hour so far is plotted.
    hourly = selectors.metric_series_by_step(
        customer=mixed_bandwidth, resource="bandwidth_gb", step="hour"
    )
    assert hourly[-1] == (DAY3 + dt.timedelta(days=1, hours=10), 2.0)
    # A day measured as a whole is plotted as soon as it is stored.
    _point(mixed_bandwidth, "bandwidth_gb", DAY3 + dt.timedelta(days=1), 30.0)
    assert selectors.metric_series_by_step(
        customer=mixed_bandwidth, resource="bandwidth_gb", step="day"
    )[-1] == (DAY3 + dt.timedelta(days=1), 30.0)


def test_a_level_resource_is_averaged_per_day(customer):
    _point(customer, "storage_gb", DAY1, 10.0)
    _point(customer, "storage_gb", DAY1 + dt.timedelta(hours=12), 20.0)
    assert selectors.metric_series_by_step(
        customer=customer, resource="storage_gb", step="day"
    ) == [(DAY1, 15.0)]


def test_hourly_forecast_points_are_summed_per_day(customer):
    points = [
        {
            "timestamp": (DAY1 + dt.timedelta(hours=hour)).isoformat(),
            "yhat": 142.0 if hour == 0 else 0.0,
            "lower_80": 100.0 if hour == 0 else 0.0,
            "upper_80": 150.0 if hour == 0 else 1.0,
            "lower_95": 90.0 if hour == 0 else 0.0,
            "upper_95": 160.0 if hour == 0 else 2.0,
        }
        for hour in range(24)
    ]
    forecast = ForecastFactory.build(
        customer=customer, resource="bandwidth_gb", step_seconds=3600, points=points
    )
    assert selectors.forecast_points_by_step(forecast=forecast, step="day") == [
        {
            "timestamp": DAY1,
            "yhat": 142.0,
            "lower_80": 100.0,
            "upper_80": 173.0,
            "lower_95": 90.0,
            "upper_95": 206.0,
        }
    ]


def test_capacity_is_a_step_line_of_each_plan_from_when_it_took_effect(
    customer, bundles
):
    provisioning.entitlement_record(
        customer=customer, bundle=bundles["Startup Launch"], now=DAY1
    )
    approved = DAY2 + dt.timedelta(hours=15)
    provisioning.entitlement_record(
        customer=customer, bundle=bundles["Growth Accelerator"], now=approved
    )
    history = selectors.capacity_history(customer=customer, resource="compute_hours")
    assert history == [
        selectors.CapacityChange(DAY1, 100.0),
        selectors.CapacityChange(approved, 200.0),
    ]
    figure = charts.utilisation_figure(
        resource="compute_hours",
        step="hour",
        actuals=[(DAY1 - dt.timedelta(days=1), 50.0), (DAY3, 150.0)],
        capacity=history,
    )
    capacity = figure.data[1]
    assert capacity.name == "capacity" and capacity.line.shape == "hv"
    assert list(capacity.x) == [DAY1, approved, DAY3]
    assert list(capacity.y) == [100.0, 200.0, 200.0]


def test_capacity_line_starts_at_the_window_when_the_plan_is_older():
    changes = [
        selectors.CapacityChange(DAY1, 100.0),
        selectors.CapacityChange(DAY2, None),
        selectors.CapacityChange(DAY3, 300.0),
    ]
    start, end = DAY1 + dt.timedelta(hours=6), DAY3 + dt.timedelta(days=1)
    assert charts.capacity_steps(changes, start=start, end=end) == (
        [start, DAY2, DAY2, DAY3, end],
        [100.0, 100.0, None, 300.0, 300.0],
    )


def test_a_resource_missing_from_the_plan_has_no_capacity_line(customer, bundles):
    provisioning.entitlement_record(
        customer=customer, bundle=bundles["Startup Launch"], now=DAY1
    )
    history = selectors.capacity_history(customer=customer, resource="bandwidth_gb")
    figure = charts.utilisation_figure(
        resource="bandwidth_gb",
        step="day",
        actuals=[(DAY1, 1.0), (DAY2, 2.0)],
        capacity=history,
    )
    assert [trace.name for trace in figure.data] == ["used"]


def test_one_scaling_event_gets_a_day_wide_axis_and_a_price_unit():
    at = DAY1 + dt.timedelta(hours=9)
    figure = charts.scaling_events_figure(
        events=[
            {
                "occurred_at": at,
                "bundle": "Startup Launch",
                "kind": "initial",
                "monthly_price": Decimal("59.00"),
            }
        ],
        currency="USD",
    )
    assert list(figure.data[0].y) == ["59.00"]
    assert list(figure.layout.xaxis.range) == [
        at - dt.timedelta(hours=12),
        at + dt.timedelta(hours=12),
    ]
    assert figure.layout.yaxis.title.text == "monthly price (USD)"


def test_a_long_time_axis_keeps_plotlys_range():
    assert charts.time_axis([DAY1, DAY3]) == {"title": {"text": "time (UTC)"}}


@pytest.mark.parametrize(
    ("resource", "step", "title"),
    [
        ("bandwidth_gb", "day", "GB per day"),
        ("compute_hours", "hour", "compute hours per hour"),
        ("storage_gb", "day", "GB"),
        ("gpu_hours", "day", "gpu hours per day"),
        ("api_calls", "hour", "units per hour"),
    ],
)
def test_every_value_axis_names_its_unit(resource, step, title):
    assert charts.value_axis_title(resource, step) == title


def test_past_capacity_is_the_plan_in_force_then_as_it_was_then(customer, bundles):
    """Startup Launch (100 compute hours) from day 1, Growth Accelerator (200)
    from day 2; both plans are edited afterwards (150 and 400)."""
    provisioning.entitlement_record(
        customer=customer, bundle=bundles["Startup Launch"], now=DAY1
    )
    provisioning.entitlement_record(
        customer=customer, bundle=bundles["Growth Accelerator"], now=DAY2
    )
    for name, capacity in (("Startup Launch", "150"), ("Growth Accelerator", "400")):
        BundleCapacity.objects.filter(bundle=bundles[name]).update(
            capacity=Decimal(capacity)
        )

    history = selectors.capacity_history(customer=customer, resource="compute_hours")
    figure = charts.utilisation_figure(
        resource="compute_hours",
        step="day",
        actuals=[(DAY1, 60.0), (DAY2, 120.0), (DAY3, 150.0)],
        capacity=history,
    )

    assert history == [
        selectors.CapacityChange(DAY1, 100.0),
        selectors.CapacityChange(DAY2, 200.0),
    ]
    capacity = figure.data[1]
    assert list(capacity.x) == [DAY1, DAY2, DAY3]
    assert list(capacity.y) == [100.0, 200.0, 200.0]
    assert selectors.plan_capacities_at(customer=customer, at=DAY2 - SECOND) == {
        "compute_hours": Decimal("100.0000")
    }
    assert selectors.plan_capacities_at(customer=customer, at=DAY2) == {
        "compute_hours": Decimal("200.0000")
    }
    assert selectors.plan_capacities_at(customer=customer, at=DAY1 - SECOND) is None


def test_a_recommendations_reason_quotes_the_capacity_it_was_made_against(customer):
    now = dt.datetime(2026, 11, 10, tzinfo=dt.UTC)
    recommendation = account_with_recommendation(customer=customer, now=now)
    recommendation.created_at = now
    recommendation.save(update_fields=["created_at"])
    BundleCapacity.objects.filter(bundle=recommendation.current_bundle).update(
        capacity=Decimal("150")
    )
    recommendation = Recommendation.objects.get(pk=recommendation.pk)

    assert selectors.recommendation_reason(recommendation=recommendation) == (
        "Your use of compute hours is forecast to exceed your plan's 100 on "
        "10 Nov 2026."
    )
