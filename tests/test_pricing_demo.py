"""The demo seed's pricing step: the seed document's example models, idempotently."""

from decimal import Decimal

import pytest

from demo import seed_pricing
from metering.tests.factories import CustomerFactory
from pricing import engine, selectors
from pricing.models import BillingModel, UsageSample

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
    assert UsageSample.objects.filter(organization=organization).count() == 15
    gpt = selectors.billing_model_pricing(
        BillingModel.objects.get(name="Token-Based AI Services")
    )
    assert engine.calculate_model_cost(gpt, 15000, 2).total == Decimal("47.50")
    documents = selectors.billing_model_pricing(
        BillingModel.objects.get(name="Document Processing")
    )
    # 100 x 2.00 + 400 x 1.50 + 100 x 1.00
    assert engine.calculate_model_cost(documents, 600).total == Decimal("900.00")
