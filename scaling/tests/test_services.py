import datetime as dt
import urllib.error
from decimal import Decimal

import numpy as np
import pytest
from django.core.exceptions import ValidationError

from billing_site.errors import DomainError, InvalidTransition
from metering.tests.factories import CustomerFactory, usage_events_bulk_create
from scaling.models import (
    Entitlement,
    Forecast,
    Recommendation,
    ResourceMetric,
    ScalingEvent,
    ScalingPolicy,
)
from scaling.schedules import periodic_tasks
from scaling.services import metrics, provisioning
from scaling.services.forecasts import forecast_chunk, forecast_organization
from scaling.services.metrics import (
    MetricPoint,
    bandwidth_metrics_derive,
    metric_batch_ingest,
)
from scaling.services.recommendations import (
    recommendation_apply,
    recommendation_approve,
    recommendation_generate,
    recommendation_reject,
)
from scaling.tests.factories import ForecastFactory, daily_points

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2025, 12, 31, 12, tzinfo=dt.UTC)
GB = 10**9


def add_daily_metrics(customer, resource, values, start=dt.datetime(2025, 9, 1)):
    start = start.replace(tzinfo=dt.UTC)
    ResourceMetric.objects.bulk_create(
        ResourceMetric(
            organization=customer.organization,
            customer=customer,
            resource=resource,
            timestamp=start + dt.timedelta(days=i),
            value=float(value),
        )
        for i, value in enumerate(values)
    )


def test_batch_ingest_is_idempotent_per_point(organization, customer):
    points = [
        MetricPoint("acme", "compute_hours", NOW, 3.5),
        MetricPoint("acme", "compute_hours", NOW + dt.timedelta(hours=1), 4.0),
    ]
    first = metric_batch_ingest(organization=organization, points=points)
    again = metric_batch_ingest(organization=organization, points=points)
    assert (first.created, first.duplicates) == (2, 0)
    assert (again.created, again.duplicates) == (0, 2)
    assert ResourceMetric.objects.filter(customer=customer).count() == 2


def test_batch_ingest_rejects_an_account_of_another_organization(
    organization, other_organization, customer
):
    CustomerFactory(organization=other_organization, external_id="theirs")
    points = [
        MetricPoint("acme", "compute_hours", NOW, 1.0),
        MetricPoint("theirs", "compute_hours", NOW, 1.0),
    ]
    with pytest.raises(Exception) as error:
        metric_batch_ingest(organization=organization, points=points)
    assert error.value.field == "metrics[1].customer_id"
    assert error.value.message == "Unknown customer 'theirs'."
    assert ResourceMetric.objects.count() == 0


def test_forecast_chunk_stores_ok_and_not_enough_history_forecasts(
    organization, customer
):
    rng = np.random.default_rng(1)
    t = np.arange(90)
    add_daily_metrics(
        customer,
        "compute_hours",
        50 + 10 * np.sin(2 * np.pi * t / 7) + rng.normal(0, 1, 90),
    )
    add_daily_metrics(customer, "storage_gb", [5.0] * 10)
    ids = forecast_chunk(
        organization=organization,
        keys=[(customer.pk, "compute_hours"), (customer.pk, "storage_gb")],
        horizon=14,
        now=NOW,
    )
    compute, storage = Forecast.objects.filter(pk__in=ids).order_by("resource")
    assert compute.state == "ok" and compute.horizon == 14 and len(compute.points) == 14
    assert set(compute.points[0]) == {
        "timestamp", "yhat", "lower_80", "upper_80", "lower_95", "upper_95",
    }  # fmt: skip
    assert compute.points[0]["timestamp"] == "2025-11-30T00:00:00Z"
    assert compute.mase is not None and compute.coverage_80 is not None
    assert "follows the weekly cycles (7 days)" in compute.message
    assert storage.state == "not_enough_history"
    assert storage.message == "10 points of daily data; at least 14 are needed."
    assert storage.points == []


def test_forecast_organization_runs_every_series(organization, customer):
    other = CustomerFactory(organization=organization)
    add_daily_metrics(customer, "compute_hours", np.arange(30) % 7 + 1.0)
    add_daily_metrics(other, "bandwidth_gb", np.arange(30) % 5 + 2.0)
    count = forecast_organization(
        organization=organization, horizon=5, now=NOW, chunk_size=1
    )
    assert count == 2
    assert Forecast.objects.filter(organization=organization, state="ok").count() == 2


def test_upgrade_recommendation_with_cost_benefit(organization, customer, bundles):
    provisioning.entitlement_record(
        customer=customer, bundle=bundles["Startup Launch"], now=NOW
    )
    ForecastFactory(customer=customer)
    recommendation = recommendation_generate(customer=customer, now=NOW)
    assert recommendation.recommended_bundle == bundles["Growth Accelerator"]
    assert recommendation.current_bundle == bundles["Startup Launch"]
    assert recommendation.direction == "upgrade"
    assert recommendation.status == "pending"
    assert recommendation.confidence == 0.9
    assert recommendation.predicted_peaks == {"compute_hours": 160}
    # 2 days x (150 - 0.9 x 100) units x 1.00; (119.00 - 59.00) x 2 / 30
    assert recommendation.revenue_at_risk_current == Decimal("120.00")
    assert recommendation.revenue_at_risk_recommended == Decimal("0.00")
    assert recommendation.upgrade_cost == Decimal("4.00")
    assert recommendation.net_benefit == Decimal("116.00")
    assert recommendation_generate(customer=customer, now=NOW) == recommendation


def test_recommendation_reason_names_the_cycles_of_the_forecast(
    organization, customer, bundles
):
    provisioning.entitlement_record(
        customer=customer, bundle=bundles["Startup Launch"], now=NOW
    )
    ForecastFactory(
        customer=customer,
        message="arima follows the daily and weekly cycles (24 and 168 hours).",
    )
    recommendation = recommendation_generate(customer=customer, now=NOW)
    assert recommendation.reason.endswith(
        ". arima follows the daily and weekly cycles (24 and 168 hours)."
    )


def test_low_confidence_is_logged_and_not_recommended(
    organization, customer, bundles, caplog
):
    ForecastFactory(customer=customer, smape=80.0)
    with caplog.at_level("INFO", logger="scaling.services.recommendations"):
        assert recommendation_generate(customer=customer, now=NOW) is None
    assert "Low confidence, no recommendation" in caplog.text
    assert Recommendation.objects.count() == 0


def test_capacity_floor_raises_the_need(organization, customer, bundles):
    provisioning.entitlement_record(
        customer=customer, bundle=bundles["Startup Launch"], now=NOW
    )
    customer.capacity_floors.create(
        organization=organization,
        resource="compute_hours",
        start=NOW,
        end=NOW + dt.timedelta(days=1),
        minimum=900.0,
        reason="product launch",
    )
    ForecastFactory(customer=customer)
    recommendation = recommendation_generate(customer=customer, now=NOW)
    assert recommendation.recommended_bundle == bundles["Enterprise Capacity"]


def test_downgrade_only_after_sustained_low_utilisation(
    organization, customer, bundles
):
    provisioning.entitlement_record(
        customer=customer, bundle=bundles["Enterprise Capacity"], now=NOW
    )
    ForecastFactory(
        customer=customer,
        points=daily_points([(50, 50, 50)] * 2, [(40, 60)] * 2),
    )
    add_daily_metrics(
        customer, "compute_hours", [500.0], start=dt.datetime(2025, 12, 30)
    )
    assert recommendation_generate(customer=customer, now=NOW) is None
    ResourceMetric.objects.update(value=60.0)
    recommendation = recommendation_generate(customer=customer, now=NOW)
    assert recommendation.direction == "downgrade"
    assert recommendation.recommended_bundle == bundles["Startup Launch"]
    assert recommendation.upgrade_cost == Decimal("-22.67")  # (59 - 399) x 2 / 30


def test_auto_approval_applies_within_the_policy(
    organization, customer, bundles, django_capture_on_commit_callbacks
):
    provisioning.entitlement_record(
        customer=customer, bundle=bundles["Startup Launch"], now=NOW
    )
    ScalingPolicy.objects.create(
        organization=organization,
        customer=customer,
        auto_approve=True,
        auto_approve_confidence=0.85,
        max_monthly_increase=Decimal("60.00"),
    )
    ForecastFactory(customer=customer)
    with django_capture_on_commit_callbacks(execute=True):
        recommendation = recommendation_generate(customer=customer, now=NOW)
    recommendation.refresh_from_db()
    assert recommendation.decided_by == "auto-approval"
    assert recommendation.status == "applied"
    assert (
        Entitlement.objects.get(customer=customer).bundle
        == bundles["Growth Accelerator"]
    )


def test_auto_approval_respects_the_monthly_increase_cap(
    organization, customer, bundles
):
    provisioning.entitlement_record(
        customer=customer, bundle=bundles["Startup Launch"], now=NOW
    )
    ScalingPolicy.objects.create(
        organization=organization,
        customer=customer,
        auto_approve=True,
        max_monthly_increase=Decimal("59.99"),
    )
    ForecastFactory(customer=customer)
    assert recommendation_generate(customer=customer, now=NOW).status == "pending"


def test_approve_applies_once_and_records_the_event(
    organization, customer, bundles, django_capture_on_commit_callbacks
):
    provisioning.entitlement_record(
        customer=customer, bundle=bundles["Startup Launch"], now=NOW
    )
    ForecastFactory(customer=customer)
    recommendation = recommendation_generate(customer=customer, now=NOW)
    with django_capture_on_commit_callbacks(execute=True):
        recommendation_approve(recommendation=recommendation, decided_by="ann", now=NOW)
    recommendation_apply(recommendation_id=recommendation.pk, now=NOW)
    recommendation.refresh_from_db()
    assert recommendation.status == "applied"
    events = list(ScalingEvent.objects.filter(customer=customer).order_by("id"))
    assert [(e.kind, e.to_bundle.name) for e in events] == [
        ("initial", "Startup Launch"),
        ("upgrade", "Growth Accelerator"),
    ]
    assert events[1].monthly_price == Decimal("119.00")
    entitlement = Entitlement.objects.get(customer=customer)
    assert entitlement.capacities == {"compute_hours": "200.0000"}
    with pytest.raises(InvalidTransition) as error:
        recommendation_reject(recommendation=recommendation, decided_by="ann", now=NOW)
    assert error.value.message == (
        f"recommendation {recommendation.pk} is applied, cannot reject"
    )


def test_webhook_provisioner_signs_the_payload(
    organization, customer, bundles, monkeypatch
):
    ScalingPolicy.objects.create(
        organization=organization,
        customer=customer,
        provisioner="webhook",
        webhook_url="https://hooks.example.com/scale",
        webhook_secret="s3cret",
    )
    ForecastFactory(customer=customer)
    recommendation = recommendation_generate(customer=customer, now=NOW)
    Recommendation.objects.filter(pk=recommendation.pk).update(status="approved")
    sent = []

    class Reply:
        status = 204

        def __enter__(self):
            return self

        def __exit__(self, *args):
            return False

    def fake_urlopen(request, timeout):
        sent.append(request)
        return Reply()

    monkeypatch.setattr(provisioning.urllib.request, "urlopen", fake_urlopen)
    recommendation_apply(recommendation_id=recommendation.pk, now=NOW)
    (request,) = sent
    assert request.full_url == "https://hooks.example.com/scale"
    assert request.headers["X-scaling-signature"] == provisioning.webhook_signature(
        secret="s3cret", body=request.data
    )
    assert request.headers["Idempotency-key"] == f"recommendation-{recommendation.pk}"
    assert ScalingEvent.objects.get(recommendation=recommendation).backend == "webhook"


def test_failed_webhook_records_nothing(organization, customer, bundles, monkeypatch):
    ScalingPolicy.objects.create(
        organization=organization,
        customer=customer,
        provisioner="webhook",
        webhook_url="https://hooks.example.com/scale",
    )
    ForecastFactory(customer=customer)
    recommendation = recommendation_generate(customer=customer, now=NOW)
    Recommendation.objects.filter(pk=recommendation.pk).update(status="approved")

    def refuse(request, timeout):
        raise urllib.error.URLError("connection refused")

    monkeypatch.setattr(provisioning.urllib.request, "urlopen", refuse)
    with pytest.raises(OSError):
        recommendation_apply(recommendation_id=recommendation.pk, now=NOW)
    recommendation.refresh_from_db()
    assert recommendation.status == "approved"
    assert not Entitlement.objects.filter(customer=customer).exists()


def test_each_organization_gets_a_forecast_and_an_adjust_entry(organization):
    specs = periodic_tasks()
    assert [(spec.name, spec.task, spec.args, spec.every_hours) for spec in specs] == [
        (
            f"scaling: forecast {organization.slug}",
            "scaling.forecast_organization",
            (organization.pk,),
            6,
        ),
        (
            f"scaling: adjust {organization.slug}",
            "scaling.adjust_organization",
            (organization.pk,),
            6,
        ),
    ]


def test_change_that_does_not_pay_off_is_not_recommended(
    organization, customer, bundles
):
    provisioning.entitlement_record(
        customer=customer, bundle=bundles["Startup Launch"], now=NOW
    )
    ScalingPolicy.objects.create(
        organization=organization, customer=customer, revenue_per_unit=Decimal("0.03")
    )
    ForecastFactory(customer=customer)
    # 120 units x 0.03 = 3.60 protected for 4.00 more
    assert recommendation_generate(customer=customer, now=NOW) is None


def test_bandwidth_is_derived_per_hour_from_event_data_volume(
    organization, customer, monkeypatch
):
    monkeypatch.setattr(metrics, "_UPSERT_ROWS", 2)  # two statements for 3 points
    hour = dt.datetime(2025, 12, 31, 8, tzinfo=dt.UTC)
    usage_events_bulk_create(
        customer=customer,
        events=[
            {
                "occurred_at": hour + dt.timedelta(minutes=5),
                "data_volume_bytes": 2 * GB,
            },
            {"occurred_at": hour + dt.timedelta(minutes=50), "data_volume_bytes": GB},
            {"occurred_at": hour + dt.timedelta(minutes=55)},  # no volume reported
            # nothing in the 09:00 hour, then half a GB at 10:10
            {
                "occurred_at": hour + dt.timedelta(hours=2, minutes=10),
                "data_volume_bytes": GB // 2,
            },
            # the open hour of ``now`` is not derived yet
            {"occurred_at": NOW + dt.timedelta(minutes=1), "data_volume_bytes": GB},
        ],  # fmt: skip
        now=NOW + dt.timedelta(minutes=2),
    )
    written = bandwidth_metrics_derive(
        organization=organization, now=NOW + dt.timedelta(minutes=30)
    )
    points = list(
        ResourceMetric.objects.filter(customer=customer, resource="bandwidth_gb")
        .order_by("timestamp")
        .values_list("timestamp", "value")
    )
    assert written == 3
    assert points == [
        (hour, 3.0),
        (hour + dt.timedelta(hours=1), 0.0),
        (hour + dt.timedelta(hours=2), 0.5),
    ]


def test_bandwidth_derivation_is_idempotent_and_takes_late_events(
    organization, customer
):
    hour = dt.datetime(2025, 12, 31, 8, tzinfo=dt.UTC)
    usage_events_bulk_create(
        customer=customer,
        events=[{"occurred_at": hour, "data_volume_bytes": GB}],
        now=NOW,
    )
    bandwidth_metrics_derive(organization=organization, now=NOW)
    bandwidth_metrics_derive(organization=organization, now=NOW)
    usage_events_bulk_create(
        customer=customer,
        events=[{"occurred_at": hour, "data_volume_bytes": 3 * GB}],
        now=NOW,
    )
    bandwidth_metrics_derive(organization=organization, now=NOW)
    assert list(
        ResourceMetric.objects.filter(customer=customer).values_list("value", flat=True)
    ) == [4.0]


def test_bandwidth_derivation_never_overwrites_a_measured_point(organization, customer):
    hour = dt.datetime(2025, 12, 31, 8, tzinfo=dt.UTC)
    usage_events_bulk_create(
        customer=customer,
        events=[
            {"occurred_at": hour, "data_volume_bytes": GB},
            {"occurred_at": hour + dt.timedelta(hours=1), "data_volume_bytes": 2 * GB},
        ],
        now=NOW,
    )
    metric_batch_ingest(
        organization=organization,
        points=[
            MetricPoint(
                customer_id=customer.external_id,
                resource="bandwidth_gb",
                timestamp=hour,
                value=1.75,
            )
        ],
    )
    assert bandwidth_metrics_derive(organization=organization, now=NOW) == 1
    assert bandwidth_metrics_derive(organization=organization, now=NOW) == 1
    assert list(
        ResourceMetric.objects.filter(customer=customer)
        .order_by("timestamp")
        .values_list("timestamp", "value", "derived")
    ) == [(hour, 1.75, False), (hour + dt.timedelta(hours=1), 2.0, True)]


def test_bandwidth_derivation_by_day_rejects_unknown_granularity(organization):
    with pytest.raises(DomainError) as raised:
        bandwidth_metrics_derive(
            organization=organization, now=NOW, granularity="minute"
        )
    assert raised.value.field == "granularity"
    assert str(raised.value) == "Unknown granularity 'minute'; use hour or day."


def test_forecast_organization_forecasts_derived_bandwidth(organization, customer):
    start = NOW - dt.timedelta(days=3)
    usage_events_bulk_create(
        customer=customer,
        events=[
            {
                "occurred_at": start + dt.timedelta(hours=h),
                "data_volume_bytes": (1 + h % 24) * GB,
            }
            for h in range(72)
        ],  # fmt: skip
        now=NOW,
    )
    count = forecast_organization(organization=organization, horizon=6, now=NOW)
    forecast = Forecast.objects.get(customer=customer, resource="bandwidth_gb")
    assert count == 1
    assert (forecast.state, forecast.history_points, forecast.step_seconds) == (
        "ok", 72, 3600,
    )  # fmt: skip
    assert len(forecast.points) == 6


def test_policy_rejects_a_country_without_holiday_calendar(customer):
    policy = ScalingPolicy(
        organization=customer.organization, customer=customer, holiday_country="XX"
    )
    with pytest.raises(ValidationError) as raised:
        policy.full_clean()
    assert raised.value.message_dict == {
        "holiday_country": ["No holiday calendar for XX."]
    }
    policy.holiday_country = "DE"
    policy.full_clean()
