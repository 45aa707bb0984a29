from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Count, OuterRef, Subquery, Sum
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone

from billing_site.admin_columns import number_field
from billing_site.errors import DomainError
from metering import services, webhook_signing
from metering.models import (
    AlertTrigger,
    ApiKey,
    Customer,
    Operation,
    Organization,
    OrganizationMembership,
    PortalUser,
    UsageAlert,
    UsageCounter,
    UsageCounterIncrement,
    UsageEvent,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookEvent,
)
from metering.staff import OrganizationScoped


class MembershipInline(OrganizationScoped, admin.TabularInline):
    """Staff users who may act for the organization (superusers act for all)."""

    model = OrganizationMembership
    extra = 0
    autocomplete_fields = ["user"]
    verbose_name = "staff member"
    verbose_name_plural = "staff members (API and staff pages)"


@admin.register(Organization)
class OrganizationAdmin(OrganizationScoped, admin.ModelAdmin):
    list_display = ["name", "slug", "currency", "timezone", "auto_create_customers"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    inlines = [MembershipInline]


class PortalUserInline(OrganizationScoped, admin.TabularInline):
    model = PortalUser
    extra = 0
    autocomplete_fields = ["user"]


@admin.register(Customer)
class CustomerAdmin(OrganizationScoped, admin.ModelAdmin):
    list_display = ["name", "external_id", "email", "organization", "created_at"]
    list_filter = ["organization"]
    search_fields = ["name", "external_id", "email"]
    list_select_related = ["organization"]
    readonly_fields = ["created_at", "updated_at"]
    inlines = [PortalUserInline]
    list_per_page = 50

    def delete_model(self, request, obj):
        try:
            services.customer_delete(customer=obj)
        except DomainError as error:
            self.message_user(request, f"{obj}: {error.message}", messages.ERROR)


@admin.register(ApiKey)
class ApiKeyAdmin(OrganizationScoped, admin.ModelAdmin):
    list_display = [
        "prefix",
        "name",
        "organization",
        "created_at",
        "last_used_at",
        "is_active",
    ]
    list_filter = ["organization", ("revoked_at", admin.EmptyFieldListFilter)]
    search_fields = ["prefix", "name"]
    list_select_related = ["organization"]
    fields = [
        "organization",
        "name",
        "prefix",
        "created_at",
        "last_used_at",
        "revoked_at",
    ]
    readonly_fields = ["prefix", "created_at", "last_used_at", "revoked_at"]
    actions = ["revoke"]

    @admin.display(boolean=True, description="active")
    def is_active(self, obj: ApiKey) -> bool:
        return obj.is_active

    def save_model(self, request, obj, form, change):
        if change:
            obj.save(update_fields=["name", "updated_at"])
            return
        issued = services.api_key_create(organization=obj.organization, name=obj.name)
        obj.pk = issued.api_key.pk
        obj.prefix = issued.api_key.prefix
        self.message_user(
            request,
            f"New API key (copy it now, it will not be shown again): {issued.raw_key}",
            messages.WARNING,
        )

    @admin.action(description="Revoke selected API keys")
    def revoke(self, request, queryset):
        for api_key in queryset:
            try:
                services.api_key_revoke(api_key=api_key, now=timezone.now())
            except DomainError as error:
                self.message_user(request, error.message, messages.ERROR)
            else:
                self.message_user(request, f"Revoked {api_key.prefix}…")


@admin.register(PortalUser)
class PortalUserAdmin(OrganizationScoped, admin.ModelAdmin):
    list_display = ["user", "customer"]
    search_fields = ["user__username", "customer__name", "customer__external_id"]
    autocomplete_fields = ["user", "customer"]
    list_select_related = ["user", "customer"]


@admin.register(Operation)
class OperationAdmin(OrganizationScoped, admin.ModelAdmin):
    list_display = [
        "code",
        "name",
        "unit",
        "activity_type",
        "aggregation",
        "organization",
    ]
    list_filter = ["organization", "aggregation"]
    search_fields = ["code", "name", "activity_type"]
    list_select_related = ["organization"]
    readonly_fields = ["created_at", "updated_at"]


class ReadOnlyAdmin(OrganizationScoped, admin.ModelAdmin):
    """Written only by ingestion; the admin shows, never edits."""

    # Counting hundreds of millions of rows on every page view is not affordable.
    show_full_result_count = False

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(UsageEvent)
class UsageEventAdmin(ReadOnlyAdmin):
    list_display = [
        "occurred_at",
        "operation",
        number_field("quantity", "quantity"),
        "customer",
        "user_id",
        "event_id",
        "is_late",
        "received_at",
    ]
    list_filter = ["organization", "is_late"]
    search_fields = ["=event_id", "=operation", "=customer__external_id"]
    list_select_related = ["customer"]
    date_hierarchy = "occurred_at"


def _pending(aggregate):
    """An aggregate over a counter's increments not folded yet, as a subquery."""
    return Subquery(
        UsageCounterIncrement.objects.filter(
            organization_id=OuterRef("organization_id"),
            period_start=OuterRef("period_start"),
            customer_id=OuterRef("customer_id"),
            operation=OuterRef("operation"),
        )
        .order_by()
        .values("customer_id")
        .annotate(value=aggregate)
        .values("value")
    )


@admin.register(UsageCounter)
class UsageCounterAdmin(ReadOnlyAdmin):
    """Month totals per customer and operation: each folded counter plus its
    increments not folded yet, so the figures are exact at any moment. A counter
    first used in the last minute is listed once the fold task has run."""

    list_display = [
        "period_start",
        "customer",
        "operation",
        "total_quantity",
        "total_events",
        "pending_increments",
    ]
    list_filter = ["organization", "period_start"]
    search_fields = ["=operation", "=customer__external_id", "customer__name"]
    list_select_related = ["customer"]

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(
                pending_quantity=_pending(Sum("quantity")),
                pending_events=_pending(Sum("event_count")),
                pending_rows=_pending(Count("id")),
            )
        )

    @admin.display(description="quantity", ordering="quantity")
    def total_quantity(self, counter):
        return counter.quantity + (counter.pending_quantity or 0)

    @admin.display(description="events", ordering="event_count")
    def total_events(self, counter):
        return counter.event_count + (counter.pending_events or 0)

    @admin.display(description="increments not folded yet")
    def pending_increments(self, counter):
        return counter.pending_rows or 0


class WebhookEndpointForm(forms.ModelForm):
    url = forms.URLField(max_length=500, assume_scheme="https")
    event_types = forms.MultipleChoiceField(
        choices=WebhookEvent.Type.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="None ticked: every event type.",
    )

    class Meta:
        model = WebhookEndpoint
        fields = ["organization", "url", "event_types", "active"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if not self.instance.secret:
            self.instance.secret = webhook_signing.secret_generate()


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(OrganizationScoped, admin.ModelAdmin):
    form = WebhookEndpointForm
    list_display = ["url", "organization", "event_type_list", "active"]
    list_filter = ["organization", "active"]
    list_select_related = ["organization"]
    search_fields = ["url"]
    readonly_fields = ["secret"]

    def get_fields(self, request, obj=None):
        fields = ["organization", "url", "event_types", "active"]
        return [*fields, "secret"] if obj is not None else fields

    @admin.display(description="event types")
    def event_type_list(self, endpoint: WebhookEndpoint) -> str:
        return ", ".join(endpoint.event_types) or "all"

    def save_model(self, request, obj, form, change):
        if change:
            obj.save()
            return
        created = services.webhook_endpoint_create(
            organization=obj.organization,
            url=obj.url,
            secret=obj.secret,
            event_types=obj.event_types,
            active=obj.active,
        )
        obj.pk = created.pk
        self.message_user(
            request,
            "Verify its requests with the signing secret shown on its page.",
            messages.INFO,
        )


@admin.register(WebhookEvent)
class WebhookEventAdmin(ReadOnlyAdmin):
    list_display = ["type", "key", "organization", "occurred_at"]
    list_filter = ["type", "organization"]
    list_select_related = ["organization"]
    search_fields = ["key"]
    readonly_fields = ["organization", "type", "key", "payload", "occurred_at"]


class WebhookAttemptInline(admin.TabularInline):
    model = WebhookAttempt
    extra = 0
    can_delete = False
    fields = readonly_fields = [
        "attempted_at", "status_code", "duration_ms", "error", "response_excerpt",
    ]  # fmt: skip

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(OrganizationScoped, admin.ModelAdmin):
    """Deliveries with every attempt; failed or delivered ones can be resent
    (the action, or the Resend button on a delivery's page, through a
    confirmation)."""

    list_display = [
        "event_type", "url", "status", "attempts", "last_status_code", "created_at",
    ]  # fmt: skip
    list_filter = ["status", "event__type", "organization"]
    list_select_related = ["event"]
    search_fields = ["url", "event__key"]
    readonly_fields = [
        "organization", "event", "endpoint", "url", "status", "attempts",
        "last_status_code", "last_error", "next_attempt_at", "delivered_at",
        "created_at",
    ]  # fmt: skip
    fields = readonly_fields
    inlines = [WebhookAttemptInline]
    actions = ["resend"]
    change_form_template = "metering/admin/webhook_delivery_change_form.html"

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        # Only resending changes a delivery; its page is for reading.
        if obj is not None:
            return False
        return super().has_change_permission(request, obj)

    @admin.display(description="event", ordering="event__type")
    def event_type(self, delivery: WebhookDelivery) -> str:
        return delivery.event.type

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path(
                "<int:pk>/resend/",
                view(self.resend_view),
                name="metering_webhookdelivery_resend",
            ),
            *super().get_urls(),
        ]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = {
            **(extra_context or {}),
            "may_resend": request.user.has_perm("metering.change_webhookdelivery"),
        }
        return super().change_view(request, object_id, form_url, extra_context)

    def resend_view(self, request, pk: int):
        """GET, or a POST from the delivery's page: the confirmation. A POST of
        the confirmation (``confirm``): the resend, through its service."""
        if not request.user.has_perm("metering.change_webhookdelivery"):
            raise PermissionDenied
        delivery = get_object_or_404(
            self.get_queryset(request).select_related("event"), pk=pk
        )
        if request.method == "POST" and "confirm" in request.POST:
            self._resend(request, delivery)
            return HttpResponseRedirect(
                reverse("admin:metering_webhookdelivery_change", args=[delivery.pk])
            )
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": f"Resend {delivery.event.type} to {delivery.url}",
            "delivery": delivery,
            "original": delivery,
        }
        return TemplateResponse(
            request, "metering/admin/webhook_delivery_resend.html", context
        )

    @admin.action(
        description="Resend selected webhook deliveries", permissions=["change"]
    )
    def resend(self, request, queryset):
        for delivery in queryset.select_related("event"):
            self._resend(request, delivery)

    def _resend(self, request, delivery: WebhookDelivery) -> None:
        name = f"{delivery.event.type} to {delivery.url}"
        try:
            services.webhook_delivery_resend(delivery=delivery, now=timezone.now())
        except DomainError as error:
            self.message_user(
                request, f"{name} was not resent: {error.message}", messages.ERROR
            )
            return
        self.log_change(request, delivery, "Resent")
        self.message_user(request, f"Resending {name}.", messages.SUCCESS)


class AlertTriggerInline(admin.TabularInline):
    model = AlertTrigger
    extra = 0
    can_delete = False
    fields = readonly_fields = [
        "period_start",
        number_field("value", "value"),
        "triggered_at",
    ]

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(UsageAlert)
class UsageAlertAdmin(OrganizationScoped, admin.ModelAdmin):
    """A customer's alerts and the periods they fired in; created through the
    API, which checks them."""

    list_display = [
        "customer",
        "kind",
        "operation",
        number_field("threshold", "threshold"),
        "period",
    ]
    list_filter = ["kind", "period", "organization"]
    list_select_related = ["customer"]
    search_fields = ["customer__external_id", "customer__name", "operation"]
    fields = readonly_fields = [
        "organization", "customer", "kind", "operation",
        number_field("threshold", "threshold"), "period",
    ]  # fmt: skip
    inlines = [AlertTriggerInline]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
