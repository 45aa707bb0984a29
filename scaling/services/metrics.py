"""Metric ingestion: batches from the API and CSV files, idempotent per point, and
bandwidth derived from the data volume of metered operations."""

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from django.db import connection, transaction

from billing_site.errors import DomainError
from metering.models import Customer, Organization
from scaling import selectors
from scaling.models import ResourceKind, ResourceMetric


@dataclass(frozen=True)
class MetricPoint:
    customer_id: str  # the customer's external id
    resource: str
    timestamp: datetime
    value: float


@dataclass
class BatchResult:
    received: int
    created: int
    duplicates: int  # measured points already stored (same customer, resource, time)
    # Derived points (bandwidth from metering) the sent measurements replaced.
    replaced: int = 0
    errors: dict = field(default_factory=dict)


@transaction.atomic
def metric_batch_ingest(
    *, organization: Organization, points: list[MetricPoint], field_prefix="metrics"
) -> BatchResult:
    """Store measured points, ignoring any already measured for (customer, resource,
    timestamp) and replacing derived ones (see ``ResourceMetric.derived``).

    All or nothing: an unknown customer rejects the batch with a ``DomainError``
    naming the item, e.g. ``metrics[3].customer_id``.
    """
    external_ids = {point.customer_id for point in points}
    customers = dict(
        Customer.objects.filter(
            organization=organization, external_id__in=external_ids
        ).values_list("external_id", "id")
    )
    for index, point in enumerate(points):
        if point.customer_id not in customers:
            raise DomainError(
                f"Unknown customer {point.customer_id!r}.",
                field=f"{field_prefix}[{index}].customer_id",
            )
    unique = {(customers[p.customer_id], p.resource, p.timestamp): p for p in points}
    existing = {
        (customer_id, resource, timestamp): (pk, derived)
        for pk, customer_id, resource, timestamp, derived in (
            ResourceMetric.objects.select_for_update()
            .filter(
                organization=organization,
                customer_id__in={key[0] for key in unique},
                resource__in={key[1] for key in unique},
                timestamp__in={key[2] for key in unique},
            )
            .values_list("pk", "customer_id", "resource", "timestamp", "derived")
        )
    }
    new, replaced = [], []
    for key, point in unique.items():
        customer_id, resource, timestamp = key
        pk, derived = existing.get(key, (None, False))
        if pk is None:
            new.append(
                ResourceMetric(
                    organization=organization,
                    customer_id=customer_id,
                    resource=resource,
                    timestamp=timestamp,
                    value=point.value,
                )
            )
        elif derived:
            replaced.append(ResourceMetric(pk=pk, value=point.value, derived=False))
    ResourceMetric.objects.bulk_create(new, batch_size=5_000, ignore_conflicts=True)
    ResourceMetric.objects.bulk_update(replaced, ["value", "derived"], batch_size=5_000)
    return BatchResult(
        received=len(points),
        created=len(new),
        duplicates=len(points) - len(new) - len(replaced),
        replaced=len(replaced),
    )


# Bytes in a gigabyte for derived bandwidth (decimal, as network transfer is billed).
BYTES_PER_GB = 10**9
# How far back a derivation reaches when it finds nothing derived yet, and how far
# before the newest derived point it starts again (late events still arrive).
DERIVE_BACKFILL = timedelta(days=35)
DERIVE_OVERLAP = timedelta(days=2)
DERIVE_STEPS = {"hour": timedelta(hours=1), "day": timedelta(days=1)}


def bandwidth_metrics_derive(
    *,
    organization: Organization,
    now: datetime,
    start: datetime | None = None,
    granularity: str = "hour",
) -> int:
    """Upsert ``bandwidth_gb`` points from the data volume of usage events.

    Sums ``UsageEvent.data_volume_bytes`` per customer and UTC hour (or day) in one
    SQL aggregate, in GB of 10^9 bytes, for the complete buckets from ``start`` to
    the bucket containing ``now`` (exclusive). Empty buckets between a customer's
    first and last bucket are stored as 0 (no traffic, not a gap to interpolate).
    Derived points of the window are inserted or overwritten, so re-running is
    idempotent and picks up late events; a measured ``bandwidth_gb`` point (sent
    through the API or a CSV import) is never overwritten: its bucket is skipped.

    Without ``start``, the window begins ``DERIVE_OVERLAP`` before the newest
    derived ``bandwidth_gb`` point, or ``DERIVE_BACKFILL`` before ``now`` when there
    is none. Returns the number of points written.
    """
    if granularity not in DERIVE_STEPS:
        raise DomainError(
            f"Unknown granularity {granularity!r}; use hour or day.",
            field="granularity",
        )
    step = DERIVE_STEPS[granularity]
    end = _bucket_start(now, granularity)
    if start is None:
        newest = selectors.metric_latest_timestamp(
            organization=organization, resource=ResourceKind.BANDWIDTH_GB, derived=True
        )
        start = newest - DERIVE_OVERLAP if newest else now - DERIVE_BACKFILL
    start = _bucket_start(start, granularity)
    if start >= end:
        return 0
    rows = selectors.data_volume_by_bucket(
        organization=organization, start=start, end=end, granularity=granularity
    )
    by_customer: dict[int, dict[datetime, int]] = {}
    for customer_id, bucket, volume in rows:
        by_customer.setdefault(customer_id, {})[bucket] = volume
    measured = selectors.measured_metric_keys(
        organization=organization,
        resource=ResourceKind.BANDWIDTH_GB,
        start=start,
        end=end,
    )
    adapt = connection.ops.adapt_datetimefield_value
    points = []
    for customer_id, volumes in by_customer.items():
        bucket, last = min(volumes), max(volumes)
        while bucket <= last:
            if (customer_id, bucket) not in measured:
                points.append(
                    (
                        organization.pk,
                        customer_id,
                        ResourceKind.BANDWIDTH_GB.value,
                        adapt(bucket),
                        volumes.get(bucket, 0) / BYTES_PER_GB,
                    )
                )
            bucket += step
    with transaction.atomic(), connection.cursor() as cursor:
        for offset in range(0, len(points), _UPSERT_ROWS):
            chunk = points[offset : offset + _UPSERT_ROWS]
            cursor.execute(
                _UPSERT_DERIVED_SQL.format(
                    values=", ".join(["(%s, %s, %s, %s, %s, TRUE)"] * len(chunk))
                ),
                [value for point in chunk for value in point],
            )
    return len(points)


_UPSERT_ROWS = 1_000
# The WHERE keeps a measured point that arrived since ``measured`` was read.
_UPSERT_DERIVED_SQL = (
    f"INSERT INTO {ResourceMetric._meta.db_table} "
    "(organization_id, customer_id, resource, timestamp, value, derived) "
    "VALUES {values} "
    "ON CONFLICT (customer_id, resource, timestamp) "
    "DO UPDATE SET value = EXCLUDED.value "
    f"WHERE {ResourceMetric._meta.db_table}.derived"
)


def _bucket_start(moment: datetime, granularity: str) -> datetime:
    moment = moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    return moment.replace(hour=0) if granularity == "day" else moment
