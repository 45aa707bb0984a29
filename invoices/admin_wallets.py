"""Admin screens of customers' wallets: each wallet's balance and its ledger,
read-only, and topping a customer's wallet up.

Adding a wallet tops a customer up (the wallet is created on its first credit,
later top-ups add to it) through ``wallet_credit``, the service the API uses; a
top-up it refuses is reported by name and nothing is saved. Movements are never
edited or deleted: a wallet changes only by new ones.
"""

from decimal import Decimal

from django import forms
from django.contrib import admin, messages
from django.http import HttpResponseRedirect
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html

from billing_site.errors import DomainError
from invoices import services
from invoices.models import Wallet, WalletTransaction
from metering.staff import OrganizationScoped


class WalletTopUpForm(forms.ModelForm):
    amount = forms.DecimalField(
        max_digits=18,
        decimal_places=2,
        min_value=Decimal("0.01"),
        help_text="Credits to add.",
    )
    paid = forms.BooleanField(
        required=False, help_text="The customer paid for them (else: granted)."
    )
    expires_at = forms.DateTimeField(
        required=False, help_text="Empty: the credits never expire."
    )

    class Meta:
        model = Wallet
        fields = ["customer"]

    def validate_unique(self):
        # A customer with a wallet is topped up: its wallet gets the credits.
        pass


class WalletTransactionInline(admin.TabularInline):
    model = WalletTransaction
    extra = 0
    can_delete = False
    fields = [
        "occurred_at", "kind", "amount", "balance_after", "remaining", "paid",
        "expires_at", "invoice", "credit_note",
    ]  # fmt: skip
    readonly_fields = fields
    ordering = ["-occurred_at", "-id"]

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Wallet)
class WalletAdmin(OrganizationScoped, admin.ModelAdmin):
    list_display = ["customer", "balance", "currency", "organization"]
    list_filter = ["currency", "organization"]
    search_fields = ["customer__name", "customer__external_id"]
    list_select_related = ["customer", "organization"]
    raw_id_fields = ["customer"]
    inlines = [WalletTransactionInline]
    readonly_fields = ["customer", "currency", "balance", "top_up"]

    @admin.display(description="top up")
    def top_up(self, obj):
        url = reverse("admin:invoices_wallet_add") + f"?customer={obj.customer_id}"
        return format_html('<a href="{}">Top up this wallet</a>', url)

    def get_form(self, request, obj=None, **kwargs):
        if obj is None:
            kwargs["form"] = WalletTopUpForm
        return super().get_form(request, obj, **kwargs)

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["customer", "amount", "paid", "expires_at"]
        return self.readonly_fields

    def get_readonly_fields(self, request, obj=None):
        return self.readonly_fields if obj is not None else []

    def get_inlines(self, request, obj=None):
        return self.inlines if obj is not None else []

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        if change:
            return  # a wallet changes only by its movements
        data = form.cleaned_data
        try:
            movement = services.wallet_credit(
                customer=obj.customer,
                amount=data["amount"],
                kind=WalletTransaction.Kind.TOP_UP,
                now=timezone.now(),
                expires_at=data["expires_at"],
                paid=data["paid"],
            )
        except DomainError as error:
            self.message_user(
                request,
                f"{obj.customer} was not topped up: {error.message}",
                messages.ERROR,
            )
            return
        wallet = movement.wallet
        obj.__dict__.update(
            {
                name: getattr(wallet, name)
                for name in (
                    "id", "organization_id", "currency", "balance", "created_at",
                    "updated_at",
                )
            }
        )  # fmt: skip
        obj._state.adding = False

    def log_addition(self, request, obj, message):
        if obj.pk is not None:
            super().log_addition(request, obj, message)

    def response_add(self, request, obj, post_url_continue=None):
        if obj.pk is None:  # refused: reported by ``save_model``
            return HttpResponseRedirect(reverse("admin:invoices_wallet_changelist"))
        self.message_user(request, f"{obj.customer} topped up.", messages.SUCCESS)
        return HttpResponseRedirect(
            reverse("admin:invoices_wallet_change", args=[obj.pk])
        )
