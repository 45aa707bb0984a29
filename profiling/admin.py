from django.contrib import admin

from billing_site.admin_columns import PlainDecimalsForm, number_field
from metering.selectors import staff_organizations
from metering.staff import OrganizationScoped
from profiling import selectors
from profiling.models import (
    BehavioralTag,
    CustomerProfile,
    EndUserProfile,
    ProfilingRun,
    Segment,
    TagRule,
)


class SegmentInline(OrganizationScoped, admin.TabularInline):
    model = Segment
    fields = ["label", "name", "size"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True


@admin.register(ProfilingRun)
class ProfilingRunAdmin(OrganizationScoped, admin.ModelAdmin):
    list_display = [
        "id", "organization", "status", "window_start", "window_end",
        "customer_count", "event_count", "chosen_k", "silhouette", "total_seconds",
    ]  # fmt: skip
    list_filter = ["status", "organization"]
    list_select_related = ["organization"]
    readonly_fields = [
        "organization", "status", "window_start", "window_end", "parameters",
        "timings", "scores", "customer_count", "event_count", "operations",
        "chunks_expected", "started_at", "finished_at", "error",
    ]  # fmt: skip
    exclude = ["chains"]
    inlines = [SegmentInline]

    def get_queryset(self, request):
        return super().get_queryset(request).defer("chains")

    @admin.display(description="k")
    def chosen_k(self, run):
        return run.scores.get("k")

    @admin.display(description="silhouette")
    def silhouette(self, run):
        value = run.scores.get("silhouette")
        return "—" if value is None else f"{value:.3f}"

    @admin.display(description="seconds")
    def total_seconds(self, run):
        value = run.timings.get("total")
        return "—" if value is None else f"{value:.2f}"


@admin.register(Segment)
class SegmentAdmin(OrganizationScoped, admin.ModelAdmin):
    list_display = ["name", "run", "label", "size"]
    list_filter = ["run__organization"]
    list_select_related = ["run"]
    search_fields = ["name"]
    readonly_fields = [
        "run", "label", "size", "top_operations", "centroid_summary", "transitions",
    ]  # fmt: skip

    def get_queryset(self, request):
        return super().get_queryset(request).defer("run__chains")


@admin.register(BehavioralTag)
class BehavioralTagAdmin(OrganizationScoped, admin.ModelAdmin):
    list_display = [
        "name",
        "customer",
        number_field("score", "score"),
        "run",
        "explanation",
    ]
    list_filter = ["name"]
    list_select_related = ["customer", "run"]
    search_fields = ["name", "customer__name", "customer__external_id"]
    fields = readonly_fields = [
        "run",
        "customer",
        "name",
        number_field("score", "score"),
        "explanation",
    ]

    def get_queryset(self, request):
        return super().get_queryset(request).defer("run__chains")


@admin.register(TagRule)
class TagRuleAdmin(OrganizationScoped, admin.ModelAdmin):
    list_display = ["name", "organization", "kind", "pattern", "threshold", "is_active"]
    list_filter = ["kind", "is_active", "organization"]
    list_editable = ["threshold", "is_active"]
    list_select_related = ["organization"]
    search_fields = ["name", "pattern"]
    form = PlainDecimalsForm

    def get_changelist_form(self, request, **kwargs):
        kwargs.setdefault("form", PlainDecimalsForm)
        return super().get_changelist_form(request, **kwargs)


class UnusualFilter(admin.SimpleListFilter):
    """Customers the latest profiling run of their organization found unusual."""

    title = "unusual"
    parameter_name = "unusual"

    def lookups(self, request, model_admin):
        return [("latest", "Unusual in the latest run")]

    def queryset(self, request, queryset):
        if self.value() != "latest":
            return queryset
        unusual = selectors.unusual_profiles(
            organizations=staff_organizations(request.user)
        )
        return queryset.filter(pk__in=unusual.values("pk"))


@admin.register(CustomerProfile)
class CustomerProfileAdmin(OrganizationScoped, admin.ModelAdmin):
    list_display = ["customer", "segment", "run"]
    list_filter = [UnusualFilter]
    list_select_related = ["customer", "segment", "run"]
    search_fields = ["customer__name", "customer__external_id"]
    readonly_fields = [
        "run", "customer", "segment", "features", "next_operations",
        "predicted_counts", "predicted_path", "recent_operations",
        "projection_x", "projection_y",
    ]  # fmt: skip

    def get_queryset(self, request):
        return super().get_queryset(request).defer("run__chains")


@admin.register(EndUserProfile)
class EndUserProfileAdmin(OrganizationScoped, admin.ModelAdmin):
    list_display = ["user_id", "customer", "event_count", "tag_names", "run"]
    list_select_related = ["customer", "run"]
    search_fields = ["user_id", "customer__name", "customer__external_id"]
    readonly_fields = [
        "run", "customer", "user_id", "event_count", "features", "next_operations",
        "recent_operations", "tags",
    ]  # fmt: skip

    def get_queryset(self, request):
        return super().get_queryset(request).defer("run__chains")

    @admin.display(description="tags")
    def tag_names(self, profile):
        return ", ".join(tag["name"] for tag in profile.tags) or "—"
