"""Admin screens of taxes and coupons: tax rates, customers' tax profiles,
coupons and their redemptions (applying a coupon to a customer).

New rates, coupons and redemptions are written by the services the API uses,
so a rule is enforced once; a redemption the service refuses (an expired
coupon, its maximum reached) is reported by name and nothing is saved.
"""

from django.contrib import admin, messages
from django.http import HttpResponseRedirect
from django.urls import reverse
from django.utils import timezone

from billing_site.admin_columns import PlainDecimalsForm, number_field
from billing_site.errors import DomainError
from billing_site.formatting import format_money
from invoices import services
from invoices.models import Coupon, CouponRedemption, CustomerTaxProfile, TaxRate
from metering.staff import OrganizationScoped, scoped_to_staff


@admin.register(TaxRate)
class TaxRateAdmin(OrganizationScoped, admin.ModelAdmin):
    form = PlainDecimalsForm
    list_display = [
        "code", "name", number_field("rate_percent", "rate (%)"), "country",
        "inclusive", "is_default", "organization",
    ]  # fmt: skip
    list_filter = ["inclusive", "is_default", "country", "organization"]
    search_fields = ["code", "name"]
    list_select_related = ["organization"]

    def get_readonly_fields(self, request, obj=None):
        # A rate's code names it on invoices and in the API: fixed once created.
        return ["code"] if obj is not None else []

    def save_model(self, request, obj, form, change):
        if change:
            super().save_model(request, obj, form, change)
            return
        created = services.tax_rate_create(
            organization=obj.organization,
            code=obj.code,
            name=obj.name,
            rate_percent=obj.rate_percent,
            country=obj.country,
            inclusive=obj.inclusive,
            is_default=obj.is_default,
        )
        obj.pk, obj.created_at, obj.updated_at = (
            created.pk,
            created.created_at,
            created.updated_at,
        )
        obj._state.adding = False


@admin.register(CustomerTaxProfile)
class CustomerTaxProfileAdmin(OrganizationScoped, admin.ModelAdmin):
    list_display = ["customer", "country", "tax_id", "tax_exempt"]
    list_filter = ["tax_exempt", "country", "organization"]
    search_fields = ["customer__name", "customer__external_id", "tax_id"]
    list_select_related = ["customer"]
    raw_id_fields = ["customer"]
    filter_horizontal = ["tax_rates"]
    fields = [
        "customer", "country", "tax_id", "tax_exempt", "tax_rates",
        "payment_terms_days",
    ]  # fmt: skip

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        formfield = super().formfield_for_manytomany(db_field, request, **kwargs)
        if formfield is not None and hasattr(formfield, "queryset"):
            formfield.queryset = scoped_to_staff(formfield.queryset, request.user)
        return formfield

    def save_model(self, request, obj, form, change):
        obj.organization_id = obj.customer.organization_id
        super().save_model(request, obj, form, change)

    def save_related(self, request, form, formsets, change):
        # The profile's rates through the service, which keeps them to the
        # customer's organization.
        profile = form.instance
        services.customer_tax_profile_update(
            customer=profile.customer,
            country=profile.country,
            tax_id=profile.tax_id,
            tax_exempt=profile.tax_exempt,
            tax_rate_codes=[rate.code for rate in form.cleaned_data["tax_rates"]],
        )


@admin.register(Coupon)
class CouponAdmin(OrganizationScoped, admin.ModelAdmin):
    list_display = [
        "code", "name", number_field("percent_off", "percent off"),
        "amount_off_shown", "duration",
        "duration_in_periods", "times_redeemed", "max_redemptions", "expires_at",
    ]  # fmt: skip
    list_filter = ["duration", "organization"]
    search_fields = ["code", "name"]
    list_select_related = ["organization"]
    # What a redeemed coupon discounts is fixed once created.
    TERMS = [
        "organization", "code", "percent_off", "amount_off", "currency", "duration",
        "duration_in_periods", "applies_to_operations",
    ]  # fmt: skip

    # Read-only discounts are shown formatted, not as the padded stored decimal.
    SHOWN = {
        "percent_off": number_field("percent_off", "percent off"),
        "amount_off": "amount_off_shown",
    }

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return []
        return [*self.TERMS, *self.SHOWN.values(), "times_redeemed"]

    def get_fields(self, request, obj=None):
        fields = super().get_fields(request, obj)
        if obj is None:
            return fields
        shown = set(self.SHOWN.values())
        return [self.SHOWN.get(name, name) for name in fields if name not in shown]

    @admin.display(description="amount off", ordering="amount_off")
    def amount_off_shown(self, obj) -> str:
        if obj.amount_off is None:
            return "-"
        return format_money(obj.amount_off, obj.currency)

    def save_model(self, request, obj, form, change):
        if change:
            super().save_model(request, obj, form, change)
            return
        created = services.coupon_create(
            organization=obj.organization,
            code=obj.code,
            name=obj.name,
            duration=obj.duration,
            percent_off=obj.percent_off,
            amount_off=obj.amount_off,
            currency=obj.currency,
            duration_in_periods=obj.duration_in_periods,
            max_redemptions=obj.max_redemptions,
            expires_at=obj.expires_at,
            applies_to_operations=obj.applies_to_operations,
        )
        obj.pk, obj.created_at, obj.updated_at = (
            created.pk,
            created.created_at,
            created.updated_at,
        )
        obj._state.adding = False


@admin.register(CouponRedemption)
class CouponRedemptionAdmin(OrganizationScoped, admin.ModelAdmin):
    """Applying a coupon to a customer: ``coupon_redeem`` from the current month."""

    list_display = [
        "coupon", "customer", "redeemed_at", "first_period_start",
        "last_period_start",
    ]  # fmt: skip
    list_filter = ["coupon", "organization"]
    search_fields = ["coupon__code", "customer__name", "customer__external_id"]
    list_select_related = ["coupon", "customer"]
    raw_id_fields = ["customer"]
    fields = ["coupon", "customer"]

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return []
        return ["coupon", "customer", "redeemed_at", "first_period_start",
                "last_period_start"]  # fmt: skip

    def get_fields(self, request, obj=None):
        return self.fields if obj is None else self.get_readonly_fields(request, obj)

    def has_change_permission(self, request, obj=None):
        return obj is None and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        try:
            redemption = services.coupon_redeem(
                coupon=obj.coupon, customer=obj.customer, now=timezone.now()
            )
        except DomainError as error:
            self.message_user(
                request,
                f"Coupon {obj.coupon.code} was not applied to {obj.customer}: "
                f"{error.message}",
                messages.ERROR,
            )
            return
        obj.__dict__.update(
            {
                name: getattr(redemption, name)
                for name in (
                    "id", "organization_id", "redeemed_at", "first_period_start",
                    "last_period_start", "created_at", "updated_at",
                )
            }
        )  # fmt: skip
        obj._state.adding = False

    def log_addition(self, request, obj, message):
        if obj.pk is not None:
            super().log_addition(request, obj, message)

    def response_add(self, request, obj, post_url_continue=None):
        if obj.pk is None:  # refused: reported by ``save_model``
            return HttpResponseRedirect(
                reverse("admin:invoices_couponredemption_changelist")
            )
        return super().response_add(request, obj, post_url_continue)
