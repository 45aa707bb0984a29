"""Pages of invoicing: the customer's invoices, PDFs and running total in the
portal; the tier utilisation of billing models' subscribers for staff."""

from datetime import UTC

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from billing_site.chart_embed import figure_embed
from invoices import charts, exports, selectors
from invoices.api_credit_notes import credit_note_pdf
from invoices.forms import TierUtilisationForm
from invoices.models import CreditNote
from metering.selectors import portal_customer_for_request, staff_organizations
from metering.staff import staff_page
from pricing import selectors as pricing_selectors


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
def portal_invoice(request, pk: int):
    """One issued invoice of the customer: its lines by group and its figures."""
    customer = portal_customer_for_request(request)
    invoice = (
        selectors.customer_invoices(customer=customer)
        .prefetch_related("lines")
        .filter(pk=pk)
        .first()
    )
    if invoice is None:
        raise Http404("No such invoice")
    return render(
        request,
        "invoices/portal_invoice.html",
        {
            "customer": customer,
            "invoice": invoice,
            "groups": selectors.invoice_line_groups(invoice=invoice),
            "totals": selectors.invoice_totals(invoice=invoice),
            "payments": selectors.invoice_payments(invoice=invoice),
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


@login_required
def portal_credit_note_pdf(request, pk: int):
    """A credit note of one of the customer's issued invoices, as PDF."""
    customer = portal_customer_for_request(request)
    note = (
        CreditNote.objects.filter(
            pk=pk, invoice__in=selectors.customer_invoices(customer=customer)
        )
        .select_related("invoice", "organization")
        .first()
    )
    if note is None:
        raise Http404("No such credit note")
    response = HttpResponse(credit_note_pdf(note), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{note.number}.pdf"'
    return response


@staff_page("pricing.view_billingmodel")
def tier_utilisation_report(request):
    organization = pricing_selectors.organization_with_billing_models(
        slug=request.GET.get("organization"), among=staff_organizations(request.user)
    )
    configs = (
        pricing_selectors.tiered_activity_list(organization=organization)
        if organization
        else []
    )
    form = TierUtilisationForm(request.GET)
    form.is_valid()
    wanted = form.cleaned_data.get("config")
    config = next((c for c in configs if c.pk == wanted), None)
    if config is None and configs:
        config = configs[0]
    period = form.cleaned_data.get("period") or pricing_selectors.last_period_start(
        today=timezone.now().astimezone(UTC).date()
    )
    period = period.replace(day=1)
    rows = chart = None
    if config is not None:
        rows = selectors.subscriber_tier_utilisation(config=config, period_start=period)
        if not any(row.customers for row in rows):
            rows = None
        else:
            chart = figure_embed(
                charts.tier_utilisation_figure(
                    rows,
                    title=f"{config}: subscribers per tier, {period:%B %Y}",
                )
            )
    return render(
        request,
        "invoices/tier_utilisation.html",
        {
            "title": "Tier utilisation",
            "organization": organization,
            "configs": configs,
            "config": config,
            "period": period,
            "form": form,
            "rows": rows,
            "chart": chart,
        },
    )
