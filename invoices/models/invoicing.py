"""Invoicing records: subscriptions, provider charges, invoices and their lines.

An invoice is a snapshot: its lines copy the quantities, prices and descriptions that
produced them, so later price or catalogue edits never change an issued document.
Once an invoice leaves ``draft`` it is immutable: ``save()`` refuses changes other
than its state transitions, its lines refuse writes, and on PostgreSQL triggers
(migrations 0002 to 0008) refuse the same through bulk queries. What a rating writes
onto an invoice and its lines is declared in ``invoices.documents``.
"""

from decimal import Decimal

from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q

from billing_site.errors import InvalidTransition
from billing_site.timestamps import TimeStampedModel
from invoices import documents, periods, rating
from metering import webhook_signing
from metering.models import Customer, Organization, currency_validator
from pricing.models import BillingModel


def default_reminder_days() -> list[int]:
    return [1, 7, 14]


class InvoicingSettings(TimeStampedModel):
    """Per-organization invoicing options (defaults apply without a row)."""

    organization = models.OneToOneField(
        Organization, on_delete=models.CASCADE, related_name="invoicing_settings"
    )
    # Hours after a period closes during which its invoices stay draft.
    grace_hours = models.PositiveIntegerField(default=24)
    # Added to provider charges, in percent (12.5 = +12.5%).
    provider_markup_percent = models.DecimalField(
        max_digits=7, decimal_places=4, default=Decimal("0"),
        validators=[MinValueValidator(Decimal("0"))],
    )  # fmt: skip
    # Units of one operation used outside bundles in a period above which the
    # customer is offered a bundle upgrade; empty disables offers.
    upgrade_offer_units = models.DecimalField(
        max_digits=24, decimal_places=6, null=True, blank=True
    )
    # Days from issue to due date; a customer's tax profile may set its own.
    payment_terms_days = models.PositiveIntegerField(default=30)
    number_prefix = models.CharField(max_length=12, default="INV")
    # Days after the due date on which an unpaid invoice's customer is reminded
    # by e-mail, ascending (each reminder is sent once, see ``PaymentReminder``).
    reminder_days = models.JSONField(default=default_reminder_days, blank=True)
    # Shared secret of the payment provider's signed webhook (inbound payments);
    # empty: the endpoint refuses every request.
    payment_webhook_secret = models.CharField(max_length=200, blank=True)
    # The wallet balance under which ``wallet.low_balance`` is emitted.
    wallet_low_balance = models.DecimalField(
        max_digits=18, decimal_places=2, null=True, blank=True
    )

    class Meta:
        verbose_name = "invoicing settings"
        verbose_name_plural = "invoicing settings"
        constraints = [
            models.CheckConstraint(
                condition=Q(provider_markup_percent__gte=0),
                name="invoicing_settings_markup_non_negative",
            ),
            models.CheckConstraint(
                condition=Q(wallet_low_balance__isnull=True)
                | Q(wallet_low_balance__gte=0),
                name="invoicing_settings_low_balance_non_negative",
            ),
        ]

    def __str__(self) -> str:
        return f"Invoicing settings of {self.organization}"

    def clean(self) -> None:
        days = self.reminder_days
        if not isinstance(days, list) or not all(
            isinstance(day, int) and not isinstance(day, bool) and 0 <= day <= 365
            for day in days
        ):
            raise ValidationError(
                {"reminder_days": ["A list of whole days from 0 to 365."]}
            )
        if days != sorted(set(days)):
            raise ValidationError(
                {"reminder_days": ["Days must be ascending, each once."]}
            )
        secret = self.payment_webhook_secret
        if secret and (problem := webhook_signing.secret_key_problem(secret)):
            raise ValidationError({"payment_webhook_secret": [problem]})


class Subscription(TimeStampedModel):
    """A customer's assignment to a billing model, for a number of agents.

    Subscriptions that split a month are billed their fixed fees prorated, and the
    one in force at the month's end rates its usage (``invoices.rating``); a new
    subscription ends the customer's open one. A customer's
    subscriptions never overlap in time, so at most one is open: on PostgreSQL an
    exclusion constraint (migration 0006) enforces it against concurrent requests.
    """

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="subscriptions"
    )
    customer = models.ForeignKey(
        Customer, on_delete=models.CASCADE, related_name="subscriptions"
    )
    billing_model = models.ForeignKey(
        BillingModel, on_delete=models.PROTECT, related_name="subscriptions"
    )
    agents = models.PositiveIntegerField(default=0)
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField(null=True, blank=True)  # exclusive; empty = open

    class Meta:
        ordering = ["customer", "-starts_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_at__isnull=True)
                | Q(ends_at__gt=models.F("starts_at")),
                name="subscription_ends_after_start",
            )
        ]
        indexes = [models.Index(fields=["organization", "customer", "starts_at"])]

    def __str__(self) -> str:
        return f"{self.customer} on {self.billing_model}"


class InvoiceNumberSequence(models.Model):
    """The last number handed out per organization and document kind (gap-free)."""

    class Kind(models.TextChoices):
        INVOICE = "invoice", "Invoice"
        CREDIT_NOTE = "credit_note", "Credit note"

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="+"
    )
    kind = models.CharField(max_length=16, choices=Kind.choices)
    last_value = models.PositiveBigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "kind"], name="invoice_sequence_unique_kind"
            )
        ]

    def __str__(self) -> str:
        return f"{self.organization_id} {self.kind}: {self.last_value}"


class Invoice(TimeStampedModel):
    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        FINALIZED = "finalized", "Finalized"
        OVERDUE = "overdue", "Overdue"  # finalized, unpaid after its due date
        PAID = "paid", "Paid"
        VOID = "void", "Void"

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="invoices"
    )
    customer = models.ForeignKey(
        Customer, on_delete=models.PROTECT, related_name="invoices"
    )
    frequency = models.CharField(max_length=16, choices=periods.FREQUENCY_CHOICES)
    period_start = models.DateField()
    period_end = models.DateField()  # last day of the period, inclusive
    currency = models.CharField(max_length=3, validators=[currency_validator])
    status = models.CharField(
        max_length=16, choices=Status.choices, default=Status.DRAFT
    )
    # Assigned at finalization from the organization's gap-free sequence.
    number = models.CharField(max_length=32, blank=True)
    # The figures of ``invoices.rating.Rating``: charges net of included tax,
    # discounts (positive), every tax line, the total and what the customer owes.
    subtotal = models.DecimalField(max_digits=18, decimal_places=2, default=0)
    discount_total = models.DecimalField(max_digits=18, decimal_places=2, default=0)
    tax_total = models.DecimalField(max_digits=18, decimal_places=2, default=0)
    total = models.DecimalField(max_digits=18, decimal_places=2, default=0)
    # What the customer owes: the total less wallet credits applied at
    # finalization, payments and the part of credit notes that reduced it
    # (``amount_due = total - credits_applied - amount_paid - amount_credited``,
    # a database constraint). A draft's is its total.
    amount_due = models.DecimalField(max_digits=18, decimal_places=2, default=0)
    credits_applied = models.DecimalField(
        max_digits=18, decimal_places=2, default=0, db_default=0
    )
    amount_paid = models.DecimalField(
        max_digits=18, decimal_places=2, default=0, db_default=0
    )
    amount_credited = models.DecimalField(
        max_digits=18, decimal_places=2, default=0, db_default=0
    )
    # Snapshot of the customer and billing model when the lines were rated.
    customer_name = models.CharField(max_length=200, blank=True)
    customer_external_id = models.CharField(max_length=128, blank=True)
    # The customer's tax profile when rated: their tax id (a VAT number, say)
    # and country, as the document must state them.
    customer_tax_id = models.CharField(
        max_length=64, blank=True, default="", db_default=""
    )
    customer_country = models.CharField(
        max_length=2, blank=True, default="", db_default=""
    )
    billing_model_name = models.CharField(max_length=200, blank=True)
    # BLAKE2b-128 (hex) of the lines as written; a refreshed draft whose lines
    # rate the same keeps them instead of rewriting them.
    lines_digest = models.CharField(max_length=32, blank=True)
    rated_at = models.DateTimeField(null=True, blank=True)
    issued_on = models.DateField(null=True, blank=True)
    due_on = models.DateField(null=True, blank=True)
    finalized_at = models.DateTimeField(null=True, blank=True)
    paid_at = models.DateTimeField(null=True, blank=True)
    voided_at = models.DateTimeField(null=True, blank=True)
    overdue_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-period_start", "customer_name", "id"]
        permissions = [
            ("finalize_invoice", "Can finalize invoices"),
            ("void_invoice", "Can void invoices"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["customer", "frequency", "period_start"],
                condition=~Q(status="void"),
                name="invoice_one_per_customer_period",
            ),
            models.UniqueConstraint(
                fields=["organization", "number"],
                condition=~Q(number=""),
                name="invoice_unique_number",
            ),
            models.CheckConstraint(
                condition=Q(status="draft") | ~Q(number=""),
                name="invoice_number_once_issued",
            ),
            models.CheckConstraint(
                condition=Q(period_end__gte=models.F("period_start")),
                name="invoice_period_ordered",
            ),
            models.CheckConstraint(
                condition=Q(credits_applied__gte=0, amount_paid__gte=0)
                & Q(amount_credited__gte=0)
                & Q(
                    amount_due=models.F("total")
                    - models.F("credits_applied")
                    - models.F("amount_paid")
                    - models.F("amount_credited")
                ),
                name="invoice_amount_due_balances",
            ),
        ]
        indexes = [
            models.Index(fields=["organization", "status", "period_start"]),
        ]

    def __str__(self) -> str:
        return self.number or f"Draft {self.customer_external_id} {self.period_label}"

    # Once issued, only these columns change, and only through the lifecycle services.
    LIFECYCLE_FIELDS = documents.LIFECYCLE_FIELDS

    def save(self, *args, **kwargs):
        if not self._state.adding and self.pk:
            stored = (
                Invoice.objects.filter(pk=self.pk)
                .values_list("status", flat=True)
                .first()
            )
            update_fields = kwargs.get("update_fields")
            if stored not in (None, self.Status.DRAFT) and (
                update_fields is None or not set(update_fields) <= self.LIFECYCLE_FIELDS
            ):
                name = self.number or self.pk
                raise InvalidTransition(
                    f"invoice {name} is {stored} and cannot be edited", field="status"
                )
        super().save(*args, **kwargs)

    @property
    def period(self) -> periods.Period:
        return periods.Period(self.frequency, self.period_start)

    @property
    def period_label(self) -> str:
        return self.period.label

    @property
    def is_editable(self) -> bool:
        return self.status == self.Status.DRAFT

    @property
    def is_open(self) -> bool:
        """Issued and not settled: payments, credits and reminders apply."""
        return self.status in (self.Status.FINALIZED, self.Status.OVERDUE)


class InvoiceLine(models.Model):
    """One line of an invoice.

    Invoicing writes hundreds of thousands of lines per period, so the table has no
    per-row work on insert: no foreign key constraints (each fires a trigger per
    row) and no index beyond the unique ``(invoice, position)``, which also serves
    lookups by invoice. Statement-level triggers (migration 0003) check instead, once
    per statement, that the lines belong to existing draft invoices, and refuse to
    delete an invoice that still has lines.
    """

    invoice = models.ForeignKey(
        Invoice,
        on_delete=models.CASCADE,
        related_name="lines",
        db_constraint=False,
        db_index=False,
    )
    Kind = rating.LineKind

    position = models.PositiveIntegerField()  # order on the document, from 1
    kind = models.CharField(max_length=32, choices=Kind.choices)
    description = models.CharField(max_length=300)
    # Units, uses or agents the line prices; empty for adjustments.
    quantity = models.DecimalField(
        max_digits=30, decimal_places=6, null=True, blank=True
    )
    unit_price = models.DecimalField(
        max_digits=24, decimal_places=8, null=True, blank=True
    )
    amount = models.DecimalField(max_digits=18, decimal_places=2)
    # Sources: the operation / activity type priced and the record behind the line
    # ("bundle:3", "provider_charge:9", "invoice:41" for an adjustment).
    operation = models.CharField(max_length=100, blank=True)
    activity_type = models.CharField(max_length=100, blank=True)
    reference = models.CharField(max_length=200, blank=True)
    # For late-usage adjustments: the finalized invoice being corrected.
    adjusts_invoice = models.ForeignKey(
        Invoice,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="adjustment_lines",
        db_constraint=False,
        db_index=False,
    )

    class Meta:
        ordering = ["invoice", "position"]
        constraints = [
            models.UniqueConstraint(
                fields=["invoice", "position"], name="invoice_line_unique_position"
            )
        ]
        indexes = [
            # Only adjustment lines have one; the others cost the index nothing.
            models.Index(
                fields=["adjusts_invoice"],
                condition=Q(adjusts_invoice__isnull=False),
                name="invoice_line_adjusts",
            )
        ]

    def __str__(self) -> str:
        return f"{self.description}: {self.amount}"

    def save(self, *args, **kwargs):
        self._refuse_unless_draft()
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        self._refuse_unless_draft()
        return super().delete(*args, **kwargs)

    def _refuse_unless_draft(self) -> None:
        status = (
            Invoice.objects.filter(pk=self.invoice_id)
            .values_list("status", flat=True)
            .first()
        )
        if status not in (None, Invoice.Status.DRAFT):
            raise InvalidTransition(
                f"invoice {self.invoice_id} is {status}; its lines cannot change",
                field="lines",
            )


class ProviderCharge(TimeStampedModel):
    """A service provider's network charge, passed through to the customer.

    Billed on the monthly invoice of its period (or the next one generated when that
    invoice was already finalized); ``invoice`` records where it was billed.
    """

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="provider_charges"
    )
    customer = models.ForeignKey(
        Customer, on_delete=models.CASCADE, related_name="provider_charges"
    )
    provider = models.CharField(max_length=100)
    period_start = models.DateField()  # first day of the month charged for
    amount = models.DecimalField(max_digits=18, decimal_places=2)  # before markup
    description = models.CharField(max_length=300, blank=True)
    # The provider's identifier of the charge; imports skip ones already stored.
    external_ref = models.CharField(max_length=128, blank=True)
    invoice = models.ForeignKey(
        Invoice,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="provider_charges",
    )

    class Meta:
        ordering = ["-period_start", "customer", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "provider", "external_ref"],
                condition=~Q(external_ref=""),
                name="provider_charge_unique_ref",
            )
        ]

    def __str__(self) -> str:
        return f"{self.provider} {self.period_start:%Y-%m}: {self.amount}"

    def clean(self) -> None:
        # Billing attaches a charge to its invoice while the invoice is a draft; a
        # finalized invoice is an issued document that no charge may join.
        if self.invoice_id is None:
            return
        attached = (
            ProviderCharge.objects.filter(pk=self.pk)
            .values_list("invoice_id", flat=True)
            .first()
            if self.pk
            else None
        )
        if attached != self.invoice_id and self.invoice.status != Invoice.Status.DRAFT:
            raise ValidationError(
                {"invoice": [f"Invoice {self.invoice} is finalized: no more charges."]}
            )
