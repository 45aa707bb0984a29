"""Billing models, their activity pricing and the ordered price tiers.

The seed's ``volume_tier_N_threshold`` / ``volume_tier_N_price`` fields are not columns:
they are a view onto the first three ``PriceTier`` rows (``up_to`` / ``unit_price`` at
positions 1-3), mapped by ``pricing.shapes`` in both directions, so the flattened and
the nested API describe the same rows.
"""

from decimal import Decimal

from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator, RegexValidator
from django.db import models
from django.db.models import Q

from billing_site.timestamps import TimeStampedModel
from metering.models import Organization

activity_type_validator = RegexValidator(
    r"^[a-z0-9][a-z0-9_.-]*$",
    "Use lower-case letters, digits and _ . - (for example 'tokens').",
)
non_negative = MinValueValidator(Decimal(0), "Must not be negative.")


class BillingModel(TimeStampedModel):
    """How an organization charges: a subscription, activities, or both (hybrid).

    Amounts are in the organization's currency.
    """

    class ModelType(models.TextChoices):
        ACTIVITY = "activity", "Activity-based"
        SUBSCRIPTION = "subscription", "Subscription"
        HYBRID = "hybrid", "Hybrid (subscription + activities)"

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="billing_models"
    )
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    model_type = models.CharField(
        max_length=16, choices=ModelType.choices, default=ModelType.ACTIVITY
    )
    is_active = models.BooleanField(default=True)
    # Flat fee per billing period; only subscription and hybrid models carry one.
    subscription_fee = models.DecimalField(
        max_digits=18, decimal_places=2, default=Decimal("0.00"),
        validators=[non_negative],
    )  # fmt: skip

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "name"], name="billing_model_unique_name"
            ),
            models.CheckConstraint(
                condition=Q(subscription_fee__gte=0),
                name="billing_model_subscription_fee_non_negative",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def currency(self) -> str:
        return self.organization.currency

    def clean(self) -> None:
        if self.model_type == self.ModelType.ACTIVITY and self.subscription_fee:
            raise ValidationError(
                {
                    "subscription_fee": [
                        "Only subscription and hybrid models carry a subscription fee."
                    ]
                }
            )


class ActivityBasedConfig(TimeStampedModel):
    """The price of one activity type within a billing model."""

    class UnitType(models.TextChoices):
        ACTION = "action", "Action"
        TOKEN = "token", "Token"
        MINUTE = "minute", "Minute"
        REQUEST = "request", "Request"
        QUERY = "query", "Query"
        COMPLETION = "completion", "Completion"
        DOCUMENT = "document", "Document"

    class TierMode(models.TextChoices):
        GRADUATED = "graduated", "Graduated (each unit in its own tier)"
        VOLUME = "volume", "Volume (all units at the tier reached)"

    class BillingFrequency(models.TextChoices):
        MONTHLY = "monthly", "Monthly"
        DAILY = "daily", "Daily"
        PER_USE = "per_use", "Per use"

    billing_model = models.ForeignKey(
        BillingModel, on_delete=models.CASCADE, related_name="activity_configs"
    )
    # Free code of what is counted, matching usage events ("tokens", "api_calls").
    activity_type = models.CharField(
        max_length=64, validators=[activity_type_validator]
    )
    unit_type = models.CharField(
        max_length=16, choices=UnitType.choices, default=UnitType.ACTION
    )
    # Price of a unit above the last tier threshold (or of every unit without tiers).
    price_per_unit = models.DecimalField(
        max_digits=18, decimal_places=8, validators=[non_negative]
    )
    # Charged per agent per billing period, whatever the usage.
    base_agent_fee = models.DecimalField(
        max_digits=18, decimal_places=2, default=Decimal("0.00"),
        validators=[non_negative],
    )  # fmt: skip
    volume_pricing_enabled = models.BooleanField(default=False)
    tier_mode = models.CharField(
        max_length=16, choices=TierMode.choices, default=TierMode.GRADUATED
    )
    # Floor of this activity's charge per billing period (usage + agent fees).
    minimum_charge = models.DecimalField(
        max_digits=18, decimal_places=2, default=Decimal("0.00"),
        validators=[non_negative],
    )  # fmt: skip
    billing_frequency = models.CharField(
        max_length=16,
        choices=BillingFrequency.choices,
        default=BillingFrequency.MONTHLY,
    )
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["billing_model", "activity_type"]
        verbose_name = "activity pricing"
        verbose_name_plural = "activity pricing"
        constraints = [
            models.UniqueConstraint(
                fields=["billing_model", "activity_type"],
                name="activity_config_unique_type_per_model",
            ),
            models.CheckConstraint(
                condition=Q(price_per_unit__gte=0)
                & Q(base_agent_fee__gte=0)
                & Q(minimum_charge__gte=0),
                name="activity_config_prices_non_negative",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.billing_model.name}: {self.activity_type}"


class PriceTier(models.Model):
    """One band of an activity's tiered price, ordered by ``position``.

    The tier covers the units above the previous tier's ``up_to`` and up to its own.
    """

    config = models.ForeignKey(
        ActivityBasedConfig, on_delete=models.CASCADE, related_name="tiers"
    )
    position = models.PositiveSmallIntegerField()  # 1 = first tier
    # Inclusive upper bound in units; null = open-ended (last tier only).
    up_to = models.DecimalField(max_digits=24, decimal_places=6, null=True, blank=True)
    unit_price = models.DecimalField(
        max_digits=18, decimal_places=8, validators=[non_negative]
    )
    # Charged once when usage enters the tier (graduated) or reaches it (volume).
    flat_fee = models.DecimalField(
        max_digits=18, decimal_places=2, default=Decimal("0.00"),
        validators=[non_negative],
    )  # fmt: skip

    class Meta:
        ordering = ["config", "position"]
        constraints = [
            models.UniqueConstraint(
                fields=["config", "position"], name="price_tier_unique_position"
            ),
            models.CheckConstraint(
                condition=Q(unit_price__gte=0) & Q(flat_fee__gte=0),
                name="price_tier_prices_non_negative",
            ),
            models.CheckConstraint(
                condition=Q(up_to__isnull=True) | Q(up_to__gt=0),
                name="price_tier_up_to_positive",
            ),
        ]

    def __str__(self) -> str:
        bound = "∞" if self.up_to is None else f"{self.up_to.normalize():f}"
        return f"tier {self.position} up to {bound} @ {self.unit_price.normalize():f}"

    @property
    def is_open_ended(self) -> bool:
        return self.up_to is None

    def clean(self) -> None:
        if self.up_to is not None and self.up_to <= 0:
            raise ValidationError({"up_to": ["Must be a positive number of units."]})
