"""Demo pricing: the seed document's example billing models and last month's usage.

Models (written through the pricing services, so re-running resets them):
simple API calls at 0.10; the advanced token model (tiers 10k/50k/100k); the
"Token-Based AI Services" model of the 47.50 example; customer service replacement
(200 per agent, 0.50 per interaction, 40% off above 1,000 a month); document
processing (2.00 up to 100, 1.50 up to 500, 1.00 beyond); and a hybrid platform plan.

Last month's usage of the priced activities, for the tier utilisation report: an
operation per activity type in metering's catalogue and, per demo customer and
activity, two events on the first two days of last month (through metering's
ingestion; early, so they stay out of the profiling demo's 30-day window on most
days) whose quantities add up to a log-normal monthly total around the activity's
typical usage, so customers spread over every tier. Event ids name the month, so
re-running in the same month only reports duplicates.
"""

import math
import random
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from metering.models import Operation
from metering.services import usage_events_ingest
from pricing import services
from pricing.models import BillingModel
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

# code -> (name, unit, activity type, typical monthly usage per customer: the median
# of a log-normal spread)
OPERATIONS = {
    "ai.complete": ("AI completion", "token", "tokens", 30000),
    "ai.chat": ("AI chat reply", "token", "gpt_tokens", 12000),
    "support.reply": (
        "Support conversation turn",
        "action",
        "customer_interactions",
        900,
    ),
    "doc.process": ("Process a document", "document", "documents_processed", 350),
    "api.call": ("Platform API call", "request", "api_calls", 2000),
}


def _previous_month(now: datetime) -> datetime:
    first = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    return (first - timedelta(days=1)).replace(day=1)


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
    _seed_usage(context=context, progress=progress)


def _seed_usage(*, context: dict, progress) -> None:
    organization = context["organization"]
    for code, (name, unit, activity_type, _) in OPERATIONS.items():
        Operation.objects.update_or_create(
            organization=organization,
            code=code,
            defaults={"name": name, "unit": unit, "activity_type": activity_type},
        )
    now = datetime.now(UTC)
    month = _previous_month(now)
    rng = random.Random(20261121)
    events = []
    for customer in progress(context["customers"], desc="priced usage"):
        for code, (_, _, _, median) in OPERATIONS.items():
            total = int(median * math.exp(rng.gauss(0, 1.0)))  # whole units
            first = rng.randint(0, total)
            for number, quantity in enumerate((first, total - first)):
                occurred = month + timedelta(seconds=rng.randrange(2 * 86_400))
                events.append(
                    {
                        "event_id": (
                            f"demo-pricing-{month:%Y%m}-{customer.external_id}"
                            f"-{code}-{number}"
                        ),
                        "customer_id": customer.external_id,
                        "operation": code,
                        "quantity": str(quantity),
                        "occurred_at": occurred.isoformat(),
                    }
                )
    for start in range(0, len(events), 5_000):
        usage_events_ingest(
            organization=organization, events=events[start : start + 5_000], now=now
        )
