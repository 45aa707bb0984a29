"""Late usage: usage that arrived after a period's invoice was issued, and the
adjustments that bill it on a later invoice.
"""

from collections import defaultdict

from django.db.models import Exists, OuterRef, QuerySet, Sum

from invoices import rating
from invoices.models import Invoice, InvoiceLine
from invoices.periods import Period
from invoices.selectors._common import ZERO
from invoices.selectors.terms import organization_terms, rating_input
from invoices.selectors.usage import (
    customers_in,
    per_use_events_by_customer,
    period_usage,
)
from metering import selectors as metering_selectors
from metering.models import Organization

BILLABLE_STATUSES = (
    Invoice.Status.FINALIZED,
    Invoice.Status.OVERDUE,
    Invoice.Status.PAID,
)


def invoices_with_late_usage(
    *, organization: Organization, before: Period, customer_ids=None
) -> QuerySet[Invoice]:
    """Issued invoices of earlier periods with events received after finalization."""
    late = metering_selectors.usage_received_after(
        organization=organization,
        customer_id=OuterRef("customer_id"),
        first_day=OuterRef("period_start"),
        last_day=OuterRef("period_end"),
        received_after=OuterRef("finalized_at"),
    )
    invoices = Invoice.objects.filter(
        organization=organization,
        status__in=BILLABLE_STATUSES,
        frequency=before.frequency,
        period_start__lt=before.start,
    )
    if customer_ids is not None:
        invoices = invoices.filter(customer_id__in=customers_in(customer_ids))
    return invoices.filter(Exists(late)).order_by("period_start", "id")


def late_adjustments(
    *,
    organization: Organization,
    period: Period,
    exclude_invoice_ids: set[int] = frozenset(),
    customer_ids=None,
) -> dict[int, list[rating.Adjustment]]:
    """Customer id -> corrections owed for earlier issued invoices of the frequency.

    Each earlier invoice with late events is re-rated with its period's usage as it
    stands now and the provider charges it billed; the adjustment is the new charges
    (lines before adjustments, discounts and taxes) minus the invoice's charge lines
    and the adjustments already billed for it elsewhere. It is a charge of the
    invoice that bills it, discounted and taxed there.
    """
    adjustments: dict[int, list[rating.Adjustment]] = defaultdict(list)
    for invoice in invoices_with_late_usage(
        organization=organization, before=period, customer_ids=customer_ids
    ):
        terms = organization_terms(
            organization=organization,
            period=invoice.period,
            customer_ids=[invoice.customer_id],
        )
        terms.provider_charges = {
            invoice.customer_id: list(invoice.provider_charges.order_by("id"))
        }
        start, end = invoice.period.bounds
        usage = period_usage(
            organization=organization,
            period=invoice.period,
            customer_ids=[invoice.customer_id],
        ).get(invoice.customer_id, {})
        per_use = per_use_events_by_customer(
            organization=organization,
            start=start,
            end=end,
            operations=terms.per_use_operations(set(usage)),
            customer_ids=[invoice.customer_id],
        ).get(invoice.customer_id, {})
        corrected = rating.rate(
            rating_input(
                terms=terms,
                customer_id=invoice.customer_id,
                usage=usage,
                per_use_events=per_use,
            )
        ).charges
        issued = (
            invoice.lines.filter(kind__in=rating.CHARGE_KINDS).aggregate(
                total=Sum("amount")
            )["total"]
            or ZERO
        )
        billed = (
            InvoiceLine.objects.filter(adjusts_invoice=invoice)
            .exclude(invoice__status=Invoice.Status.VOID)
            .exclude(invoice_id__in=exclude_invoice_ids)
            .aggregate(total=Sum("amount"))["total"]
            or ZERO
        )
        delta = corrected - issued - billed
        if delta:
            adjustments[invoice.customer_id].append(
                rating.Adjustment(
                    reference=f"invoice:{invoice.pk}",
                    description=(
                        f"Late usage for {invoice.period_label} "
                        f"(invoice {invoice.number})"
                    ),
                    amount=delta,
                )
            )
    return adjustments
