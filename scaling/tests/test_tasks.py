import datetime as dt

import pytest
from django.utils import timezone

from metering.tests.factories import CustomerFactory, usage_events_bulk_create
from scaling.models import Forecast, ResourceMetric
from scaling.tasks import forecast_organization_task

pytestmark = pytest.mark.django_db

GB = 10**9


def test_forecast_task_derives_bandwidth_from_metering_first(organization):
    customer = CustomerFactory(organization=organization)
    now = timezone.now()
    start = now.replace(minute=0, second=0, microsecond=0) - dt.timedelta(hours=48)
    usage_events_bulk_create(
        customer=customer,
        events=[
            {
                "occurred_at": start + dt.timedelta(hours=h, minutes=10),
                "data_volume_bytes": (2 + h % 24) * GB,
            }
            for h in range(48)
        ],
        now=now,
    )
    assert forecast_organization_task.delay(organization.pk, 4).get() == 1
    derived = ResourceMetric.objects.filter(customer=customer, resource="bandwidth_gb")
    assert derived.count() == 48
    assert derived.order_by("timestamp").first().value == 2.0
    forecast = Forecast.objects.get(customer=customer)
    assert (forecast.resource, forecast.state, forecast.horizon) == (
        "bandwidth_gb", "ok", 4,
    )  # fmt: skip
