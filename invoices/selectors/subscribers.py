"""Reads of a billing model's subscribers: who a model bills in a period, and how
their usage spreads over its tiers."""

from datetime import date

from django.db.models import Q, QuerySet

from invoices.models import Subscription
from invoices.periods import MONTHLY, Period
from pricing import selectors as pricing_selectors
from pricing.models import ActivityBasedConfig, BillingModel


def billing_model_subscriber_ids(
    *, billing_model: BillingModel, period: Period
) -> QuerySet:
    """Ids (one column, for a subquery) of the customers with a subscription to
    ``billing_model`` in force at some instant of ``period`` (UTC): starting before
    its end and not ending (``ends_at`` is exclusive) by its start."""
    start, end = period.bounds
    return (
        Subscription.objects.filter(
            organization_id=billing_model.organization_id,
            billing_model=billing_model,
            starts_at__lt=end,
        )
        .filter(Q(ends_at__isnull=True) | Q(ends_at__gt=start))
        .values("customer_id")
    )


def subscriber_tier_utilisation(
    *, config: ActivityBasedConfig, period_start: date
) -> list[pricing_selectors.TierUtilisation]:
    """``pricing.selectors.tier_utilisation`` of the config's billing model's
    subscribers in the calendar month (UTC) of ``period_start``: customers who
    used the activity without a subscription to the model then are not counted.
    One SQL statement."""
    period = Period(MONTHLY, period_start.replace(day=1))
    return pricing_selectors.tier_utilisation(
        config=config,
        period_start=period.start,
        customers=billing_model_subscriber_ids(
            billing_model=config.billing_model, period=period
        ),
    )
