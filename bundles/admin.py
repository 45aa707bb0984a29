from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html

from billing_site.admin_columns import PlainDecimalsForm, number_field
from billing_site.errors import DomainError
from billing_site.formatting import format_money
from bundles import selectors, services
from bundles.models import (
    BundleSettings,
    BundleStatusChange,
    BundleTemplate,
    BundleTemplateOperation,
    OperationPrice,
    PersonalizedBundle,
    PersonalizedBundleLine,
)
from metering.staff import OrganizationScoped


@admin.register(BundleSettings)
class BundleSettingsAdmin(OrganizationScoped, admin.ModelAdmin):
    list_display = [
        "organization",
        number_field("match_threshold", "match threshold"),
        "quantity_margin_percent",
        "max_lines",
        "upsell_percent",
        "algorithmic_discount_percent",
        "session_minutes",
    ]
    list_select_related = ["organization"]
    actions = ["create_bundles_now"]

    @admin.action(description="Offer personalised bundles now")
    def create_bundles_now(self, request, queryset):
        for row in queryset.select_related("organization"):
            try:
                summary = services.personalized_bundles_create(
                    organization=row.organization, now=timezone.now()
                )
            except DomainError as error:
                self.message_user(
                    request, f"{row.organization}: {error.message}", messages.ERROR
                )
                continue
            self.message_user(
                request,
                f"{row.organization}: {summary.offered} offered, "
                f"{summary.already_offered} already offered this period, "
                f"{summary.not_worth_offering} without a worthwhile bundle.",
            )


@admin.register(OperationPrice)
class OperationPriceAdmin(OrganizationScoped, admin.ModelAdmin):
    form = PlainDecimalsForm
    list_display = [
        "operation",
        number_field("unit_price", "unit price"),
        "customer",
        "organization",
    ]
    list_filter = ["organization"]
    search_fields = ["operation", "customer__name", "customer__external_id"]
    list_select_related = ["organization", "customer"]
    autocomplete_fields = ["customer"]


class BundleTemplateOperationInline(OrganizationScoped, admin.TabularInline):
    model = BundleTemplateOperation
    form = PlainDecimalsForm
    extra = 1


@admin.register(BundleTemplate)
class BundleTemplateAdmin(OrganizationScoped, admin.ModelAdmin):
    list_display = [
        "name",
        "organization",
        "operations_summary",
        "discount_summary",
        "validity",
        "is_active",
        "preview_link",
    ]
    list_filter = ["organization", "is_active", "validity"]
    search_fields = ["name", "description"]
    list_select_related = ["organization"]
    inlines = [BundleTemplateOperationInline]
    readonly_fields = ["created_at", "updated_at"]
    change_form_template = "bundles/admin/template_change_form.html"

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("operations")

    @admin.display(description="Operations")
    def operations_summary(self, obj) -> str:
        return ", ".join(str(line) for line in obj.operations.all())

    @admin.display(description="Discount")
    def discount_summary(self, obj) -> str:
        if obj.fixed_price is not None:
            return f"fixed {format_money(obj.fixed_price, obj.organization.currency)}"
        if obj.discount_percent is not None:
            return f"{obj.discount_percent}% off"
        return "—"

    @admin.display(description="Preview")
    def preview_link(self, obj) -> str:
        url = reverse("admin:bundles_bundletemplate_preview", args=[obj.pk])
        return format_html('<a href="{}">Who would be offered this?</a>', url)

    def get_urls(self):
        return [
            path(
                "<int:pk>/preview/",
                self.admin_site.admin_view(self.preview_view),
                name="bundles_bundletemplate_preview",
            ),
            *super().get_urls(),
        ]

    def preview_view(self, request, pk: int):
        if not self.has_view_permission(request):
            raise PermissionDenied
        template = get_object_or_404(
            self.get_queryset(request).select_related("organization"), pk=pk
        )
        return self._preview_response(request, template, lines=None)

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        """The form's "Preview" button: the preview of what the form holds, valid
        and unsaved; an invalid form is shown again with its errors."""
        if request.method == "POST" and "_preview" in request.POST:
            response = self._unsaved_preview(request, object_id)
            if response is not None:
                return response
        return super().changeform_view(request, object_id, form_url, extra_context)

    def _unsaved_preview(self, request, object_id):
        """The preview of the posted form and operation lines, or None when they do
        not validate (the normal view then shows the errors and saves nothing)."""
        saved = self.get_object(request, object_id) if object_id else None
        if object_id and saved is None:
            return None
        allowed = (
            self.has_change_permission(request, saved)
            if saved is not None
            else self.has_add_permission(request)
        )
        if not allowed:
            return None  # the normal view refuses
        form = self.get_form(request, saved, change=saved is not None)(
            request.POST, request.FILES, instance=saved
        )
        if not form.is_valid():
            return None
        template = form.save(commit=False)  # in memory only
        lines = []
        for formset_class, inline in self.get_formsets_with_inlines(request, saved):
            formset = formset_class(
                request.POST,
                request.FILES,
                instance=template,
                prefix=formset_class.get_default_prefix(),
                queryset=inline.get_queryset(request),
            )
            if not formset.is_valid():
                return None
            lines += [
                (line["operation"], line.get("included_quantity"))
                for line in formset.cleaned_data
                if line and not line.get("DELETE")
            ]
        return self._preview_response(request, template, lines=lines)

    def _preview_response(self, request, template, *, lines):
        preview = selectors.template_preview(
            template=template, now=timezone.now(), lines=lines
        )
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "original": template,
            "title": f"Preview: {template.name}",
            "template_obj": template,
            "unsaved": lines is not None,
            "currency": template.organization.currency,
            **preview,
        }
        return TemplateResponse(request, "bundles/admin/template_preview.html", context)


class PersonalizedBundleLineInline(OrganizationScoped, admin.TabularInline):
    model = PersonalizedBundleLine
    extra = 0
    can_delete = False
    fields = readonly_fields = [
        "operation",
        number_field("included_quantity", "included quantity", empty="unlimited"),
        number_field("unit_price", "unit price"),
        number_field("predicted_quantity", "predicted quantity"),
        "source",
        "template",
    ]

    def has_add_permission(self, request, obj=None):
        return False


class BundleStatusChangeInline(OrganizationScoped, admin.TabularInline):
    model = BundleStatusChange
    extra = 0
    can_delete = False
    readonly_fields = ["from_status", "to_status", "at", "actor"]

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(PersonalizedBundle)
class PersonalizedBundleAdmin(OrganizationScoped, admin.ModelAdmin):
    list_display = [
        "id",
        "customer",
        "status",
        "price",
        "expected_saving",
        "validity",
        "valid_from",
        "valid_until",
        "source",
    ]
    list_filter = ["status", "templates", "source", "validity", "organization"]
    search_fields = ["customer__name", "customer__external_id"]
    list_select_related = ["customer"]
    date_hierarchy = "valid_from"
    inlines = [PersonalizedBundleLineInline, BundleStatusChangeInline]
    readonly_fields = [
        field.name
        for field in PersonalizedBundle._meta.get_fields()
        if field.concrete and not field.many_to_many
    ] + ["templates"]
    actions = ["expire_ended"]

    def lookup_allowed(self, lookup, value, request=None):
        # The customer filter is reached from a customer's link or the search box.
        if lookup in ("customer__id__exact", "customer__external_id"):
            return True
        return super().lookup_allowed(lookup, value, request)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        # Offers change state only through services (portal, API, expiry).
        return False

    @admin.action(description="Expire bundles whose validity has ended")
    def expire_ended(self, request, queryset):
        count = services.bundles_expire(now=timezone.now())
        self.message_user(request, f"{count} bundles expired.")
