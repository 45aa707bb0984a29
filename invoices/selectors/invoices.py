"""Reads of invoices: settings, lists, lookups, diffs against the previous invoice,
drafts due for finalization, the customer-delete guard and line groups.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.db.models import Prefetch, QuerySet
from django.http import Http404

from billing_site.ids import ascii_id
from invoices import rating
from invoices.models import Invoice, InvoiceLine, InvoicingSettings, Payment
from invoices.periods import Period
from invoices.selectors._common import ZERO
from metering.models import Customer, Organization


def invoicing_settings_for(*, organization: Organization) -> InvoicingSettings:
    """The organization's settings, or unsaved defaults."""
    found = InvoicingSettings.objects.filter(organization=organization).first()
    return found or InvoicingSettings(organization=organization)


def invoice_list(
    *,
    organization: Organization,
    customer_external_id: str | None = None,
    status: str | None = None,
    period: Period | None = None,
) -> QuerySet[Invoice]:
    invoices = Invoice.objects.filter(organization=organization).select_related(
        "customer"
    )
    if customer_external_id:
        invoices = invoices.filter(customer__external_id=customer_external_id)
    if status:
        invoices = invoices.filter(status=status)
    if period is not None:
        invoices = invoices.filter(
            frequency=period.frequency, period_start=period.start
        )
    return invoices.prefetch_related(
        Prefetch("lines", queryset=InvoiceLine.objects.order_by("position"))
    ).order_by("-period_start", "customer_name", "id")


def invoice_get(*, organization: Organization, pk: int | str) -> Invoice:
    """One invoice of the organization with its lines; 404 for any other."""
    key = str(pk)
    number = ascii_id(key)
    invoice = (
        invoice_list(organization=organization).filter(pk=number).first()
        if number is not None
        else None
    )
    if invoice is None:
        raise Http404(f"No invoice {key!r}")
    return invoice


def customer_invoices(*, customer: Customer) -> QuerySet[Invoice]:
    """A customer's issued invoices (drafts are not shown to customers)."""
    return (
        Invoice.objects.filter(
            organization_id=customer.organization_id, customer=customer
        )
        .exclude(status=Invoice.Status.DRAFT)
        .order_by("-period_start", "-id")
    )


def invoice_previous(*, invoice: Invoice) -> Invoice | None:
    """The customer's invoice of the period before, same frequency (not void)."""
    previous = invoice.period.previous()
    return (
        Invoice.objects.filter(
            customer_id=invoice.customer_id,
            frequency=invoice.frequency,
            period_start=previous.start,
        )
        .exclude(status=Invoice.Status.VOID)
        .prefetch_related("lines")
        .first()
    )


@dataclass(frozen=True)
class DiffRow:
    kind: str
    description: str
    previous_quantity: Decimal | None
    current_quantity: Decimal | None
    previous_amount: Decimal
    current_amount: Decimal

    @property
    def change(self) -> Decimal:
        return self.current_amount - self.previous_amount

    @property
    def kind_label(self) -> str:
        """The line kind as the document names it (``"Tiered usage"``)."""
        return rating.LineKind(self.kind).label


@dataclass(frozen=True)
class DiffTotals:
    # Sums of the line amounts counted in each invoice's total (its total).
    previous: Decimal
    current: Decimal

    @property
    def change(self) -> Decimal:
        return self.current - self.previous


def invoice_diff_totals(*, rows: list[DiffRow]) -> DiffTotals:
    """Totals of both periods as the sums of the diff's rows, so the rows shown
    add up to them (each invoice's total is the sum of its lines)."""
    counted = [row for row in rows if row.kind not in rating.NOT_IN_TOTAL]
    return DiffTotals(
        previous=sum((row.previous_amount for row in counted), ZERO),
        current=sum((row.current_amount for row in counted), ZERO),
    )


def invoice_diff(*, invoice: Invoice) -> tuple[Invoice | None, list[DiffRow]]:
    """Lines of ``invoice`` against the previous period's, matched by kind and text."""
    previous = invoice_previous(invoice=invoice)
    before = {
        (line.kind, line.description): line
        for line in (previous.lines.all() if previous else [])
    }
    after = {(line.kind, line.description): line for line in invoice.lines.all()}
    rows = []
    for key in list(after) + [key for key in before if key not in after]:
        old, new = before.get(key), after.get(key)
        rows.append(
            DiffRow(
                kind=key[0],
                description=key[1],
                previous_quantity=old.quantity if old else None,
                current_quantity=new.quantity if new else None,
                previous_amount=old.amount if old else ZERO,
                current_amount=new.amount if new else ZERO,
            )
        )
    return previous, rows


def invoices_finalizable(*, organization: Organization, now: datetime) -> list[Invoice]:
    """Drafts whose period closed more than the grace window ago."""
    grace = timedelta(
        hours=invoicing_settings_for(organization=organization).grace_hours
    )
    drafts = Invoice.objects.filter(
        organization=organization, status=Invoice.Status.DRAFT
    ).order_by("period_start", "id")
    return [draft for draft in drafts if draft.period.closes_at + grace <= now]


def customer_has_invoices(customer: Customer) -> str:
    """The customer-delete guard: a reason when invoices exist, else ""."""
    count = Invoice.objects.filter(customer=customer).count()
    if count:
        return (
            f"Customer {customer.external_id} has {count} invoice(s) and cannot be "
            "deleted."
        )
    return ""


@dataclass(frozen=True)
class LineGroup:
    label: str
    lines: tuple[InvoiceLine, ...]
    # Sum of the group's (rounded) line amounts that count in the total (not the
    # tax an inclusive rate finds inside the charges).
    amount: Decimal


_GROUPS = (
    (
        "Subscription, plans and bundles",
        (rating.SUBSCRIPTION, rating.ENTITLEMENT, rating.BUNDLE),
    ),
    ("Usage", (rating.BUNDLED_USAGE, rating.OVERAGE, rating.USAGE, rating.TIER)),
    ("Fees", (rating.BASE_FEE, rating.MINIMUM_CHARGE)),
    ("Provider charges", (rating.PROVIDER_CHARGE,)),
    ("Adjustments", (rating.ADJUSTMENT,)),
    ("Discounts", (rating.DISCOUNT,)),
    ("Taxes", (rating.TAX, rating.TAX_INCLUDED)),
)


def invoice_line_groups(*, invoice: Invoice) -> list[LineGroup]:
    """The invoice's lines grouped for display, in document order within a group."""
    lines = sorted(invoice.lines.all(), key=lambda line: line.position)
    groups = []
    for label, kinds in _GROUPS:
        members = tuple(line for line in lines if line.kind in kinds)
        if members:
            groups.append(
                LineGroup(
                    label=label,
                    lines=members,
                    amount=sum(
                        (
                            line.amount
                            for line in members
                            if line.kind not in rating.NOT_IN_TOTAL
                        ),
                        ZERO,
                    ),
                )
            )
    return groups


@dataclass(frozen=True)
class TotalRow:
    label: str
    amount: Decimal
    key: str  # "subtotal", "adjustments", "discount_total", "tax_total", ...


def invoice_totals(*, invoice: Invoice) -> list[TotalRow]:
    """The invoice's figures as shown under its lines: subtotal, late usage
    adjustments, discounts (negative), taxes, total, what prepaid credits,
    credit notes and payments settled (negative) and the amount due. The rows
    above the total add up to it (``invoices.rating``); adjustments are what the
    total holds beyond the others, shown only when there are any."""
    adjustments = (
        invoice.total - invoice.subtotal + invoice.discount_total - invoice.tax_total
    )
    rows = [TotalRow("Subtotal", invoice.subtotal, "subtotal")]
    if adjustments:
        rows.append(TotalRow("Late usage adjustments", adjustments, "adjustments"))
    if invoice.discount_total:
        rows.append(TotalRow("Discounts", -invoice.discount_total, "discount_total"))
    if invoice.tax_total:
        rows.append(TotalRow("Tax", invoice.tax_total, "tax_total"))
    rows.append(TotalRow("Total", invoice.total, "total"))
    # What settled part of it since it was issued, each when there is any.
    for label, amount, key in (
        ("Prepaid credits applied", invoice.credits_applied, "credits_applied"),
        ("Credited", invoice.amount_credited, "amount_credited"),
        ("Paid", invoice.amount_paid, "amount_paid"),
    ):
        if amount:
            rows.append(TotalRow(label, -amount, key))
    rows.append(TotalRow("Amount due", invoice.amount_due, "amount_due"))
    return rows


def invoice_payments(*, invoice: Invoice) -> QuerySet[Payment]:
    """The payments received for the invoice, oldest first."""
    return Payment.objects.filter(
        organization_id=invoice.organization_id, invoice=invoice
    ).order_by("paid_at", "id")
