"""Forecast input: one step per series, measured and derived points combined
into it before any model sees them."""

import datetime as dt

import numpy as np
import pytest

from scaling import selectors
from scaling.models import Forecast, ResourceMetric
from scaling.services.forecasts import forecast_chunk

pytestmark = pytest.mark.django_db

DAY1 = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)
HOUR = dt.timedelta(hours=1)
DAY = dt.timedelta(days=1)


def _points(customer, resource, values, *, derived=False):
    ResourceMetric.objects.bulk_create(
        ResourceMetric(
            organization=customer.organization,
            customer=customer,
            resource=resource,
            timestamp=at,
            value=value,
            derived=derived,
        )
        for at, value in values
    )


def _seconds(*moments):
    return [int(moment.timestamp()) for moment in moments]


def test_a_daily_series_is_one_value_a_day_with_measured_days_winning(customer):
    """Measured totals on days 1 and 2 among hourly derived points (0 GB on day
    1, 1 GB on day 2), a whole day 3 of derived 2 GB hours and the first ten
    hours of day 4 derived."""
    day2, day3, day4 = DAY1 + DAY, DAY1 + 2 * DAY, DAY1 + 3 * DAY
    _points(customer, "bandwidth_gb", [(DAY1, 142.0), (day2, 90.0)])
    _points(
        customer,
        "bandwidth_gb",
        [(DAY1 + h * HOUR, 0.0) for h in range(1, 24)]
        + [(day2 + h * HOUR, 1.0) for h in range(1, 24)]
        + [(day3 + h * HOUR, 2.0) for h in range(24)]
        + [(day4 + h * HOUR, 3.0) for h in range(10)],
        derived=True,
    )
    _points(customer, "compute_hours", [(DAY1, 1.0), (DAY1 + HOUR, 2.0)])
    keys = [(customer.pk, "bandwidth_gb"), (customer.pk, "compute_hours")]

    arrays = selectors.metric_arrays(organization=customer.organization, keys=keys)

    assert selectors.metric_steps(organization=customer.organization, keys=keys) == {
        keys[0]: "day",
        keys[1]: "hour",
    }
    seconds, values = arrays[keys[0]]
    # Day 4 is not over: its ten derived hours are left out.
    assert seconds.tolist() == _seconds(DAY1, day2, day3)
    assert values.tolist() == [142.0, 90.0, 48.0]
    seconds, values = arrays[keys[1]]
    assert seconds.tolist() == _seconds(DAY1, DAY1 + HOUR)
    assert values.tolist() == [1.0, 2.0]


def test_a_daily_level_resource_averages_its_derived_points(customer):
    _points(customer, "storage_gb", [(DAY1, 10.0)])
    _points(
        customer,
        "storage_gb",
        [(DAY1 + DAY + h * HOUR, float(h)) for h in range(24)],
        derived=True,
    )
    key = (customer.pk, "storage_gb")

    seconds, values = selectors.metric_arrays(
        organization=customer.organization, keys=[key]
    )[key]

    assert seconds.tolist() == _seconds(DAY1, DAY1 + DAY)
    assert values.tolist() == [10.0, 11.5]


def test_forecast_of_daily_measurements_among_hourly_derived_zeros_is_daily(
    customer,
):
    """Four weeks of measured daily bandwidth (100 to 160 GB by weekday) at
    midnight, the other 23 hours of each day derived as 0 GB (no metered
    traffic), and the running day's first ten hours derived too: the forecast
    is one value a day near the measured level, never 0 for 23 hours and a
    spike at midnight."""
    days = [DAY1 + i * DAY for i in range(28)]
    _points(
        customer,
        "bandwidth_gb",
        [(day, 100.0 + 10.0 * (i % 7)) for i, day in enumerate(days)],
    )
    today = days[-1] + DAY
    _points(
        customer,
        "bandwidth_gb",
        [(day + h * HOUR, 0.0) for day in days for h in range(1, 24)]
        + [(today + h * HOUR, 0.0) for h in range(10)],
        derived=True,
    )

    (pk,) = forecast_chunk(
        organization=customer.organization,
        keys=[(customer.pk, "bandwidth_gb")],
        horizon=7,
        now=today + 10 * HOUR,
    )

    forecast = Forecast.objects.get(pk=pk)
    assert (forecast.state, forecast.step_seconds) == ("ok", 86_400)
    assert (forecast.history_points, forecast.horizon) == (28, 7)
    stamps = [dt.datetime.fromisoformat(p["timestamp"]) for p in forecast.points]
    assert stamps == [today + i * DAY for i in range(7)]
    yhat = np.array([point["yhat"] for point in forecast.points])
    assert yhat.min() >= 90.0 and yhat.max() <= 170.0
