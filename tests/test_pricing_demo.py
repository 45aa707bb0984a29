"""The demo seed's pricing step: the seed document's example models and last
month's priced usage, idempotently."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from demo import seed_pricing
from metering.models import Customer, UsageEvent
from metering.tests.factories import CustomerFactory
from pricing import engine, selectors
from pricing.models import BillingModel

pytestmark = pytest.mark.django_db


def test_seed_creates_the_seed_examples_idempotently(organization):
    customers = [CustomerFactory(organization=organization) for _ in range(3)]
    context = {"organization": organization, "customers": customers}
    for _ in range(2):
        seed_pricing.seed(context=context, progress=lambda items, **kwargs: items)
    assert sorted(
        BillingModel.objects.filter(organization=organization).values_list(
            "name", flat=True
        )
    ) == [
        "Advanced Token Billing",
        "Customer Service Replacement",
        "Document Processing",
        "Platform plan + usage",
        "Simple API calls",
        "Token-Based AI Services",
    ]
    # Two events per customer and priced activity, stored once.
    assert UsageEvent.objects.filter(organization=organization).count() == 30
    gpt = selectors.billing_model_pricing(
        BillingModel.objects.get(name="Token-Based AI Services")
    )
    assert engine.calculate_model_cost(gpt, 15000, 2).total == Decimal("47.50")
    documents = selectors.billing_model_pricing(
        BillingModel.objects.get(name="Document Processing")
    )
    # 100 x 2.00 + 400 x 1.50 + 100 x 1.00
    assert engine.calculate_model_cost(documents, 600).total == Decimal("900.00")


def test_seed_spreads_last_months_token_usage_over_the_tiers(organization):
    customers = [CustomerFactory(organization=organization) for _ in range(3)]
    context = {"organization": organization, "customers": customers}
    seed_pricing.seed(context=context, progress=lambda items, **kwargs: items)
    period = selectors.last_period_start(today=datetime.now(UTC).date())
    config = BillingModel.objects.get(
        organization=organization, name="Advanced Token Billing"
    ).activity_configs.get()
    rows = selectors.tier_utilisation(
        config=config, period_start=period, customers=Customer.objects.values("pk")
    )
    assert [(row.label, row.customers, row.units) for row in rows] == [
        ("0-10k", 0, Decimal(0)),
        ("10k-50k", 1, Decimal(15425)),
        ("50k-100k", 1, Decimal(53264)),
        ("100k+", 1, Decimal(178710)),
    ]
