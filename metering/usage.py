"""The usage read model: what each customer used of each operation in a period.

Pricing, bundles, invoices and profiling read usage only through these selectors,
which ``metering.selectors`` re-exports; none of them names metering's tables. How
a figure is kept fast (counters, pending increments, folds) stays in here.

An operation's billable quantity over a period ``[start, end)`` aggregates its
events that occurred in it (by ``occurred_at``, late arrivals included) as its
``Operation.aggregation`` says:

- ``sum``: the sum of their quantities (the default, and the rule for operations
  the organization has not registered);
- ``count``: the number of events;
- ``max``: the largest quantity;
- ``unique_count``: the number of distinct non-empty values of the operation's
  ``aggregation_property``: ``user_id``, ``process_id`` and ``context`` name the
  event's own fields, any other name a key of its ``properties`` (compared as
  text: ``7`` and ``"7"`` are one value);
- ``latest``: the quantity of the period's last event (of events at the same
  instant, the one stored last).

Sums and counts of a whole UTC calendar month (the monthly billing period) are
read from the usage counters plus their pending increments, about one row per
customer and operation: ingestion writes both in the statement that stores the
events, so they always equal the stored events. Every other figure is one SQL
aggregate over the period's events, one statement per kind of metric that some of
the organization's operations use (an organization that only sums reads nothing
else). They need no index of their own: an organization's month is read whole, a
scan of the month's events as the bare aggregate does (``make bench`` compares
the two), and one customer's period through (customer_id, occurred_at); another
index would cost every ingested event one more insertion.

Where usage is split further in time, as bundle allowances split a period at their
validity windows (``usage_in_windows``), only sums and counts are divided: the
peak, distinct or last value of part of a period says nothing about the period's,
so max, unique count and latest metrics are charged on their period's figure and
allowances never cover them. Per-use pricing takes events one by one
(``usage_event_quantities``): each is a use of its own quantity, or of one unit
for a count metric.
"""

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from django.db import connection
from django.db.models import (
    Case,
    CharField,
    Count,
    DecimalField,
    F,
    Max,
    OuterRef,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
    Window,
)
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Cast, NullIf, RowNumber

from metering.models import (
    Operation,
    Organization,
    UsageCounterPart,
    UsageCounterTotal,
    UsageEvent,
)

Aggregation = Operation.Aggregation
# Metrics computed from the events whatever the period; sums and counts of a
# month come from the counters.
EVENT_AGGREGATIONS = (Aggregation.MAX, Aggregation.UNIQUE_COUNT, Aggregation.LATEST)
# Property names of a unique count that are fields of the event itself.
EVENT_FIELD_PROPERTIES = ("user_id", "process_id", "context")
_ONE = Decimal(1)
_UNITS = DecimalField(max_digits=26, decimal_places=6)


@dataclass(frozen=True)
class Metric:
    """How one operation's events add up to its billable quantity."""

    operation: str
    aggregation: str
    property: str = ""  # unique_count only


def metric_list(
    *, organization: Organization, operations: Iterable[str] | None = None
) -> dict[str, Metric]:
    """Operation code -> its metric, for the operations that do not sum (all
    others, registered or not, sum); ``operations`` limits the codes (a list or a
    queryset of codes)."""
    rows = Operation.objects.filter(organization=organization).exclude(
        aggregation=Aggregation.SUM
    )
    if operations is not None:
        rows = rows.filter(code__in=operations)
    return {
        code: Metric(code, aggregation, prop)
        for code, aggregation, prop in rows.values_list(
            "code", "aggregation", "aggregation_property"
        )
    }


def utc_month_bounds(moment: datetime | date) -> tuple[datetime, datetime]:
    """``[start, end)`` of the UTC calendar month of ``moment`` (a date: its
    month)."""
    if isinstance(moment, datetime):
        moment = moment.astimezone(UTC).date()
    start = datetime(moment.year, moment.month, 1, tzinfo=UTC)
    return start, (start + timedelta(days=32)).replace(day=1)


def utc_month_of(start: datetime, end: datetime) -> date | None:
    """The first day of the UTC calendar month ``[start, end)`` spans exactly;
    None when it is any other span."""
    first = start.astimezone(UTC)
    if first != first.replace(day=1, hour=0, minute=0, second=0, microsecond=0):
        return None
    following = (first + timedelta(days=32)).replace(day=1)
    return first.date() if end == following else None


def _in_id_range(rows: QuerySet, id_range: tuple[int, int]) -> QuerySet:
    """Rows of the customers whose ids are in the inclusive range."""
    low, high = id_range
    return rows.filter(customer_id__gte=low, customer_id__lte=high)


# Events -------------------------------------------------------------------------


def usage_event_list(
    *,
    organization: Organization,
    customer=None,
    operation: str | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
) -> QuerySet[UsageEvent]:
    """Events of the organization, newest first; ``start`` inclusive, ``end``
    exclusive, both on ``occurred_at`` (so only the period's partitions are read)."""
    events = UsageEvent.objects.filter(organization=organization)
    if customer is not None:
        events = events.filter(customer=customer)
    if operation:
        events = events.filter(operation=operation)
    if start is not None:
        events = events.filter(occurred_at__gte=start)
    if end is not None:
        events = events.filter(occurred_at__lt=end)
    return events.order_by("-occurred_at", "-id")


def usage_events_sql(
    *,
    organization: Organization,
    start: datetime,
    end: datetime,
    columns: Sequence[str],
    customer_id_range: tuple[int, int] | None = None,
) -> tuple[str, tuple]:
    """A SELECT of ``columns`` (event field names, which name its output
    columns) of the organization's events with ``start <= occurred_at < end``
    and, when given, a customer id in the inclusive range, with its parameters
    (``%s`` placeholders), unordered.

    For callers that process events in their own statement (a window over each
    customer's events, a binary COPY): they select from it as a subquery, which
    PostgreSQL flattens into their statement, so its plan is the one a statement
    naming the table would get.
    """
    events = usage_event_list(organization=organization, start=start, end=end)
    if customer_id_range is not None:
        events = _in_id_range(events, customer_id_range)
    return events.order_by().values_list(*columns).query.sql_with_params()


def operation_event_counts(
    *, organization: Organization, start: datetime, end: datetime
) -> list[tuple[str, int]]:
    """``(operation, events)`` with ``start <= occurred_at < end``, most frequent
    first (one GROUP BY)."""
    rows = (
        usage_event_list(organization=organization, start=start, end=end)
        .values("operation")
        .annotate(events=Count("id"))
        .order_by("-events", "operation")
    )
    return [(row["operation"], row["events"]) for row in rows]


def active_customer_ids(
    *, organization: Organization, start: datetime, end: datetime
) -> list[int]:
    """Ids of the customers with events in ``[start, end)``, ascending."""
    return list(
        usage_event_list(organization=organization, start=start, end=end)
        .order_by("customer_id")
        .values_list("customer_id", flat=True)
        .distinct()
    )


def usage_received_after(
    *, organization: Organization, customer_id, first_day, last_day, received_after
) -> QuerySet[UsageEvent]:
    """Events of a customer that occurred on ``first_day`` to ``last_day``
    (dates, inclusive) and were received after ``received_after``.

    The arguments may be ``OuterRef`` expressions, to test many invoices in one
    statement with ``Exists``.
    """
    return UsageEvent.objects.filter(
        organization=organization,
        customer_id=customer_id,
        occurred_at__date__gte=first_day,
        occurred_at__date__lte=last_day,
        received_at__gt=received_after,
    )


# Counters --------------------------------------------------------------------------


def usage_total_list(
    *,
    organization: Organization | None = None,
    customer=None,
    period_start: date | None = None,
) -> QuerySet[UsageCounterTotal]:
    """Exact running month totals of quantity and events (see
    ``UsageCounterTotal``) of an organization or of one customer, read without
    scanning events. Raw totals: billable quantities are ``usage_by_customer``'s."""
    if customer is not None:
        totals = UsageCounterTotal.objects.filter(
            organization_id=customer.organization_id, customer=customer
        )
    elif organization is not None:
        totals = UsageCounterTotal.objects.filter(organization=organization)
    else:
        raise TypeError("usage_total_list() needs an organization or a customer")
    if period_start is not None:
        totals = totals.filter(period_start=period_start)
    return totals


def usage_counter_part_list(
    *, organization: Organization, period_start: date | None = None
) -> QuerySet[UsageCounterPart]:
    """The folded counters and pending increments of an organization (see
    ``UsageCounterPart``): aggregate them for sums over many counters."""
    parts = UsageCounterPart.objects.filter(organization=organization)
    if period_start is not None:
        parts = parts.filter(period_start=period_start)
    return parts


# Billable usage --------------------------------------------------------------------


# The last event of a latest metric comes first: by time, then by storage order.
_LAST_FIRST = (F("occurred_at").desc(), F("id").desc())


def _property_value(name: str):
    """The text value of a unique count's property, NULL when absent or empty."""
    if name in EVENT_FIELD_PROPERTIES:
        value = F(name)
    else:
        # Text on every database (SQLite extracts JSON numbers as numbers).
        value = Cast(KeyTextTransform(name, "properties"), CharField())
    return NullIf(value, Value(""))


def _usage_parts(
    *,
    organization: Organization,
    start: datetime,
    end: datetime,
    customer_id_range: tuple[int, int] | None,
    operations: Iterable[str] | None,
    metrics: dict[str, Metric],
    from_events: bool,
) -> list[QuerySet]:
    """Querysets of rows ``(customer id, operation, units)`` whose units add up,
    per customer and operation, to the billable quantity: sums and counts first,
    then one aggregate per kind of event metric in use."""
    of_kind: dict[str, list[str]] = {}
    for code, metric in sorted(metrics.items()):
        of_kind.setdefault(metric.aggregation, []).append(code)
    counted = of_kind.get(Aggregation.COUNT, [])
    by_events = [code for kind in EVENT_AGGREGATIONS for code in of_kind.get(kind, [])]

    def scoped(rows: QuerySet) -> QuerySet:
        if customer_id_range is not None:
            rows = _in_id_range(rows, customer_id_range)
        if operations is not None:
            rows = rows.filter(operation__in=operations)
        return rows.order_by()

    events = scoped(
        UsageEvent.objects.filter(
            organization=organization, occurred_at__gte=start, occurred_at__lt=end
        )
    )
    month = None if from_events else utc_month_of(start, end)
    parts = []
    if month is not None:
        units = F("quantity")
        if counted:
            units = Case(
                When(operation__in=counted, then=Cast("event_count", _UNITS)),
                default=F("quantity"),
                output_field=_UNITS,
            )
        counters = scoped(
            UsageCounterPart.objects.filter(
                organization=organization, period_start=month
            )
        ).exclude(operation__in=by_events)
        parts.append(counters.values_list("customer_id", "operation", units))
    else:
        units = Sum("quantity")
        if counted:
            units = Sum(
                Case(
                    When(operation__in=counted, then=Value(_ONE)),
                    default=F("quantity"),
                    output_field=_UNITS,
                )
            )
        summed = events.exclude(operation__in=by_events)
        parts.append(_grouped(summed, units))
    if of_kind.get(Aggregation.MAX):
        peaks = events.filter(operation__in=of_kind[Aggregation.MAX])
        parts.append(_grouped(peaks, Max("quantity")))
    if of_kind.get(Aggregation.UNIQUE_COUNT):
        codes = of_kind[Aggregation.UNIQUE_COUNT]
        of_property: dict[str, list[str]] = {}
        for code in codes:
            of_property.setdefault(metrics[code].property, []).append(code)
        # One test per property, not per operation: it runs on every event.
        (value, *others) = [_property_value(name) for name in of_property]
        if others:
            value = Case(
                *(
                    When(operation__in=named, then=_property_value(name))
                    for name, named in of_property.items()
                ),
                output_field=CharField(),
            )
        distinct = events.filter(operation__in=codes)
        parts.append(_grouped(distinct, Count(value, distinct=True)))
    if of_kind.get(Aggregation.LATEST):
        last = events.filter(operation__in=of_kind[Aggregation.LATEST])
        parts.append(_last_of_each(last))
    return parts


def _last_of_each(events: QuerySet) -> QuerySet:
    """The quantity of the last of ``events`` per customer and operation: on
    PostgreSQL ``DISTINCT ON`` (one sort, the first row of each group kept),
    elsewhere the first row of a window."""
    if connection.vendor == "postgresql":
        return (
            events.order_by("customer_id", "operation", *_LAST_FIRST)
            .distinct("customer_id", "operation")
            .values_list("customer_id", "operation", "quantity")
        )
    return (
        events.annotate(
            place=Window(
                RowNumber(),
                partition_by=[F("customer_id"), F("operation")],
                order_by=list(_LAST_FIRST),
            )
        )
        .filter(place=1)
        .values_list("customer_id", "operation", "quantity")
    )


def _grouped(events: QuerySet, units) -> QuerySet:
    return (
        events.values("customer_id", "operation")
        .annotate(units=units)
        .values_list("customer_id", "operation", "units")
    )


def usage_by_customer(
    *,
    organization: Organization,
    start: datetime,
    end: datetime,
    customer_ids: Collection[int] | None = None,
    operations: Iterable[str] | None = None,
    from_events: bool = False,
) -> dict[int, dict[str, Decimal]]:
    """Customer id -> {operation code: billable quantity} of ``[start, end)``
    (see the module docstring for each aggregation and where it is read from).

    ``customer_ids`` limits the customers (read by their id range, a contiguous
    slice when invoicing is fanned out, and sifted here); ``operations`` the
    operation codes (a list, or a queryset of codes). Customers and operations
    without events are absent. ``from_events`` recounts a whole month's sums and
    counts from the events instead of the counters (to reconcile the two).
    """
    wanted = None if customer_ids is None else set(customer_ids)
    if wanted is not None and not wanted:
        return {}
    usage: dict[int, dict[str, Decimal]] = {}
    parts = _usage_parts(
        organization=organization,
        start=start,
        end=end,
        customer_id_range=None if wanted is None else (min(wanted), max(wanted)),
        operations=operations,
        metrics=metric_list(organization=organization, operations=operations),
        from_events=from_events,
    )
    for part in parts:
        for customer_id, code, units in _rows(part):
            if wanted is not None and customer_id not in wanted:
                continue
            of_customer = usage.get(customer_id)
            if of_customer is None:
                of_customer = usage[customer_id] = {}
            if units.__class__ is not Decimal:  # a count
                units = Decimal(units)
            earlier = of_customer.get(code)
            of_customer[code] = units if earlier is None else earlier + units
    return usage


def _rows(part: QuerySet) -> list[tuple]:
    """The part's rows. On PostgreSQL its SQL runs on a plain cursor: a month's
    counters are ~40 rows per customer, and the ORM's row handling would cost
    more than the read (values arrive as Decimal and int already). Elsewhere the
    ORM converts them (SQLite returns numbers as floats)."""
    if connection.vendor != "postgresql":
        return list(part)
    sql, params = part.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def customer_usage(
    *,
    customer,
    start: datetime,
    end: datetime,
    operations: Iterable[str] | None = None,
) -> dict[str, Decimal]:
    """Operation code -> billable quantity of one customer over ``[start, end)``."""
    return usage_by_customer(
        organization=customer.organization,
        start=start,
        end=end,
        customer_ids=[customer.pk],
        operations=operations,
    ).get(customer.pk, {})


def month_usage_totals(
    *, organization: Organization, period_start: date, operations: Iterable[str]
) -> QuerySet:
    """Rows ``{"customer", "units"}``: each customer's billable quantities of
    ``operations`` (a list, or a queryset of codes) in the UTC calendar month of
    ``period_start``, added up; customers without any are absent.

    A queryset, for callers that filter and aggregate it further in SQL (the tier
    utilisation report counts customers per tier in one statement). Sums and
    counts come from the counters plus their pending increments; a max, unique
    count or latest metric is, per customer, a subquery over that customer's
    events of the month (served by the (customer, occurred_at) index), so an
    activity with such metrics costs one index scan per customer and metric.
    """
    month = period_start.replace(day=1)
    start, end = utc_month_bounds(month)
    metrics = metric_list(organization=organization, operations=operations)
    counted = [c for c, m in metrics.items() if m.aggregation == Aggregation.COUNT]
    by_events = [m for m in metrics.values() if m.aggregation in EVENT_AGGREGATIONS]
    if by_events:
        # One row per customer and operation, as each event metric is per row.
        rows = UsageCounterTotal.objects.filter(
            organization=organization, period_start=month
        )
    else:
        rows = usage_counter_part_list(organization=organization, period_start=month)
    whens = [
        When(operation=metric.operation, then=_row_metric(metric, start, end))
        for metric in by_events
    ]
    if counted:
        whens.append(When(operation__in=counted, then=Cast("event_count", _UNITS)))
    units = F("quantity")
    if whens:
        units = Case(*whens, default=F("quantity"), output_field=_UNITS)
    return (
        rows.filter(operation__in=operations)
        .values("customer")
        .annotate(units=Sum(units))
        .order_by()
    )


def _row_metric(metric: Metric, start: datetime, end: datetime) -> Subquery:
    """The event metric of the customer of the outer counter row over
    ``[start, end)``."""
    events = UsageEvent.objects.filter(
        organization_id=OuterRef("organization_id"),
        customer_id=OuterRef("customer_id"),
        operation=metric.operation,
        occurred_at__gte=start,
        occurred_at__lt=end,
    ).order_by()
    if metric.aggregation == Aggregation.LATEST:
        return Subquery(events.order_by(*_LAST_FIRST).values("quantity")[:1])
    if metric.aggregation == Aggregation.MAX:
        aggregate = Max("quantity")
    else:
        aggregate = Count(_property_value(metric.property), distinct=True)
    return Subquery(
        events.values("customer_id").annotate(units=aggregate).values("units"),
        output_field=_UNITS,
    )


def usage_in_windows(
    *,
    organization: Organization,
    windows: Sequence[tuple[int, datetime, datetime]],
) -> list[dict[str, Decimal]]:
    """For each window ``(customer id, start, end)``, that customer's units per
    operation with ``start <= occurred_at < end``, in the windows' order: the sum
    of quantities, or the number of events for a count metric. Max, unique count
    and latest metrics are absent: they are only billed on a whole period's
    figure (see the module docstring).

    On PostgreSQL one statement joins the events to the windows (passed as arrays),
    so thousands of windows cost one index-served scan of the months they cover;
    elsewhere one aggregate per window.
    """
    usage: list[dict[str, Decimal]] = [{} for _ in windows]
    if not windows:
        return usage
    metrics = metric_list(organization=organization)
    counted = sorted(
        c for c, m in metrics.items() if m.aggregation == Aggregation.COUNT
    )
    by_events = sorted(
        c for c, m in metrics.items() if m.aggregation != Aggregation.COUNT
    )
    if connection.vendor != "postgresql":
        units = Sum(
            Case(
                When(operation__in=counted, then=Value(_ONE)),
                default=F("quantity"),
                output_field=_UNITS,
            )
        )
        for index, (customer_id, start, end) in enumerate(windows):
            rows = (
                usage_event_list(organization=organization, start=start, end=end)
                .filter(customer_id=customer_id)
                .exclude(operation__in=by_events)
                .order_by()
                .values("operation")
                .annotate(units=units)
            )
            usage[index] = {row["operation"]: row["units"] for row in rows}
        return usage
    customers, starts, ends = (list(column) for column in zip(*windows, strict=True))
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT w.idx - 1, e.operation, "
            "SUM(CASE WHEN e.operation = ANY(%s::text[]) THEN 1 ELSE e.quantity END) "
            "FROM unnest(%s::bigint[], %s::timestamptz[], %s::timestamptz[]) "
            "WITH ORDINALITY AS w(customer_id, starts, ends, idx) "
            f"JOIN {UsageEvent._meta.db_table} e "
            "ON e.customer_id = w.customer_id AND e.occurred_at >= w.starts "
            "AND e.occurred_at < w.ends "
            "WHERE e.organization_id = %s AND e.occurred_at >= %s "
            "AND e.occurred_at < %s AND e.operation <> ALL(%s::text[]) "
            "GROUP BY w.idx, e.operation",
            [
                counted,
                customers,
                starts,
                ends,
                organization.pk,
                min(starts),
                max(ends),
                by_events,
            ],
        )
        for index, operation, units in cursor.fetchall():
            usage[index][operation] = units
    return usage


def usage_event_quantities(
    *,
    organization: Organization,
    start: datetime,
    end: datetime,
    operations: Collection[str],
    customer_ids: Collection[int] | None = None,
) -> dict[int, dict[str, dict[Decimal, int]]]:
    """Customer id -> {operation: {units of one event: events}} of the events of
    ``operations`` in ``[start, end)``, for pricing each use on its own: an
    event's units are its quantity, or one for a count metric (one GROUP BY)."""
    if not operations or (customer_ids is not None and not customer_ids):
        return {}
    counted = [
        code
        for code, metric in metric_list(
            organization=organization, operations=operations
        ).items()
        if metric.aggregation == Aggregation.COUNT
    ]
    events = UsageEvent.objects.filter(
        organization=organization,
        occurred_at__gte=start,
        occurred_at__lt=end,
        operation__in=operations,
    )
    wanted = None if customer_ids is None else set(customer_ids)
    if wanted is not None:
        events = _in_id_range(events, (min(wanted), max(wanted)))
    units = F("quantity")
    if counted:
        units = Case(
            When(operation__in=counted, then=Value(_ONE)),
            default=F("quantity"),
            output_field=_UNITS,
        )
    rows = (
        events.order_by()
        .values("customer_id", "operation", units=units)
        .annotate(events=Count("id"))
        .values_list("customer_id", "operation", "units", "events")
    )
    grouped: dict[int, dict[str, dict[Decimal, int]]] = {}
    for customer_id, operation, quantity, count in rows:
        if wanted is not None and customer_id not in wanted:
            continue
        of_operation = grouped.setdefault(customer_id, {}).setdefault(operation, {})
        of_operation[quantity] = of_operation.get(quantity, 0) + count
    return grouped
