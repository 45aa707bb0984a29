"""Portal pages of invoicing: the customer's invoices, PDFs and running total."""

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from invoices import exports, selectors
from metering.selectors import portal_customer_for_request


@login_required
def portal_invoices(request):
    customer = portal_customer_for_request(request)
    return render(
        request,
        "invoices/portal_invoices.html",
        {
            "customer": customer,
            "invoices": selectors.customer_invoices(customer=customer),
            "current": selectors.current_usage_cost(
                customer=customer, now=timezone.now()
            ),
        },
    )


@login_required
def portal_invoice_pdf(request, pk: int):
    customer = portal_customer_for_request(request)
    invoice = (
        selectors.customer_invoices(customer=customer)
        .select_related("organization")
        .filter(pk=pk)
        .first()
    )
    if invoice is None:
        raise Http404("No such invoice")
    response = HttpResponse(
        exports.invoice_pdf(invoice), content_type="application/pdf"
    )
    response["Content-Disposition"] = (
        f'attachment; filename="{exports.invoice_pdf_filename(invoice)}"'
    )
    return response
