"""Invoice review: list with filters, grouped lines and figures, the lifecycle
(finalize, void, record payment) through a confirmation page, PDF and CSV, period
diff. Taxes and coupons have their screens in ``invoices.admin_taxes_coupons``."""

from dataclasses import dataclass
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
from invoices import (
    admin_credit_notes,  # registers its screens; the invoice's credit step
    admin_taxes_coupons,  # noqa: F401 (registers its screens)
    admin_wallets,  # noqa: F401 (registers its screens)
    exports,
    selectors,
    services,
)
from invoices.models import (
    Invoice,
    InvoicingSettings,
    ProviderCharge,
    Subscription,
)
from metering.staff import OrganizationScoped


class AmountFilter(admin.SimpleListFilter):
    title = "total"
    parameter_name = "total_range"
    RANGES = {
        "0-100": (Decimal("0"), Decimal("100")),
        "100-1000": (Decimal("100"), Decimal("1000")),
        "1000+": (Decimal("1000"), None),
    }

    def lookups(self, request, model_admin):
        return [
            ("0-100", "under 100"),
            ("100-1000", "100 to 1,000"),
            ("1000+", "1,000 and more"),
        ]

    def queryset(self, request, queryset):
        bounds = self.RANGES.get(self.value() or "")
        if bounds is None:
            return queryset
        low, high = bounds
        queryset = queryset.filter(total__gte=low)
        return queryset.filter(total__lt=high) if high is not None else queryset


@dataclass(frozen=True)
class Transition:
    """A lifecycle step offered on the invoice's page."""

    name: str  # URL segment and button name
    label: str
    permission: str
    statuses: tuple[str, ...]  # states the step starts from; the service checks


OPEN = ("finalized", "overdue")
TRANSITIONS = (
    Transition("finalize", "Finalize", "invoices.finalize_invoice", ("draft",)),
    Transition("void", "Void", "invoices.void_invoice", OPEN),
    Transition("pay", "Record payment", "invoices.change_invoice", OPEN),
    Transition("credit", "Credit note", "invoices.void_invoice", (*OPEN, "paid")),
)


class VoidForm(forms.Form):
    reason = forms.CharField(
        max_length=300,
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        help_text="Kept on the credit note that cancels the invoice.",
    )


@admin.register(Invoice)
class InvoiceAdmin(OrganizationScoped, admin.ModelAdmin):
    list_display = [
        "__str__", "customer_name", "customer_external_id", "frequency",
        "period_start", "status", "total", "currency", "diff_link",
    ]  # fmt: skip
    list_filter = [
        "status", "frequency", ("period_start", admin.DateFieldListFilter),
        AmountFilter, "organization",
    ]  # fmt: skip
    search_fields = ["number", "customer_name", "customer_external_id"]
    list_select_related = ["organization"]
    date_hierarchy = "period_start"
    actions = ["finalize_selected", "export_csv"]
    fieldsets = [
        (None, {"fields": [
            "organization", "customer", "customer_name", "customer_external_id",
            "customer_tax_id", "customer_country", "billing_model_name",
            "frequency", "period_start", "period_end",
            "status", "number",
        ]}),
        ("Amounts", {"fields": [
            "currency", "subtotal", "discount_total", "tax_total", "total",
            "amount_due",
        ]}),
        ("Dates", {"fields": [
            "issued_on", "due_on", "finalized_at", "paid_at", "voided_at",
        ]}),
        ("Technical", {"classes": ["collapse"], "fields": [
            "rated_at", "lines_digest",
        ]}),
    ]  # fmt: skip
    readonly_fields = [field for _, options in fieldsets for field in options["fields"]]
    change_form_template = "invoices/admin/invoice_change_form.html"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        # No invoice is edited through a form: issued ones are immutable, drafts
        # change only through generation, and the lifecycle has its own buttons.
        if obj is not None:
            return False
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description="diff")
    def diff_link(self, invoice: Invoice) -> str:
        url = reverse("admin:invoices_invoice_diff", args=[invoice.pk])
        return format_html('<a href="{}">vs previous</a>', url)

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path("<int:pk>/diff/", view(self.diff_view), name="invoices_invoice_diff"),
            path("<int:pk>/pdf/", view(self.pdf_view), name="invoices_invoice_pdf"),
            path("<int:pk>/csv/", view(self.csv_view), name="invoices_invoice_csv"),
            *(
                path(
                    f"<int:pk>/{transition.name}/",
                    view(self.transition_view),
                    {"transition": transition},
                    name=f"invoices_invoice_{transition.name}",
                )
                for transition in TRANSITIONS
            ),
            *super().get_urls(),
        ]

    def _invoice(self, request, pk: int) -> Invoice:
        invoice = get_object_or_404(
            self.get_queryset(request).select_related("organization"), pk=pk
        )
        if not self.has_view_permission(request, invoice):
            raise PermissionDenied
        return invoice

    def transitions_for(self, request, invoice: Invoice) -> list[Transition]:
        """The steps the invoice's state allows and the user may take."""
        return [
            transition
            for transition in TRANSITIONS
            if invoice.status in transition.statuses
            and request.user.has_perm(transition.permission)
        ]

    def transition_view(self, request, pk: int, transition: Transition):
        """GET, or a POST from the invoice's page: the confirmation page. A POST of
        the confirmation (``confirm``): the step, through its service."""
        if not request.user.has_perm(transition.permission):
            raise PermissionDenied
        invoice = self._invoice(request, pk)
        if transition.name == "credit":
            return admin_credit_notes.invoice_credit_view(self, request, invoice)
        confirmed = request.method == "POST" and "confirm" in request.POST
        form = None
        if transition.name == "void":
            form = VoidForm(request.POST if confirmed else None)
        if confirmed and (form is None or form.is_valid()):
            reason = form.cleaned_data["reason"] if form is not None else ""
            self._perform(request, invoice, transition, reason)
            return HttpResponseRedirect(
                reverse("admin:invoices_invoice_change", args=[invoice.pk])
            )
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": f"{transition.label} {invoice}",
            "invoice": invoice,
            "original": invoice,
            "transition": transition,
            "form": form,
            "settings": selectors.invoicing_settings_for(
                organization=invoice.organization
            ),
        }
        return TemplateResponse(request, "invoices/admin/invoice_confirm.html", context)

    def _perform(
        self, request, invoice: Invoice, transition: Transition, reason: str
    ) -> None:
        now = timezone.now()
        name = f"{invoice} ({invoice.customer_name})"
        try:
            if transition.name == "finalize":
                invoice = services.invoice_finalize(invoice=invoice, now=now)
                message = f"Finalized {name} as {invoice.number}."
            elif transition.name == "void":
                credit_note = services.invoice_void(
                    invoice=invoice, now=now, reason=reason
                )
                amount = format_money(credit_note.amount, credit_note.currency)
                message = (
                    f"Voided {name}: credit note {credit_note.number} for {amount}."
                )
            else:
                # What is still due, not the total: earlier payments, credits
                # and credit notes have settled the rest.
                due = format_money(invoice.amount_due, invoice.currency)
                invoice = services.invoice_mark_paid(invoice=invoice, now=now)
                message = f"Recorded payment of {due} for {name}."
        except DomainError as error:
            self.message_user(
                request,
                f"{name} was not changed: {error.message}",
                messages.ERROR,
            )
            return
        self.log_change(request, invoice, message)
        self.message_user(request, message, messages.SUCCESS)

    def pdf_view(self, request, pk: int):
        invoice = self._invoice(request, pk)
        response = HttpResponse(
            exports.invoice_pdf(invoice), content_type="application/pdf"
        )
        response["Content-Disposition"] = (
            f'attachment; filename="{exports.invoice_pdf_filename(invoice)}"'
        )
        return response

    def csv_view(self, request, pk: int):
        invoice = self._invoice(request, pk)
        response = HttpResponse(
            exports.invoices_csv([invoice]), content_type="text/csv"
        )
        name = invoice.number or f"draft-{invoice.pk}"
        response["Content-Disposition"] = f'attachment; filename="{name}.csv"'
        return response

    def diff_view(self, request, pk: int):
        if not self.has_view_permission(request):
            raise PermissionDenied
        invoice = get_object_or_404(
            self.get_queryset(request).prefetch_related("lines"), pk=pk
        )
        previous, rows = selectors.invoice_diff(invoice=invoice)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": f"{invoice} against the previous period",
            "invoice": invoice,
            "original": invoice,
            "previous": previous,
            "rows": rows,
            "totals": selectors.invoice_diff_totals(rows=rows),
        }
        return TemplateResponse(request, "invoices/admin/invoice_diff.html", context)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        invoice = self.get_queryset(request).filter(pk=object_id).first()
        extra_context = extra_context or {}
        if invoice is not None:
            extra_context["line_groups"] = selectors.invoice_line_groups(
                invoice=invoice
            )
            extra_context["totals"] = selectors.invoice_totals(invoice=invoice)
            extra_context["diff_url"] = reverse(
                "admin:invoices_invoice_diff", args=[invoice.pk]
            )
            extra_context["transitions"] = [
                (
                    transition,
                    reverse(
                        f"admin:invoices_invoice_{transition.name}", args=[invoice.pk]
                    ),
                )
                for transition in self.transitions_for(request, invoice)
            ]
            extra_context["pdf_url"] = reverse(
                "admin:invoices_invoice_pdf", args=[invoice.pk]
            )
            extra_context["csv_url"] = reverse(
                "admin:invoices_invoice_csv", args=[invoice.pk]
            )
        return super().change_view(request, object_id, form_url, extra_context)

    def has_finalize_permission(self, request) -> bool:
        return request.user.has_perm("invoices.finalize_invoice")

    @admin.action(description="Finalize selected invoices", permissions=["finalize"])
    def finalize_selected(self, request, queryset):
        outcome = services.invoices_finalize(
            invoices=list(queryset.order_by("period_start", "id")), now=timezone.now()
        )
        if outcome.finalized:
            self.message_user(
                request,
                f"Finalized {len(outcome.finalized)} invoice(s): "
                + ", ".join(invoice.number for invoice in outcome.finalized),
                messages.SUCCESS,
            )
        for invoice, reason in outcome.failed:
            self.message_user(
                request,
                f"{invoice} ({invoice.customer_name}) was not finalized: {reason}",
                messages.ERROR,
            )

    @admin.action(description="Export selected invoices as CSV")
    def export_csv(self, request, queryset):
        response = HttpResponse(
            exports.invoices_csv(queryset.prefetch_related("lines")),
            content_type="text/csv",
        )
        response["Content-Disposition"] = 'attachment; filename="invoices.csv"'
        return response


@admin.register(Subscription)
class SubscriptionAdmin(OrganizationScoped, admin.ModelAdmin):
    list_display = ["customer", "billing_model", "agents", "starts_at", "ends_at"]
    list_filter = ["organization", "billing_model"]
    search_fields = ["customer__name", "customer__external_id"]
    list_select_related = ["customer", "billing_model"]
    autocomplete_fields = ["customer"]
    raw_id_fields = ["billing_model"]


@admin.register(ProviderCharge)
class ProviderChargeAdmin(OrganizationScoped, admin.ModelAdmin):
    list_display = ["customer", "provider", "period_start", "amount", "invoice"]
    list_filter = ["organization", "provider", "period_start"]
    search_fields = ["customer__name", "customer__external_id", "external_ref"]
    list_select_related = ["customer", "invoice"]
    raw_id_fields = ["customer", "invoice"]

    def has_change_permission(self, request, obj=None):
        if obj is not None and obj.invoice_id and obj.invoice.status != "draft":
            return False
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return self.has_change_permission(request, obj)


@admin.register(InvoicingSettings)
class InvoicingSettingsAdmin(OrganizationScoped, admin.ModelAdmin):
    list_display = [
        "organization", "grace_hours", "provider_markup_percent",
        "upgrade_offer_units",
    ]  # fmt: skip
