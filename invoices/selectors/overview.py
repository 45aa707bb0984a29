"""Reads of the billing overview on the admin index: last closed month's revenue
and the queues waiting for staff (drafts, failed webhooks, pending scaling
recommendations), over the organizations a staff member may act for."""

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.db.models import QuerySet, Sum

from invoices.models import Invoice
from invoices.periods import MONTHLY, Period, period_containing
from metering.models import Organization, WebhookDelivery
from metering.selectors import webhook_delivery_list
from scaling.models import Recommendation

# Issued invoices that count as revenue (void ones were cancelled by a credit note).
REVENUE_STATUSES = (
    Invoice.Status.FINALIZED,
    Invoice.Status.OVERDUE,
    Invoice.Status.PAID,
)


@dataclass(frozen=True)
class Revenue:
    currency: str
    amount: Decimal  # sum of the invoices' (rounded) totals


@dataclass(frozen=True)
class BillingOverview:
    month: Period  # the last closed calendar month
    revenue: tuple[Revenue, ...]  # one per currency, alphabetical
    drafts: int  # draft invoices awaiting finalization
    failed_webhooks: int
    pending_recommendations: int


def billing_overview(
    *, organizations: QuerySet[Organization], now: datetime
) -> BillingOverview:
    """The overview of ``organizations`` at ``now``.

    Revenue is the sum of the totals of finalized and paid invoices, of any
    frequency, whose period starts in the month before the one containing ``now``
    (UTC), per currency; amounts are summed as stored, never rounded again.
    """
    month = period_containing(now, MONTHLY).previous()
    revenue = (
        Invoice.objects.filter(
            organization__in=organizations,
            status__in=REVENUE_STATUSES,
            period_start__gte=month.start,
            period_start__lte=month.end,
        )
        .values("currency")
        .annotate(amount=Sum("total"))
        .order_by("currency")
    )
    return BillingOverview(
        month=month,
        revenue=tuple(
            Revenue(currency=row["currency"], amount=row["amount"]) for row in revenue
        ),
        drafts=Invoice.objects.filter(
            organization__in=organizations, status=Invoice.Status.DRAFT
        ).count(),
        failed_webhooks=webhook_delivery_list(
            organizations=organizations, status=WebhookDelivery.Status.FAILED
        ).count(),
        pending_recommendations=Recommendation.objects.filter(
            organization__in=organizations, status=Recommendation.Status.PENDING
        ).count(),
    )
