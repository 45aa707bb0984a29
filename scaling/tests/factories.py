import datetime as dt
from decimal import Decimal

import factory

from metering.tests.factories import CustomerFactory, OrganizationFactory
from scaling.models import BundleCapacity, FeatureBundle, Forecast


class FeatureBundleFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = FeatureBundle

    organization = factory.SubFactory(OrganizationFactory)
    name = factory.Sequence(lambda n: f"Bundle {n}")
    base_price = Decimal("49.00")
    features = factory.LazyFunction(list)


class BundleCapacityFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = BundleCapacity

    bundle = factory.SubFactory(FeatureBundleFactory)
    resource = "compute_hours"
    capacity = Decimal("100")
    unit_price = Decimal("0.10")


def daily_points(values_80, values_95, start=dt.datetime(2026, 1, 1, tzinfo=dt.UTC)):
    """Forecast points from (yhat, lower_80, upper_80) and (lower_95, upper_95)."""
    return [
        {
            "timestamp": (start + dt.timedelta(days=i)).isoformat(),
            "yhat": yhat,
            "lower_80": low80,
            "upper_80": up80,
            "lower_95": low95,
            "upper_95": up95,
        }
        for i, ((yhat, low80, up80), (low95, up95)) in enumerate(
            zip(values_80, values_95, strict=True)
        )
    ]


class ForecastFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Forecast

    customer = factory.SubFactory(CustomerFactory)
    organization = factory.SelfAttribute("customer.organization")
    resource = "compute_hours"
    generated_at = dt.datetime(2025, 12, 31, 12, tzinfo=dt.UTC)
    state = Forecast.State.OK
    model = "ets"
    step_seconds = 86_400
    horizon = 2
    history_points = 120
    mase = 0.5
    smape = 10.0
    coverage_80 = 0.8
    coverage_95 = 0.95
    baseline_mase = 1.0
    baseline_smape = 14.0
    points = factory.LazyFunction(
        lambda: daily_points([(150, 150, 150)] * 2, [(140, 160)] * 2)
    )


def account_with_recommendation(*, customer, now: dt.datetime):
    """``customer`` on Startup Launch (85.00 a month: 75.00 plus 0.10 per compute
    hour of its 100) since nine days, with ten days of compute hours near 80, a
    forecast of 150 (bands 140-160 and 130-170) and so a pending recommendation of
    Growth Accelerator (277.00 a month for 200). Returns the recommendation."""
    from scaling.models import ResourceMetric
    from scaling.services.provisioning import entitlement_record
    from scaling.services.recommendations import recommendation_generate

    organization = customer.organization
    bundles = {}
    for name, base, capacity in (
        ("Startup Launch", "75.00", "100"),
        ("Growth Accelerator", "257.00", "200"),
    ):
        bundles[name] = FeatureBundleFactory(
            organization=organization, name=name, base_price=Decimal(base)
        )
        BundleCapacityFactory(bundle=bundles[name], capacity=Decimal(capacity))
    ResourceMetric.objects.bulk_create(
        ResourceMetric(
            organization=organization,
            customer=customer,
            resource="compute_hours",
            timestamp=now - dt.timedelta(days=i),
            value=80.0 + i,
        )
        for i in range(10)
    )
    entitlement_record(
        customer=customer,
        bundle=bundles["Startup Launch"],
        now=now - dt.timedelta(days=9),
    )
    ForecastFactory(
        customer=customer,
        generated_at=now,
        points=daily_points([(150, 140, 160)] * 2, [(130, 170)] * 2, start=now),
    )
    return recommendation_generate(customer=customer, now=now)
