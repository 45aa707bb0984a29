"""Bundle templates, per-operation list prices and personalised bundle offers."""

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q

from billing_site.decimals import plain_decimal
from billing_site.timestamps import TimeStampedModel
from metering.models import Customer, Organization


class BundleSettings(TimeStampedModel):
    """Per-organization knobs of bundle creation (defaults apply without a row)."""

    organization = models.OneToOneField(
        Organization, on_delete=models.CASCADE, related_name="bundle_settings"
    )
    # Minimum matching score of a template, 0..1.
    match_threshold = models.DecimalField(
        max_digits=5, decimal_places=4, default="0.5000"
    )
    # Headroom on predicted quantities of algorithmic lines, percent.
    quantity_margin_percent = models.DecimalField(
        max_digits=6, decimal_places=2, default="10.00"
    )
    # Most operation lines one bundle may hold.
    max_lines = models.PositiveSmallIntegerField(default=10)
    # Added on top of the discounted value of a bundle, percent.
    upsell_percent = models.DecimalField(max_digits=6, decimal_places=2, default="5.00")
    # Discount of lines no template covers, percent.
    algorithmic_discount_percent = models.DecimalField(
        max_digits=5, decimal_places=2, default="20.00"
    )
    # Length of a "session" validity, minutes.
    session_minutes = models.PositiveIntegerField(default=60)

    class Meta:
        verbose_name = "bundle settings"
        verbose_name_plural = "bundle settings"
        constraints = [
            models.CheckConstraint(
                condition=Q(match_threshold__gte=0, match_threshold__lte=1),
                name="bundle_settings_threshold_0_1",
            ),
            models.CheckConstraint(
                condition=Q(quantity_margin_percent__gte=0),
                name="bundle_settings_margin_non_negative",
            ),
            models.CheckConstraint(
                condition=Q(upsell_percent__gte=0),
                name="bundle_settings_upsell_non_negative",
            ),
            models.CheckConstraint(
                condition=Q(
                    algorithmic_discount_percent__gte=0,
                    algorithmic_discount_percent__lte=100,
                ),
                name="bundle_settings_algorithmic_discount_0_100",
            ),
            models.CheckConstraint(
                condition=Q(max_lines__gte=1), name="bundle_settings_max_lines_min_1"
            ),
            models.CheckConstraint(
                condition=Q(session_minutes__gte=1),
                name="bundle_settings_session_min_1",
            ),
        ]

    def __str__(self) -> str:
        return f"Bundle settings of {self.organization}"


class OperationPrice(TimeStampedModel):
    """List price of one operation when it is not bundled.

    One organization-wide price per operation, optionally overridden per customer.
    """

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="operation_prices"
    )
    # The operation's code (metering.Operation.code).
    operation = models.CharField(max_length=100)
    # Null: the organization-wide price; set: an override for that customer.
    customer = models.ForeignKey(
        Customer,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="operation_prices",
    )
    # Per operation unit, in the organization's currency.
    unit_price = models.DecimalField(max_digits=18, decimal_places=8)

    class Meta:
        ordering = ["operation", "customer_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "operation"],
                condition=Q(customer__isnull=True),
                name="operation_price_unique_per_org",
            ),
            models.UniqueConstraint(
                fields=["organization", "customer", "operation"],
                condition=Q(customer__isnull=False),
                name="operation_price_unique_per_customer",
            ),
            models.CheckConstraint(
                condition=Q(unit_price__gte=0), name="operation_price_non_negative"
            ),
        ]

    def __str__(self) -> str:
        who = f" for {self.customer}" if self.customer_id else ""
        return f"{self.operation} @ {plain_decimal(self.unit_price)}{who}"

    def clean(self) -> None:
        if self.unit_price is not None and self.unit_price < 0:
            raise ValidationError({"unit_price": ["Must be zero or more."]})
        if (
            self.customer_id
            and self.organization_id
            and self.customer.organization_id != self.organization_id
        ):
            raise ValidationError(
                {"customer": ["The customer belongs to another organization."]}
            )


class Validity(models.TextChoices):
    SESSION = "session", "Session"
    DAY = "day", "Day"
    WEEK = "week", "Week"
    MONTH = "month", "Month"
    CUSTOM = "custom", "Custom duration"


class BundleTemplate(TimeStampedModel):
    """An admin-defined bundle of operations that offers are built from."""

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="bundle_templates"
    )
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    # Percent off the list value of the included quantities, 0..100 ...
    discount_percent = models.DecimalField(
        max_digits=5, decimal_places=2, null=True, blank=True
    )
    # ... or a fixed price for the included quantities (not both).
    fixed_price = models.DecimalField(
        max_digits=18, decimal_places=2, null=True, blank=True
    )
    validity = models.CharField(
        max_length=16, choices=Validity.choices, default=Validity.MONTH
    )
    # Only for the custom validity.
    custom_duration = models.DurationField(null=True, blank=True)
    # [{"name": tag name pattern (fnmatch), "weight": number}]
    target_tags = models.JSONField(default=list, blank=True)
    # [{"name": segment name pattern (fnmatch), "weight": number}]
    target_segments = models.JSONField(default=list, blank=True)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "name"], name="bundle_template_unique_name"
            ),
            models.CheckConstraint(
                condition=Q(discount_percent__isnull=True)
                | Q(fixed_price__isnull=True),
                name="bundle_template_one_discount_kind",
            ),
            models.CheckConstraint(
                condition=Q(discount_percent__isnull=True)
                | Q(discount_percent__gte=0, discount_percent__lte=100),
                name="bundle_template_discount_0_100",
            ),
            models.CheckConstraint(
                condition=Q(fixed_price__isnull=True) | Q(fixed_price__gte=0),
                name="bundle_template_fixed_price_non_negative",
            ),
            models.CheckConstraint(
                condition=~Q(validity="custom") | Q(custom_duration__isnull=False),
                name="bundle_template_custom_needs_duration",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        if self.discount_percent is not None and self.fixed_price is not None:
            raise ValidationError(
                {"fixed_price": ["Give a discount percent or a fixed price, not both."]}
            )
        if self.discount_percent is not None and not (
            0 <= self.discount_percent <= 100
        ):
            raise ValidationError({"discount_percent": ["Must be between 0 and 100."]})
        if self.fixed_price is not None and self.fixed_price < 0:
            raise ValidationError({"fixed_price": ["Must be zero or more."]})
        if self.validity == Validity.CUSTOM and not self.custom_duration:
            raise ValidationError(
                {"custom_duration": ["A custom validity needs a duration."]}
            )
        if (
            self.custom_duration is not None
            and self.custom_duration.total_seconds() <= 0
        ):
            raise ValidationError({"custom_duration": ["Must be positive."]})


class BundleTemplateOperation(models.Model):
    """One operation a template covers."""

    template = models.ForeignKey(
        BundleTemplate, on_delete=models.CASCADE, related_name="operations"
    )
    # The operation's code (metering.Operation.code).
    operation = models.CharField(max_length=100)
    # Operation units included per validity period; null means unlimited.
    included_quantity = models.DecimalField(
        max_digits=20, decimal_places=6, null=True, blank=True
    )

    class Meta:
        ordering = ["operation"]
        verbose_name = "operation line"
        constraints = [
            models.UniqueConstraint(
                fields=["template", "operation"],
                name="bundle_template_operation_unique",
            ),
            models.CheckConstraint(
                condition=Q(included_quantity__isnull=True)
                | Q(included_quantity__gt=0),
                name="bundle_template_operation_quantity_positive",
            ),
        ]

    def __str__(self) -> str:
        quantity = (
            "unlimited"
            if self.included_quantity is None
            else plain_decimal(self.included_quantity)
        )
        return f"{self.operation} × {quantity}"

    def clean(self) -> None:
        if self.included_quantity is not None and self.included_quantity <= 0:
            raise ValidationError(
                {"included_quantity": ["Must be positive, or empty for unlimited."]}
            )


class PersonalizedBundle(TimeStampedModel):
    """A bundle offered to one customer for one validity period.

    ``offered`` -> ``accepted`` -> ``active`` -> ``expired``; ``offered`` ->
    ``declined`` or ``expired``. Only ``bundles.services`` changes the status.
    """

    class Status(models.TextChoices):
        OFFERED = "offered", "Offered"
        ACCEPTED = "accepted", "Accepted"
        DECLINED = "declined", "Declined"
        ACTIVE = "active", "Active"
        EXPIRED = "expired", "Expired"

    class Source(models.TextChoices):
        SCHEDULED = "scheduled", "Scheduled run"
        UPGRADE = "upgrade", "Upgrade offer"

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="+"
    )
    customer = models.ForeignKey(
        Customer, on_delete=models.CASCADE, related_name="bundles"
    )
    templates = models.ManyToManyField(
        BundleTemplate, blank=True, related_name="personalized_bundles"
    )
    source = models.CharField(
        max_length=16, choices=Source.choices, default=Source.SCHEDULED
    )
    # The validity period the offer belongs to, e.g. "month:2026-11"; with the
    # customer and source it makes a run idempotent.
    period_key = models.CharField(max_length=64)
    validity = models.CharField(max_length=16, choices=Validity.choices)
    status = models.CharField(
        max_length=16, choices=Status.choices, default=Status.OFFERED
    )
    currency = models.CharField(max_length=3)
    # Sum of included quantity x unit price (unlimited lines at predicted quantity).
    list_value = models.DecimalField(max_digits=18, decimal_places=2)
    discount = models.DecimalField(max_digits=18, decimal_places=2)
    upsell = models.DecimalField(max_digits=18, decimal_places=2)
    # list_value - discount + upsell.
    price = models.DecimalField(max_digits=18, decimal_places=2)
    # Pay-per-operation cost of the predicted use the bundle covers.
    predicted_cost = models.DecimalField(max_digits=18, decimal_places=2)
    # predicted_cost - price, always positive when offered.
    expected_saving = models.DecimalField(max_digits=18, decimal_places=2)
    valid_from = models.DateTimeField()
    # Exclusive.
    valid_until = models.DateTimeField()
    reasons = models.JSONField(default=dict, blank=True)
    accepted_at = models.DateTimeField(null=True, blank=True)
    declined_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-valid_from", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["customer", "period_key", "source"],
                name="personalized_bundle_unique_period",
            ),
            models.CheckConstraint(
                condition=Q(valid_until__gt=models.F("valid_from")),
                name="personalized_bundle_valid_range",
            ),
            models.CheckConstraint(
                condition=Q(price__gte=0), name="personalized_bundle_price_non_negative"
            ),
        ]
        indexes = [
            models.Index(
                fields=["customer", "status", "valid_until"],
                name="bundle_customer_status_idx",
            ),
            models.Index(
                fields=["organization", "status", "valid_until"],
                name="bundle_org_status_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"Bundle {self.pk} for {self.customer} ({self.status})"


class PersonalizedBundleLine(models.Model):
    """One operation of a personalised bundle, its quantity and list price."""

    class Source(models.TextChoices):
        TEMPLATE = "template", "From a template"
        ALGORITHMIC = "algorithmic", "From predictions"

    bundle = models.ForeignKey(
        PersonalizedBundle, on_delete=models.CASCADE, related_name="lines"
    )
    operation = models.CharField(max_length=100)
    # Operation units included over the validity; null means unlimited.
    included_quantity = models.DecimalField(
        max_digits=20, decimal_places=6, null=True, blank=True
    )
    # List price per unit at offer time, in the bundle's currency.
    unit_price = models.DecimalField(max_digits=18, decimal_places=8)
    # Predicted use over the validity when the offer was made, units.
    predicted_quantity = models.DecimalField(max_digits=20, decimal_places=6, default=0)
    source = models.CharField(
        max_length=16, choices=Source.choices, default=Source.TEMPLATE
    )
    template = models.ForeignKey(
        BundleTemplate, on_delete=models.SET_NULL, null=True, blank=True
    )

    class Meta:
        ordering = ["operation"]
        constraints = [
            models.UniqueConstraint(
                fields=["bundle", "operation"], name="bundle_line_unique_operation"
            )
        ]

    def __str__(self) -> str:
        quantity = (
            "unlimited"
            if self.included_quantity is None
            else plain_decimal(self.included_quantity)
        )
        return f"{self.operation} × {quantity}"


class BundleStatusChange(models.Model):
    """Audit row for each status change of a personalised bundle."""

    bundle = models.ForeignKey(
        PersonalizedBundle, on_delete=models.CASCADE, related_name="status_changes"
    )
    from_status = models.CharField(max_length=16, blank=True)
    to_status = models.CharField(max_length=16)
    at = models.DateTimeField()
    # Who made the change: "portal:<username>", "api:<key prefix>", "system".
    actor = models.CharField(max_length=150)

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.bundle_id}: {self.from_status} → {self.to_status}"
