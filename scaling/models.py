"""Proactive scaling: resource metrics, business signals, forecasts, feature bundles,
recommendations, per-account policies and the provisioned entitlements.

Metric and signal values are measurements (GB, hours, requests), not money, and are
stored as floats; every price and cost is a ``Decimal`` in the organization's currency.
"""

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.models import Q

from billing_site.decimals import plain_decimal
from billing_site.timestamps import TimeStampedModel
from billing_site.webhooks import webhook_secret_check
from metering.models import Customer, Organization
from scaling import calendars

code_validator = RegexValidator(
    r"^[a-z][a-z0-9_]{0,63}$", "Use lower-case letters, digits and underscores."
)


class ResourceKind(models.TextChoices):
    """Resource kinds the dashboard knows by name; any other code is accepted too."""

    BANDWIDTH_GB = "bandwidth_gb", "Bandwidth (GB)"
    STORAGE_GB = "storage_gb", "Storage (GB)"
    COMPUTE_HOURS = "compute_hours", "Compute (hours)"


class ResourceMetric(models.Model):
    """One measurement of a resource used by an account (hourly or daily points)."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE)
    customer = models.ForeignKey(
        Customer, on_delete=models.CASCADE, related_name="resource_metrics"
    )
    # A ResourceKind value or any other lower-case code ("gpu_hours").
    resource = models.CharField(max_length=64, validators=[code_validator])
    timestamp = models.DateTimeField()
    # Units of the resource used in the step that starts at ``timestamp``.
    value = models.FloatField(validators=[MinValueValidator(0.0)])
    # Computed by the platform (bandwidth from metered data volume) rather than
    # measured and sent by the integration. A measured point always wins: it
    # replaces a derived one, and derivation never overwrites it.
    derived = models.BooleanField(default=False, db_default=False)

    class Meta:
        ordering = ["customer", "resource", "timestamp"]
        constraints = [
            models.UniqueConstraint(
                fields=["customer", "resource", "timestamp"],
                name="resource_metric_unique_point",
            ),
            models.CheckConstraint(
                condition=Q(value__gte=0), name="resource_metric_value_non_negative"
            ),
        ]
        indexes = [models.Index(fields=["organization", "resource"])]

    def __str__(self) -> str:
        return f"{self.customer_id}/{self.resource}@{self.timestamp:%Y-%m-%d %H:%M}"


class BusinessSignal(models.Model):
    """A business series (sales, inventory, traffic, competitor activity).

    Signals of an account, or of the whole organization when ``customer`` is empty,
    feed Prophet as extra regressors when they cover the forecast horizon.
    """

    class Kind(models.TextChoices):
        SALES = "sales", "Sales"
        INVENTORY = "inventory", "Inventory level"
        TRAFFIC = "traffic", "Website traffic"
        COMPETITOR = "competitor", "Competitor activity"

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE)
    customer = models.ForeignKey(
        Customer, on_delete=models.CASCADE, null=True, blank=True
    )
    kind = models.CharField(max_length=64, validators=[code_validator])
    timestamp = models.DateTimeField()
    value = models.FloatField()

    class Meta:
        ordering = ["kind", "timestamp"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "customer", "kind", "timestamp"],
                name="business_signal_unique_point",
                nulls_distinct=False,
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind}@{self.timestamp:%Y-%m-%d %H:%M}"


class Campaign(TimeStampedModel):
    """A scheduled marketing campaign or launch; a holiday window for forecasting."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE)
    # Empty: the campaign concerns every account of the organization.
    customer = models.ForeignKey(
        Customer, on_delete=models.CASCADE, null=True, blank=True
    )
    name = models.CharField(max_length=200)
    start = models.DateTimeField()
    end = models.DateTimeField()  # exclusive
    # Expected relative change of demand inside the window: 0.30 means +30 %.
    expected_lift = models.FloatField(
        default=0.0, validators=[MinValueValidator(-1.0), MaxValueValidator(100.0)]
    )

    class Meta:
        ordering = ["start"]
        constraints = [
            models.CheckConstraint(
                condition=Q(end__gt=models.F("start")), name="campaign_end_after_start"
            )
        ]

    def __str__(self) -> str:
        return self.name


class FeatureBundle(TimeStampedModel):
    """A plan: capacities per resource, features and a dynamically computed price.

    Monthly price = ``base_price`` + sum over capacities of capacity x unit price,
    rounded once (see ``scaling.recommending.bundle_monthly_price``).
    """

    class Segment(models.TextChoices):
        STARTUP = "startup", "Startup"
        GROWTH = "growth", "Growth"
        ENTERPRISE = "enterprise", "Enterprise"

    class Feature(models.TextChoices):
        CDN = "cdn", "CDN integration"
        ADVANCED_ANALYTICS = "advanced_analytics", "Advanced analytics"
        PRIORITY_SUPPORT = "priority_support", "Priority support"

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="feature_bundles"
    )
    name = models.CharField(max_length=100)
    segment = models.CharField(
        max_length=20, choices=Segment.choices, default=Segment.STARTUP
    )
    description = models.TextField(blank=True)
    # Feature codes (Feature values or any other code).
    features = models.JSONField(default=list, blank=True)
    base_price = models.DecimalField(max_digits=18, decimal_places=2)  # per month
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["organization", "base_price", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "name"], name="feature_bundle_unique_name"
            ),
            models.CheckConstraint(
                condition=Q(base_price__gte=0), name="feature_bundle_price_non_negative"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class BundleCapacity(models.Model):
    """The capacity of one resource in a bundle and what each unit adds to its price."""

    bundle = models.ForeignKey(
        FeatureBundle, on_delete=models.CASCADE, related_name="capacities"
    )
    resource = models.CharField(max_length=64, validators=[code_validator])
    # Units per step of the resource's series (GB per day, compute hours per hour).
    capacity = models.DecimalField(max_digits=18, decimal_places=4)
    unit_price = models.DecimalField(max_digits=18, decimal_places=8)  # per month

    class Meta:
        ordering = ["bundle", "resource"]
        verbose_name_plural = "bundle capacities"
        constraints = [
            models.UniqueConstraint(
                fields=["bundle", "resource"], name="bundle_capacity_unique_resource"
            ),
            models.CheckConstraint(
                condition=Q(capacity__gt=0) & Q(unit_price__gte=0),
                name="bundle_capacity_positive",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.bundle}: {plain_decimal(self.capacity)} {self.resource}"


class Forecast(models.Model):
    """One forecast run of a (customer, resource) series, with its backtest scores."""

    class State(models.TextChoices):
        OK = "ok", "OK"
        NOT_ENOUGH_HISTORY = "not_enough_history", "Not enough history"

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE)
    customer = models.ForeignKey(
        Customer, on_delete=models.CASCADE, related_name="forecasts"
    )
    resource = models.CharField(max_length=64)
    generated_at = models.DateTimeField()
    state = models.CharField(max_length=20, choices=State.choices)
    message = models.CharField(max_length=300, blank=True)
    model = models.CharField(max_length=40, blank=True)
    step_seconds = models.PositiveIntegerField(null=True)
    horizon = models.PositiveIntegerField(default=0)  # steps of the series
    history_points = models.PositiveIntegerField(default=0)
    # Rolling-origin backtest of the chosen model and of the seasonal-naive baseline.
    mase = models.FloatField(null=True)
    smape = models.FloatField(null=True)  # percent, 0-200
    coverage_80 = models.FloatField(null=True)  # fraction of actuals inside the band
    coverage_95 = models.FloatField(null=True)
    baseline_mase = models.FloatField(null=True)
    baseline_smape = models.FloatField(null=True)
    # Candidate name -> {"mase", "smape"}, for the accuracy table.
    candidates = models.JSONField(default=dict, blank=True)
    # [{"timestamp", "yhat", "lower_80", "upper_80", "lower_95", "upper_95"}, ...]
    points = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["-generated_at", "-id"]
        get_latest_by = "generated_at"
        indexes = [
            models.Index(
                fields=["customer", "resource", "-generated_at"],
                name="forecast_latest_idx",
            )
        ]

    def __str__(self) -> str:
        return f"{self.customer_id}/{self.resource} {self.generated_at:%Y-%m-%d %H:%M}"


class ScalingPolicy(TimeStampedModel):
    """How an account is scaled. Without a row the defaults below apply."""

    class Provisioner(models.TextChoices):
        ENTITLEMENT = "entitlement", "Record the entitlement"
        WEBHOOK = "webhook", "Call the account's webhook"

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE)
    customer = models.OneToOneField(
        Customer, on_delete=models.CASCADE, related_name="scaling_policy"
    )
    # Off (forecast-only): recommendations are shown and wait for a person's approval.
    auto_approve = models.BooleanField(default=False)
    # Recommendations need at least this confidence (0-1) to be made at all ...
    min_confidence = models.FloatField(
        default=0.5, validators=[MinValueValidator(0.0), MaxValueValidator(1.0)]
    )
    # ... and at least this one to be approved automatically.
    auto_approve_confidence = models.FloatField(
        default=0.8, validators=[MinValueValidator(0.0), MaxValueValidator(1.0)]
    )
    # Largest monthly price increase an automatic approval may make.
    max_monthly_increase = models.DecimalField(
        max_digits=18, decimal_places=2, default=0
    )
    # Revenue lost per unit of demand beyond the saturation point.
    revenue_per_unit = models.DecimalField(max_digits=18, decimal_places=8, default=1)
    # Utilisation (fraction of capacity) above which performance starts to suffer.
    saturation_utilisation = models.FloatField(
        default=0.9, validators=[MinValueValidator(0.1), MaxValueValidator(1.0)]
    )
    provisioner = models.CharField(
        max_length=20, choices=Provisioner.choices, default=Provisioner.ENTITLEMENT
    )
    webhook_url = models.URLField(blank=True)
    webhook_secret = models.CharField(max_length=128, blank=True)
    # ISO 3166 code whose public holidays shape the forecasts ("US", "DE"); optional.
    holiday_country = models.CharField(max_length=2, blank=True)

    class Meta:
        verbose_name_plural = "scaling policies"

    def __str__(self) -> str:
        return f"Scaling policy of {self.customer}"

    def clean(self) -> None:
        webhook_secret_check(url=self.webhook_url, secret=self.webhook_secret)
        if self.holiday_country and (
            self.holiday_country not in calendars.supported_countries()
        ):
            raise ValidationError(
                {
                    "holiday_country": [
                        f"No holiday calendar for {self.holiday_country}."
                    ]
                }
            )


class CapacityFloor(TimeStampedModel):
    """A scheduled minimum capacity for a known event (a launch, a campaign)."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE)
    customer = models.ForeignKey(
        Customer, on_delete=models.CASCADE, related_name="capacity_floors"
    )
    resource = models.CharField(max_length=64, validators=[code_validator])
    start = models.DateTimeField()
    end = models.DateTimeField()  # exclusive
    minimum = models.FloatField(validators=[MinValueValidator(0.0)])  # units per step
    reason = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["start"]
        constraints = [
            models.CheckConstraint(
                condition=Q(end__gt=models.F("start")), name="capacity_floor_window"
            )
        ]

    def __str__(self) -> str:
        return f"{self.resource} >= {self.minimum} ({self.reason})"


class Recommendation(TimeStampedModel):
    """A proposed bundle change for an account, with its cost/benefit analysis."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        APPROVED = "approved", "Approved"
        REJECTED = "rejected", "Rejected"
        AUTO_APPROVED = "auto_approved", "Auto-approved"
        APPLIED = "applied", "Applied"
        EXPIRED = "expired", "Expired"

    class Direction(models.TextChoices):
        UPGRADE = "upgrade", "Upgrade"
        DOWNGRADE = "downgrade", "Downgrade"

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE)
    customer = models.ForeignKey(
        Customer, on_delete=models.CASCADE, related_name="scaling_recommendations"
    )
    current_bundle = models.ForeignKey(
        FeatureBundle, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    recommended_bundle = models.ForeignKey(
        FeatureBundle, on_delete=models.PROTECT, related_name="+"
    )
    # The forecast of the resource that drives the change (the tightest one).
    forecast = models.ForeignKey(
        Forecast, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    direction = models.CharField(max_length=10, choices=Direction.choices)
    status = models.CharField(
        max_length=20, choices=Status.choices, default=Status.PENDING
    )
    confidence = models.FloatField()  # 0-1, formula in scaling.recommending
    # Resource -> predicted peak at the upper 95 % bound over the horizon.
    predicted_peaks = models.JSONField(default=dict)
    horizon_days = models.PositiveIntegerField()
    currency = models.CharField(max_length=3)
    # Price difference of the bundles over the horizon (negative for a downgrade).
    upgrade_cost = models.DecimalField(max_digits=18, decimal_places=2)
    # Expected revenue lost to saturation over the horizon, on each bundle.
    revenue_at_risk_current = models.DecimalField(max_digits=18, decimal_places=2)
    revenue_at_risk_recommended = models.DecimalField(max_digits=18, decimal_places=2)
    # (at risk on current - at risk on recommended) - upgrade cost
    net_benefit = models.DecimalField(max_digits=18, decimal_places=2)
    reason = models.TextField(blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.CharField(max_length=150, blank=True)  # username
    # Why it was rejected, when the person rejecting it said.
    decision_note = models.CharField(max_length=300, blank=True)
    applied_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        permissions = [
            ("decide_recommendation", "Can approve or reject recommendations"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["customer"],
                condition=Q(status="pending"),
                name="recommendation_one_pending_per_customer",
            )
        ]

    def __str__(self) -> str:
        return f"{self.customer}: {self.recommended_bundle} ({self.status})"


class Entitlement(TimeStampedModel):
    """The account's active bundle and capacities, as provisioned."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE)
    customer = models.OneToOneField(
        Customer, on_delete=models.CASCADE, related_name="scaling_entitlement"
    )
    bundle = models.ForeignKey(FeatureBundle, on_delete=models.PROTECT)
    # Snapshot at provisioning time: {"compute_hours": "240.0000", ...}.
    capacities = models.JSONField(default=dict)
    monthly_price = models.DecimalField(max_digits=18, decimal_places=2)
    activated_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.customer}: {self.bundle}"


class ScalingEvent(models.Model):
    """History of provisioning: one row per bundle change of an account."""

    class Kind(models.TextChoices):
        INITIAL = "initial", "Initial bundle"
        UPGRADE = "upgrade", "Upgrade"
        DOWNGRADE = "downgrade", "Downgrade"

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE)
    customer = models.ForeignKey(
        Customer, on_delete=models.CASCADE, related_name="scaling_events"
    )
    kind = models.CharField(max_length=10, choices=Kind.choices)
    from_bundle = models.ForeignKey(
        FeatureBundle, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    to_bundle = models.ForeignKey(
        FeatureBundle, on_delete=models.PROTECT, related_name="+"
    )
    recommendation = models.OneToOneField(
        Recommendation,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="scaling_event",
    )
    monthly_price = models.DecimalField(max_digits=18, decimal_places=2)
    # The bundle's capacities when it took effect, units per step of each
    # resource's series: {"compute_hours": "240.0000", ...}. Later edits of the
    # bundle change what it offers from then on, not this history.
    capacities = models.JSONField(default=dict, blank=True)
    occurred_at = models.DateTimeField()
    backend = models.CharField(max_length=20)
    detail = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-occurred_at", "-id"]

    def __str__(self) -> str:
        return f"{self.customer}: {self.kind} to {self.to_bundle}"
