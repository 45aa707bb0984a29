"""Held-out evaluation of the profiler on an organization's stored usage."""

from datetime import datetime, timedelta

import numpy as np

from billing_site.errors import DomainError
from metering.models import Customer, Organization
from metering.selectors import active_customer_ids, operation_event_counts
from profiling import pipeline
from profiling.features import EventArrays
from profiling.selectors import events_extract
from profiling.services.datasets import PLANTED_KEY
from profiling.services.runs import DEFAULT_WINDOW_DAYS


def profiling_evaluate(
    *, organization: Organization, now: datetime, window_days: int = DEFAULT_WINDOW_DAYS
) -> pipeline.Evaluation:
    """Held-out evaluation over the window (see ``pipeline.evaluate``).

    The adjusted Rand index is reported when every customer carries a planted
    segment in ``metadata["planted_segment"]`` (synthetic data).
    """
    start = now - timedelta(days=window_days)
    operations = [
        op
        for op, _ in operation_event_counts(
            organization=organization, start=start, end=now
        )
    ]
    customers = active_customer_ids(organization=organization, start=start, end=now)
    if not customers:
        raise DomainError("No usage events in the window.", field="organization")
    raw = events_extract(
        organization=organization,
        start=start,
        end=now,
        operations=operations,
        customer_ids=customers,
    )
    customer_ids, customer_index = np.unique(raw.customer_id, return_inverse=True)
    events = EventArrays(
        customer=customer_index.astype(np.int64),
        operation=raw.operation,
        timestamp=raw.timestamp,
        volume=raw.volume,
        customer_count=len(customer_ids),
        operations=tuple(operations),
    )
    planted = dict(
        Customer.objects.filter(pk__in=customer_ids.tolist()).values_list(
            "pk", f"metadata__{PLANTED_KEY}"
        )
    )
    truth = None
    if all(planted.get(int(pk)) is not None for pk in customer_ids):
        truth = np.array([planted[int(pk)] for pk in customer_ids])
    return pipeline.evaluate(
        events,
        window_start=int(start.timestamp()),
        window_end=int(now.timestamp()),
        truth=truth,
    )
