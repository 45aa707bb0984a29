"""Usage alerts: creating and deleting them, and firing them once per period.

Usage alerts are evaluated as usage arrives: after a batch of events is stored,
``usage_alerts_evaluate`` reads the figures of the batch's customers with an alert
in one aggregate (``metering.usage.usage_by_customer``) and fires those that are
reached. Spend alerts need prices, which metering does not know: the
``usage_batch_stored`` signal (``metering.signals``) tells the invoicing app, which
computes the running bill and calls ``usage_alert_fire``; it is sent only for
the batch's customers with spend alerts. An alert fires at most
once per period: ``AlertTrigger``'s unique (alert, period_start) settles
concurrent batches.
"""

from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from django.db import IntegrityError, transaction

from billing_site.decimals import plain_decimal
from billing_site.errors import DomainError
from metering.models import AlertTrigger, Customer, UsageAlert, WebhookEvent
from metering.services.webhooks import webhook_event_emit
from metering.usage import usage_by_customer, utc_month_bounds

MAX_THRESHOLD = Decimal("1000000000000")


def alert_period_bounds(period: str, now: datetime) -> tuple[datetime, datetime]:
    """``[start, end)`` of the period of kind ``period`` containing ``now`` (UTC)."""
    if period == UsageAlert.Period.DAY:
        day = now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
        return day, day + timedelta(days=1)
    return utc_month_bounds(now)


@transaction.atomic
def usage_alert_create(
    *,
    customer: Customer,
    kind: str,
    threshold: Decimal,
    operation: str = "",
    period: str = UsageAlert.Period.BILLING_PERIOD,
) -> UsageAlert:
    """An alert on the customer's usage of ``operation`` (``kind="usage"``) or its
    running bill (``kind="spend"``, billing periods only, in whole cents)."""
    if kind == UsageAlert.Kind.USAGE and not operation:
        raise DomainError("A usage alert names its operation.", field="operation")
    if kind == UsageAlert.Kind.SPEND:
        if operation:
            raise DomainError(
                "A spend alert covers every operation: leave operation out.",
                field="operation",
            )
        if period != UsageAlert.Period.BILLING_PERIOD:
            raise DomainError(
                "A spend alert watches the billing period.", field="period"
            )
        if threshold != threshold.quantize(Decimal("0.01")):
            raise DomainError(
                "A spend threshold is an amount with at most 2 decimal places.",
                field="threshold",
            )
    if not Decimal(0) < threshold <= MAX_THRESHOLD:
        raise DomainError(
            f"Must be more than 0 and at most {MAX_THRESHOLD}.", field="threshold"
        )
    alert = UsageAlert(
        organization_id=customer.organization_id,
        customer=customer,
        kind=kind,
        operation=operation,
        threshold=threshold,
        period=period,
    )
    alert.full_clean()
    alert.save()
    return alert


@transaction.atomic
def usage_alert_delete(*, alert: UsageAlert) -> None:
    """Delete an alert with its triggers (the webhook events sent stay)."""
    alert.delete()


@dataclass(frozen=True)
class DueAlert:
    """An alert not yet fired in the period containing the moment asked about."""

    alert: UsageAlert
    period_start: datetime
    period_end: datetime


def usage_alerts_due(
    *, organization, customer_ids: Collection[int], kind: str, now: datetime
) -> list[DueAlert]:
    """The alerts of ``kind`` of those customers that have not fired in their
    period containing ``now`` (two queries, whatever the number of alerts)."""
    alerts = list(
        UsageAlert.objects.filter(
            organization=organization, customer_id__in=customer_ids, kind=kind
        ).select_related("customer")
    )
    if not alerts:
        return []
    bounds = {
        period.value: alert_period_bounds(period, now) for period in UsageAlert.Period
    }
    fired = set(
        AlertTrigger.objects.filter(
            alert__in=alerts,
            period_start__in={start for start, _ in bounds.values()},
        ).values_list("alert_id", "period_start")
    )
    due = []
    for alert in alerts:
        start, end = bounds[alert.period]
        if (alert.pk, start) not in fired:
            due.append(DueAlert(alert, start, end))
    return due


def usage_alert_fire(
    *, due: DueAlert, value: Decimal, now: datetime
) -> AlertTrigger | None:
    """Record that the alert reached ``value`` in its period and emit
    ``alert.triggered``; None when it already fired in that period (another
    batch got there first)."""
    alert = due.alert
    try:
        with transaction.atomic():
            trigger = AlertTrigger.objects.create(
                alert=alert,
                period_start=due.period_start,
                value=value,
                triggered_at=now,
            )
            webhook_event_emit(
                organization=alert.organization,
                type=WebhookEvent.Type.ALERT_TRIGGERED,
                payload={
                    "alert": {
                        "id": alert.pk,
                        "customer_id": alert.customer.external_id,
                        "kind": alert.kind,
                        "operation": alert.operation or None,
                        "threshold": plain_decimal(alert.threshold),
                        "period": alert.period,
                    },
                    "period_start": due.period_start.isoformat(),
                    "period_end": due.period_end.isoformat(),
                    "value": plain_decimal(value),
                },
                now=now,
                key=f"alert:{alert.pk}:{due.period_start.isoformat()}",
            )
    except IntegrityError:
        return None
    return trigger


def alert_kinds_by_customer(
    *, organization, customer_ids: Collection[int]
) -> dict[int, set[str]]:
    """Customer id -> the kinds of alert it has, for those customers that have
    any (one query)."""
    kinds: dict[int, set[str]] = {}
    for customer_id, kind in (
        UsageAlert.objects.filter(
            organization=organization, customer_id__in=customer_ids
        )
        .values_list("customer_id", "kind")
        .distinct()
    ):
        kinds.setdefault(customer_id, set()).add(kind)
    return kinds


def usage_alerts_evaluate(
    *, organization, customer_ids: Collection[int], now: datetime
) -> list[AlertTrigger]:
    """Fire the usage alerts of those customers that their usage in the period
    containing ``now`` reaches; called once per stored batch. One aggregate per
    kind of period in use reads every figure."""
    due = usage_alerts_due(
        organization=organization,
        customer_ids=customer_ids,
        kind=UsageAlert.Kind.USAGE,
        now=now,
    )
    fired = []
    for period in UsageAlert.Period.values:
        of_period = [item for item in due if item.alert.period == period]
        if not of_period:
            continue
        start, end = of_period[0].period_start, of_period[0].period_end
        usage = usage_by_customer(
            organization=organization,
            start=start,
            end=end,
            customer_ids={item.alert.customer_id for item in of_period},
            operations=sorted({item.alert.operation for item in of_period}),
        )
        for item in of_period:
            value = usage.get(item.alert.customer_id, {}).get(item.alert.operation)
            if value is not None and value >= item.alert.threshold:
                trigger = usage_alert_fire(due=item, value=value, now=now)
                if trigger is not None:
                    fired.append(trigger)
    return fired
