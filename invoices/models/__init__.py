"""Invoicing records, split by sub-domain; import them from here.

- ``invoicing``: settings, subscriptions, invoices and their lines, provider charges;
- ``commercial``: tax rates, customers' tax profiles, coupons and redemptions;
- ``collection``: credit notes, wallets and their transactions, payments, reminders.
"""

from invoices.models.collection import (
    CreditNote,
    CreditNoteLine,
    Payment,
    PaymentReminder,
    Wallet,
    WalletTransaction,
)
from invoices.models.commercial import (
    Coupon,
    CouponRedemption,
    CustomerTaxProfile,
    TaxRate,
    country_validator,
)
from invoices.models.invoicing import (
    Invoice,
    InvoiceLine,
    InvoiceNumberSequence,
    InvoicingSettings,
    ProviderCharge,
    Subscription,
    default_reminder_days,
)

__all__ = [
    "Coupon",
    "CouponRedemption",
    "CreditNote",
    "CreditNoteLine",
    "CustomerTaxProfile",
    "Invoice",
    "InvoiceLine",
    "InvoiceNumberSequence",
    "InvoicingSettings",
    "Payment",
    "PaymentReminder",
    "ProviderCharge",
    "Subscription",
    "TaxRate",
    "Wallet",
    "WalletTransaction",
    "country_validator",
    "default_reminder_days",
]
