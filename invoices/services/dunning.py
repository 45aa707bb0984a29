"""Chasing unpaid invoices: open invoices past their due date become
``overdue`` (``invoice.overdue`` is emitted once), and their customers are
reminded by e-mail on the days after the due date the organization lists
(``InvoicingSettings.reminder_days``).

A run sends at most one reminder per invoice: the one of the latest listed day
reached, so a run after days of downtime does not send a burst of stale ones.
Each reminder sent is a ``PaymentReminder`` row written in the same transaction
as the sending, and never sent again; customers without an e-mail address are
not reminded and nothing is recorded for them (an address added later gets the
next reminder due).
"""

from datetime import datetime

from django.conf import settings as django_settings
from django.core.mail import send_mail
from django.db import transaction

from billing_site.formatting import format_money
from invoices import selectors
from invoices.models import Invoice, PaymentReminder
from invoices.services.events import invoice_event_data
from metering.models import Organization, WebhookEvent
from metering.services import webhook_event_emit


@transaction.atomic
def invoices_overdue_mark(*, organization: Organization, now: datetime) -> int:
    """Mark the organization's finalized invoices due before ``now``'s date as
    overdue; returns how many."""
    late = list(
        Invoice.objects.select_for_update()
        .filter(
            organization=organization,
            status=Invoice.Status.FINALIZED,
            due_on__lt=now.date(),
        )
        .order_by("due_on", "id")
    )
    for invoice in late:
        invoice.status = Invoice.Status.OVERDUE
        invoice.overdue_at = now
        invoice.save(update_fields=["status", "overdue_at", "updated_at"])
        webhook_event_emit(
            organization=organization,
            type=WebhookEvent.Type.INVOICE_OVERDUE,
            payload={"invoice": invoice_event_data(invoice)},
            now=now,
            key=f"invoice:{invoice.pk}",
        )
    return len(late)


def reminder_day_due(*, reminder_days: list[int], days_late: int) -> int | None:
    """The latest of ``reminder_days`` reached ``days_late`` days after the due
    date, or ``None`` before the first."""
    reached = [day for day in reminder_days if day <= days_late]
    return max(reached) if reached else None


def payment_reminders_send(*, organization: Organization, now: datetime) -> int:
    """E-mail the reminders due on the organization's overdue invoices; returns
    how many were sent."""
    days = selectors.invoicing_settings_for(organization=organization).reminder_days
    if not days:
        return 0
    overdue = (
        Invoice.objects.filter(organization=organization, status="overdue")
        .exclude(customer__email="")
        .select_related("customer")
        .order_by("due_on", "id")
    )
    sent = 0
    for invoice in overdue:
        day = reminder_day_due(
            reminder_days=days, days_late=(now.date() - invoice.due_on).days
        )
        if day is not None and _remind(invoice=invoice, day=day, now=now):
            sent += 1
    return sent


@transaction.atomic
def _remind(*, invoice: Invoice, day: int, now: datetime) -> bool:
    invoice = Invoice.objects.select_for_update(of=("self",)).get(pk=invoice.pk)
    if (
        invoice.status != Invoice.Status.OVERDUE
        or invoice.reminders.filter(days_after_due__gte=day).exists()
    ):
        return False
    recipient = invoice.customer.email
    PaymentReminder.objects.create(
        organization_id=invoice.organization_id,
        invoice=invoice,
        days_after_due=day,
        recipient=recipient,
        sent_at=now,
    )
    due = format_money(invoice.amount_due, invoice.currency)
    send_mail(
        subject=f"Invoice {invoice.number} is overdue",
        message=(
            f"Dear {invoice.customer_name},\n\n"
            f"invoice {invoice.number} for {invoice.period_label} was due on "
            f"{invoice.due_on:%d %B %Y}; {due} is still to be paid.\n"
            "If you have paid it in the meantime, please ignore this message.\n"
        ),
        from_email=django_settings.DEFAULT_FROM_EMAIL,
        recipient_list=[recipient],
    )
    return True
