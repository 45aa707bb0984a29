"""Live totals: the cost so far of a customer's open month and day."""

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from invoices import periods, rating
from invoices.periods import DAILY, MONTHLY, Period
from invoices.selectors.late_usage import late_adjustments
from invoices.selectors.terms import organization_terms, rating_input
from invoices.selectors.usage import per_use_events_by_customer, period_usage
from metering.models import Customer


@dataclass(frozen=True)
class CurrentUsageCost:
    customer: Customer
    month: Period
    day: Period
    monthly: rating.Rating
    daily: rating.Rating

    @property
    def total(self) -> Decimal:
        return self.monthly.total + self.daily.total


def current_usage_cost(*, customer: Customer, now: datetime) -> CurrentUsageCost:
    """The running total of the open month and of the open day's daily and per-use
    charges (metering's usage read model, as for their invoices), rated like invoices:
    the month's figure carries everything its invoice will (plans, bundles,
    provider charges carried over from earlier months, corrections for late usage
    of issued invoices), so at the month's last instant it equals the invoice."""
    organization = customer.organization
    month = periods.period_containing(now, MONTHLY)
    day = periods.period_containing(now, DAILY)
    month_terms = organization_terms(
        organization=organization, period=month, customer_ids=[customer.pk]
    )
    monthly = rating.rate(
        rating_input(
            terms=month_terms,
            customer_id=customer.pk,
            usage=period_usage(
                organization=organization, period=month, customer_ids=[customer.pk]
            ).get(customer.pk, {}),
            adjustments=tuple(
                late_adjustments(
                    organization=organization, period=month, customer_ids=[customer.pk]
                ).get(customer.pk, ())
            ),
        )
    )
    day_terms = organization_terms(
        organization=organization, period=day, customer_ids=[customer.pk]
    )
    start, end = day.bounds
    day_usage = period_usage(
        organization=organization, period=day, customer_ids=[customer.pk]
    ).get(customer.pk, {})
    per_use = per_use_events_by_customer(
        organization=organization,
        start=start,
        end=end,
        operations=day_terms.per_use_operations(set(day_usage)),
        customer_ids=[customer.pk],
    ).get(customer.pk, {})
    daily = rating.rate(
        rating_input(
            terms=day_terms,
            customer_id=customer.pk,
            usage=day_usage,
            per_use_events=per_use,
        )
    )
    return CurrentUsageCost(
        customer=customer, month=month, day=day, monthly=monthly, daily=daily
    )
