"""The invoice lifecycle: finalize (numbering, webhook), void with a credit note,
the periodic cycle, and the organization's invoicing settings.

Lifecycle: ``draft`` -> ``finalized`` (-> ``overdue``) -> ``paid`` once payments
(``invoices.services.payments``) settle it, or -> ``void`` (with a credit note).
Drafts are finalized by an admin or automatically once the organization's grace
window after the period has passed.
"""

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.db import transaction

from billing_site.errors import DomainError, InvalidTransition
from invoices import periods, selectors
from invoices.models import (
    CreditNote,
    Invoice,
    InvoiceNumberSequence,
    InvoicingSettings,
    ProviderCharge,
)
from invoices.periods import DAILY, MONTHLY
from invoices.services.dunning import invoices_overdue_mark, payment_reminders_send
from invoices.services.events import invoice_event_data
from invoices.services.generation import (
    GenerationResult,
    invoices_generate,
    invoices_generate_fanout,
)
from invoices.services.wallets import wallet_apply_to_invoice
from metering.models import Organization, WebhookEvent
from metering.services import webhook_event_emit


def _next_number(*, organization: Organization, kind: str) -> int:
    """The next value of the organization's gap-free sequence (row-locked)."""
    InvoiceNumberSequence.objects.get_or_create(organization=organization, kind=kind)
    sequence = InvoiceNumberSequence.objects.select_for_update().get(
        organization=organization, kind=kind
    )
    sequence.last_value += 1
    sequence.save(update_fields=["last_value"])
    return sequence.last_value


def _locked(invoice: Invoice) -> Invoice:
    return (
        Invoice.objects.select_for_update(of=("self",))
        .select_related("organization")
        .get(pk=invoice.pk)
    )


@transaction.atomic
def invoice_finalize(*, invoice: Invoice, now: datetime) -> Invoice:
    """Issue a draft: number it from the gap-free sequence, date it (due after the
    customer's payment terms, else the organization's), freeze it, and emit
    ``invoice.finalized`` to the organization's webhook endpoints."""
    invoice = _locked(invoice)
    if invoice.status != Invoice.Status.DRAFT:
        raise InvalidTransition(
            f"invoice {invoice.number or invoice.pk} is {invoice.status}, "
            "cannot finalize",
            field="status",
        )
    settings = selectors.invoicing_settings_for(organization=invoice.organization)
    value = _next_number(
        organization=invoice.organization, kind=InvoiceNumberSequence.Kind.INVOICE
    )
    invoice.number = f"{settings.number_prefix}-{value:06d}"
    invoice.status = Invoice.Status.FINALIZED
    invoice.finalized_at = now
    invoice.issued_on = now.date()
    terms = selectors.customer_tax_profile(customer=invoice.customer).payment_terms_days
    invoice.due_on = invoice.issued_on + timedelta(
        days=settings.payment_terms_days if terms is None else terms
    )
    invoice.save()
    webhook_event_emit(
        organization=invoice.organization,
        type=WebhookEvent.Type.INVOICE_FINALIZED,
        payload={"invoice": invoice_event_data(invoice)},
        now=now,
        key=f"invoice:{invoice.pk}",
    )
    # Prepaid credits settle what they can of it (paid if they cover it all).
    if wallet_apply_to_invoice(invoice=invoice, now=now) is not None:
        invoice.refresh_from_db()
    return invoice


@transaction.atomic
def invoice_void(*, invoice: Invoice, now: datetime, reason: str = "") -> CreditNote:
    """Void an open invoice that no payment or prepaid credit has settled: a
    credit note for what is still due (its total, less any credit notes already
    issued on it) cancels it, and the provider charges it billed are released to
    the next invoice."""
    invoice = _locked(invoice)
    if not invoice.is_open:
        raise InvalidTransition(
            f"invoice {invoice.number or invoice.pk} is {invoice.status}, cannot void",
            field="status",
        )
    if invoice.amount_paid or invoice.credits_applied:
        raise InvalidTransition(
            f"invoice {invoice.number} is partly settled; "
            "issue a credit note with a refund instead",
            field="status",
        )
    value = _next_number(
        organization=invoice.organization, kind=InvoiceNumberSequence.Kind.CREDIT_NOTE
    )
    credit_note = CreditNote.objects.create(
        organization=invoice.organization,
        invoice=invoice,
        number=f"CN-{value:06d}",
        kind=CreditNote.Kind.VOID,
        amount=invoice.amount_due,
        applied_to_balance=invoice.amount_due,
        currency=invoice.currency,
        reason=reason[:300],
        issued_at=now,
    )
    invoice.amount_credited += invoice.amount_due
    invoice.amount_due = Decimal("0")
    invoice.status = Invoice.Status.VOID
    invoice.voided_at = now
    invoice.save(
        update_fields=[
            "status", "voided_at", "amount_credited", "amount_due", "updated_at"
        ]
    )  # fmt: skip
    ProviderCharge.objects.filter(invoice=invoice).update(invoice=None)
    return credit_note


@dataclass
class FinalizeOutcome:
    finalized: list[Invoice] = field(default_factory=list)
    failed: list[tuple[Invoice, str]] = field(default_factory=list)


def invoices_finalize(*, invoices: list[Invoice], now: datetime) -> FinalizeOutcome:
    """Finalize each invoice in its own transaction; failures are reported, not
    raised, so one refused invoice does not stop the others."""
    outcome = FinalizeOutcome()
    for invoice in invoices:
        try:
            outcome.finalized.append(invoice_finalize(invoice=invoice, now=now))
        except DomainError as error:
            outcome.failed.append((invoice, error.message))
    return outcome


@dataclass
class CycleResult:
    generated: list[GenerationResult] = field(default_factory=list)
    # (period, number of tasks) of periods handed to parallel generation tasks.
    dispatched: list[tuple[periods.Period, int]] = field(default_factory=list)
    finalized: FinalizeOutcome = field(default_factory=FinalizeOutcome)
    overdue: int = 0  # invoices that became overdue
    reminded: int = 0  # payment reminders sent


def invoicing_cycle_run(*, organization: Organization, now: datetime) -> CycleResult:
    """What the periodic task does for one organization: (re)generate the last
    closed month and day, finalize the drafts past their grace window, mark the
    invoices past their due date overdue and send the payment reminders due.

    An organization with more customers than ``INVOICING_CUSTOMERS_PER_TASK`` has
    each period generated by that many customers per Celery task, in parallel
    (``invoices_generate_fanout``); their drafts are finalized by a later cycle,
    as every draft is once its grace window has passed.
    """
    result = CycleResult()
    per_task = max(settings.INVOICING_CUSTOMERS_PER_TASK, 1)
    tasks = -(-selectors.customer_count(organization=organization) // per_task)
    for frequency in (MONTHLY, DAILY):
        period = periods.period_containing(now, frequency).previous()
        if tasks > 1:
            invoices_generate_fanout(
                organization=organization, period=period, now=now, parts=tasks
            )
            result.dispatched.append((period, tasks))
            continue
        result.generated.append(
            invoices_generate(organization=organization, period=period, now=now)
        )
    result.finalized = invoices_finalize(
        invoices=selectors.invoices_finalizable(organization=organization, now=now),
        now=now,
    )
    result.overdue = invoices_overdue_mark(organization=organization, now=now)
    result.reminded = payment_reminders_send(organization=organization, now=now)
    return result


@transaction.atomic
def invoicing_settings_update(
    *, organization: Organization, **changes
) -> InvoicingSettings:
    settings, _ = InvoicingSettings.objects.select_for_update().get_or_create(
        organization=organization
    )
    for name, value in changes.items():
        setattr(settings, name, value)
    settings.full_clean()
    settings.save()
    return settings
