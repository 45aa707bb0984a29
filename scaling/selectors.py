"""Reads for scaling, scoped by organization first."""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import numpy as np
from django.db.models import Avg, Count, Max, OuterRef, Q, QuerySet, Subquery, Sum
from django.db.models.functions import ExtractHour, ExtractMinute, TruncDay, TruncHour

from billing_site.ids import ascii_id
from metering.models import Customer, Organization
from metering.selectors import usage_event_list
from scaling import explaining
from scaling.models import (
    Campaign,
    CapacityFloor,
    Entitlement,
    FeatureBundle,
    Forecast,
    Recommendation,
    ResourceKind,
    ResourceMetric,
    ScalingEvent,
    ScalingPolicy,
)
from scaling.plan_change import (
    PlanChangeQuote,
    PlanSpan,
    plan_change_quote,
    utc_month_bounds,
)
from scaling.recommending import BundleOption, bundle_monthly_price


def series_keys(*, organization: Organization) -> list[tuple[int, str]]:
    """Every (customer id, resource) with metrics, in a stable order."""
    return list(
        ResourceMetric.objects.filter(organization=organization)
        .values_list("customer_id", "resource")
        .distinct()
        .order_by("customer_id", "resource")
    )


def metric_arrays(
    *, organization: Organization, keys: list[tuple[int, str]]
) -> dict[tuple[int, str], tuple[np.ndarray, np.ndarray]]:
    """(epoch seconds, values) per series key, the input of its forecast.

    A series is forecast at its step (``metric_steps``), the step its charts
    plot. An hourly series is its points as stored. A daily series is one value
    per UTC day, combined in SQL as the charts combine it
    (``metric_series_by_step``): a day holding a measured point is its measured
    points only, any other day its derived points (summed, or averaged for a level
    resource). Its newest day is left out while derived hourly points cover only
    part of it (the day is not over), so a day's measured total is never mixed
    with the hourly derived points of the same or any other day.
    """
    kinds = _series_kinds(organization=organization, keys=keys)
    daily = {key for key in keys if _step_of(kinds.get(key, {})) == "day"}
    customer_ids = sorted({customer_id for customer_id, _ in keys})
    resources = sorted({resource for _, resource in keys})
    points = ResourceMetric.objects.filter(
        organization=organization,
        customer_id__in=customer_ids,
        resource__in=resources,
    )
    rows = points.order_by("customer_id", "resource", "timestamp").values_list(
        "customer_id", "resource", "timestamp", "value"
    )
    collected: dict[tuple[int, str], tuple[list, list]] = {}
    wanted = set(keys) - daily
    if wanted:
        for customer_id, resource, timestamp, value in rows.iterator(chunk_size=10_000):
            if (customer_id, resource) not in wanted:
                continue
            seconds, values = collected.setdefault((customer_id, resource), ([], []))
            seconds.append(int(timestamp.timestamp()))
            values.append(value)
    if daily:
        collected.update(_daily_arrays(points=points, keys=daily, kinds=kinds))
    return {
        key: (np.array(seconds, dtype=np.int64), np.array(values, dtype=float))
        for key, (seconds, values) in collected.items()
    }


HOURS_PER_DAY = 24


def _daily_arrays(
    *, points: QuerySet[ResourceMetric], keys: set, kinds: dict
) -> dict[tuple[int, str], tuple[list, list]]:
    """One value per UTC day of each daily series (see ``metric_arrays``)."""
    days = (
        points.annotate(day=TruncDay("timestamp", tzinfo=UTC))
        .values("customer_id", "resource", "day", "derived")
        .annotate(total=Sum("value"), mean=Avg("value"), count=Count("pk"))
        # Measured (False) first in each day: it wins.
        .order_by("customer_id", "resource", "day", "derived")
        .values_list(
            "customer_id", "resource", "day", "derived", "total", "mean", "count"
        )
    )
    chosen: dict[tuple[int, str], dict[datetime, tuple]] = {}
    for customer_id, resource, day, derived, total, mean, count in days:
        value = mean if resource in LEVEL_RESOURCES else total
        key = (customer_id, resource)
        if key in keys:
            chosen.setdefault(key, {}).setdefault(day, (derived, value, count))
    arrays = {}
    for key, by_day in chosen.items():
        _drop_unfinished_day(by_day, hourly_derived=kinds[key].get(True, 0) > 0)
        ordered = sorted(by_day)
        arrays[key] = (
            [int(day.timestamp()) for day in ordered],
            [by_day[day][1] for day in ordered],
        )
    return arrays


def _drop_unfinished_day(by_day: dict, *, hourly_derived: bool) -> None:
    """Leave out a daily series' newest day (``by_day``: day -> (derived, value,
    points)) while hourly derived points cover only part of it: the day is not
    over, and its part-total would read as a fall. Never the only day."""
    if not hourly_derived or len(by_day) < 2:
        return
    newest = max(by_day)
    derived, _, count = by_day[newest]
    if derived and count < HOURS_PER_DAY:
        del by_day[newest]


def metric_series(
    *, customer: Customer, resource: str, since: datetime | None = None
) -> list[tuple[datetime, float]]:
    rows = ResourceMetric.objects.filter(customer=customer, resource=resource)
    if since is not None:
        rows = rows.filter(timestamp__gte=since)
    return list(rows.order_by("timestamp").values_list("timestamp", "value"))


# Resources whose value is a level held during the step (averaged over a longer
# step); every other resource's value is an amount used in the step (summed).
LEVEL_RESOURCES = frozenset({ResourceKind.STORAGE_GB.value})
CHART_STEPS = {"hour": timedelta(hours=1), "day": timedelta(days=1)}


def _series_kinds(
    *, organization: Organization | int, keys: list[tuple[int, str]]
) -> dict[tuple[int, str], dict[bool, int]]:
    """Per series key, per kind (derived or not), how many of its points start
    elsewhere than at 00:00 UTC; a kind without points is absent."""
    rows = (
        ResourceMetric.objects.filter(
            organization=organization,
            customer_id__in={customer_id for customer_id, _ in keys},
            resource__in={resource for _, resource in keys},
        )
        .annotate(
            hour=ExtractHour("timestamp", tzinfo=UTC),
            minute=ExtractMinute("timestamp", tzinfo=UTC),
        )
        .values("customer_id", "resource", "derived")
        .annotate(off=Count("pk", filter=~Q(hour=0, minute=0)))
        .order_by()
        .values_list("customer_id", "resource", "derived", "off")
    )
    wanted = set(keys)
    kinds: dict[tuple[int, str], dict[bool, int]] = {}
    for customer_id, resource, derived, off in rows:
        if (customer_id, resource) in wanted:
            kinds.setdefault((customer_id, resource), {})[derived] = off
    return kinds


def _step_of(kinds: dict[bool, int]) -> str:
    return "day" if any(off == 0 for off in kinds.values()) else "hour"


def metric_steps(
    *, organization: Organization | int, keys: list[tuple[int, str]]
) -> dict[tuple[int, str], str]:
    """The step of each series, ``"hour"`` or ``"day"``: the coarsest step of its
    measured and of its derived points. A kind (measured or derived) whose points
    all start at 00:00 UTC is daily, so a daily measured series is charted and
    forecast daily even where hourly derived points fill the gaps between its
    days."""
    kinds = _series_kinds(organization=organization, keys=keys)
    return {key: _step_of(kinds.get(key, {})) for key in keys}


def metric_step(*, customer: Customer, resource: str) -> str:
    """The step of one series (``metric_steps``)."""
    key = (customer.pk, resource)
    return metric_steps(organization=customer.organization_id, keys=[key])[key]


def metric_series_by_step(
    *, customer: Customer, resource: str, step: str, since: datetime | None = None
) -> list[tuple[datetime, float]]:
    """(UTC bucket start, value) per ``step`` ("hour" or "day"), oldest first.

    A bucket sums the points in it (averages them for a level resource, see
    ``LEVEL_RESOURCES``). A measured point always wins over derived ones: a bucket
    holding any measured point is the sum of its measured points only, so a daily
    measured total is never mixed with the hourly derived points of its day. Per
    day, the newest day is left out while derived hourly points cover only part
    of it, as in the forecast's input (``metric_arrays``).
    """
    trunc = TruncDay if step == "day" else TruncHour
    combine = Avg if resource in LEVEL_RESOURCES else Sum
    rows = ResourceMetric.objects.filter(customer=customer, resource=resource)
    if since is not None:
        rows = rows.filter(timestamp__gte=since)
    buckets: dict[datetime, tuple] = {}
    hourly_derived = False
    for bucket, derived, value, count, off_midnight in (
        rows.annotate(
            bucket=trunc("timestamp", tzinfo=UTC),
            hour=ExtractHour("timestamp", tzinfo=UTC),
            minute=ExtractMinute("timestamp", tzinfo=UTC),
        )
        .values("bucket", "derived")
        .annotate(
            value=combine("value"),
            count=Count("pk"),
            off_midnight=Count("pk", filter=~Q(hour=0, minute=0)),
        )
        .order_by("bucket", "derived")  # measured (False) first in each bucket
        .values_list("bucket", "derived", "value", "count", "off_midnight")
    ):
        hourly_derived = hourly_derived or (derived and off_midnight > 0)
        buckets.setdefault(bucket, (derived, value, count))
    if step == "day":
        _drop_unfinished_day(buckets, hourly_derived=hourly_derived)
    return [(bucket, value) for bucket, (_, value, _) in sorted(buckets.items())]


def metric_latest_for(*, customer: Customer, resource: str) -> datetime | None:
    return (
        ResourceMetric.objects.filter(customer=customer, resource=resource)
        .aggregate(latest=Max("timestamp"))
        .get("latest")
    )


def forecast_points_by_step(*, forecast: Forecast, step: str) -> list[dict]:
    """The forecast's points with ``datetime`` timestamps, combined per ``step``
    like the actuals (``metric_series_by_step``). Summed bands bound the sum of
    the steps only if their errors move together: the widest band, not a narrower
    one the data cannot support."""
    size = CHART_STEPS[step]
    fields = ("yhat", "lower_80", "upper_80", "lower_95", "upper_95")
    buckets: dict[datetime, list[dict]] = {}
    for point in forecast.points:
        moment = datetime.fromisoformat(point["timestamp"])
        offset = (moment - datetime(2000, 1, 1, tzinfo=UTC)) % size
        buckets.setdefault(moment - offset, []).append(point)
    level = forecast.resource in LEVEL_RESOURCES
    combined = []
    for bucket, points in sorted(buckets.items()):
        row: dict = {"timestamp": bucket}
        for name in fields:
            values = [p[name] for p in points if p.get(name) is not None]
            total = sum(values) if values else None
            row[name] = total / len(values) if level and values else total
        combined.append(row)
    return combined


@dataclass(frozen=True)
class CapacityChange:
    """A plan of the account takes effect with this capacity of a resource."""

    at: datetime
    capacity: float | None  # None: the plan has no capacity for the resource


def capacity_history(*, customer: Customer, resource: str) -> list[CapacityChange]:
    """The capacity of ``resource`` from each of the account's scaling events,
    oldest first: the capacity the event's plan had when it took effect (its
    snapshot), from ``occurred_at`` on, so a plan edited or replaced later never
    rewrites the past."""
    return [
        CapacityChange(
            at, float(capacities[resource]) if resource in capacities else None
        )
        for at, capacities in ScalingEvent.objects.filter(customer=customer)
        .order_by("occurred_at", "id")
        .values_list("occurred_at", "capacities")
    ]


def plan_capacities_at(
    *, customer: Customer, at: datetime
) -> dict[str, Decimal] | None:
    """The capacities of the plan in force at ``at`` (the last scaling event at or
    before it), as they were when it took effect; None before the first plan."""
    capacities = (
        ScalingEvent.objects.filter(customer=customer, occurred_at__lte=at)
        .order_by("-occurred_at", "-id")
        .values_list("capacities", flat=True)
        .first()
    )
    if capacities is None:
        return None
    return {resource: Decimal(value) for resource, value in capacities.items()}


def customer_resources(*, customer: Customer) -> list[str]:
    return list(
        ResourceMetric.objects.filter(customer=customer)
        .values_list("resource", flat=True)
        .distinct()
        .order_by("resource")
    )


def recent_peaks(*, customer: Customer, since: datetime) -> dict[str, float]:
    """Largest value of each resource since ``since``."""
    return dict(
        ResourceMetric.objects.filter(customer=customer, timestamp__gte=since)
        .values("resource")
        .annotate(peak=Max("value"))
        .values_list("resource", "peak")
    )


def forecast_latest(*, customer: Customer, resource: str) -> Forecast | None:
    return (
        Forecast.objects.filter(customer=customer, resource=resource)
        .order_by("-generated_at", "-id")
        .first()
    )


def forecasts_latest_for_customer(*, customer: Customer) -> list[Forecast]:
    """The newest forecast of each resource of the account."""
    newest_of_resource = (
        Forecast.objects.filter(customer=customer, resource=OuterRef("resource"))
        .order_by("-generated_at", "-id")
        .values("id")[:1]
    )
    return list(
        Forecast.objects.filter(
            customer=customer, id=Subquery(newest_of_resource)
        ).order_by("resource")
    )


def campaigns_for(
    *, customer: Customer, start: datetime, end: datetime
) -> QuerySet[Campaign]:
    from django.db.models import Q

    return Campaign.objects.filter(
        Q(customer=customer) | Q(customer__isnull=True),
        organization_id=customer.organization_id,
        end__gt=start,
        start__lt=end,
    )


def capacity_floors_for(
    *, customer: Customer, start: datetime, end: datetime
) -> dict[str, float]:
    """The highest scheduled floor per resource overlapping [start, end)."""
    return dict(
        CapacityFloor.objects.filter(customer=customer, end__gt=start, start__lt=end)
        .values("resource")
        .annotate(top=Max("minimum"))
        .values_list("resource", "top")
    )


def policy_for(*, customer: Customer) -> ScalingPolicy:
    """The account's policy, or an unsaved default one (forecast-only)."""
    policy = ScalingPolicy.objects.filter(customer=customer).first()
    return policy or ScalingPolicy(
        organization_id=customer.organization_id, customer=customer
    )


def bundle_list(*, organization: Organization) -> QuerySet[FeatureBundle]:
    return FeatureBundle.objects.filter(
        organization=organization, is_active=True
    ).prefetch_related("capacities")


def bundle_price(*, bundle: FeatureBundle, currency: str) -> Decimal:
    return bundle_monthly_price(
        base_price=bundle.base_price,
        capacities=[(c.capacity, c.unit_price) for c in bundle.capacities.all()],
        currency=currency,
    )


def bundle_option(*, bundle: FeatureBundle, currency: str) -> BundleOption:
    return BundleOption(
        key=bundle.pk,
        name=bundle.name,
        capacities={c.resource: float(c.capacity) for c in bundle.capacities.all()},
        monthly_price=bundle_price(bundle=bundle, currency=currency),
        features=frozenset(bundle.features or []),
    )


def bundle_options(*, organization: Organization) -> list[BundleOption]:
    return [
        bundle_option(bundle=bundle, currency=organization.currency)
        for bundle in bundle_list(organization=organization)
    ]


def entitlement_for(*, customer: Customer) -> Entitlement | None:
    return (
        Entitlement.objects.select_related("bundle").filter(customer=customer).first()
    )


@dataclass(frozen=True)
class PlanInForce:
    """A plan (feature bundle) an account had during part of an interval."""

    event_id: int  # the scaling event that put it in force
    bundle_name: str
    monthly_price: Decimal
    start: datetime  # clipped to the interval
    end: datetime  # exclusive, clipped to the interval


def plans_in_force(
    *, organization: Organization, start: datetime, end: datetime, customer_ids=None
) -> dict[int, list[PlanInForce]]:
    """Per account, the plans in force during ``[start, end)``, oldest first.

    Read from the scaling history: each event puts its bundle in force at its
    monthly price from ``occurred_at`` until the account's next event (a plan is
    never ended otherwise), so the plan at ``start`` is the one of the last event
    before it. ``customer_ids`` is anything a ``customer_id__in`` filter accepts.
    Accounts change plans a handful of times, so the history is read whole.
    """
    events = ScalingEvent.objects.filter(organization=organization, occurred_at__lt=end)
    if customer_ids is not None:
        events = events.filter(customer_id__in=customer_ids)
    rows = events.order_by("customer_id", "occurred_at", "id").values_list(
        "id", "customer_id", "to_bundle__name", "monthly_price", "occurred_at"
    )
    history: dict[int, list[tuple]] = {}
    for row in rows:
        history.setdefault(row[1], []).append(row)
    plans: dict[int, list[PlanInForce]] = {}
    for customer_id, changes in history.items():
        for index, (event_id, _, name, price, occurred_at) in enumerate(changes):
            until = changes[index + 1][4] if index + 1 < len(changes) else end
            begin, finish = max(occurred_at, start), min(until, end)
            if begin < finish:
                plans.setdefault(customer_id, []).append(
                    PlanInForce(event_id, name, price, begin, finish)
                )
    return plans


def recommendation_list(
    *, organization: Organization, customer: Customer | None = None
) -> QuerySet[Recommendation]:
    rows = Recommendation.objects.filter(organization=organization).select_related(
        "customer", "current_bundle", "recommended_bundle", "forecast"
    )
    if customer is not None:
        rows = rows.filter(customer=customer)
    return rows


def recommendation_get(*, organization: Organization, pk) -> Recommendation:
    from django.http import Http404

    number = ascii_id(pk)
    if number is None:
        raise Http404("No such recommendation")
    recommendation = (
        recommendation_list(organization=organization).filter(pk=number).first()
    )
    if recommendation is None:
        raise Http404("No such recommendation")
    return recommendation


def recommendation_get_for_staff(
    *, organizations: QuerySet[Organization], pk
) -> Recommendation:
    """The recommendation ``pk`` of one of ``organizations`` (those a staff member
    acts for); another organization's is "not found" like a missing one."""
    from django.http import Http404

    number = ascii_id(pk)
    recommendation = (
        Recommendation.objects.filter(organization__in=organizations, pk=number)
        .select_related(
            "organization", "customer", "current_bundle", "recommended_bundle",
            "forecast",
        )
        .first()
        if number is not None
        else None
    )  # fmt: skip
    if recommendation is None:
        raise Http404("No such recommendation")
    return recommendation


def recommendation_quote(
    *, recommendation: Recommendation, at: datetime
) -> PlanChangeQuote:
    """The current and the new monthly price of approving ``recommendation`` at
    ``at``, and what it changes on this month's invoice (``scaling.plan_change``:
    invoicing's proration rule, amounts rounded per plan line)."""
    month_start, month_end = utc_month_bounds(at)
    customer_id = recommendation.customer_id
    plans = plans_in_force(
        organization=recommendation.organization_id,
        start=month_start,
        end=month_end,
        customer_ids=[customer_id],
    ).get(customer_id, [])
    return plan_change_quote(
        plans=[PlanSpan(plan.monthly_price, plan.start, plan.end) for plan in plans],
        new_price=bundle_price(
            bundle=recommendation.recommended_bundle,
            currency=recommendation.currency,
        ),
        at=at,
        currency=recommendation.currency,
    )


def recommendation_reason(*, recommendation: Recommendation) -> str:
    """Why ``recommendation`` is made, in plain language for the customer."""
    forecast = recommendation.forecast
    if forecast is None:
        return ""
    capacity = None
    if recommendation.current_bundle is not None:
        # The plan in force when the recommendation was made, as it was then.
        in_force = plan_capacities_at(
            customer=recommendation.customer, at=recommendation.created_at
        )
        if in_force is None:
            in_force = {
                c.resource: c.capacity
                for c in recommendation.current_bundle.capacities.all()
            }
        capacity = in_force.get(forecast.resource, Decimal(0))
    return explaining.recommendation_reason(
        resource=forecast.resource,
        upgrade=recommendation.direction == Recommendation.Direction.UPGRADE,
        points=[
            (datetime.fromisoformat(point["timestamp"]), point["upper_95"])
            for point in forecast.points
        ],
        capacity=capacity,
        peak=recommendation.predicted_peaks.get(forecast.resource, 0.0),
    )


def forecast_accuracy_text(*, customer: Customer) -> str:
    """How accurate the account's forecasts have been, in one plain sentence."""
    return explaining.forecast_accuracy_sentence(
        forecast.smape
        for forecast in forecasts_latest_for_customer(customer=customer)
        if forecast.state == Forecast.State.OK
    )


def scaling_events_for(*, customer: Customer) -> QuerySet[ScalingEvent]:
    return ScalingEvent.objects.filter(customer=customer).select_related(
        "from_bundle", "to_bundle"
    )


@dataclass(frozen=True)
class AccuracyRow:
    """A forecast's scores as the staff dashboard shows them: MASE to three
    decimal places, sMAPE (%) and the interval coverages (shares) to two."""

    resource: str
    model: str
    state: str
    mase: Decimal | None
    smape: Decimal | None
    baseline_mase: Decimal | None
    coverage_80: Decimal | None
    coverage_95: Decimal | None
    generated_at: datetime


def _score(value: float | None, places: int) -> Decimal | None:
    """A stored (float) score to ``places`` decimal places, for display."""
    if value is None:
        return None
    return Decimal(repr(value)).quantize(Decimal(1).scaleb(-places))


def forecast_accuracy_rows(*, customer: Customer) -> list[AccuracyRow]:
    return [
        AccuracyRow(
            resource=forecast.resource,
            model=forecast.model or "—",
            state=forecast.state,
            mase=_score(forecast.mase, 3),
            smape=_score(forecast.smape, 2),
            baseline_mase=_score(forecast.baseline_mase, 3),
            coverage_80=_score(forecast.coverage_80, 2),
            coverage_95=_score(forecast.coverage_95, 2),
            generated_at=forecast.generated_at,
        )
        for forecast in forecasts_latest_for_customer(customer=customer)
    ]


def customers_with_metrics(*, organization: Organization) -> QuerySet[Customer]:
    return Customer.objects.filter(
        organization=organization,
        pk__in=ResourceMetric.objects.filter(organization=organization).values(
            "customer_id"
        ),
    ).order_by("name", "id")


@dataclass(frozen=True)
class AccountAttention:
    """Why an account needs a look on the staff dashboard."""

    customer: Customer
    pending: int  # pending recommendations
    breaches: tuple[str, ...]  # resources whose newest forecast exceeds capacity

    @property
    def needs_attention(self) -> bool:
        return bool(self.pending or self.breaches)


def accounts_by_attention(*, organization: Organization) -> list[AccountAttention]:
    """The accounts with metrics, those needing attention first (a pending
    recommendation, or a newest OK forecast whose point forecast exceeds the
    provisioned capacity of its resource), then by name."""
    accounts = customers_with_metrics(organization=organization).annotate(
        pending=Count(
            "scaling_recommendations",
            filter=Q(scaling_recommendations__status=Recommendation.Status.PENDING),
        )
    )
    newest = (
        Forecast.objects.filter(
            customer=OuterRef("customer"), resource=OuterRef("resource")
        )
        .order_by("-generated_at", "-id")
        .values("id")[:1]
    )
    forecasts = Forecast.objects.filter(
        organization=organization, id=Subquery(newest), state=Forecast.State.OK
    ).values_list("customer_id", "resource", "points")
    capacities = dict(
        Entitlement.objects.filter(organization=organization).values_list(
            "customer_id", "capacities"
        )
    )
    breaches: dict[int, list[str]] = {}
    for customer_id, resource, points in forecasts:
        capacity = capacities.get(customer_id, {}).get(resource)
        if capacity is not None and any(
            point.get("yhat") is not None and point["yhat"] > float(capacity)
            for point in points
        ):
            breaches.setdefault(customer_id, []).append(resource)
    rows = [
        AccountAttention(
            customer=account,
            pending=account.pending,
            breaches=tuple(sorted(breaches.get(account.pk, []))),
        )
        for account in accounts
    ]
    return sorted(rows, key=lambda row: not row.needs_attention)


def metric_latest_timestamp(
    *, organization: Organization, resource: str, derived: bool | None = None
) -> datetime | None:
    """Timestamp of the newest point of ``resource`` in the organization (of the
    derived or the measured ones only, when ``derived`` says which)."""
    points = ResourceMetric.objects.filter(organization=organization, resource=resource)
    if derived is not None:
        points = points.filter(derived=derived)
    return points.aggregate(latest=Max("timestamp")).get("latest")


def measured_metric_keys(
    *, organization: Organization, resource: str, start: datetime, end: datetime
) -> set[tuple[int, datetime]]:
    """(customer id, timestamp) of the measured (not derived) points of
    ``resource`` with ``start <= timestamp < end``."""
    return set(
        ResourceMetric.objects.filter(
            organization=organization,
            resource=resource,
            derived=False,
            timestamp__gte=start,
            timestamp__lt=end,
        ).values_list("customer_id", "timestamp")
    )


def data_volume_by_bucket(
    *, organization: Organization, start: datetime, end: datetime, granularity: str
) -> list[tuple[int, datetime, int]]:
    """(customer id, UTC bucket start, bytes) of usage events that report a data
    volume, per hour or day with ``start <= occurred_at < end``, summed in SQL."""
    trunc = TruncHour if granularity == "hour" else TruncDay
    return list(
        usage_event_list(organization=organization, start=start, end=end)
        .order_by()
        .filter(data_volume_bytes__isnull=False)
        .values("customer_id", bucket=trunc("occurred_at", tzinfo=UTC))
        .annotate(volume=Sum("data_volume_bytes"))
        .order_by("customer_id", "bucket")
        .values_list("customer_id", "bucket", "volume")
    )
