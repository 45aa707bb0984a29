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
from django.core.validators import MinValueValidator, RegexValidator
from django.db import models
from django.db.models import Q

from billing_site.errors import InvalidTransition
from billing_site.timestamps import TimeStampedModel
from invoices import documents, periods, rating
from metering.models import Customer, Organization, currency_validator
from pricing.models import BillingModel


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
    payment_terms_days = models.PositiveIntegerField(default=30)
    number_prefix = models.CharField(max_length=12, default="INV")

    class Meta:
        verbose_name = "invoicing settings"
        verbose_name_plural = "invoicing settings"
        constraints = [
            models.CheckConstraint(
                condition=Q(provider_markup_percent__gte=0),
                name="invoicing_settings_markup_non_negative",
            )
        ]

    def __str__(self) -> str:
        return f"Invoicing settings of {self.organization}"


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
    amount_due = models.DecimalField(max_digits=18, decimal_places=2, default=0)
    # Snapshot of the customer and billing model when the lines were rated.
    customer_name = models.CharField(max_length=200, blank=True)
    customer_external_id = models.CharField(max_length=128, blank=True)
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


class CreditNote(TimeStampedModel):
    """Cancels a finalized invoice in full; the invoice itself is kept, as void."""

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="credit_notes"
    )
    invoice = models.OneToOneField(
        Invoice, on_delete=models.PROTECT, related_name="credit_note"
    )
    number = models.CharField(max_length=32)
    amount = models.DecimalField(max_digits=18, decimal_places=2)
    currency = models.CharField(max_length=3)
    reason = models.CharField(max_length=300, blank=True)
    issued_at = models.DateTimeField()

    class Meta:
        ordering = ["-issued_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "number"], name="credit_note_unique_number"
            )
        ]

    def __str__(self) -> str:
        return self.number


country_validator = RegexValidator(
    r"^[A-Z]{2}$", "Use a two-letter ISO 3166-1 country code."
)


class TaxRate(TimeStampedModel):
    """A tax the organization charges (VAT, sales tax) in percent of an invoice's
    taxable amount; ``inclusive`` when prices already contain it.

    A customer's invoices carry the rates of its tax profile; without any, the
    organization's default rates (``is_default``) of the customer's country, and
    those without a country.
    """

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="tax_rates"
    )
    code = models.CharField(max_length=32)  # unique in the organization
    name = models.CharField(max_length=100)  # printed on the tax line: "VAT"
    # Percent of the taxable amount, 0 to 100 (20 = 20 %).
    rate_percent = models.DecimalField(max_digits=8, decimal_places=4)
    # Where the rate applies by default; blank: every country.
    country = models.CharField(max_length=2, blank=True, validators=[country_validator])
    inclusive = models.BooleanField(default=False)
    is_default = models.BooleanField(default=False)

    class Meta:
        ordering = ["code"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "code"], name="tax_rate_unique_code"
            ),
            models.CheckConstraint(
                condition=Q(rate_percent__gte=0, rate_percent__lte=100),
                name="tax_rate_percent_range",
            ),
        ]

    def __str__(self) -> str:
        kind = "inclusive" if self.inclusive else "exclusive"
        return f"{self.code}: {self.name} {self.rate_percent.normalize():f}% {kind}"


class CustomerTaxProfile(TimeStampedModel):
    """How a customer is taxed: its country, tax id, exemption and own rates.

    Invoicing's record of the customer rather than fields of ``Customer``: taxes
    are invoicing's concern and the rates are invoicing's ``TaxRate`` rows, which
    metering (below invoicing) may not import, so metering's customer stays
    unaware of them. The API edits it at ``/customers/{id}/tax-profile/``; a
    customer without a profile is taxed by the organization's default rates
    without a country.
    """

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="+"
    )
    customer = models.OneToOneField(
        Customer, on_delete=models.CASCADE, related_name="tax_profile"
    )
    country = models.CharField(max_length=2, blank=True, validators=[country_validator])
    tax_id = models.CharField(max_length=64, blank=True)  # e.g. a VAT number
    # Exempt customers' invoices carry no tax lines, whatever the rates.
    tax_exempt = models.BooleanField(default=False)
    # The customer's own rates; empty: the organization's defaults.
    tax_rates = models.ManyToManyField(TaxRate, blank=True, related_name="+")

    class Meta:
        ordering = ["customer"]

    def __str__(self) -> str:
        return f"Tax profile of {self.customer}"


class Coupon(TimeStampedModel):
    """A discount customers redeem: a percentage or an amount off their monthly
    invoices, for one period, a number of periods or for ever (see
    ``CouponRedemption``). ``times_redeemed`` is counted under a row lock by
    ``coupon_redeem`` and never exceeds ``max_redemptions``."""

    class Duration(models.TextChoices):
        ONCE = "once", "Once"
        REPEATING = "repeating", "For a number of periods"
        FOREVER = "forever", "Forever"

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="coupons"
    )
    code = models.CharField(max_length=64)  # unique in the organization
    name = models.CharField(max_length=200)
    # Exactly one of the two: percent of the eligible lines (0 < p <= 100), or
    # an amount in ``currency`` (the organization's).
    percent_off = models.DecimalField(
        max_digits=7, decimal_places=4, null=True, blank=True
    )
    amount_off = models.DecimalField(
        max_digits=18, decimal_places=2, null=True, blank=True
    )
    currency = models.CharField(
        max_length=3, blank=True, validators=[currency_validator]
    )
    duration = models.CharField(max_length=16, choices=Duration.choices)
    # Monthly periods a repeating coupon discounts, from the redemption's month.
    duration_in_periods = models.PositiveIntegerField(null=True, blank=True)
    max_redemptions = models.PositiveIntegerField(null=True, blank=True)
    times_redeemed = models.PositiveIntegerField(default=0, editable=False)
    expires_at = models.DateTimeField(null=True, blank=True)  # no redemption after
    # Operation codes whose charges the coupon discounts; empty: every charge.
    applies_to_operations = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["code"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "code"], name="coupon_unique_code"
            ),
            models.CheckConstraint(
                condition=(
                    Q(percent_off__isnull=False, amount_off__isnull=True)
                    & Q(percent_off__gt=0, percent_off__lte=100)
                )
                | (
                    Q(percent_off__isnull=True, amount_off__isnull=False)
                    & Q(amount_off__gt=0)
                    & ~Q(currency="")
                ),
                name="coupon_one_discount",
            ),
            models.CheckConstraint(
                condition=Q(duration="repeating", duration_in_periods__gte=1)
                | (~Q(duration="repeating") & Q(duration_in_periods__isnull=True)),
                name="coupon_periods_when_repeating",
            ),
            models.CheckConstraint(
                condition=Q(max_redemptions__isnull=True)
                | Q(times_redeemed__lte=models.F("max_redemptions")),
                name="coupon_redemptions_within_maximum",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code} ({self.name})"

    def clean(self) -> None:
        errors: dict[str, list[str]] = {}
        percent, amount = self.percent_off, self.amount_off
        if (percent is None) == (amount is None):
            errors["percent_off"] = ["Give exactly one of percent_off and amount_off."]
        elif percent is not None:
            if not Decimal(0) < percent <= Decimal(100):
                errors["percent_off"] = ["Must be more than 0 and at most 100."]
            if self.currency:
                errors["currency"] = ["Only with amount_off."]
        else:
            if amount <= 0:
                errors["amount_off"] = ["Must be more than 0."]
            if not self.currency:
                errors["currency"] = ["Required with amount_off."]
            elif self.organization_id and self.currency != self.organization.currency:
                errors["currency"] = [
                    "Must be the organization's currency, "
                    f"{self.organization.currency}."
                ]
        if self.duration == self.Duration.REPEATING:
            if not self.duration_in_periods:
                errors["duration_in_periods"] = ["Required for a repeating coupon."]
        elif self.duration_in_periods is not None:
            errors["duration_in_periods"] = ["Only for a repeating coupon."]
        if (
            self.max_redemptions is not None
            and self.max_redemptions < self.times_redeemed
        ):
            errors["max_redemptions"] = [
                f"Already redeemed {self.times_redeemed} time(s)."
            ]
        codes = self.applies_to_operations
        if not isinstance(codes, list) or not all(
            isinstance(code, str) and 0 < len(code) <= 100 for code in codes
        ):
            errors["applies_to_operations"] = ["A list of operation codes."]
        if errors:
            raise ValidationError(errors)


class CouponRedemption(TimeStampedModel):
    """A customer's use of a coupon: it discounts the customer's monthly invoices
    from ``first_period_start`` to ``last_period_start`` (both months included;
    empty: for ever), fixed when redeemed from the coupon's duration."""

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="+"
    )
    coupon = models.ForeignKey(
        Coupon, on_delete=models.PROTECT, related_name="redemptions"
    )
    customer = models.ForeignKey(
        Customer, on_delete=models.CASCADE, related_name="coupon_redemptions"
    )
    redeemed_at = models.DateTimeField()
    first_period_start = models.DateField()  # first day of the first month
    last_period_start = models.DateField(null=True, blank=True)

    class Meta:
        ordering = ["redeemed_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["coupon", "customer"], name="coupon_redemption_once"
            ),
            models.CheckConstraint(
                condition=Q(last_period_start__isnull=True)
                | Q(last_period_start__gte=models.F("first_period_start")),
                name="coupon_redemption_periods_ordered",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.coupon.code} for {self.customer}"
