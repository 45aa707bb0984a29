"""Reads of metering (tenancy, usage events, counters), scoped by organization first.

The usage read model (billable quantities per customer, operation and period, and
every other read of events and counters that other apps make) lives in
``metering.usage`` and is re-exported here: other apps import it from this module.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import psycopg
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.db.models import Count, DateField, F, QuerySet, Sum
from django.db.models.functions import TruncDate, TruncMinute, TruncMonth
from django.http import Http404

from billing_site.errors import DomainError
from billing_site.ids import ascii_id
from metering.models import (
    AlertTrigger,
    ApiKey,
    Customer,
    Operation,
    Organization,
    UsageAlert,
    UsageEvent,
    WebhookDelivery,
)
from metering.services import alert_period_bounds, api_key_hash
from metering.usage import Metric as Metric
from metering.usage import active_customer_ids as active_customer_ids
from metering.usage import customer_usage as customer_usage
from metering.usage import metric_list as metric_list
from metering.usage import month_usage_totals as month_usage_totals
from metering.usage import operation_event_counts as operation_event_counts
from metering.usage import usage_by_customer as usage_by_customer
from metering.usage import usage_counter_part_list as usage_counter_part_list
from metering.usage import usage_event_list as usage_event_list
from metering.usage import usage_event_quantities as usage_event_quantities
from metering.usage import usage_events_sql as usage_events_sql
from metering.usage import usage_in_windows as usage_in_windows
from metering.usage import usage_received_after as usage_received_after
from metering.usage import usage_total_list as usage_total_list
from metering.usage import utc_month_bounds as utc_month_bounds
from metering.usage import utc_month_of as utc_month_of


def _columns(model, alias: str) -> str:
    return ", ".join(
        f'{alias}."{field.column}"' for field in model._meta.concrete_fields
    )


# Every API request authenticates with this statement: written out and prepared,
# because compiling the equivalent ORM query took several times as long as
# running it.
_ACTIVE_API_KEY_SQL = (
    f"SELECT {_columns(ApiKey, 'k')}, {_columns(Organization, 'o')} "
    f"FROM {ApiKey._meta.db_table} k "
    f"JOIN {Organization._meta.db_table} o ON o.id = k.organization_id "
    "WHERE k.hashed_key = %s AND k.revoked_at IS NULL"
)


def api_key_get_active(*, raw_key: str) -> ApiKey | None:
    """The unrevoked key with this secret, its organization loaded, or None."""
    hashed = api_key_hash(raw_key)
    if connection.vendor != "postgresql":
        # Other databases return some types raw (SQLite: dates as text), which
        # the ORM converts.
        return (
            ApiKey.objects.select_related("organization")
            .filter(hashed_key=hashed, revoked_at__isnull=True)
            .first()
        )
    connection.ensure_connection()
    with psycopg.Cursor(connection.connection) as cursor:
        cursor.execute(_ACTIVE_API_KEY_SQL, (hashed,), prepare=True)
        row = cursor.fetchone()
    if row is None:
        return None
    key_fields = [field.attname for field in ApiKey._meta.concrete_fields]
    api_key = ApiKey.from_db(connection.alias, key_fields, row[: len(key_fields)])
    api_key.organization = Organization.from_db(
        connection.alias,
        [field.attname for field in Organization._meta.concrete_fields],
        row[len(key_fields) :],
    )
    return api_key


def staff_organizations(user) -> QuerySet[Organization]:
    """The organizations a staff user may act for: all for a superuser, those they
    are a member of for other active staff, none for anyone else."""
    if not (user and user.is_authenticated and user.is_active and user.is_staff):
        return Organization.objects.none()
    if user.is_superuser:
        return Organization.objects.all()
    return Organization.objects.filter(memberships__user=user)


def organization_for_request(request) -> Organization | None:
    """The organization an API request acts for.

    An API key implies its organization. A staff user with a session names one of
    their organizations (``staff_organizations``) with ``?organization=<slug>`` or
    the ``X-Organization`` header; without either they get their only one, if they
    have exactly one.
    """
    if isinstance(getattr(request, "auth", None), ApiKey):
        return request.auth.organization
    visible = staff_organizations(getattr(request, "user", None))
    slug = (
        request.query_params.get("organization")
        if hasattr(request, "query_params")
        else request.GET.get("organization")
    )
    slug = slug or request.headers.get("X-Organization")
    if slug:
        return visible.filter(slug=slug).first()
    organizations = list(visible.order_by("pk")[:2])
    return organizations[0] if len(organizations) == 1 else None


def customer_list(*, organization: Organization) -> QuerySet[Customer]:
    return Customer.objects.filter(organization=organization)


def customer_get(*, organization: Organization, key: str | int) -> Customer:
    """A customer by external id or by primary key; 404 outside the organization.

    The external id is tried first: integrations address customers by their own
    ids, so a numeric external id ("1042") must never resolve to the customer
    whose primary key happens to be that number. A purely numeric key that is no
    external id is then tried as primary key.
    """
    customers = customer_list(organization=organization)
    key = str(key)
    customer = customers.filter(external_id=key).first()
    if customer is None and (number := ascii_id(key)) is not None:
        customer = customers.filter(pk=number).first()
    if customer is None:
        raise Http404(f"No customer {key!r}")
    return customer


def customer_named(*, organization: Organization, key: str, field: str) -> Customer:
    """``customer_get`` for a customer a request names in its query or body: an
    unknown one is a ``DomainError`` naming ``field`` (a 400), not a 404."""
    try:
        return customer_get(organization=organization, key=key)
    except Http404:
        raise DomainError(f"Unknown customer {key!r}.", field=field) from None


def portal_customer_for_request(request) -> Customer:
    """The customer whose portal the logged-in user may see; 403 for anyone else."""
    portal_user = getattr(request.user, "portal_user", None)
    if portal_user is None:
        raise PermissionDenied("This login is not linked to a customer account.")
    return portal_user.customer


# Usage events ---------------------------------------------------------------------

USAGE_GROUPINGS = ("operation", "day", "month", "customer", "user_id")


@dataclass(frozen=True)
class UsageTotal:
    """One group of ``usage_totals``; keys not grouped by are ``None``."""

    quantity: Decimal
    event_count: int
    operation: str | None = None
    day: date | None = None  # UTC calendar day
    month: date | None = None  # first day of the UTC month
    customer_id: int | None = None
    user_id: str | None = None


def _grouping_expressions() -> dict:
    return {
        "operation": F("operation"),
        "day": TruncDate("occurred_at", tzinfo=UTC),
        "month": TruncMonth("occurred_at", tzinfo=UTC, output_field=DateField()),
        "customer": F("customer_id"),
        "user_id": F("user_id"),
    }


def usage_totals(
    *,
    organization: Organization,
    customer: Customer | None = None,
    start: datetime,
    end: datetime,
    group_by: str | Sequence[str] = ("operation",),
    operation: str | None = None,
) -> list[UsageTotal]:
    """Summed quantity and event count of events with ``start <= occurred_at <
    end``, grouped by any of ``USAGE_GROUPINGS`` (days and months in UTC), in one
    SQL aggregate ordered by the grouping keys. ``group_by=()`` gives one total."""
    keys = (group_by,) if isinstance(group_by, str) else tuple(group_by)
    unknown = [key for key in keys if key not in USAGE_GROUPINGS]
    if unknown:
        raise ValueError(f"Unknown usage grouping {unknown[0]!r}")
    expressions = _grouping_expressions()
    events = usage_event_list(
        organization=organization,
        customer=customer,
        operation=operation,
        start=start,
        end=end,
    ).order_by()
    if keys:
        rows = (
            events.values(**{f"g_{key}": expressions[key] for key in keys})
            .annotate(total_quantity=Sum("quantity"), total_count=Count("id"))
            .order_by(*(f"g_{key}" for key in keys))
        )
    else:
        rows = [
            events.aggregate(total_quantity=Sum("quantity"), total_count=Count("id"))
        ]
    totals = []
    for row in rows:
        if not keys and not row["total_count"]:
            row["total_quantity"] = Decimal("0")
        fields = {
            ("customer_id" if key == "customer" else key): row[f"g_{key}"]
            for key in keys
        }
        totals.append(
            UsageTotal(
                quantity=row["total_quantity"],
                event_count=row["total_count"],
                **fields,
            )
        )
    return totals


def operation_list(*, organization: Organization) -> QuerySet[Operation]:
    return Operation.objects.filter(organization=organization)


@dataclass(frozen=True)
class OperationRate:
    operation: str
    # Events received in each minute, oldest first (one entry per minute).
    per_minute: list[int]
    total: int


@dataclass(frozen=True)
class TopCustomer:
    customer_id: int
    external_id: str
    name: str
    event_count: int
    quantity: Decimal


@dataclass(frozen=True)
class LiveUsage:
    minutes: list[datetime]  # start of each minute, oldest first
    operations: list[OperationRate]  # busiest first
    top_customers: list[TopCustomer]
    events_per_second: Decimal  # over the whole window


def live_usage(
    *, organization: Organization, now: datetime, minutes: int = 10, top: int = 10
) -> LiveUsage:
    """Events received (server clock) in the last ``minutes`` whole minutes plus
    the current one: per operation and minute, and the busiest customers."""
    current = now.astimezone(UTC).replace(second=0, microsecond=0)
    first = current - timedelta(minutes=minutes)
    slots = [first + timedelta(minutes=offset) for offset in range(minutes + 1)]
    recent = UsageEvent.objects.filter(
        organization=organization, received_at__gte=first, received_at__lte=now
    ).order_by()
    per_operation: dict[str, list[int]] = {}
    for row in recent.values(
        "operation", minute=TruncMinute("received_at", tzinfo=UTC)
    ).annotate(count=Count("id")):
        counts = per_operation.setdefault(row["operation"], [0] * len(slots))
        counts[int((row["minute"] - first).total_seconds() // 60)] = row["count"]
    operations = sorted(
        (
            OperationRate(operation=code, per_minute=counts, total=sum(counts))
            for code, counts in per_operation.items()
        ),
        key=lambda rate: (-rate.total, rate.operation),
    )
    customers = (
        recent.values("customer_id", "customer__external_id", "customer__name")
        .annotate(count=Count("id"), quantity=Sum("quantity"))
        .order_by("-count", "customer_id")[:top]
    )
    seconds = Decimal((now - first).total_seconds()).quantize(Decimal("0.001"))
    total = sum(rate.total for rate in operations)
    return LiveUsage(
        minutes=slots,
        operations=operations,
        top_customers=[
            TopCustomer(
                customer_id=row["customer_id"],
                external_id=row["customer__external_id"],
                name=row["customer__name"],
                event_count=row["count"],
                quantity=row["quantity"],
            )
            for row in customers
        ],
        events_per_second=(
            (Decimal(total) / seconds).quantize(Decimal("0.01"))
            if seconds
            else Decimal("0")
        ),
    )


def webhook_delivery_list(
    *, organizations: QuerySet[Organization], status: str | None = None
) -> QuerySet[WebhookDelivery]:
    """Webhook deliveries of ``organizations``, newest first; ``status`` limits
    them to one state (``WebhookDelivery.Status``)."""
    deliveries = WebhookDelivery.objects.filter(organization__in=organizations)
    if status is not None:
        deliveries = deliveries.filter(status=status)
    return deliveries


@dataclass(frozen=True)
class AlertState:
    """An alert and whether it fired in its period containing the moment asked
    about."""

    alert: UsageAlert
    period_start: datetime
    period_end: datetime
    triggered_at: datetime | None  # in that period; None while not reached
    value: Decimal | None  # the period's figure when it fired


def usage_alert_list(*, customer: Customer) -> QuerySet[UsageAlert]:
    return UsageAlert.objects.filter(
        organization_id=customer.organization_id, customer=customer
    )


def usage_alert_get(*, customer: Customer, key: str | int) -> UsageAlert:
    """One of the customer's alerts by its id; 404 for anything else."""
    alert_id = ascii_id(key)
    alert = (
        usage_alert_list(customer=customer).filter(pk=alert_id).first()
        if alert_id is not None
        else None
    )
    if alert is None:
        raise Http404("No such alert.")
    return alert


def usage_alert_states(*, customer: Customer, now: datetime) -> list[AlertState]:
    """The customer's alerts with their state in their periods containing
    ``now`` (two queries)."""
    alerts = list(usage_alert_list(customer=customer))
    bounds = {
        period.value: alert_period_bounds(period, now) for period in UsageAlert.Period
    }
    fired = {
        (alert_id, start): (triggered_at, value)
        for alert_id, start, triggered_at, value in AlertTrigger.objects.filter(
            alert__in=alerts, period_start__in=[s for s, _ in bounds.values()]
        ).values_list("alert_id", "period_start", "triggered_at", "value")
    }
    states = []
    for alert in alerts:
        start, end = bounds[alert.period]
        triggered_at, value = fired.get((alert.pk, start), (None, None))
        states.append(AlertState(alert, start, end, triggered_at, value))
    return states
