"""Reads on pricing, scoped by organization: billing models, engine inputs, reports.

``billing_model_pricing`` is what invoicing calls: it turns a billing model into the
cost engine's input dataclasses (``pricing.engine.ModelPricing``).
"""

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction

from django.db.models import Count, Prefetch, Q, QuerySet, Sum
from django.http import Http404

from billing_site.ids import ascii_id
from billing_site.money import quantize_money
from metering.models import Organization
from metering.selectors import month_usage_totals, operation_list
from pricing import engine
from pricing.models import ActivityBasedConfig, BillingModel, PriceTier

DEFAULT_BPO_BENCHMARK = Decimal("900")  # BPO cost per employee per month, USD


def _with_pricing(queryset: QuerySet[BillingModel]) -> QuerySet[BillingModel]:
    return queryset.select_related("organization").prefetch_related(
        Prefetch(
            "activity_configs",
            queryset=ActivityBasedConfig.objects.order_by("id").prefetch_related(
                Prefetch("tiers", queryset=PriceTier.objects.order_by("position"))
            ),
        )
    )


def billing_model_list(
    *,
    organization: Organization,
    model_type: str | None = None,
    activity_type: str | None = None,
    is_active: bool | None = None,
) -> QuerySet[BillingModel]:
    """The organization's billing models with their pricing prefetched."""
    models = BillingModel.objects.filter(organization=organization)
    if model_type:
        models = models.filter(model_type=model_type)
    if activity_type:
        models = models.filter(activity_configs__activity_type=activity_type)
    if is_active is not None:
        models = models.filter(is_active=is_active)
    return _with_pricing(models.distinct().order_by("name", "id"))


def billing_model_get(*, organization: Organization, pk: int | str) -> BillingModel:
    """One billing model of the organization; 404 for any other."""
    key = str(pk)
    model = (
        _with_pricing(BillingModel.objects.filter(organization=organization))
        .filter(pk=ascii_id(key))
        .first()
        if ascii_id(key) is not None
        else None
    )
    if model is None:
        raise Http404(f"No billing model {key!r}")
    return model


def billing_model_all(*, organizations=None) -> QuerySet[BillingModel]:
    """The billing models of ``organizations`` (a queryset; every organization's
    when None), for staff pages."""
    models = BillingModel.objects.all()
    if organizations is not None:
        models = models.filter(organization__in=organizations)
    return _with_pricing(models).order_by("organization__name", "name")


def activity_pricing(
    config: ActivityBasedConfig, *, currency: str
) -> engine.ActivityPricing:
    """The engine input for one activity (uses prefetched tiers when present)."""
    return engine.ActivityPricing(
        price_per_unit=config.price_per_unit,
        activity_type=config.activity_type,
        base_agent_fee=config.base_agent_fee,
        volume_pricing_enabled=config.volume_pricing_enabled,
        tier_mode=config.tier_mode,
        tiers=tuple(
            engine.Tier(
                up_to=tier.up_to, unit_price=tier.unit_price, flat_fee=tier.flat_fee
            )
            for tier in sorted(config.tiers.all(), key=lambda t: t.position)
        ),
        minimum_charge=config.minimum_charge,
        currency=currency,
    )


def billing_model_pricing(billing_model: BillingModel) -> engine.ModelPricing:
    """The engine input for a whole billing model (its active activities only)."""
    currency = billing_model.organization.currency
    return engine.ModelPricing(
        model_type=billing_model.model_type,
        subscription_fee=billing_model.subscription_fee,
        activities=tuple(
            activity_pricing(config, currency=currency)
            for config in billing_model.activity_configs.all()
            if config.is_active
        ),
        currency=currency,
    )


def unsaved_model_pricing(
    *,
    billing_model: BillingModel,
    activities: list[tuple[ActivityBasedConfig, list]],
    currency: str,
) -> engine.ModelPricing:
    """The engine input of a billing model held in memory (a form's, not saved):
    ``activities`` pairs each activity pricing with its tiers in order (anything
    with ``up_to``, ``unit_price`` and ``flat_fee``). Active activities only, as
    ``billing_model_pricing`` reads a saved one."""
    return engine.ModelPricing(
        model_type=billing_model.model_type,
        subscription_fee=billing_model.subscription_fee,
        activities=tuple(
            engine.ActivityPricing(
                price_per_unit=config.price_per_unit,
                activity_type=config.activity_type,
                base_agent_fee=config.base_agent_fee,
                volume_pricing_enabled=config.volume_pricing_enabled,
                tier_mode=config.tier_mode,
                tiers=tuple(
                    engine.Tier(
                        up_to=tier.up_to,
                        unit_price=tier.unit_price,
                        flat_fee=tier.flat_fee,
                    )
                    for tier in tiers
                ),
                minimum_charge=config.minimum_charge,
                currency=currency,
            )
            for config, tiers in activities
            if config.is_active
        ),
        currency=currency,
    )


def organization_with_billing_models(
    *, slug: str | None, among=None
) -> Organization | None:
    """The organization named by ``slug``, else the first with billing models,
    among ``among`` (a queryset of organizations; all when None)."""
    organizations = Organization.objects.filter(billing_models__isnull=False)
    if among is not None:
        organizations = organizations.filter(pk__in=among.values("pk"))
    if slug:
        organizations = organizations.filter(slug=slug)
    return organizations.order_by("name").first()


def tiered_activity_list(*, organization: Organization) -> list[ActivityBasedConfig]:
    """The organization's activity pricing with volume tiers, tiers prefetched."""
    return list(
        ActivityBasedConfig.objects.filter(
            billing_model__organization=organization,
            volume_pricing_enabled=True,
            tiers__isnull=False,
        )
        .distinct()
        .select_related("billing_model__organization")
        .prefetch_related(
            Prefetch("tiers", queryset=PriceTier.objects.order_by("position"))
        )
        .order_by("billing_model__name", "activity_type")
    )


@dataclass(frozen=True)
class TierUtilisation:
    label: str
    customers: int
    units: Decimal


def last_period_start(*, today: date) -> date:
    """The first day of the calendar month before ``today``'s: the last complete
    period of monthly billing."""
    return (today.replace(day=1) - timedelta(days=1)).replace(day=1)


def activity_usage_by_customer(
    *, organization: Organization, activity_type: str, period_start: date
) -> QuerySet:
    """Rows ``{"customer", "units"}``: each customer's billable quantities of the
    operations of ``activity_type`` in the calendar month (UTC) of
    ``period_start``, added up as invoicing adds them (metering's usage read
    model: each operation aggregated as its metric says).

    An operation belongs to the activity when its ``activity_type`` is it, or when
    its ``activity_type`` is blank and its code is it.
    """
    operations = (
        operation_list(organization=organization)
        .filter(
            Q(activity_type=activity_type) | Q(activity_type="", code=activity_type)
        )
        .values("code")
    )
    return month_usage_totals(
        organization=organization, period_start=period_start, operations=operations
    )


def tier_utilisation(
    *, config: ActivityBasedConfig, period_start: date, customers: QuerySet
) -> list[TierUtilisation]:
    """How many of ``customers`` had their usage of the config's activity end in
    each tier in the month of ``period_start``, and their units.

    ``customers`` is a queryset of customer ids (one column): pricing does not know
    who is billed by a model, so invoicing passes the model's subscribers
    (``invoices.selectors.subscriber_tier_utilisation``).

    One SQL statement once the operations' metrics are read: the per-customer
    totals of ``activity_usage_by_customer`` of ``customers`` as a subquery,
    counted per tier with filtered aggregates (the effective tiers, including the
    open-ended ``price_per_unit`` band). Customers without usage of the activity
    in the month are not counted.
    """
    organization = config.billing_model.organization
    pricing = activity_pricing(config, currency=organization.currency)
    tiers = engine.effective_tiers(pricing)
    labels = engine.tier_labels(pricing)
    aggregates = {}
    lower = Decimal(0)
    for index, tier in enumerate(tiers):
        band = Q(units__gt=lower) if index else Q(units__gte=lower)
        if tier.up_to is not None:
            band &= Q(units__lte=tier.up_to)
        aggregates[f"c{index}"] = Count("customer", filter=band)
        aggregates[f"u{index}"] = Sum("units", filter=band)
        lower = tier.up_to if tier.up_to is not None else lower
    totals = (
        activity_usage_by_customer(
            organization=organization,
            activity_type=config.activity_type,
            period_start=period_start,
        )
        .filter(customer__in=customers)
        .aggregate(**aggregates)
    )
    return [
        TierUtilisation(
            label=labels[index],
            customers=totals[f"c{index}"] or 0,
            units=totals[f"u{index}"] or Decimal(0),
        )
        for index in range(len(tiers))
    ]


@dataclass(frozen=True)
class BpoComparison:
    billing_model: str
    agents: int
    units_per_agent: Decimal
    our_cost: Decimal
    bpo_cost: Decimal
    savings_percent: int  # negative when the billing model costs more

    @property
    def verdict(self) -> str:
        if self.savings_percent >= 0:
            return f"saves {self.savings_percent}%"
        return f"costs {-self.savings_percent}% more"


def _percent_half_up(part: Fraction) -> int:
    scaled = part * 100
    sign = -1 if scaled < 0 else 1
    return sign * int(abs(scaled) + Fraction(1, 2))


def bpo_comparison(
    *,
    billing_models: list[BillingModel],
    agents: int,
    units_per_agent: Decimal,
    benchmark_per_employee: Decimal = DEFAULT_BPO_BENCHMARK,
) -> list[BpoComparison]:
    """Monthly cost of each model against ``agents`` BPO employees at the benchmark.

    Each agent replaces one employee and does ``units_per_agent`` units of every
    activity the model prices. Savings are rounded half-up to a whole percent.
    """
    rows = []
    for model in billing_models:
        pricing = billing_model_pricing(model)
        bpo_cost = quantize_money(benchmark_per_employee * agents, pricing.currency)
        units = {a.activity_type: units_per_agent * agents for a in pricing.activities}
        cost = engine.calculate_model_cost(pricing, units, agents).total
        savings = (
            _percent_half_up((Fraction(bpo_cost) - Fraction(cost)) / Fraction(bpo_cost))
            if bpo_cost
            else 0
        )
        rows.append(
            BpoComparison(
                billing_model=model.name,
                agents=agents,
                units_per_agent=units_per_agent,
                our_cost=cost,
                bpo_cost=bpo_cost,
                savings_percent=savings,
            )
        )
    return rows
