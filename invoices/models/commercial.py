"""Commercial terms of invoicing: tax rates, customers' tax profiles, coupons and
their redemptions."""

from decimal import Decimal

from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Q

from billing_site.timestamps import TimeStampedModel
from metering.models import Customer, Organization, currency_validator

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
    # Days from issue to due date for this customer's invoices; empty: the
    # organization's ``InvoicingSettings.payment_terms_days``.
    payment_terms_days = models.PositiveIntegerField(null=True, blank=True)

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
