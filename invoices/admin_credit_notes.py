"""Admin screens of credit notes: the read-only list (with each note's lines and
PDF) and the "Credit note" step of an invoice's page, a form with an amount per
creditable line, the reason and where a refund goes. Notes are written by
``credit_note_create``, the service the API uses; what it refuses is shown on
the form (on the line it names) and nothing is saved."""

from decimal import Decimal

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html

from billing_site.errors import DomainError
from billing_site.formatting import format_money
from invoices.api_credit_notes import credit_note_pdf
from invoices.models import CreditNote, CreditNoteLine, Invoice
from invoices.services.credit_notes import CREDITABLE_KINDS, credit_note_create
from metering.staff import OrganizationScoped


class CreditNoteLineInline(admin.TabularInline):
    model = CreditNoteLine
    fields = ["invoice_line", "description", "amount"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(CreditNote)
class CreditNoteAdmin(OrganizationScoped, admin.ModelAdmin):
    list_display = [
        "number", "invoice", "customer", "amount", "currency", "kind",
        "refunded_amount", "refund_to", "issued_at", "pdf_link",
    ]  # fmt: skip
    list_filter = ["kind", "refund_to", "organization"]
    search_fields = ["number", "invoice__number", "invoice__customer_name"]
    list_select_related = ["invoice"]
    readonly_fields = [
        "organization", "invoice", "number", "kind", "currency", "subtotal",
        "tax_amount", "amount", "applied_to_balance", "refunded_amount",
        "refund_to", "reason", "issued_at",
    ]  # fmt: skip
    inlines = [CreditNoteLineInline]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description="customer", ordering="invoice__customer_name")
    def customer(self, note: CreditNote) -> str:
        return note.invoice.customer_name

    @admin.display(description="PDF")
    def pdf_link(self, note: CreditNote) -> str:
        url = reverse("admin:invoices_creditnote_pdf", args=[note.pk])
        return format_html('<a href="{}">PDF</a>', url)

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path("<int:pk>/pdf/", view(self.pdf_view), name="invoices_creditnote_pdf"),
            *super().get_urls(),
        ]

    def pdf_view(self, request, pk: int):
        note = get_object_or_404(self.get_queryset(request), pk=pk)
        if not self.has_view_permission(request, note):
            raise PermissionDenied
        response = HttpResponse(credit_note_pdf(note), content_type="application/pdf")
        response["Content-Disposition"] = f'attachment; filename="{note.number}.pdf"'
        return response


class CreditNoteForm(forms.Form):
    """An amount per creditable line of the invoice (blank: not credited)."""

    reason = forms.CharField(
        max_length=300,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
    )
    refund_to = forms.ChoiceField(
        choices=[("", "No refund"), *CreditNote.RefundTo.choices],
        required=False,
        help_text="Where what the customer already settled goes back.",
    )

    def __init__(self, *args, invoice: Invoice, **kwargs):
        super().__init__(*args, **kwargs)
        self.invoice_lines = [
            line
            for line in invoice.lines.order_by("position")
            if line.kind in CREDITABLE_KINDS and line.amount > 0
        ]
        for line in self.invoice_lines:
            self.fields[f"line_{line.pk}"] = forms.DecimalField(
                label=f"{line.position}. {line.description} ({line.amount})",
                required=False,
                min_value=Decimal("0.01"),
                decimal_places=2,
                max_digits=18,
            )

    def line_fields(self):
        return [self[f"line_{line.pk}"] for line in self.invoice_lines]

    def credited_lines(self) -> list[tuple[int, Decimal]]:
        return [
            (line.pk, self.cleaned_data[f"line_{line.pk}"])
            for line in self.invoice_lines
            if self.cleaned_data.get(f"line_{line.pk}")
        ]


def invoice_credit_view(model_admin, request, invoice: Invoice):
    """The "Credit note" step of the invoice's page (behind the void
    permission): the form, then the note through ``credit_note_create``."""
    confirmed = request.method == "POST" and "confirm" in request.POST
    form = CreditNoteForm(request.POST if confirmed else None, invoice=invoice)
    if confirmed and form.is_valid():
        lines = form.credited_lines()
        try:
            note = credit_note_create(
                invoice=invoice,
                lines=lines,
                reason=form.cleaned_data["reason"],
                refund_to=form.cleaned_data["refund_to"],
                now=timezone.now(),
            )
        except DomainError as error:
            form.add_error(_form_field(error.field, lines), error.message)
        else:
            message = (
                f"Credit note {note.number} for "
                f"{format_money(note.amount, note.currency)} on {invoice}."
            )
            model_admin.log_change(request, invoice, message)
            model_admin.message_user(request, message, messages.SUCCESS)
            return HttpResponseRedirect(
                reverse("admin:invoices_invoice_change", args=[invoice.pk])
            )
    context = {
        **model_admin.admin_site.each_context(request),
        "opts": Invoice._meta,
        "title": f"Credit note for {invoice}",
        "invoice": invoice,
        "original": invoice,
        "form": form,
    }
    return TemplateResponse(request, "invoices/admin/invoice_credit_note.html", context)


def _form_field(field: str, lines: list[tuple[int, Decimal]]) -> str | None:
    """The form field a service error names (``lines[1].amount``: that line's)."""
    if field in ("reason", "refund_to"):
        return field
    if field.startswith("lines[") and "]" in field:
        index = field[len("lines[") : field.index("]")]
        if index.isdigit() and int(index) < len(lines):
            return f"line_{lines[int(index)][0]}"
    return None
