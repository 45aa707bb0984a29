"""Tenancy: organizations, customers, API keys and portal users (the spine)."""

import zoneinfo

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.db.models.functions import Lower

from billing_site.decimals import plain_decimal
from billing_site.timestamps import TimeStampedModel
from metering.webhook_signing import secret_key_problem

currency_validator = RegexValidator(r"^[A-Z]{3}$", "Use a three-letter ISO 4217 code.")


class Organization(TimeStampedModel):
    """A vendor using the platform to bill its own customers."""

    slug = models.SlugField(max_length=64, unique=True)
    name = models.CharField(max_length=200)
    currency = models.CharField(
        max_length=3, default="USD", validators=[currency_validator]
    )
    timezone = models.CharField(max_length=64, default="UTC")
    # Events naming an unknown customer create it instead of being rejected.
    auto_create_customers = models.BooleanField(default=False)
    # Raised by a database trigger (PostgreSQL, migration 0008) whenever one of
    # the organization's customers is deleted or changes its external id, so that
    # ingestion's cached external id -> customer id mappings are dropped.
    customer_keys_version = models.BigIntegerField(
        default=0, db_default=0, editable=False
    )

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        if self.timezone not in zoneinfo.available_timezones():
            raise ValidationError(
                {"timezone": [f"Unknown time zone {self.timezone!r}."]}
            )


class Customer(TimeStampedModel):
    """A billed account of an organization."""

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="customers"
    )
    # The organization's own identifier for the account; used throughout the API.
    external_id = models.CharField(max_length=128)
    name = models.CharField(max_length=200)
    email = models.EmailField(blank=True)
    metadata = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "external_id"],
                name="customer_unique_external_id_per_org",
            )
        ]
        indexes = [
            models.Index(Lower("name"), "organization", name="customer_name_idx")
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.external_id})"


class ApiKey(TimeStampedModel):
    """A secret an integration presents as ``Authorization: Api-Key <key>``.

    Only a SHA-256 hash of the key is stored; the prefix identifies it in the admin.
    """

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="api_keys"
    )
    name = models.CharField(max_length=100, blank=True)
    prefix = models.CharField(max_length=16, editable=False)
    hashed_key = models.CharField(max_length=64, unique=True, editable=False)
    revoked_at = models.DateTimeField(null=True, blank=True)
    # Updated at most once a minute per key, to keep authentication free of writes.
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "API key"

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.organization.slug})"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class PortalUser(TimeStampedModel):
    """Links a Django user to the one customer account they may see in the portal."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="portal_user"
    )
    customer = models.ForeignKey(
        Customer, on_delete=models.CASCADE, related_name="portal_users"
    )

    class Meta:
        verbose_name = "portal user"

    def __str__(self) -> str:
        return f"{self.user} → {self.customer}"


class OrganizationMembership(TimeStampedModel):
    """A staff user's access to an organization: staff see, through the API and the
    staff pages, only the organizations they are members of (superusers see all);
    what they may do there is their Django model permissions."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="organization_memberships",
    )
    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="memberships"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["user", "organization"], name="membership_unique_user_org"
            )
        ]

    def __str__(self) -> str:
        return f"{self.user} in {self.organization}"


class Operation(TimeStampedModel):
    """An operation of the organization's product that produces usage events, and
    how its events add up to the quantity billed for a period (its metric).

    Created on first sight by ingestion (named after its code, summed) or by admins.
    """

    class Aggregation(models.TextChoices):
        """How a billing period's events of the operation give its billable
        quantity (``metering.usage`` computes it)."""

        SUM = "sum", "Sum of the quantities"
        COUNT = "count", "Number of events"
        MAX = "max", "Largest quantity"
        UNIQUE_COUNT = "unique_count", "Distinct values of an event property"
        LATEST = "latest", "Quantity of the period's last event"

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="operations"
    )
    # The code clients send as ``operation``, e.g. "image.resize".
    code = models.CharField(max_length=100)
    name = models.CharField(max_length=200)
    # What one unit of quantity measures, e.g. "image", "GB", "call".
    unit = models.CharField(max_length=50, blank=True)
    description = models.TextField(blank=True)
    # The activity invoices group this operation under; empty means the code itself.
    activity_type = models.CharField(max_length=100, blank=True)
    # Database defaults too: ingestion registers new operations in SQL.
    aggregation = models.CharField(
        max_length=12,
        choices=Aggregation.choices,
        default=Aggregation.SUM,
        db_default=Aggregation.SUM,
    )
    # The event property a unique count counts the distinct non-empty values of:
    # "user_id", "process_id" and "context" name the event's own fields, any other
    # name a key of its ``properties``. Blank for the other aggregations.
    aggregation_property = models.CharField(
        max_length=100, blank=True, default="", db_default=""
    )

    class Meta:
        ordering = ["code"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "code"], name="operation_unique_code_per_org"
            ),
            # The values of Aggregation (which Meta's body cannot name).
            models.CheckConstraint(
                condition=models.Q(
                    aggregation__in=["sum", "count", "max", "unique_count", "latest"]
                ),
                name="operation_aggregation_valid",
            ),
            models.CheckConstraint(
                condition=(
                    models.Q(aggregation="unique_count")
                    & ~models.Q(aggregation_property="")
                )
                | (
                    ~models.Q(aggregation="unique_count")
                    & models.Q(aggregation_property="")
                ),
                name="operation_property_only_for_unique_count",
            ),
        ]

    def __str__(self) -> str:
        return self.code

    def clean(self) -> None:
        unique = self.aggregation == self.Aggregation.UNIQUE_COUNT
        if unique and not self.aggregation_property:
            raise ValidationError(
                {
                    "aggregation_property": [
                        "A unique count needs the event property whose distinct "
                        "values it counts, e.g. user_id."
                    ]
                }
            )
        if not unique and self.aggregation_property:
            raise ValidationError(
                {
                    "aggregation_property": [
                        "Only a unique count names an event property; leave it "
                        f"blank for {self.get_aggregation_display().lower()}."
                    ]
                }
            )


class UsageEvent(models.Model):
    """One call of an operation by a customer, as reported by the product.

    The table is owned by SQL in migration 0002, not by Django's schema editor: on
    PostgreSQL it is partitioned by month on ``occurred_at`` (a DEFAULT partition
    takes dates without a monthly partition; ``ensure_usage_partitions`` creates the
    months ahead and moves rows out of the DEFAULT partition), on SQLite a plain
    table. Its primary key in PostgreSQL is ``(organization_id, occurred_at, id)``
    (migration 0007) because a partitioned table's unique indexes must contain the
    partition key, so the idempotency key ``event_id`` is made unique by
    ``UsageEventKey`` instead; ``id`` alone is unique through its sequence.
    Rows are written only by ``metering.services.usage_events_ingest``.
    """

    id = models.BigAutoField(primary_key=True)
    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="+"
    )
    customer = models.ForeignKey(
        Customer, on_delete=models.CASCADE, related_name="usage_events"
    )
    # The client's idempotency key, unique per organization through UsageEventKey.
    event_id = models.CharField(max_length=128)
    # The operation's code (see Operation.code).
    operation = models.CharField(max_length=100)
    # The end user inside the customer's account, when the product knows it.
    user_id = models.CharField(max_length=128, blank=True)
    # Units of the operation's unit; 0 <= quantity <= 1e12, six decimals.
    quantity = models.DecimalField(max_digits=20, decimal_places=6, default=1)
    data_volume_bytes = models.BigIntegerField(null=True, blank=True)
    process_id = models.CharField(max_length=128, blank=True)
    # The application context the operation ran in (free text, bounded).
    context = models.CharField(max_length=256, blank=True)
    # The operation's parameters; at most METERING_MAX_PROPERTIES_BYTES as JSON.
    properties = models.JSONField(default=dict, blank=True)
    # Client clock: when the operation ran. Partition key.
    occurred_at = models.DateTimeField()
    # Server clock: when the event was stored.
    received_at = models.DateTimeField()
    # Occurred before the calendar month (UTC) that was open when it was received.
    is_late = models.BooleanField(default=False)

    class Meta:
        managed = False
        db_table = "metering_usageevent"
        ordering = ["-occurred_at", "-id"]

    def __str__(self) -> str:
        return f"{self.operation} × {plain_decimal(self.quantity)} ({self.event_id})"


class UsageEventKey(models.Model):
    """The claimed idempotency keys: one row per (organization, event_id).

    Written in the same statement as the event it stands for, so a key exists
    exactly when its event is durably stored. ``payload_hash`` tells a resend of
    the same event (duplicate) from a different event reusing the id (conflict).
    """

    pk = models.CompositePrimaryKey("organization_id", "event_id")
    # No database-level constraint: it would fire a trigger per claimed key on the
    # ingestion hot path; the service only writes keys of a loaded organization.
    # No index of its own: the primary key starts with it.
    organization = models.ForeignKey(
        Organization,
        on_delete=models.CASCADE,
        related_name="+",
        db_constraint=False,
        db_index=False,
    )
    event_id = models.CharField(max_length=128)
    # BLAKE2b-128 of the normalised event (see metering.ingest.payload_hash).
    payload_hash = models.BinaryField(max_length=16)
    # The event's partition key, to find the event row without scanning partitions.
    occurred_at = models.DateTimeField()
    received_at = models.DateTimeField()

    class Meta:
        verbose_name = "usage event key"

    def __str__(self) -> str:
        return self.event_id


class UsageCounter(models.Model):
    """Folded running totals per customer, operation and calendar month (UTC).

    The exact running total is this row plus its pending ``UsageCounterIncrement``
    rows; read it through ``UsageCounterTotal``. On PostgreSQL, ingestion appends
    increments in the statement that stores the events and ``usage_counters_fold``
    adds them in here every minute; the ORM path (SQLite) updates these rows
    directly. The table keeps free space in each page (fillfactor, migration 0003)
    so that folds are HOT updates, which write no index entries.
    """

    # No database-level constraints, as on the event table: each would run a
    # deferred check per new counter at commit, a burst of them when a month
    # starts. Only the ingestion service writes counters, for customers it has just
    # read; deleting a customer or organization removes them through Django's
    # collector. No index for the organization: the unique constraint starts with
    # it.
    organization = models.ForeignKey(
        Organization,
        on_delete=models.CASCADE,
        related_name="+",
        db_constraint=False,
        db_index=False,
    )
    customer = models.ForeignKey(
        Customer,
        on_delete=models.CASCADE,
        related_name="usage_counters",
        db_constraint=False,
    )
    operation = models.CharField(max_length=100)
    # First day of the month (UTC) the counted events occurred in.
    period_start = models.DateField()
    quantity = models.DecimalField(max_digits=26, decimal_places=6, default=0)
    event_count = models.BigIntegerField(default=0)

    class Meta:
        ordering = ["-period_start", "customer", "operation"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "customer", "operation", "period_start"],
                name="usage_counter_unique_period",
            )
        ]

    def __str__(self) -> str:
        return f"{self.customer_id} {self.operation} {self.period_start}"


class UsageCounterIncrement(models.Model):
    """Usage of one ingested batch for one counter, not yet folded into it.

    Ingestion appends these instead of updating ``UsageCounter`` rows: an insert
    costs about half an upsert, and concurrent batches never wait for each other's
    row locks on a busy customer's counters. ``usage_counters_fold`` moves them into
    the counters every minute, in one statement, so a counter and its
    pending increments always add up to the stored events.
    """

    # No database-level constraints or single-column indexes, as on the counters.
    # Readers find one customer's increments: on PostgreSQL through the primary
    # key (customer_id, id), the table's only index (migration 0009); elsewhere an
    # index on (organization, month, customer).
    organization = models.ForeignKey(
        Organization,
        on_delete=models.CASCADE,
        related_name="+",
        db_constraint=False,
        db_index=False,
    )
    customer = models.ForeignKey(
        Customer,
        on_delete=models.CASCADE,
        related_name="+",
        db_constraint=False,
        db_index=False,
    )
    operation = models.CharField(max_length=100)
    period_start = models.DateField()
    quantity = models.DecimalField(max_digits=26, decimal_places=6)
    event_count = models.BigIntegerField()

    def __str__(self) -> str:
        return f"+{plain_decimal(self.quantity)} {self.customer_id} {self.operation}"


class _UsageCounterView(models.Model):
    """The columns of the read-only views over counters and their increments."""

    organization = models.ForeignKey(
        Organization,
        on_delete=models.DO_NOTHING,
        related_name="+",
        db_constraint=False,
    )
    customer = models.ForeignKey(
        Customer,
        on_delete=models.DO_NOTHING,
        related_name="+",
        db_constraint=False,
    )
    operation = models.CharField(max_length=100)
    period_start = models.DateField()
    quantity = models.DecimalField(max_digits=26, decimal_places=6)
    event_count = models.BigIntegerField()

    class Meta:
        abstract = True
        managed = False


class UsageCounterTotal(_UsageCounterView):
    """Exact running totals: each ``UsageCounter`` plus its pending increments.

    A database view (migration 0005) grouping both tables; filters on its key
    columns reach both tables' indexes. Read-only. Every reader of current usage
    uses this, never ``UsageCounter`` alone.
    """

    pk = models.CompositePrimaryKey(
        "organization", "customer", "operation", "period_start"
    )

    class Meta(_UsageCounterView.Meta):
        db_table = "metering_usagecountertotal"
        ordering = ["-period_start", "customer", "operation"]

    def __str__(self) -> str:
        return f"{self.customer_id} {self.operation} {self.period_start}"


class UsageCounterPart(_UsageCounterView):
    """The rows that add up to the running totals: every folded counter and every
    pending increment, unaggregated (a database view, migration 0006).

    For sums over many counters (a month's usage per customer across operations):
    one aggregation here, where summing ``UsageCounterTotal`` rows would group the
    same rows twice.
    """

    pk = models.CompositePrimaryKey("source", "row_id")
    # "counter" or "increment": which table the row is in.
    source = models.CharField(max_length=9)
    row_id = models.BigIntegerField(db_column="id")

    class Meta(_UsageCounterView.Meta):
        db_table = "metering_usagecounterpart"

    def __str__(self) -> str:
        return f"{self.source} {self.row_id}"


class WebhookEvent(TimeStampedModel):
    """Something that happened in an organization, sent to its webhook endpoints
    that subscribe to its type; ``payload`` is the ``data`` of the body sent."""

    class Type(models.TextChoices):
        INVOICE_FINALIZED = "invoice.finalized", "Invoice finalized"
        INVOICE_PAID = "invoice.paid", "Invoice paid"
        INVOICE_OVERDUE = "invoice.overdue", "Invoice overdue"
        CREDIT_NOTE_CREATED = "credit_note.created", "Credit note created"
        ALERT_TRIGGERED = "alert.triggered", "Alert triggered"
        WALLET_LOW_BALANCE = "wallet.low_balance", "Wallet low balance"
        RECOMMENDATION_CREATED = "recommendation.created", "Recommendation created"

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="webhook_events"
    )
    type = models.CharField(max_length=64, choices=Type.choices)
    payload = models.JSONField(default=dict)
    # The producer's name for what the event is about ("invoice:42"): an event
    # of one type is emitted once per key; empty for events that never repeat.
    key = models.CharField(max_length=200, blank=True)
    occurred_at = models.DateTimeField()

    class Meta:
        ordering = ["-occurred_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "type", "key"],
                condition=~models.Q(key=""),
                name="webhook_event_unique_key",
            )
        ]

    def __str__(self) -> str:
        return f"{self.type} {self.key or self.pk}"

    @property
    def message_id(self) -> str:
        """The ``webhook-id`` header: the same for every attempt and endpoint."""
        return f"evt_{self.pk}"


class WebhookEndpoint(TimeStampedModel):
    """A URL of the organization's that receives its events, signed in the
    Standard Webhooks scheme with the endpoint's secret."""

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="webhook_endpoints"
    )
    url = models.URLField(max_length=500)
    # "whsec_" then the base64 of the signing key, at least 32 bytes of key.
    secret = models.CharField(max_length=200)
    # Event types (WebhookEvent.Type values) sent here; empty sends every type.
    event_types = models.JSONField(default=list, blank=True)
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["organization", "url", "id"]
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(secret=""), name="webhook_endpoint_secret_set"
            )
        ]

    def __str__(self) -> str:
        return self.url

    def clean(self) -> None:
        problem = secret_key_problem(self.secret)
        if problem:
            raise ValidationError({"secret": [problem]})
        types = self.event_types
        if not isinstance(types, list) or not all(
            isinstance(name, str) and name in WebhookEvent.Type.values for name in types
        ):
            raise ValidationError(
                {
                    "event_types": [
                        "A list of event types, among: "
                        + ", ".join(WebhookEvent.Type.values)
                        + "."
                    ]
                }
            )

    def receives(self, event_type: str) -> bool:
        return not self.event_types or event_type in self.event_types


class WebhookDelivery(TimeStampedModel):
    """One event sent to one endpoint: its state and its latest attempt's outcome
    (every attempt is a ``WebhookAttempt``)."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        DELIVERED = "delivered", "Delivered"
        FAILED = "failed", "Failed"

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="webhook_deliveries"
    )
    event = models.ForeignKey(
        WebhookEvent, on_delete=models.CASCADE, related_name="deliveries"
    )
    endpoint = models.ForeignKey(
        WebhookEndpoint,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="deliveries",
    )
    url = models.URLField(max_length=500)  # the endpoint's URL when created
    status = models.CharField(
        max_length=16, choices=Status.choices, default=Status.PENDING
    )
    # Attempts since the delivery was created or last resent (capped).
    attempts = models.PositiveIntegerField(default=0)
    last_status_code = models.PositiveIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=300, blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "webhook deliveries"
        constraints = [
            models.UniqueConstraint(
                fields=["event", "endpoint"], name="webhook_delivery_unique_endpoint"
            )
        ]

    def __str__(self) -> str:
        return f"{self.event.type} to {self.url}: {self.status}"


class WebhookAttempt(models.Model):
    """One POST of a delivery and what came back."""

    delivery = models.ForeignKey(
        WebhookDelivery, on_delete=models.CASCADE, related_name="attempt_rows"
    )
    attempted_at = models.DateTimeField()
    status_code = models.PositiveIntegerField(null=True, blank=True)  # none: no reply
    duration_ms = models.PositiveIntegerField(default=0)  # milliseconds
    error = models.CharField(max_length=300, blank=True)
    # The start of the reply's body, as text.
    response_excerpt = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["attempted_at", "id"]

    def __str__(self) -> str:
        return f"{self.attempted_at:%Y-%m-%d %H:%M:%S} {self.status_code or self.error}"


class UsageAlert(TimeStampedModel):
    """A threshold on a customer's usage of one operation (``usage``) or on its
    running bill (``spend``) over each period; it fires once per period in which
    it is reached (an ``AlertTrigger``), as an ``alert.triggered`` webhook event."""

    class Kind(models.TextChoices):
        USAGE = "usage", "Usage of an operation"
        SPEND = "spend", "Spend"

    class Period(models.TextChoices):
        BILLING_PERIOD = "billing_period", "Billing period (calendar month, UTC)"
        DAY = "day", "Day (UTC)"

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="usage_alerts"
    )
    customer = models.ForeignKey(
        Customer, on_delete=models.CASCADE, related_name="usage_alerts"
    )
    kind = models.CharField(max_length=8, choices=Kind.choices)
    # The operation code a usage alert watches; empty for spend.
    operation = models.CharField(max_length=100, blank=True)
    # Billable units of the operation (usage), or an amount in the organization's
    # currency (spend); reached when the period's figure is at least this.
    threshold = models.DecimalField(max_digits=24, decimal_places=6)
    period = models.CharField(
        max_length=16, choices=Period.choices, default=Period.BILLING_PERIOD
    )

    class Meta:
        ordering = ["customer", "kind", "operation", "threshold", "id"]
        constraints = [
            models.CheckConstraint(
                condition=(models.Q(kind="usage") & ~models.Q(operation=""))
                | (models.Q(kind="spend") & models.Q(operation="")),
                name="usage_alert_operation_for_usage_only",
            ),
            models.CheckConstraint(
                condition=models.Q(threshold__gt=0),
                name="usage_alert_threshold_positive",
            ),
        ]
        indexes = [models.Index(fields=["customer", "kind"])]

    def __str__(self) -> str:
        subject = self.operation if self.kind == self.Kind.USAGE else "spend"
        return f"{subject} >= {plain_decimal(self.threshold)} per {self.period}"


class AlertTrigger(models.Model):
    """A usage alert reached in one period: at most one per alert and period,
    which the database enforces against concurrent batches."""

    alert = models.ForeignKey(
        UsageAlert, on_delete=models.CASCADE, related_name="triggers"
    )
    period_start = models.DateTimeField()  # first instant of the period (UTC)
    # The period's figure when the alert fired (units, or an amount for spend).
    value = models.DecimalField(max_digits=24, decimal_places=6)
    triggered_at = models.DateTimeField()

    class Meta:
        ordering = ["-period_start", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["alert", "period_start"], name="alert_trigger_once_per_period"
            )
        ]

    def __str__(self) -> str:
        value = plain_decimal(self.value)
        return f"{self.alert} reached {value} on {self.triggered_at:%Y-%m-%d}"
