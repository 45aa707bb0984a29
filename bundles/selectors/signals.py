"""The profiler's signals about customers and their observed usage."""

import datetime as dt
from collections import defaultdict
from decimal import Decimal

from bundles import engine
from metering import selectors as metering_selectors
from metering.models import Customer, Organization
from profiling import selectors as profiling_selectors
from profiling.models import BehavioralTag, CustomerProfile

# CustomerProfile.predicted_counts covers the next 30 days.
PROFILE_HORIZON_SECONDS = 30 * 86_400


def customer_signals(
    *, organization: Organization, customer_ids=None
) -> dict[int, engine.CustomerSignals]:
    """Customer id -> what the latest successful profiling run says about them.

    Two queries whatever the number of customers. Customers the run did not
    profile are absent: they get no offers until the profiler has seen them.
    """
    run = profiling_selectors.latest_run(organization=organization)
    if run is None:
        return {}
    profiles = CustomerProfile.objects.filter(run=run)
    tags = BehavioralTag.objects.filter(run=run)
    if customer_ids is not None:
        profiles = profiles.filter(customer_id__in=customer_ids)
        tags = tags.filter(customer_id__in=customer_ids)
    tags_by_customer: dict[int, dict[str, Decimal]] = defaultdict(dict)
    for customer_id, name, score in tags.values_list("customer_id", "name", "score"):
        tags_by_customer[customer_id][name] = score
    signals = {}
    for customer_id, segment, predicted in profiles.values_list(
        "customer_id", "segment__name", "predicted_counts"
    ):
        signals[customer_id] = engine.CustomerSignals(
            tags=tags_by_customer.get(customer_id, {}),
            segment=segment,
            predicted_counts={
                operation: Decimal(str(count))
                for operation, count in (predicted or {}).items()
                if count and Decimal(str(count)) > 0
            },
            horizon_seconds=PROFILE_HORIZON_SECONDS,
        )
    return signals


def observed_usage(*, customer: Customer, operation: str, at: dt.datetime) -> Decimal:
    """Billable units of ``operation`` in the calendar month (UTC) of ``at``
    (metering's usage read model: aggregated as the operation's metric says)."""
    start, end = metering_selectors.utc_month_bounds(at)
    usage = metering_selectors.customer_usage(
        customer=customer, start=start, end=end, operations=[operation]
    )
    return usage.get(operation, Decimal(0))
