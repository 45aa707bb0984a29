"""How invoicing's webhook events describe its records, and the one rule that
settles part of an issued invoice (and emits ``invoice.paid`` when it is paid)."""

from datetime import datetime
from decimal import Decimal

from invoices.models import Invoice
from metering.models import WebhookEvent
from metering.services import webhook_event_emit


def invoice_event_data(invoice: Invoice) -> dict:
    """An invoice as webhook events describe it (amounts as decimal strings)."""
    return {
        "id": invoice.pk,
        "number": invoice.number,
        "customer_id": invoice.customer_external_id,
        "period_start": invoice.period_start.isoformat(),
        "period_end": invoice.period_end.isoformat(),
        "status": invoice.status,
        "currency": invoice.currency,
        "subtotal": str(invoice.subtotal),
        "total": str(invoice.total),
        "amount_due": str(invoice.amount_due),
        "due_on": invoice.due_on.isoformat() if invoice.due_on else None,
    }


def invoice_settle(
    *,
    invoice: Invoice,
    column: str,
    amount: Decimal,
    now: datetime,
    paid_at: datetime | None = None,
    paid_if_nothing_due: bool = True,
) -> None:
    """Lower the locked, issued ``invoice``'s amount due by ``amount`` settled
    through ``column`` (``credits_applied``, ``amount_paid`` or
    ``amount_credited``), in one save that keeps the balance constraint. When
    nothing is left due on an open invoice (and ``paid_if_nothing_due``), it is
    ``paid`` at ``paid_at`` (else ``now``) and ``invoice.paid`` is emitted."""
    setattr(invoice, column, getattr(invoice, column) + amount)
    invoice.amount_due -= amount
    changed = [column, "amount_due", "updated_at"]
    if paid_if_nothing_due and invoice.is_open and invoice.amount_due == 0:
        invoice.status = Invoice.Status.PAID
        invoice.paid_at = paid_at or now
        changed += ["status", "paid_at"]
    invoice.save(update_fields=changed)
    if "status" in changed:
        webhook_event_emit(
            organization=invoice.organization,
            type=WebhookEvent.Type.INVOICE_PAID,
            payload={"invoice": invoice_event_data(invoice)},
            now=now,
            key=f"invoice:{invoice.pk}",
        )
