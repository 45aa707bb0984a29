"""Collecting what issued invoices say: credit notes, prepaid credits (wallets),
payments and payment reminders.

Every movement of money is one row written once: a credit note and its lines, a
wallet transaction, a payment, a reminder. The running figures they change (an
invoice's ``amount_due``, a wallet's ``balance``) are updated in the same
transaction under a row lock and checked by database constraints, never
recomputed from the rows.
"""

from django.db import models
from django.db.models import Q

from billing_site.timestamps import TimeStampedModel
from invoices.models.invoicing import Invoice, InvoiceLine
from metering.models import Customer, Organization, currency_validator


class CreditNote(TimeStampedModel):
    """Credits part or all of an issued invoice; the invoice itself never changes
    beyond its lifecycle figures.

    ``amount`` (its lines plus their share of the invoice's tax) first reduces the
    invoice's ``amount_due`` (``applied_to_balance``); what the customer had already
    settled is refunded (``refunded_amount``) to its wallet or as a payment refund
    (``refund_to``). A ``void`` note credits everything not yet credited and voids
    the invoice.
    """

    class Kind(models.TextChoices):
        PARTIAL = "partial", "Partial credit"
        VOID = "void", "Void"

    class RefundTo(models.TextChoices):
        WALLET = "wallet", "Customer's wallet"
        PAYMENT = "payment", "Refund of payment"

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="credit_notes"
    )
    invoice = models.ForeignKey(
        Invoice, on_delete=models.PROTECT, related_name="credit_notes"
    )
    number = models.CharField(max_length=32)
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.VOID)
    # What is credited net of tax (the lines less their share of the invoice's
    # discounts), the tax on it, and their sum (``invoices.services.credit_notes``).
    subtotal = models.DecimalField(max_digits=18, decimal_places=2, default=0)
    tax_amount = models.DecimalField(max_digits=18, decimal_places=2, default=0)
    amount = models.DecimalField(max_digits=18, decimal_places=2)
    currency = models.CharField(max_length=3)
    applied_to_balance = models.DecimalField(max_digits=18, decimal_places=2, default=0)
    refunded_amount = models.DecimalField(max_digits=18, decimal_places=2, default=0)
    # Where ``refunded_amount`` went; blank when nothing was refunded.
    refund_to = models.CharField(max_length=16, choices=RefundTo.choices, blank=True)
    reason = models.CharField(max_length=300, blank=True)
    issued_at = models.DateTimeField()

    class Meta:
        ordering = ["-issued_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "number"], name="credit_note_unique_number"
            ),
            models.CheckConstraint(
                condition=Q(applied_to_balance__gte=0, refunded_amount__gte=0)
                & Q(
                    amount=models.F("applied_to_balance") + models.F("refunded_amount")
                ),
                name="credit_note_amount_split",
            ),
            models.CheckConstraint(
                condition=Q(refunded_amount=0) | ~Q(refund_to=""),
                name="credit_note_refund_has_destination",
            ),
        ]

    def __str__(self) -> str:
        return self.number


class CreditNoteLine(models.Model):
    """The part of one invoice line a credit note credits (net of tax). The
    lines of all notes on an invoice line never exceed its amount."""

    credit_note = models.ForeignKey(
        CreditNote, on_delete=models.CASCADE, related_name="lines"
    )
    invoice_line = models.ForeignKey(
        InvoiceLine, on_delete=models.PROTECT, related_name="credits"
    )
    description = models.CharField(max_length=300)  # the invoice line's
    amount = models.DecimalField(max_digits=18, decimal_places=2)

    class Meta:
        ordering = ["credit_note", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(amount__gt=0), name="credit_note_line_positive"
            ),
            models.UniqueConstraint(
                fields=["credit_note", "invoice_line"],
                name="credit_note_line_once_per_line",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.description}: {self.amount}"


class Wallet(TimeStampedModel):
    """A customer's prepaid credits, in the organization's currency.

    ``balance`` is the sum of what is left of the unexpired credits (the
    ``remaining`` of its top-ups and refunds); it never goes below zero.
    """

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="+"
    )
    customer = models.OneToOneField(
        Customer, on_delete=models.CASCADE, related_name="wallet"
    )
    currency = models.CharField(max_length=3, validators=[currency_validator])
    balance = models.DecimalField(max_digits=18, decimal_places=2, default=0)

    class Meta:
        ordering = ["customer"]
        constraints = [
            models.CheckConstraint(
                condition=Q(balance__gte=0), name="wallet_balance_non_negative"
            )
        ]

    def __str__(self) -> str:
        return f"Wallet of {self.customer}"


class WalletTransaction(models.Model):
    """One movement of a wallet, written once.

    Credits (``top_up``, ``refund``) carry a positive ``amount``, an optional
    expiry and ``remaining``, what is left of them to spend; spending takes from
    the credits that expire first. Debits (``applied`` to an invoice,
    ``expired``) carry a negative ``amount``. ``balance_after`` is the wallet's
    balance once the movement is made.
    """

    class Kind(models.TextChoices):
        TOP_UP = "top_up", "Top-up"
        REFUND = "refund", "Refund from a credit note"
        APPLIED = "applied", "Applied to an invoice"
        EXPIRED = "expired", "Expired"

    CREDITS = (Kind.TOP_UP, Kind.REFUND)

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="+"
    )
    wallet = models.ForeignKey(
        Wallet, on_delete=models.CASCADE, related_name="transactions"
    )
    kind = models.CharField(max_length=16, choices=Kind.choices)
    amount = models.DecimalField(max_digits=18, decimal_places=2)  # signed
    balance_after = models.DecimalField(max_digits=18, decimal_places=2)
    # Of a credit: left to spend (0 once spent or expired); 0 for debits.
    remaining = models.DecimalField(max_digits=18, decimal_places=2, default=0)
    paid = models.BooleanField(default=False)  # a top-up the customer paid for
    expires_at = models.DateTimeField(null=True, blank=True)  # of a credit
    invoice = models.ForeignKey(
        Invoice,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="wallet_transactions",
    )
    credit_note = models.ForeignKey(
        CreditNote,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="wallet_transactions",
    )
    occurred_at = models.DateTimeField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["wallet", "occurred_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=(
                    Q(kind__in=["top_up", "refund"], amount__gt=0)
                    & Q(remaining__gte=0, remaining__lte=models.F("amount"))
                )
                | Q(kind__in=["applied", "expired"], amount__lt=0, remaining=0),
                name="wallet_transaction_signed_by_kind",
            ),
            models.CheckConstraint(
                condition=Q(balance_after__gte=0),
                name="wallet_transaction_balance_non_negative",
            ),
        ]
        indexes = [
            # The credits left to spend, in expiry order.
            models.Index(
                fields=["wallet", "expires_at", "id"],
                condition=Q(remaining__gt=0),
                name="wallet_credits_left",
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.amount}"


class Payment(TimeStampedModel):
    """Money received for an invoice; ``reference`` (the payment provider's or
    the bank's) makes recording it idempotent."""

    class Source(models.TextChoices):
        API = "api", "API"
        PROVIDER = "provider", "Payment provider webhook"
        ADMIN = "admin", "Admin"

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="+"
    )
    invoice = models.ForeignKey(
        Invoice, on_delete=models.PROTECT, related_name="payments"
    )
    amount = models.DecimalField(max_digits=18, decimal_places=2)
    currency = models.CharField(max_length=3)
    paid_at = models.DateTimeField()
    reference = models.CharField(max_length=128)
    source = models.CharField(max_length=16, choices=Source.choices)

    class Meta:
        ordering = ["-paid_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "reference"], name="payment_unique_reference"
            ),
            models.CheckConstraint(
                condition=Q(amount__gt=0), name="payment_amount_positive"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.reference}: {self.amount} {self.currency}"


class PaymentReminder(models.Model):
    """An e-mail reminding a customer of an overdue invoice, sent once per
    configured day after the due date (``InvoicingSettings.reminder_days``)."""

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="+"
    )
    invoice = models.ForeignKey(
        Invoice, on_delete=models.PROTECT, related_name="reminders"
    )
    days_after_due = models.PositiveIntegerField()
    recipient = models.EmailField()
    sent_at = models.DateTimeField()

    class Meta:
        ordering = ["invoice", "days_after_due"]
        constraints = [
            models.UniqueConstraint(
                fields=["invoice", "days_after_due"], name="payment_reminder_once"
            )
        ]

    def __str__(self) -> str:
        return f"Reminder {self.days_after_due} d after due of {self.invoice}"
