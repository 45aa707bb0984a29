from django.contrib import admin

from billing_site.admin_columns import PlainDecimalsForm
from metering.staff import OrganizationScoped
from scaling import selectors
from scaling.models import (
    BundleCapacity,
    Campaign,
    CapacityFloor,
    Entitlement,
    FeatureBundle,
    Forecast,
    Recommendation,
    ScalingEvent,
    ScalingPolicy,
)


class BundleCapacityInline(OrganizationScoped, admin.TabularInline):
    model = BundleCapacity
    form = PlainDecimalsForm
    extra = 0


@admin.register(FeatureBundle)
class FeatureBundleAdmin(OrganizationScoped, admin.ModelAdmin):
    list_display = ["name", "organization", "segment", "base_price", "monthly_price"]
    list_filter = ["organization", "segment", "is_active"]
    search_fields = ["name"]
    list_select_related = ["organization"]
    inlines = [BundleCapacityInline]

    @admin.display(description="monthly price (base + capacities)")
    def monthly_price(self, obj):
        return selectors.bundle_price(bundle=obj, currency=obj.organization.currency)


@admin.register(ScalingPolicy)
class ScalingPolicyAdmin(OrganizationScoped, admin.ModelAdmin):
    list_display = ["customer", "auto_approve", "min_confidence", "provisioner"]
    list_filter = ["auto_approve", "provisioner"]
    autocomplete_fields = ["customer"]
    list_select_related = ["customer"]


@admin.register(Campaign)
class CampaignAdmin(OrganizationScoped, admin.ModelAdmin):
    list_display = ["name", "organization", "customer", "start", "end", "expected_lift"]
    autocomplete_fields = ["customer"]


@admin.register(CapacityFloor)
class CapacityFloorAdmin(OrganizationScoped, admin.ModelAdmin):
    list_display = ["customer", "resource", "start", "end", "minimum", "reason"]
    autocomplete_fields = ["customer"]


@admin.register(Forecast)
class ForecastAdmin(OrganizationScoped, admin.ModelAdmin):
    list_display = [
        "customer", "resource", "generated_at", "state", "model", "mase",
        "baseline_mase", "coverage_80", "coverage_95",
    ]  # fmt: skip
    list_filter = ["state", "model", "resource"]
    list_select_related = ["customer"]
    readonly_fields = [field.name for field in Forecast._meta.fields]

    def has_add_permission(self, request):
        return False


@admin.register(Recommendation)
class RecommendationAdmin(OrganizationScoped, admin.ModelAdmin):
    list_display = [
        "customer", "recommended_bundle", "direction", "status", "confidence",
        "net_benefit", "created_at",
    ]  # fmt: skip
    list_filter = ["status", "direction"]
    list_select_related = ["customer", "recommended_bundle"]
    readonly_fields = [field.name for field in Recommendation._meta.fields]

    def has_add_permission(self, request):
        return False


@admin.register(Entitlement)
class EntitlementAdmin(OrganizationScoped, admin.ModelAdmin):
    list_display = ["customer", "bundle", "monthly_price", "activated_at"]
    list_select_related = ["customer", "bundle"]
    readonly_fields = [field.name for field in Entitlement._meta.fields]


@admin.register(ScalingEvent)
class ScalingEventAdmin(OrganizationScoped, admin.ModelAdmin):
    list_display = ["customer", "kind", "to_bundle", "monthly_price", "occurred_at"]
    list_filter = ["kind", "backend"]
    list_select_related = ["customer", "to_bundle"]
    readonly_fields = [field.name for field in ScalingEvent._meta.fields]
