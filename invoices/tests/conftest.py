"""Invoicing fixtures: the month of October 2026 with every kind of charge."""

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from bundles.tests.factories import (
    OperationPriceFactory,
    PersonalizedBundleFactory,
    PersonalizedBundleLineFactory,
)
from invoices.periods import MONTHLY, Period
from invoices.tests.factories import (
    InvoicingSettingsFactory,
    ProviderChargeFactory,
    SubscriptionFactory,
)
from metering.models import Operation
from metering.tests.factories import CustomerFactory, usage_events_bulk_create
from metering.tests.webhook_receiver import receiver  # noqa: F401 - a fixture
from pricing.tests.factories import (
    ActivityBasedConfigFactory,
    BillingModelFactory,
    PriceTierFactory,
)

OCTOBER = Period(MONTHLY, date(2026, 10, 1))
# An hour after October closed: inside the default 24-hour grace window.
AFTER_OCTOBER = datetime(2026, 11, 1, 1, 0, tzinfo=UTC)


def at(day: int, hour: int = 12, month: int = 10) -> datetime:
    return datetime(2026, month, day, hour, tzinfo=UTC)


def ingest(customer, operation: str, quantities, *, when: datetime, now=None):
    """Store one event per quantity through metering's ingestion service."""
    return usage_events_bulk_create(
        customer=customer,
        events=[
            {"operation": operation, "quantity": str(q), "occurred_at": when}
            for q in quantities
        ],
        now=now or when,
    )


@pytest.fixture
def hybrid_model(organization):
    """Subscription 49.00; tokens tiered with a 15.00 agent fee; api_calls with a
    25.00 minimum charge."""
    model = BillingModelFactory(
        organization=organization,
        name="Token plan",
        model_type="hybrid",
        subscription_fee=Decimal("49.00"),
    )
    ActivityBasedConfigFactory(
        billing_model=model,
        activity_type="api_calls",
        price_per_unit=Decimal("0.10"),
        minimum_charge=Decimal("25.00"),
    )
    tokens = ActivityBasedConfigFactory(
        billing_model=model,
        activity_type="tokens",
        price_per_unit=Decimal("0.001"),
        base_agent_fee=Decimal("15.00"),
        volume_pricing_enabled=True,
    )
    PriceTierFactory(
        config=tokens, position=1, up_to=Decimal("5000"), unit_price=Decimal("0.0015")
    )
    PriceTierFactory(
        config=tokens, position=2, up_to=Decimal("20000"), unit_price=Decimal("0.0010")
    )
    return model


@pytest.fixture
def october(organization, hybrid_model):
    """A customer's October: a bundle, tiered overage, agents, a minimum charge,
    per-operation prices and two provider charges (10% markup)."""
    InvoicingSettingsFactory(
        organization=organization, provider_markup_percent=Decimal("10")
    )
    customer = CustomerFactory(
        organization=organization, external_id="acme", name="Acme Ltd"
    )
    Operation.objects.create(
        organization=organization,
        code="tokens.gen",
        name="Generate",
        activity_type="tokens",
    )
    OperationPriceFactory(
        organization=organization, operation="image.resize", unit_price=Decimal("0.02")
    )
    OperationPriceFactory(
        organization=organization, operation="pdf.export", unit_price=Decimal("0.05")
    )
    SubscriptionFactory(
        customer=customer,
        billing_model=hybrid_model,
        agents=2,
        starts_at=at(1, 0, month=9),
    )
    bundle = PersonalizedBundleFactory(
        customer=customer,
        status="active",
        price=Decimal("25.20"),
        valid_from=at(5, 0),
        valid_until=at(5, 0, month=11),
        accepted_at=at(4),
    )
    PersonalizedBundleLineFactory(
        bundle=bundle, operation="image.resize", included_quantity=Decimal("1000")
    )
    ProviderChargeFactory(
        customer=customer, provider="Twilio", amount=Decimal("12.34"),
        description="SMS delivery",
    )  # fmt: skip
    ProviderChargeFactory(
        customer=customer, provider="AWS", amount=Decimal("7.50"),
        description="Egress",
    )  # fmt: skip
    ingest(customer, "image.resize", [500, 500, 500], when=at(10))
    ingest(customer, "pdf.export", [10, 20], when=at(11))
    ingest(customer, "tokens.gen", [20000, 5000], when=at(12))
    ingest(customer, "api_calls", [60, 40], when=at(13))
    return customer
