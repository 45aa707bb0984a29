"""Metric ingestion: batches from the API and CSV files, idempotent per point."""

from dataclasses import dataclass, field
from datetime import datetime

from django.db import transaction

from billing_site.errors import DomainError
from metering.models import Customer, Organization
from scaling.models import ResourceMetric


@dataclass(frozen=True)
class MetricPoint:
    account_id: str  # the customer's external id
    resource: str
    timestamp: datetime
    value: float


@dataclass
class BatchResult:
    received: int
    created: int
    duplicates: int  # points already stored (same account, resource, timestamp)
    errors: dict = field(default_factory=dict)


@transaction.atomic
def metric_batch_ingest(
    *, organization: Organization, points: list[MetricPoint], field_prefix="metrics"
) -> BatchResult:
    """Store points, ignoring any already stored for (account, resource, timestamp).

    All or nothing: an unknown account rejects the batch with a ``DomainError`` naming
    the item, e.g. ``metrics[3].account_id``.
    """
    external_ids = {point.account_id for point in points}
    customers = dict(
        Customer.objects.filter(
            organization=organization, external_id__in=external_ids
        ).values_list("external_id", "id")
    )
    for index, point in enumerate(points):
        if point.account_id not in customers:
            raise DomainError(
                f"Unknown account {point.account_id!r}.",
                field=f"{field_prefix}[{index}].account_id",
            )
    unique = {(customers[p.account_id], p.resource, p.timestamp): p for p in points}
    existing = set(
        ResourceMetric.objects.filter(
            organization=organization,
            customer_id__in={key[0] for key in unique},
            resource__in={key[1] for key in unique},
            timestamp__in={key[2] for key in unique},
        ).values_list("customer_id", "resource", "timestamp")
    )
    new = [
        ResourceMetric(
            organization=organization,
            customer_id=customer_id,
            resource=resource,
            timestamp=timestamp,
            value=point.value,
        )
        for (customer_id, resource, timestamp), point in unique.items()
        if (customer_id, resource, timestamp) not in existing
    ]
    ResourceMetric.objects.bulk_create(new, batch_size=5_000, ignore_conflicts=True)
    return BatchResult(
        received=len(points), created=len(new), duplicates=len(points) - len(new)
    )
