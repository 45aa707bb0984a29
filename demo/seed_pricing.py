"""Demo pricing: the seed document's example billing models and last month's usage.

Models (written through the pricing services, so re-running resets them):
simple API calls at 0.10; the advanced token model (tiers 10k/50k/100k); the
"Token-Based AI Services" model of the 47.50 example; customer service replacement
(200 per agent, 0.50 per interaction, 40% off above 1,000 a month); document
processing (2.00 up to 100, 1.50 up to 500, 1.00 beyond); and a hybrid platform plan.
Usage samples per customer feed the tier utilisation report until usage events do.
"""

import math
import random
from datetime import date, timedelta
from decimal import Decimal

from django.utils import timezone

from pricing import services
from pricing.models import BillingModel, UsageSample
from pricing.services import ActivitySpec, BillingModelSpec, TierSpec

D = Decimal


def _tiers(*pairs: tuple[int | None, str]) -> tuple[TierSpec, ...]:
    return tuple(
        TierSpec(None if up_to is None else D(up_to), D(price))
        for up_to, price in pairs
    )


DEMO_MODELS = [
    BillingModelSpec(
        name="Simple API calls",
        description="Pay per API call, no commitment.",
        activities=(ActivitySpec(activity_type="api_calls", price_per_unit=D("0.10")),),
    ),
    BillingModelSpec(
        name="Advanced Token Billing",
        description="Per token with volume discounts and a per-agent base fee.",
        activities=(
            ActivitySpec(
                activity_type="tokens",
                unit_type="token",
                price_per_unit=D("0.001"),
                base_agent_fee=D("10.00"),
                volume_pricing_enabled=True,
                tiers=_tiers((10000, "0.0008"), (50000, "0.0006"), (100000, "0.0004")),
                minimum_charge=D("5.00"),
            ),
        ),
    ),
    BillingModelSpec(
        name="Token-Based AI Services",
        description="Pay per token with volume discounts",
        activities=(
            ActivitySpec(
                activity_type="gpt_tokens",
                unit_type="token",
                price_per_unit=D("0.002"),
                base_agent_fee=D("15.00"),
                volume_pricing_enabled=True,
                tiers=_tiers((5000, "0.0015"), (20000, "0.0010")),
                minimum_charge=D("10.00"),
            ),
        ),
    ),
    BillingModelSpec(
        name="Customer Service Replacement",
        description="An AI agent instead of a BPO seat: 40% off above 1,000 "
        "interactions a month.",
        activities=(
            ActivitySpec(
                activity_type="customer_interactions",
                unit_type="action",
                price_per_unit=D("0.30"),
                base_agent_fee=D("200.00"),
                volume_pricing_enabled=True,
                tiers=_tiers((1000, "0.50")),
            ),
        ),
    ),
    BillingModelSpec(
        name="Document Processing",
        description="Per document, cheaper as volume grows.",
        activities=(
            ActivitySpec(
                activity_type="documents_processed",
                unit_type="document",
                price_per_unit=D("1.00"),
                volume_pricing_enabled=True,
                tiers=_tiers((100, "2.00"), (500, "1.50"), (1000, "1.00")),
            ),
        ),
    ),
    BillingModelSpec(
        name="Platform plan + usage",
        description="A monthly platform fee plus API calls and tokens.",
        model_type=BillingModel.ModelType.HYBRID,
        subscription_fee=D("99.00"),
        activities=(
            ActivitySpec(activity_type="api_calls", price_per_unit=D("0.05")),
            ActivitySpec(
                activity_type="tokens",
                unit_type="token",
                price_per_unit=D("0.0008"),
                volume_pricing_enabled=True,
                tier_mode="volume",
                tiers=_tiers((50000, "0.0010"), (250000, "0.0009")),
            ),
        ),
    ),
]

# Typical monthly usage per customer (median of a log-normal spread).
USAGE_MEDIANS = {
    "tokens": 30000,
    "gpt_tokens": 12000,
    "customer_interactions": 900,
    "documents_processed": 350,
    "api_calls": 2000,
}


def _previous_month(today: date) -> date:
    return (today.replace(day=1) - timedelta(days=1)).replace(day=1)


def seed(*, context: dict, progress) -> None:
    organization = context["organization"]
    existing = {
        model.name: model
        for model in BillingModel.objects.filter(organization=organization)
    }
    models = []
    for spec in progress(DEMO_MODELS, desc="billing models"):
        if spec.name in existing:
            model = services.billing_model_update(
                billing_model=existing[spec.name], spec=spec
            )
        else:
            model = services.billing_model_create(organization=organization, spec=spec)
        models.append(model)
    context["billing_models"] = models

    period = _previous_month(timezone.localdate())
    rng = random.Random(20261121)
    samples = []
    for customer in progress(context["customers"], desc="usage samples"):
        for activity_type, median in USAGE_MEDIANS.items():
            units = int(median * math.exp(rng.gauss(0, 1.0)))  # whole units
            samples.append(
                UsageSample(
                    organization=organization,
                    customer=customer,
                    activity_type=activity_type,
                    period_start=period,
                    units=D(units),
                )
            )
    UsageSample.objects.bulk_create(
        samples,
        batch_size=1000,
        update_conflicts=True,
        unique_fields=["customer", "activity_type", "period_start"],
        update_fields=["units"],
    )
