"""Reads on bundles: templates, prices, offers, coverage, and the profiler's signals."""

import datetime as dt
import zoneinfo
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

from dateutil.relativedelta import relativedelta
from django.db.models import Prefetch, QuerySet
from django.http import Http404

from bundles import engine
from bundles.models import (
    BundleSettings,
    BundleTemplate,
    OperationPrice,
    PersonalizedBundle,
    Validity,
)
from metering.models import Customer, Organization, UsageCounter
from profiling import selectors as profiling_selectors
from profiling.models import BehavioralTag, CustomerProfile

# CustomerProfile.predicted_counts covers the next 30 days.
PROFILE_HORIZON_SECONDS = 30 * 86_400

LIVE_STATUSES = (PersonalizedBundle.Status.ACCEPTED, PersonalizedBundle.Status.ACTIVE)


# Settings ---------------------------------------------------------------------------


def bundle_settings_for(*, organization: Organization) -> BundleSettings:
    """The organization's settings row, or an unsaved one with the defaults."""
    found = BundleSettings.objects.filter(organization=organization).first()
    return found or BundleSettings(organization=organization)


def engine_settings_for(*, organization: Organization) -> engine.EngineSettings:
    row = bundle_settings_for(organization=organization)
    return engine.EngineSettings(
        currency=organization.currency,
        threshold=Decimal(row.match_threshold),
        quantity_margin_percent=Decimal(row.quantity_margin_percent),
        max_lines=row.max_lines,
        upsell_percent=Decimal(row.upsell_percent),
        algorithmic_discount_percent=Decimal(row.algorithmic_discount_percent),
    )


# Validity ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Window:
    valid_from: dt.datetime
    valid_until: dt.datetime  # exclusive
    # The calendar period (in the organization's time zone) the offer belongs to.
    period_key: str

    @property
    def seconds(self) -> int:
        return int((self.valid_until - self.valid_from).total_seconds())


def validity_window(
    *,
    validity: str,
    now: dt.datetime,
    timezone: str,
    session_minutes: int,
    custom_duration: dt.timedelta | None = None,
) -> Window:
    """An offer made at ``now`` is valid for one validity length from ``now``.

    Its period key names the calendar day, ISO week, month, session slot (of
    ``session_minutes`` from local midnight) or custom-duration slot (since the Unix
    epoch) containing ``now``, so reruns within one period find the same key.
    """
    local = now.astimezone(zoneinfo.ZoneInfo(timezone))
    if validity == Validity.SESSION:
        length = dt.timedelta(minutes=session_minutes)
        slot = (local.hour * 60 + local.minute) // session_minutes
        key = f"session:{local.date().isoformat()}:{session_minutes}m:{slot}"
        return Window(now, now + length, key)
    if validity == Validity.DAY:
        return Window(now, now + dt.timedelta(days=1), f"day:{local.date()}")
    if validity == Validity.WEEK:
        year, week, _ = local.isocalendar()
        return Window(now, now + dt.timedelta(days=7), f"week:{year}-W{week:02d}")
    if validity == Validity.MONTH:
        return Window(now, now + relativedelta(months=1), f"month:{local:%Y-%m}")
    seconds = int(custom_duration.total_seconds())
    slot = int(now.timestamp()) // seconds
    return Window(now, now + custom_duration, f"custom:{seconds}s:{slot}")


def template_window(
    *, template: BundleTemplate, now: dt.datetime, session_minutes: int
) -> Window:
    return validity_window(
        validity=template.validity,
        now=now,
        timezone=template.organization.timezone,
        session_minutes=session_minutes,
        custom_duration=template.custom_duration,
    )


# Templates and prices ---------------------------------------------------------------


def template_list(*, organization: Organization) -> QuerySet[BundleTemplate]:
    return BundleTemplate.objects.filter(organization=organization).prefetch_related(
        "operations"
    )


def template_get(*, organization: Organization, pk) -> BundleTemplate:
    if not str(pk).isdigit():
        raise Http404(f"No bundle template {pk!r}")
    template = template_list(organization=organization).filter(pk=int(pk)).first()
    if template is None:
        raise Http404(f"No bundle template {pk!r}")
    return template


def _weights(entries) -> dict[str, Decimal]:
    return {entry["name"]: Decimal(str(entry["weight"])) for entry in entries or []}


def template_spec(
    *, template: BundleTemplate, now: dt.datetime, session_minutes: int
) -> engine.TemplateSpec:
    window = template_window(
        template=template, now=now, session_minutes=session_minutes
    )
    return engine.TemplateSpec(
        key=template.pk,
        name=template.name,
        lines=tuple(
            engine.TemplateLine(line.operation, line.included_quantity)
            for line in template.operations.all()
        ),
        discount_percent=template.discount_percent,
        fixed_price=template.fixed_price,
        validity=template.validity,
        validity_seconds=window.seconds,
        target_tags=_weights(template.target_tags),
        target_segments=_weights(template.target_segments),
    )


def active_template_specs(
    *, organization: Organization, now: dt.datetime, session_minutes: int
) -> list[engine.TemplateSpec]:
    templates = template_list(organization=organization).filter(is_active=True)
    return [
        template_spec(template=t, now=now, session_minutes=session_minutes)
        for t in templates.select_related("organization")
    ]


def operation_price_list(*, organization: Organization) -> QuerySet[OperationPrice]:
    return OperationPrice.objects.filter(organization=organization).select_related(
        "customer"
    )


def list_prices(*, organization: Organization) -> dict[str, Decimal]:
    """Operation code -> organization-wide unit price."""
    return dict(
        operation_price_list(organization=organization)
        .filter(customer__isnull=True)
        .values_list("operation", "unit_price")
    )


def customer_price_overrides(
    *, organization: Organization, customer_ids=None
) -> dict[int, dict[str, Decimal]]:
    """Customer id -> {operation code: unit price} for customers with overrides."""
    rows = OperationPrice.objects.filter(
        organization=organization, customer__isnull=False
    )
    if customer_ids is not None:
        rows = rows.filter(customer_id__in=customer_ids)
    overrides: dict[int, dict[str, Decimal]] = defaultdict(dict)
    for customer_id, operation, price in rows.values_list(
        "customer_id", "operation", "unit_price"
    ):
        overrides[customer_id][operation] = price
    return dict(overrides)


def unit_prices_for(*, customer: Customer) -> dict[str, Decimal]:
    """Operation code -> the customer's unit price (override, else list price)."""
    prices = list_prices(organization=customer.organization)
    overrides = customer_price_overrides(
        organization=customer.organization, customer_ids=[customer.pk]
    )
    prices.update(overrides.get(customer.pk, {}))
    return prices


# Signals from the profiler ----------------------------------------------------------


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
    """Units of ``operation`` used in the calendar month (UTC) of ``at``."""
    row = (
        UsageCounter.objects.filter(
            organization_id=customer.organization_id,
            customer=customer,
            operation=operation,
            period_start=at.astimezone(dt.UTC).date().replace(day=1),
        )
        .values_list("quantity", flat=True)
        .first()
    )
    return row or Decimal(0)


# Offers -----------------------------------------------------------------------------


def _with_details(bundles: QuerySet[PersonalizedBundle]) -> QuerySet:
    return bundles.select_related("customer").prefetch_related(
        "lines", Prefetch("templates", queryset=BundleTemplate.objects.only("name"))
    )


def bundle_list(*, organization: Organization) -> QuerySet[PersonalizedBundle]:
    return _with_details(PersonalizedBundle.objects.filter(organization=organization))


def bundle_get(*, organization: Organization, pk) -> PersonalizedBundle:
    if not str(pk).isdigit():
        raise Http404(f"No bundle {pk!r}")
    bundle = bundle_list(organization=organization).filter(pk=int(pk)).first()
    if bundle is None:
        raise Http404(f"No bundle {pk!r}")
    return bundle


def customer_bundles(
    *, organization: Organization, customer: Customer
) -> QuerySet[PersonalizedBundle]:
    return bundle_list(organization=organization).filter(customer=customer)


def portal_bundles(*, customer: Customer, at: dt.datetime) -> dict[str, list]:
    """What the portal shows: open offers and live bundles, both within validity."""
    bundles = _with_details(
        PersonalizedBundle.objects.filter(
            organization_id=customer.organization_id,
            customer=customer,
            valid_from__lte=at,
            valid_until__gt=at,
        )
    ).order_by("valid_until", "id")
    result: dict[str, list] = {"offers": [], "active": []}
    for bundle in bundles:
        if bundle.status == PersonalizedBundle.Status.OFFERED:
            result["offers"].append(bundle)
        elif bundle.status in LIVE_STATUSES:
            result["active"].append(bundle)
    return result


def active_bundles_for(
    *, customer: Customer, at: dt.datetime
) -> QuerySet[PersonalizedBundle]:
    """Bundles the customer accepted and whose validity contains ``at``."""
    return _with_details(
        PersonalizedBundle.objects.filter(
            organization_id=customer.organization_id,
            customer=customer,
            status__in=LIVE_STATUSES,
            valid_from__lte=at,
            valid_until__gt=at,
        )
    )


@dataclass(frozen=True)
class BundleCoverage:
    bundle_id: int
    name: str
    price: Decimal
    currency: str
    valid_from: dt.datetime
    valid_until: dt.datetime  # exclusive
    accepted_at: dt.datetime
    # Operation code -> units included; None means unlimited.
    included: dict[str, Decimal | None]

    @property
    def reference(self) -> str:
        return f"bundle:{self.bundle_id}"


def bundle_coverage(
    *, customer: Customer, start: dt.datetime, end: dt.datetime
) -> list[BundleCoverage]:
    """Accepted bundles whose validity overlaps [start, end), with what they include.

    A bundle counts whether it is still active or has expired since: its acceptance
    is what matters for rating a past period. Usage only counts against a bundle
    while it is valid; callers rate the part of the period each bundle covers.
    """
    bundles = (
        PersonalizedBundle.objects.filter(
            organization_id=customer.organization_id,
            customer=customer,
            accepted_at__isnull=False,
            valid_from__lt=end,
            valid_until__gt=start,
        )
        .prefetch_related(
            "lines",
            Prefetch("templates", queryset=BundleTemplate.objects.only("name")),
        )
        .order_by("valid_from", "id")
    )
    return [
        BundleCoverage(
            bundle_id=bundle.pk,
            name=bundle_name(bundle),
            price=bundle.price,
            currency=bundle.currency,
            valid_from=bundle.valid_from,
            valid_until=bundle.valid_until,
            accepted_at=bundle.accepted_at,
            included={
                line.operation: line.included_quantity for line in bundle.lines.all()
            },
        )
        for bundle in bundles
    ]


def bundle_name(bundle: PersonalizedBundle) -> str:
    """Template names joined, or a generic name for purely algorithmic bundles."""
    names = sorted(template.name for template in bundle.templates.all())
    return " + ".join(names) if names else "Personalised bundle"


# Previews ---------------------------------------------------------------------------


@dataclass(frozen=True)
class PreviewRow:
    customer_id: int
    customer: str
    score: str
    price: Decimal
    list_value: Decimal
    expected_saving: Decimal
    operations: tuple[str, ...]


def template_preview(
    *, template: BundleTemplate, now: dt.datetime, limit: int = 200
) -> dict:
    """Which customers would be offered this template alone, and at what price.

    Active or not, the template is matched against every profiled customer with the
    organization's settings; rows are ordered by expected saving, best first.
    """
    organization = template.organization
    row = bundle_settings_for(organization=organization)
    settings = engine_settings_for(organization=organization)
    spec = template_spec(
        template=template, now=now, session_minutes=row.session_minutes
    )
    signals = customer_signals(organization=organization)
    prices = list_prices(organization=organization)
    overrides = customer_price_overrides(organization=organization)
    names = dict(
        Customer.objects.filter(
            organization=organization, pk__in=list(signals)
        ).values_list("pk", "name")
    )
    rows = []
    for customer_id, customer_signals_ in signals.items():
        customer_prices = {**prices, **overrides.get(customer_id, {})}
        proposal = engine.propose_bundle(
            customer_signals_, [spec], customer_prices, settings
        )
        if proposal is None:
            continue
        rows.append(
            PreviewRow(
                customer_id=customer_id,
                customer=names.get(customer_id, str(customer_id)),
                score=engine.score_text(proposal.matches[0].score),
                price=proposal.price,
                list_value=proposal.list_value,
                expected_saving=proposal.expected_saving,
                operations=tuple(line.operation for line in proposal.lines),
            )
        )
    rows.sort(key=lambda r: (-r.expected_saving, r.customer))
    return {
        "profiled": len(signals),
        "offered": len(rows),
        "rows": rows[:limit],
        "total_price": sum((r.price for r in rows), Decimal(0)),
    }
