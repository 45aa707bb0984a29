"""Demo invoicing: subscriptions, provider charges and last month's invoices.

Idempotent: subscriptions and charges are keyed by customer and reference, last
month's invoices are regenerated (drafts refreshed, issued ones left alone) and the
same customers' invoices are finalized each run.
"""

import random
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from django.utils import timezone

from invoices import periods, services
from invoices.models import Invoice, ProviderCharge, Subscription
from pricing.models import BillingModel

SUBSCRIBED_CUSTOMERS = 80
PROVIDERS = (
    ("Twilio", "SMS delivery"),
    ("AWS", "Data egress"),
    ("Stripe", "Card fees"),
)


def seed(*, context: dict, progress) -> None:
    organization = context["organization"]
    customers = context["customers"]
    now = timezone.now()
    last_month = periods.period_containing(now, periods.MONTHLY).previous()
    models = list(
        BillingModel.objects.filter(organization=organization, is_active=True).order_by(
            "name"
        )
    )
    rng = random.Random(20261123)
    starts_at = datetime.combine(
        last_month.previous().start, datetime.min.time(), tzinfo=UTC
    )
    subscribed = set(
        Subscription.objects.filter(organization=organization).values_list(
            "customer_id", flat=True
        )
    )
    if models:
        for customer in progress(
            customers[:SUBSCRIBED_CUSTOMERS], desc="subscriptions"
        ):
            agents = rng.randint(1, 5)
            model = rng.choice(models)
            if customer.pk in subscribed:
                continue
            services.subscription_create(
                organization=organization,
                customer=customer,
                billing_model=model,
                agents=agents,
                starts_at=starts_at,
            )

    for index, customer in enumerate(customers[:40]):
        provider, description = PROVIDERS[index % len(PROVIDERS)]
        reference = f"demo-{last_month.label}-{customer.external_id}"
        if ProviderCharge.objects.filter(
            organization=organization, provider=provider, external_ref=reference
        ).exists():
            continue
        services.provider_charge_create(
            organization=organization,
            customer=customer,
            provider=provider,
            period_start=last_month.start,
            amount=Decimal(rng.randint(150, 4000)) / 100,
            description=description,
            external_ref=reference,
        )
    services.invoicing_settings_update(
        organization=organization, provider_markup_percent=Decimal("5")
    )

    services.invoices_generate(organization=organization, period=last_month, now=now)
    # The first customer (the portal login) and every other one are issued; the
    # rest stay draft for review in the admin.
    finalize_ids = {customer.pk for customer in customers[::2]}
    drafts = Invoice.objects.filter(
        organization=organization,
        frequency=last_month.frequency,
        period_start=last_month.start,
        status=Invoice.Status.DRAFT,
        customer_id__in=finalize_ids,
    ).order_by("customer_external_id")
    services.invoices_finalize(
        invoices=list(progress(drafts, desc="finalize invoices")),
        now=now - timedelta(minutes=1),
    )
