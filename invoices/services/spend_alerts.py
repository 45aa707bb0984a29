"""Spend alerts: a customer's running bill of the billing period against the
thresholds of its spend alerts (metering keeps the alerts and fires them; the
bill is invoicing's to compute)."""

from collections.abc import Collection
from datetime import datetime

from invoices import selectors
from metering.models import Organization, UsageAlert
from metering.services import usage_alert_fire, usage_alerts_due


def spend_alerts_evaluate(
    *, organization: Organization, customer_ids: Collection[int], now: datetime
) -> int:
    """Fire the spend alerts of those customers that their running total
    (``current_usage_cost``, the figure the portal shows) reaches at ``now``;
    returns how many fired. Each customer's bill is rated once, and only while
    one of its spend alerts has not fired in the period."""
    due = usage_alerts_due(
        organization=organization,
        customer_ids=customer_ids,
        kind=UsageAlert.Kind.SPEND,
        now=now,
    )
    totals = {}
    fired = 0
    for item in due:
        customer = item.alert.customer
        if customer.pk not in totals:
            totals[customer.pk] = selectors.current_usage_cost(
                customer=customer, now=now
            ).total
        total = totals[customer.pk]
        if total >= item.alert.threshold:
            if usage_alert_fire(due=item, value=total, now=now) is not None:
                fired += 1
    return fired
