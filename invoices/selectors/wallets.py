"""Reads of customers' wallets of prepaid credits."""

from decimal import Decimal

from django.db.models import QuerySet

from invoices.models import Wallet, WalletTransaction
from metering.models import Customer


def customer_wallet(*, customer: Customer) -> Wallet:
    """The customer's wallet, or an unsaved empty one in the organization's
    currency when it never had credits."""
    found = Wallet.objects.filter(customer=customer).first()
    return found or Wallet(
        organization_id=customer.organization_id,
        customer=customer,
        currency=customer.organization.currency,
        balance=Decimal("0.00"),
    )


def wallet_transactions(*, customer: Customer) -> QuerySet[WalletTransaction]:
    """The customer's wallet ledger, oldest movement first."""
    return (
        WalletTransaction.objects.filter(wallet__customer=customer)
        .select_related("invoice", "credit_note")
        .order_by("occurred_at", "id")
    )
