"""Admin: a billing model, its activity pricing and their tiers on one page.

Django has no nested inlines, so each activity pricing form of the billing model
page carries its tiers as a formset of its own (prefix
``activity_configs-<n>-tiers``), validated with it and saved, on the one Save,
through ``services.activity_tiers_replace`` (renumbered 1..n in the order of their
``position``). The page previews the cost of the form as it stands, unsaved: its
``preview/`` URL validates the posted form like Save does and answers the engine's
lines as JSON, writing nothing.
"""

import re
from decimal import Decimal

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponseNotAllowed, HttpResponseRedirect, JsonResponse
from django.template.loader import render_to_string
from django.urls import path, reverse

from billing_site.admin_columns import PlainDecimals
from billing_site.formatting import format_money, format_number
from billing_site.ids import ascii_id
from metering.selectors import staff_organizations
from metering.staff import OrganizationScoped
from pricing import engine, labels, selectors, services
from pricing.forms import CostPreviewForm
from pricing.models import ActivityBasedConfig, BillingModel, PriceTier


class BillingModelForm(PlainDecimals, forms.ModelForm):
    pass


class ActivityConfigForm(PlainDecimals, forms.ModelForm):
    pass


class TierFormSet(forms.BaseInlineFormSet):
    """Checks the tiers together, in position order, and flags the offending row."""

    def get_form_kwargs(self, index):
        kwargs = super().get_form_kwargs(index)
        if index is not None and index >= self.initial_form_count():
            kwargs["initial"] = {"position": index + 1}  # a new row goes last
        return kwargs

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


class TierForm(PlainDecimals, forms.ModelForm):
    """Positions are checked by the formset: a reorder may swap two of them."""

    class Meta:
        model = PriceTier
        fields = ["position", "up_to", "unit_price", "flat_fee"]
        widgets = {
            "position": forms.NumberInput(attrs={"class": "tier-position"}),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["flat_fee"].required = False  # blank: no flat fee

    def _get_validation_exclusions(self):
        return {*super()._get_validation_exclusions(), "position"}

    def clean_flat_fee(self) -> Decimal:
        return self.cleaned_data["flat_fee"] or Decimal(0)


# The tiers of one activity pricing form on the billing model page: two blank rows
# to add tiers, a delete box on each saved one.
ActivityTierFormSet = forms.inlineformset_factory(
    ActivityBasedConfig,
    PriceTier,
    form=TierForm,
    formset=TierFormSet,
    fields=["position", "up_to", "unit_price", "flat_fee"],
    extra=2,
    can_delete=True,
)


@admin.register(ActivityBasedConfig)
class ActivityBasedConfigAdmin(OrganizationScoped, admin.ModelAdmin):
    """The list of every model's activity pricing; each is edited, with its
    tiers, on its billing model's page (its own page sends there)."""

    list_display = [
        "billing_model",
        "activity_type",
        "unit_type",
        "unit_price",
        "agent_fee",
        "minimum",
        "tier_summary",
    ]
    list_filter = ["tier_mode", "volume_pricing_enabled", "unit_type", "activity_type"]
    search_fields = ["billing_model__name", "activity_type"]
    list_select_related = ["billing_model__organization"]
    autocomplete_fields = ["billing_model"]

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("tiers")

    def change_view(self, request, object_id, form_url="", extra_context=None):
        config = self.get_object(request, object_id)
        if config is None:
            return super().change_view(request, object_id, form_url, extra_context)
        return HttpResponseRedirect(
            reverse("admin:pricing_billingmodel_change", args=[config.billing_model_id])
        )

    @admin.display(description="price per unit", ordering="price_per_unit")
    def unit_price(self, obj: ActivityBasedConfig) -> str:
        return format_number(obj.price_per_unit)

    @admin.display(description="base agent fee", ordering="base_agent_fee")
    def agent_fee(self, obj: ActivityBasedConfig) -> str:
        return format_money(obj.base_agent_fee, obj.billing_model.currency)

    @admin.display(description="minimum charge", ordering="minimum_charge")
    def minimum(self, obj: ActivityBasedConfig) -> str:
        return format_money(obj.minimum_charge, obj.billing_model.currency)

    @admin.display(description="tiers")
    def tier_summary(self, obj: ActivityBasedConfig) -> str:
        return engine.describe_tiers(
            selectors.activity_pricing(obj, currency=obj.billing_model.currency)
        )


TIERS_TO_CORRECT = "Correct the tiers of this activity below."


class ActivityConfigFormSet(forms.BaseInlineFormSet):
    """How many activities each model type takes; each activity form carries its
    tiers (``form.tier_formset``), validated after the activity itself."""

    def _tiers(self, form, *, bound: bool) -> TierFormSet:
        return ActivityTierFormSet(
            self.data if bound else None,
            instance=form.instance,
            prefix=f"{form.prefix}-tiers",
            queryset=PriceTier.objects.order_by("position"),
        )

    def _construct_form(self, i, **kwargs):
        form = super()._construct_form(i, **kwargs)
        form.tier_formset = self._tiers(form, bound=self.is_bound)
        return form

    @property
    def empty_form(self):
        form = super().empty_form
        form.tier_formset = self._tiers(form, bound=False)
        return form

    def kept_forms(self) -> list[forms.ModelForm]:
        return [
            form
            for form in self.forms
            if form.cleaned_data and not self._should_delete_form(form)
        ]

    def is_valid(self) -> bool:
        valid = super().is_valid()
        if not self.is_bound:
            return False
        for form in self.forms:
            if not (form.cleaned_data or form.tier_formset.has_changed()):
                continue  # a blank new activity form, tiers and all
            if self._should_delete_form(form):
                continue
            if not form.tier_formset.is_valid():
                valid = False
                if TIERS_TO_CORRECT not in form.non_field_errors():
                    form.add_error(None, TIERS_TO_CORRECT)
        return valid

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


class ActivityBasedConfigInline(OrganizationScoped, admin.StackedInline):
    """An activity's pricing with its tiers as a table under it."""

    model = ActivityBasedConfig
    form = ActivityConfigForm
    formset = ActivityConfigFormSet
    template = "pricing/admin/activity_inline.html"
    extra = 0
    fields = [
        ("activity_type", "unit_type", "is_active"),
        ("price_per_unit", "base_agent_fee", "minimum_charge"),
        ("volume_pricing_enabled", "tier_mode", "billing_frequency"),
    ]


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
        "subscription",
        "pricing_summary",
        "is_active",
    ]
    list_filter = ["model_type", ActivityTypeFilter, "is_active", "organization"]
    search_fields = ["name", "description"]
    list_select_related = ["organization"]
    autocomplete_fields = ["organization"]
    readonly_fields = ["created_at", "updated_at"]
    form = BillingModelForm
    inlines = [ActivityBasedConfigInline]
    change_form_template = "pricing/admin/billingmodel_change_form.html"

    class Media:
        css = {"all": ["css/staff.css"]}
        js = ["js/pages.js"]

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("activity_configs__tiers")

    @admin.display(description="subscription fee", ordering="subscription_fee")
    def subscription(self, obj: BillingModel) -> str:
        return format_money(obj.subscription_fee, obj.currency)

    @admin.display(description="pricing")
    def pricing_summary(self, obj: BillingModel) -> str:
        pricing = selectors.billing_model_pricing(obj)
        parts = [
            f"{activity.activity_type}: {engine.describe_tiers(activity)}"
            for activity in pricing.activities
        ]
        return "; ".join(parts) or "—"

    def get_urls(self):
        preview = self.admin_site.admin_view(self.preview_view)
        return [
            path("preview/", preview, name="pricing_billingmodel_preview"),
            path(
                "<path:object_id>/preview/",
                preview,
                name="pricing_billingmodel_change_preview",
            ),
            *super().get_urls(),
        ]

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        extra_context = {
            **(extra_context or {}),
            "preview_url": reverse(
                "admin:pricing_billingmodel_change_preview", args=[object_id]
            )
            if object_id
            else reverse("admin:pricing_billingmodel_preview"),
        }
        return super().changeform_view(request, object_id, form_url, extra_context)

    def save_formset(self, request, form, formset, change):
        formset.save()
        if isinstance(formset, ActivityConfigFormSet):
            for activity_form in formset.kept_forms():
                if activity_form.tier_formset.has_changed():
                    services.activity_tiers_replace(
                        config=activity_form.instance,
                        tiers=activity_form.tier_formset.tier_specs(),
                    )

    def preview_view(self, request, object_id=None):
        """The cost of the posted, unsaved form for the sample agents and units
        (``preview_agents``, ``preview_units-<n>`` for the n-th activity form), as
        JSON: the engine's lines with their labels and the rendered table. The
        form is validated as Save validates it; a problem is a 400 naming the
        field (its input's name). Nothing is written."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        saved = self.get_object(request, object_id) if object_id else None
        if object_id and saved is None:
            raise PermissionDenied  # another organization's, or none at all
        allowed = (
            self.has_change_permission(request, saved)
            if saved is not None
            else self.has_add_permission(request)
        )
        if not allowed:
            raise PermissionDenied
        organization = ascii_id(request.POST.get("organization", ""))
        if (
            organization is not None
            and not request.user.is_superuser
            and not staff_organizations(request.user).filter(pk=organization).exists()
        ):
            raise PermissionDenied
        form = self.get_form(request, saved, change=saved is not None)(
            request.POST, request.FILES, instance=saved
        )
        formsets = [
            formset_class(
                request.POST,
                request.FILES,
                instance=form.instance,
                prefix=formset_class.get_default_prefix(),
                queryset=inline.get_queryset(request),
            )
            for formset_class, inline in self.get_formsets_with_inlines(request, saved)
        ]
        sample = CostPreviewForm(request.POST)
        form_valid = form.is_valid()  # first: the inlines read the model's type
        formsets_valid = all([formset.is_valid() for formset in formsets])
        if not (sample.is_valid() and form_valid and formsets_valid):
            errors = _form_errors(form)
            for formset in formsets:
                errors.update(_formset_errors(formset))
            errors.update(_form_errors(sample))
            return JsonResponse(
                {"errors": errors, "messages": _error_messages(errors)}, status=400
            )
        (activities,) = (f for f in formsets if isinstance(f, ActivityConfigFormSet))
        rows, units = [], {}
        for activity_form in activities.kept_forms():
            config = activity_form.instance
            rows.append((config, activity_form.tier_formset.tier_specs()))
            index = activities.forms.index(activity_form)
            units[config.activity_type] = sample.units(index)
        model = form.instance
        currency = model.organization.currency
        pricing = selectors.unsaved_model_pricing(
            billing_model=model, activities=rows, currency=currency
        )
        try:
            result = engine.calculate_model_cost(
                pricing,
                {a.activity_type: units[a.activity_type] for a in pricing.activities},
                sample.cleaned_data["preview_agents"],
            )
        except engine.PricingInputError as error:
            errors = {error.field: [error.message]}
            return JsonResponse(
                {"errors": errors, "messages": _error_messages(errors)}, status=400
            )
        preview = labels.cost_preview(result)
        return JsonResponse(
            {
                **labels.cost_preview_data(preview),
                "html": render_to_string(
                    "pricing/_cost_lines.html", {"preview": preview}, request=request
                ),
            }
        )


def _form_errors(form: forms.BaseForm) -> dict[str, list[str]]:
    """A form's errors keyed by its inputs' names (its own prefix for the rest)."""
    return {
        (form.prefix or "non_field_errors")
        if name == forms.forms.NON_FIELD_ERRORS
        else form.add_prefix(name): list(messages)
        for name, messages in form.errors.items()
    }


_INPUT_NAME = re.compile(
    r"^(?:activity_configs-(?P<activity>\d+))?(?:-tiers-(?P<tier>\d+))?"
    r"-?(?P<field>[a-z_]*)$"
)
_INPUT_WORDS = {
    "activity_configs": "activity pricing",
    "preview_agents": "agents",
    "non_field_errors": "",
}


def _where(name: str) -> str:
    """An input's name in words: ``activity_configs-0-tiers-1-up_to`` ->
    ``Activity 1, tier 2, up to``; ``preview_units-0`` -> ``Units of activity 1``."""
    if name.startswith(CostPreviewForm.UNITS_PREFIX):
        return f"Units of activity {int(name.rsplit('-', 1)[1]) + 1}"
    match = _INPUT_NAME.match(name)
    if match is None:
        return name
    parts = []
    if match["activity"] is not None:
        parts.append(f"activity {int(match['activity']) + 1}")
    if match["tier"] is not None:
        parts.append(f"tier {int(match['tier']) + 1}")
    field = match["field"]
    words = _INPUT_WORDS.get(field, field.replace("_", " "))
    if words:
        parts.append(words)
    text = ", ".join(parts)
    return text[:1].upper() + text[1:]


def _error_messages(errors: dict[str, list[str]]) -> list[str]:
    """Each error as one sentence naming where it is."""
    return [
        f"{_where(name)}: {message}" if _where(name) else message
        for name, messages in errors.items()
        for message in messages
    ]


def _formset_errors(formset: forms.BaseFormSet) -> dict[str, list[str]]:
    """Every error of a formset and of its forms' tier formsets, by input name."""
    errors = {}
    if formset.non_form_errors():
        errors[formset.prefix] = list(formset.non_form_errors())
    for form in formset.forms:
        errors.update(_form_errors(form))
        tiers = getattr(form, "tier_formset", None)
        if tiers is not None and tiers.is_bound and tiers._errors is not None:
            errors.update(_formset_errors(tiers))
    return errors

    def delete_model(self, request, obj):
        try:
            services.billing_model_delete(billing_model=obj)
        except ValidationError as error:
            self.message_user(request, f"{obj}: {error}", messages.ERROR)
