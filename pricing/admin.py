"""Admin: billing models with their activity pricing, and the tier editor.

Tiers are edited on the activity pricing's own page (Django has no nested inlines):
the billing model page lists its activities with an "edit tiers" link. Tier changes
are saved through ``services.activity_tiers_replace`` (renumbered 1..n in the
order of their ``position``).
"""

from decimal import Decimal

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils.html import format_html

from metering.staff import OrganizationScoped
from pricing import engine, selectors, services, views
from pricing.models import ActivityBasedConfig, BillingModel, PriceTier


class TierFormSet(forms.BaseInlineFormSet):
    """Checks the tiers together, in position order, and flags the offending row."""

    def kept_forms(self) -> list[forms.ModelForm]:
        kept = [
            form
            for form in self.forms
            if form.cleaned_data and not self._should_delete_form(form)
        ]
        return sorted(kept, key=lambda form: form.cleaned_data.get("position") or 0)

    def clean(self) -> None:
        super().clean()
        # Checked even when a row has its own errors, so every message shows at
        # once; a field that already failed is not reported twice.
        kept = self.kept_forms()
        positions = [form.cleaned_data.get("position") for form in kept]
        if len(set(positions)) != len(positions):
            raise ValidationError("Each tier needs its own position.")
        tiers = [
            engine.Tier(
                up_to=form.cleaned_data.get("up_to"),
                unit_price=form.cleaned_data.get("unit_price") or Decimal(0),
                flat_fee=form.cleaned_data.get("flat_fee") or Decimal(0),
            )
            for form in kept
        ]
        problems = engine.tier_problems(
            tiers, volume_pricing_enabled=self.instance.volume_pricing_enabled
        )
        for index, field, message in problems:
            if index is None:
                raise ValidationError(message)
            if field not in kept[index].errors:
                kept[index].add_error(field, message)

    def tier_specs(self) -> list[services.TierSpec]:
        return [
            services.TierSpec(
                up_to=form.cleaned_data.get("up_to"),
                unit_price=form.cleaned_data["unit_price"],
                flat_fee=form.cleaned_data.get("flat_fee") or Decimal(0),
            )
            for form in self.kept_forms()
        ]


class TierForm(forms.ModelForm):
    """Positions are checked by the formset: a reorder may swap two of them."""

    def _get_validation_exclusions(self):
        return {*super()._get_validation_exclusions(), "position"}


class PriceTierInline(OrganizationScoped, admin.TabularInline):
    model = PriceTier
    form = TierForm
    formset = TierFormSet
    fields = ["position", "up_to", "unit_price", "flat_fee"]
    ordering = ["position"]
    extra = 1


@admin.register(ActivityBasedConfig)
class ActivityBasedConfigAdmin(OrganizationScoped, admin.ModelAdmin):
    list_display = [
        "billing_model",
        "activity_type",
        "unit_type",
        "price_per_unit",
        "base_agent_fee",
        "minimum_charge",
        "tier_summary",
    ]
    list_filter = ["tier_mode", "volume_pricing_enabled", "unit_type", "activity_type"]
    search_fields = ["billing_model__name", "activity_type"]
    list_select_related = ["billing_model__organization"]
    autocomplete_fields = ["billing_model"]
    inlines = [PriceTierInline]

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("tiers")

    @admin.display(description="tiers")
    def tier_summary(self, obj: ActivityBasedConfig) -> str:
        return engine.describe_tiers(
            selectors.activity_pricing(obj, currency=obj.billing_model.currency)
        )

    def save_formset(self, request, form, formset, change):
        if not isinstance(formset, TierFormSet):
            return super().save_formset(request, form, formset, change)
        formset.save(commit=False)  # records new/changed/deleted for the history
        services.activity_tiers_replace(
            config=form.instance, tiers=formset.tier_specs()
        )


class ActivityConfigFormSet(forms.BaseInlineFormSet):
    """How many activities each model type takes; tiers need volume pricing."""

    def clean(self) -> None:
        super().clean()
        if any(self.errors):
            return
        kept = [
            form
            for form in self.forms
            if form.cleaned_data and not self._should_delete_form(form)
        ]
        model_type = self.instance.model_type
        if model_type == BillingModel.ModelType.ACTIVITY and len(kept) != 1:
            raise ValidationError(
                "An activity-based model needs exactly one activity pricing."
            )
        if model_type == BillingModel.ModelType.HYBRID and not kept:
            raise ValidationError("A hybrid model needs at least one activity pricing.")
        if model_type == BillingModel.ModelType.SUBSCRIPTION and kept:
            raise ValidationError("A subscription model has no activity pricing.")
        for form in kept:
            config = form.instance
            if (
                config.pk
                and not form.cleaned_data.get("volume_pricing_enabled")
                and config.tiers.exists()
            ):
                form.add_error(
                    "volume_pricing_enabled",
                    "Tiers apply only when volume pricing is enabled; remove the "
                    "tiers first.",
                )


class ActivityBasedConfigInline(OrganizationScoped, admin.StackedInline):
    model = ActivityBasedConfig
    formset = ActivityConfigFormSet
    extra = 0
    show_change_link = True
    fields = [
        ("activity_type", "unit_type", "is_active"),
        ("price_per_unit", "base_agent_fee", "minimum_charge"),
        ("volume_pricing_enabled", "tier_mode", "billing_frequency"),
        "tiers",
    ]
    readonly_fields = ["tiers"]

    @admin.display(description="tiers")
    def tiers(self, obj: ActivityBasedConfig) -> str:
        if not obj.pk:
            return "Save, then edit the tiers."
        summary = engine.describe_tiers(
            selectors.activity_pricing(obj, currency=obj.billing_model.currency)
        )
        url = reverse("admin:pricing_activitybasedconfig_change", args=[obj.pk])
        return format_html('{} <a href="{}">edit tiers</a>', summary, url)


class ActivityTypeFilter(admin.SimpleListFilter):
    title = "activity"
    parameter_name = "activity_type"

    def lookups(self, request, model_admin):
        types = (
            ActivityBasedConfig.objects.order_by("activity_type")
            .values_list("activity_type", flat=True)
            .distinct()
        )
        return [(value, value) for value in types]

    def queryset(self, request, queryset):
        if self.value():
            return queryset.filter(
                activity_configs__activity_type=self.value()
            ).distinct()
        return queryset


@admin.register(BillingModel)
class BillingModelAdmin(OrganizationScoped, admin.ModelAdmin):
    list_display = [
        "name",
        "organization",
        "model_type",
        "subscription_fee",
        "pricing_summary",
        "is_active",
    ]
    list_filter = ["model_type", ActivityTypeFilter, "is_active", "organization"]
    search_fields = ["name", "description"]
    list_select_related = ["organization"]
    autocomplete_fields = ["organization"]
    readonly_fields = ["created_at", "updated_at"]
    inlines = [ActivityBasedConfigInline]
    change_form_template = "pricing/admin/billingmodel_change_form.html"

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("activity_configs__tiers")

    @admin.display(description="pricing")
    def pricing_summary(self, obj: BillingModel) -> str:
        pricing = selectors.billing_model_pricing(obj)
        parts = [
            f"{activity.activity_type}: {engine.describe_tiers(activity)}"
            for activity in pricing.activities
        ]
        return "; ".join(parts) or "—"

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = dict(extra_context or {})
        model = self.get_object(request, object_id)
        if model is not None:
            extra_context["config"] = views.calculator_config(model)
        return super().change_view(request, object_id, form_url, extra_context)

    def delete_model(self, request, obj):
        try:
            services.billing_model_delete(billing_model=obj)
        except ValidationError as error:
            self.message_user(request, f"{obj}: {error}", messages.ERROR)
