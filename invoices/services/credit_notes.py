"""Partial credit notes: crediting part of an issued invoice's lines.

A note credits amounts of the invoice's charge lines (the kinds of lines 1-8 of
``invoices.rating``: charges and late-usage adjustments, with an amount above
zero); discount and tax lines are never credited directly, they follow the lines
they apply to. What is left to credit on a line is its amount less the amounts
of the earlier notes' lines on it.

Figures of a note. Let ``B`` be the sum of the invoice's creditable lines (its
positive charge and adjustment lines), ``T`` its ``total`` and ``X`` its
``tax_total`` (inclusive and exclusive taxes), and let ``C0`` be what the
earlier partial notes credited of its lines and ``C1 = C0 + c`` that plus this
note's lines ``c``. Every unit of line amount credited carries ``T / B`` of the
invoice's total, of which ``X / B`` is tax, so the invoice's discounts and
taxes are credited in the same proportion as its lines. Amounts are rounded on
the running figures, half-up by ``quantize_money``, and each note takes the
difference::

    amount     = q(C1 x T / B) - q(C0 x T / B)
    tax_amount = q(C1 x X / B) - q(C0 x X / B)
    subtotal   = amount - tax_amount

The notes of an invoice therefore never add up to more than its total or its
tax, and once every line is credited in full they credit exactly its total and
exactly its tax (a 100.00 line with a 20 % coupon and 20 % VAT: total 96.00, tax
16.00; crediting it in full is a note of subtotal 80.00, tax 16.00, amount
96.00). ``subtotal`` is thus the credited lines net of their share of the
discounts and of the taxes.

The note's ``amount`` first lowers the invoice's ``amount_due``
(``applied_to_balance``, at most what is due); the rest, what the customer had
already settled, is refunded (``refunded_amount``) to ``refund_to``: the
customer's wallet (a ``refund`` credit) or ``payment`` (a refund of the payment,
recorded on the note). A refund needs its destination.

Status: an open invoice whose amount due a note brings to zero becomes ``paid``
(``invoice.paid`` is emitted) when payments or wallet credits settled part of
it; credited in full without any of them it keeps its status, with nothing due
(voiding it is the way to cancel it). A full void stays ``invoice_void``, which
credits what is still due.
"""

from datetime import datetime
from decimal import Decimal

from django.db import transaction
from django.db.models import Sum

from billing_site.errors import DomainError, InvalidTransition
from billing_site.money import quantize_money
from invoices import rating
from invoices.models import (
    CreditNote,
    CreditNoteLine,
    Invoice,
    InvoiceLine,
    InvoiceNumberSequence,
    WalletTransaction,
)
from invoices.services.events import invoice_event_data, invoice_settle
from invoices.services.lifecycle import _next_number
from invoices.services.wallets import wallet_credit
from metering.models import WebhookEvent
from metering.services import webhook_event_emit

ZERO = Decimal("0")
CREDITABLE_KINDS = rating.CHARGE_KINDS | {rating.ADJUSTMENT}
CREDITABLE_STATUSES = (
    Invoice.Status.FINALIZED,
    Invoice.Status.OVERDUE,
    Invoice.Status.PAID,
)


def credit_note_event_data(note: CreditNote) -> dict:
    """A credit note as webhook events describe it (amounts as decimal strings)."""
    return {
        "id": note.pk,
        "number": note.number,
        "invoice_id": note.invoice_id,
        "kind": note.kind,
        "currency": note.currency,
        "subtotal": str(note.subtotal),
        "tax_amount": str(note.tax_amount),
        "amount": str(note.amount),
        "applied_to_balance": str(note.applied_to_balance),
        "refunded_amount": str(note.refunded_amount),
        "refund_to": note.refund_to,
        "reason": note.reason,
        "issued_at": note.issued_at.isoformat(),
        "lines": [
            {"invoice_line_id": line.invoice_line_id, "amount": str(line.amount)}
            for line in note.lines.all()
        ],
    }


def _parsed_lines(
    *, invoice: Invoice, lines: list[tuple[int, Decimal]]
) -> list[tuple[InvoiceLine, Decimal]]:
    """The requested lines checked against the invoice and earlier notes."""
    if not lines:
        raise DomainError("Credit at least one line.", field="lines")
    own = {line.pk: line for line in invoice.lines.all()}
    credited = dict(
        CreditNoteLine.objects.filter(invoice_line__invoice=invoice)
        .values_list("invoice_line_id")
        .annotate(total=Sum("amount"))
    )
    parsed = []
    seen = set()
    for index, (line_id, amount) in enumerate(lines):
        path = f"lines[{index}]"
        line = own.get(line_id)
        if line is None:
            raise DomainError(
                f"Line {line_id} is not a line of invoice {invoice.number}.",
                field=f"{path}.invoice_line_id",
            )
        if line_id in seen:
            raise DomainError(
                f"Line {line_id} appears more than once.",
                field=f"{path}.invoice_line_id",
            )
        seen.add(line_id)
        if line.kind not in CREDITABLE_KINDS or line.amount <= 0:
            raise DomainError(
                f"Line {line_id} ({line.kind}, {line.amount}) cannot be credited: "
                "credit the charge lines, their discounts and taxes follow.",
                field=f"{path}.invoice_line_id",
            )
        if amount <= 0:
            raise DomainError("Must be more than 0.", field=f"{path}.amount")
        if quantize_money(amount, invoice.currency) != amount:
            raise DomainError(
                f"Use at most the decimals of {invoice.currency}'s minor unit.",
                field=f"{path}.amount",
            )
        left = line.amount - credited.get(line_id, ZERO)
        if amount > left:
            raise DomainError(
                f"More than what is left to credit on line {line_id}, "
                f"{left} {invoice.currency}.",
                field=f"{path}.amount",
            )
        parsed.append((line, amount))
    return parsed


def credit_note_figures(
    *, invoice: Invoice, credited_before: Decimal, credited: Decimal
) -> tuple[Decimal, Decimal]:
    """``(amount, tax_amount)`` of a note crediting ``credited`` of the invoice's
    lines after ``credited_before``; the rule is the module docstring's."""
    base = sum(
        (
            line.amount
            for line in invoice.lines.all()
            if line.kind in CREDITABLE_KINDS and line.amount > 0
        ),
        ZERO,
    )
    after = credited_before + credited

    def share(figure: Decimal) -> Decimal:
        return quantize_money(after * figure / base, invoice.currency) - quantize_money(
            credited_before * figure / base, invoice.currency
        )

    return share(invoice.total), share(invoice.tax_total)


@transaction.atomic
def credit_note_create(
    *,
    invoice: Invoice,
    lines: list[tuple[int, Decimal]],
    reason: str = "",
    refund_to: str = "",
    now: datetime,
) -> CreditNote:
    """Credit ``lines`` (``(invoice_line_id, amount)``, net of tax) of the issued
    ``invoice``; see the module docstring for the figures, the refund and the
    invoice's status."""
    invoice = (
        Invoice.objects.select_for_update(of=("self",))
        .select_related("organization", "customer")
        .get(pk=invoice.pk)
    )
    if invoice.status not in CREDITABLE_STATUSES:
        raise InvalidTransition(
            f"invoice {invoice.number or invoice.pk} is {invoice.status}, "
            "it takes no credit note",
            field="status",
        )
    if refund_to and refund_to not in CreditNote.RefundTo.values:
        raise DomainError(
            f"Use one of {', '.join(CreditNote.RefundTo.values)}.", field="refund_to"
        )
    parsed = _parsed_lines(invoice=invoice, lines=lines)
    credited_before = (
        CreditNoteLine.objects.filter(invoice_line__invoice=invoice).aggregate(
            total=Sum("amount")
        )["total"]
        or ZERO
    )
    credited = sum((amount for _, amount in parsed), ZERO)
    amount, tax_amount = credit_note_figures(
        invoice=invoice, credited_before=credited_before, credited=credited
    )
    applied = min(amount, invoice.amount_due)
    refunded = amount - applied
    if refunded > 0 and not refund_to:
        raise DomainError(
            f"{refunded} {invoice.currency} was already settled: say where the "
            "refund goes (wallet or payment).",
            field="refund_to",
        )
    number = _next_number(
        organization=invoice.organization, kind=InvoiceNumberSequence.Kind.CREDIT_NOTE
    )
    note = CreditNote(
        organization=invoice.organization,
        invoice=invoice,
        number=f"CN-{number:06d}",
        kind=CreditNote.Kind.PARTIAL,
        subtotal=amount - tax_amount,
        tax_amount=tax_amount,
        amount=amount,
        currency=invoice.currency,
        applied_to_balance=applied,
        refunded_amount=refunded,
        refund_to=refund_to if refunded > 0 else "",
        reason=reason[:300],
        issued_at=now,
    )
    note.full_clean()
    note.save()
    CreditNoteLine.objects.bulk_create(
        CreditNoteLine(
            credit_note=note,
            invoice_line=line,
            description=line.description,
            amount=line_amount,
        )
        for line, line_amount in parsed
    )
    if refunded > 0 and note.refund_to == CreditNote.RefundTo.WALLET:
        _refund_to_wallet(note=note, invoice=invoice, now=now)
    _apply(invoice=invoice, applied=applied, now=now)
    webhook_event_emit(
        organization=invoice.organization,
        type=WebhookEvent.Type.CREDIT_NOTE_CREATED,
        payload={
            "credit_note": credit_note_event_data(note),
            "invoice": invoice_event_data(invoice),
        },
        now=now,
        key=f"credit_note:{note.pk}",
    )
    return note


def _refund_to_wallet(*, note: CreditNote, invoice: Invoice, now: datetime) -> None:
    wallet_credit(
        customer=invoice.customer,
        amount=note.refunded_amount,
        kind=WalletTransaction.Kind.REFUND,
        now=now,
        credit_note=note,
    )


def _apply(*, invoice: Invoice, applied: Decimal, now: datetime) -> None:
    """Lower the invoice's amount due by ``applied``; settle it when a note
    brings a partly paid invoice to zero."""
    if applied <= 0:
        return
    invoice_settle(
        invoice=invoice,
        column="amount_credited",
        amount=applied,
        now=now,
        paid_if_nothing_due=invoice.amount_paid > 0 or invoice.credits_applied > 0,
    )
