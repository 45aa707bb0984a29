"""Invoice documents: the PDF (WeasyPrint, from a template) and CSV exports."""

import io

from django.template.loader import render_to_string

from billing_site.csv_cells import SafeCsvWriter
from billing_site.decimals import plain_decimal
from invoices import selectors
from invoices.models import Invoice

CSV_HEADER = [
    "invoice_id", "number", "customer_id", "customer_name", "period_start",
    "period_end", "status", "currency", "position", "kind", "description",
    "quantity", "unit_price", "amount", "invoice_subtotal", "invoice_total",
]  # fmt: skip


def invoice_pdf(invoice: Invoice) -> bytes:
    """The invoice rendered from ``invoices/invoice_pdf.html`` as PDF bytes."""
    from weasyprint import HTML

    html = render_to_string(
        "invoices/invoice_pdf.html",
        {
            "invoice": invoice,
            "organization": invoice.organization,
            "groups": selectors.invoice_line_groups(invoice=invoice),
            "totals": selectors.invoice_totals(invoice=invoice),
        },
    )
    return HTML(string=html).write_pdf()


def invoice_pdf_filename(invoice: Invoice) -> str:
    name = invoice.number or f"draft-{invoice.pk}"
    return f"{name}.pdf"


def _plain(value) -> str:
    if value is None:
        return ""
    return f"{value:f}" if hasattr(value, "is_finite") else str(value)


def _units(value) -> str:
    """Quantities and unit prices without storage padding: 500.000000 -> 500."""
    if value is None:
        return ""
    return plain_decimal(value)


def invoices_csv(invoices) -> str:
    """One row per invoice line (invoice columns repeated), amounts as decimals;
    text that a spreadsheet would run as a formula is quoted (``csv_cell``)."""
    buffer = io.StringIO()
    writer = SafeCsvWriter(buffer)
    writer.writerow(CSV_HEADER)
    for invoice in invoices:
        for line in sorted(invoice.lines.all(), key=lambda line: line.position):
            writer.writerow(
                [
                    invoice.pk, invoice.number, invoice.customer_external_id,
                    invoice.customer_name, invoice.period_start.isoformat(),
                    invoice.period_end.isoformat(), invoice.status, invoice.currency,
                    line.position, line.kind, line.description,
                    _units(line.quantity), _units(line.unit_price),
                    _plain(line.amount), _plain(invoice.subtotal),
                    _plain(invoice.total),
                ]
            )  # fmt: skip
    return buffer.getvalue()
