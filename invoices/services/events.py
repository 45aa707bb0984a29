"""How invoicing's webhook events describe its records."""

from invoices.models import Invoice


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
