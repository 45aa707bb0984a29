"""Usage for invoicing, read from metering's usage read model, and the customer
slices of a fan-out.
"""

from datetime import datetime
from decimal import Decimal

from django.db import connection
from django.db.models.expressions import RawSQL

from invoices.periods import Period
from metering import selectors as metering_selectors
from metering.models import Customer, Organization


def customers_in(customer_ids):
    """The right side of a ``customer_id__in`` filter: on PostgreSQL one array
    parameter (a generation share names thousands of customers, and a literal
    list costs a placeholder each), elsewhere the list."""
    if connection.vendor == "postgresql":
        return RawSQL("SELECT unnest(%s::bigint[])", [list(customer_ids)])
    return list(customer_ids)


# Usage ------------------------------------------------------------------------------


def usage_by_customer(
    *,
    organization: Organization,
    start: datetime,
    end: datetime,
    customer_ids: list[int] | None = None,
) -> dict[int, dict[str, Decimal]]:
    """Customer id -> {operation code: billable quantity} of events occurring in
    [start, end), aggregated from the events even for a whole month (the figure
    the counters behind ``period_usage`` must equal)."""
    return metering_selectors.usage_by_customer(
        organization=organization,
        start=start,
        end=end,
        customer_ids=customer_ids,
        from_events=True,
    )


def per_use_events_by_customer(
    *,
    organization: Organization,
    start: datetime,
    end: datetime,
    operations: set[str],
    customer_ids: list[int] | None = None,
) -> dict[int, dict[str, dict[Decimal, int]]]:
    """Customer id -> {operation: {units of one event: events}} (SQL GROUP BY):
    each event of a per-use activity is priced on its own."""
    return metering_selectors.usage_event_quantities(
        organization=organization,
        start=start,
        end=end,
        operations=operations,
        customer_ids=customer_ids,
    )


def period_usage(
    *, organization: Organization, period: Period, customer_ids=None
) -> dict[int, dict[str, Decimal]]:
    """Customer id -> {operation code: billable quantity} of the period, each
    operation aggregated as its metric says (``metering.usage``).

    A month's sums and counts come from metering's usage counters rather than a
    scan of its events: per customer, operation and UTC month (the months of
    ``invoices.periods``) a counter plus its pending increments, which the
    statement that stores the events appends (metering's ingestion, the only
    writer of events), so they always equal the month's stored events, late ones
    included (a late event counts in the month it occurred in, whenever it
    arrives). A draft regenerated in the grace window, the live total and the
    re-rating behind a late-usage adjustment therefore all see the same figures
    as an event scan, at ~40 rows per customer instead of every event. A day, and
    max, unique count and latest metrics, aggregate the period's events.
    """
    start, end = period.bounds
    return metering_selectors.usage_by_customer(
        organization=organization, start=start, end=end, customer_ids=customer_ids
    )


def customer_count(*, organization: Organization) -> int:
    return Customer.objects.filter(organization=organization).count()


def customer_id_slices(*, organization: Organization, parts: int) -> list[list[int]]:
    """The organization's customer ids, ascending, cut into at most ``parts``
    contiguous slices of near-equal size: the shares of a fanned-out generation."""
    ids = list(
        Customer.objects.filter(organization=organization)
        .order_by("id")
        .values_list("id", flat=True)
    )
    if not ids:
        return []
    size = -(-len(ids) // max(parts, 1))
    return [ids[offset : offset + size] for offset in range(0, len(ids), size)]
