"""Profiling runs and what they produce: segments, customer profiles, tags, rules."""

from django.db import models

from billing_site.timestamps import TimeStampedModel
from metering.models import Customer, Organization


class ProfilingRun(TimeStampedModel):
    """One profiling of an organization's usage over a window of time."""

    class Status(models.TextChoices):
        PENDING = "pending"
        RUNNING = "running"
        SUCCEEDED = "succeeded"
        FAILED = "failed"

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="profiling_runs"
    )
    status = models.CharField(
        max_length=16, choices=Status.choices, default=Status.PENDING
    )
    # Inclusive start, exclusive end of the events considered.
    window_start = models.DateTimeField()
    window_end = models.DateTimeField()
    # Algorithm settings: k range, session gap, chain orders, chunk size...
    parameters = models.JSONField(default=dict, blank=True)
    # Seconds per stage, e.g. {"extract": 1.2, "cluster": 0.4, "total": 2.0}.
    timings = models.JSONField(default=dict, blank=True)
    # Silhouette, chosen k, silhouettes by k, DBSCAN noise count...
    scores = models.JSONField(default=dict, blank=True)
    customer_count = models.PositiveIntegerField(default=0)
    event_count = models.PositiveBigIntegerField(default=0)
    # Operation codes in the order of the chains' integer codes.
    operations = models.JSONField(default=list, blank=True)
    # The fitted Markov chains (numpy .npz), read back for predictions.
    chains = models.BinaryField(null=True, blank=True, editable=False)
    chunks_expected = models.PositiveIntegerField(default=0)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(window_end__gt=models.F("window_start")),
                name="profilingrun_window_ordered",
            )
        ]

    def __str__(self) -> str:
        return f"Profiling run {self.pk} ({self.status})"


class ProfilingChunk(models.Model):
    """The extracted events of one slice of a run's customers (fan-out output)."""

    run = models.ForeignKey(ProfilingRun, on_delete=models.CASCADE, related_name="+")
    index = models.PositiveIntegerField()
    # Event arrays as numpy .npz: customer ids, operation codes, times, volumes.
    payload = models.BinaryField()
    event_count = models.PositiveBigIntegerField(default=0)
    seconds = models.FloatField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["run", "index"], name="profilingchunk_unique_index"
            )
        ]

    def __str__(self) -> str:
        return f"Chunk {self.index} of run {self.run_id}"


# The cluster label of the "unusual" group (DBSCAN noise).
UNUSUAL_LABEL = -1


class Segment(models.Model):
    """A group of customers with similar behaviour found by one run."""

    run = models.ForeignKey(
        ProfilingRun, on_delete=models.CASCADE, related_name="segments"
    )
    # Cluster label; UNUSUAL_LABEL is the "unusual" group.
    label = models.IntegerField()
    name = models.CharField(max_length=200)
    size = models.PositiveIntegerField(default=0)
    # [{"operation", "share", "lift"}], most characteristic first.
    top_operations = models.JSONField(default=list, blank=True)
    # Mean figures of the members (events, session length, night share...).
    centroid_summary = models.JSONField(default=dict, blank=True)
    # First-order transition probabilities, rows and columns in run.operations order.
    transitions = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["run", "label"]
        constraints = [
            models.UniqueConstraint(
                fields=["run", "label"], name="segment_unique_label_per_run"
            )
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_unusual(self) -> bool:
        return self.label == UNUSUAL_LABEL


class CustomerProfile(models.Model):
    """A customer's behaviour as seen by one run, with predictions."""

    run = models.ForeignKey(
        ProfilingRun, on_delete=models.CASCADE, related_name="profiles"
    )
    customer = models.ForeignKey(
        Customer, on_delete=models.CASCADE, related_name="profiles"
    )
    segment = models.ForeignKey(
        Segment, on_delete=models.SET_NULL, null=True, related_name="profiles"
    )
    # Readable features: events, sessions, volumes, top operations, trend...
    features = models.JSONField(default=dict, blank=True)
    # [{"operation", "probability"}] after the customer's latest events, best first.
    next_operations = models.JSONField(default=list, blank=True)
    # {operation: expected number of events in the next 30 days}.
    predicted_counts = models.JSONField(default=dict, blank=True)
    # The most likely next operations in order.
    predicted_path = models.JSONField(default=list, blank=True)
    # Position on the run's 2-D PCA projection (for charts).
    projection_x = models.FloatField(default=0)
    projection_y = models.FloatField(default=0)
    # The customer's last operations, the context of next_operations.
    recent_operations = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["run", "customer"]
        constraints = [
            models.UniqueConstraint(
                fields=["run", "customer"], name="customerprofile_unique_per_run"
            )
        ]

    def __str__(self) -> str:
        return f"Profile of {self.customer} in run {self.run_id}"


class EndUserProfile(models.Model):
    """An end user inside a customer's account (events with a ``user_id``), as
    seen by one run: features, predicted next operations and per-user tags."""

    run = models.ForeignKey(
        ProfilingRun, on_delete=models.CASCADE, related_name="end_user_profiles"
    )
    customer = models.ForeignKey(
        Customer, on_delete=models.CASCADE, related_name="end_user_profiles"
    )
    # The usage events' ``user_id``.
    user_id = models.CharField(max_length=128)
    # Events of this end user in the run's window.
    event_count = models.PositiveIntegerField(default=0)
    # Readable features, as on CustomerProfile (top_operations among them).
    features = models.JSONField(default=dict, blank=True)
    # [{"operation", "probability"}] after the end user's latest events, best first.
    next_operations = models.JSONField(default=list, blank=True)
    # The end user's last operations, the context of next_operations.
    recent_operations = models.JSONField(default=list, blank=True)
    # [{"name", "score", "explanation"}] from the per-user tag rules, best first.
    tags = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["run", "customer", "-event_count", "user_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["run", "customer", "user_id"],
                name="enduserprofile_unique_per_run",
            )
        ]

    def __str__(self) -> str:
        return f"{self.user_id} of {self.customer} in run {self.run_id}"


class TagRule(TimeStampedModel):
    """An admin-editable threshold that gives customers a behavioural tag."""

    class Kind(models.TextChoices):
        FAMILY_SHARE = "family_share", "Share of an operation family (per family)"
        OPERATION_SHARE = "operation_share", "Share of operations matching a pattern"
        NIGHT_SHARE = "night_share", "Share of events at night (22:00-06:00)"
        BURSTINESS = "burstiness", "Burstiness of inter-event gaps (-1..1)"
        TREND = "trend", "Growth over the window (-1..1)"
        SEGMENT = "segment", "Member of a segment whose name contains the pattern"
        UNUSUAL = "unusual", "Outlier (DBSCAN noise)"

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="tag_rules"
    )
    # The tag's name; "{family}" is replaced by the family for family_share rules.
    name = models.CharField(max_length=100)
    kind = models.CharField(max_length=32, choices=Kind.choices)
    # fnmatch pattern for operation_share ("export.*"), text for segment rules.
    pattern = models.CharField(max_length=100, blank=True)
    # Lower bound (inclusive) of the measured figure for the tag to apply.
    threshold = models.DecimalField(max_digits=8, decimal_places=3, default=0)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["organization", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "name"], name="tagrule_unique_name_per_org"
            )
        ]

    def __str__(self) -> str:
        return self.name


class BehavioralTag(models.Model):
    """A tag a run gave a customer, with its score and why."""

    run = models.ForeignKey(ProfilingRun, on_delete=models.CASCADE, related_name="tags")
    customer = models.ForeignKey(
        Customer, on_delete=models.CASCADE, related_name="behavioral_tags"
    )
    name = models.CharField(max_length=100)
    # The measured figure the rule compared (a share, a trend), three decimals.
    score = models.DecimalField(max_digits=8, decimal_places=3)
    explanation = models.CharField(max_length=300)

    class Meta:
        ordering = ["run", "customer", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["run", "customer", "name"], name="behavioraltag_unique"
            )
        ]

    def __str__(self) -> str:
        return self.name
