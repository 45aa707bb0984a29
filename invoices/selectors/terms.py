"""Rating inputs: an organization's terms for a period (subscriptions, billing
models, scaling plans, bundles, provider charges) and what ``rating.rate`` needs
per customer.

A monthly invoice carries the subscription fee, the scaling plans in force
(prorated by the second), the price of the bundles that start in the month, the
usage each bundle in force covers (see ``invoices.allowances``), usage priced per
operation or by the billing model's monthly activities, provider charges and
late-usage adjustments; a daily invoice carries the billing model's daily and
per-use activities and the usage of the operations mapped to them.
"""

from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Prefetch, Q, QuerySet

from bundles import selectors as bundle_selectors
from bundles.models import BundleTemplate, PersonalizedBundle, PersonalizedBundleLine
from invoices import allowances, rating
from invoices.models import Invoice, InvoicingSettings, ProviderCharge, Subscription
from invoices.periods import DAILY, MONTHLY, Period
from invoices.selectors._common import ZERO
from invoices.selectors.commercial import TaxTable, discounts_by_customer, tax_table
from invoices.selectors.invoices import invoicing_settings_for
from invoices.selectors.usage import customers_in
from metering import selectors as metering_selectors
from metering.models import Operation, Organization
from pricing import engine as pricing_engine
from pricing import selectors as pricing_selectors
from pricing.models import ActivityBasedConfig, BillingModel
from scaling import selectors as scaling_selectors

PER_USE = ActivityBasedConfig.BillingFrequency.PER_USE


@dataclass
class ModelTerms:
    name: str
    pricing: pricing_engine.ModelPricing
    frequencies: dict[str, str]  # activity type -> billing frequency


@dataclass
class OrganizationTerms:
    """Everything rating needs about an organization for one period, loaded once."""

    organization: Organization
    period: Period
    settings: InvoicingSettings
    activity_of: dict[str, str]
    list_prices: dict[str, Decimal]
    overrides: dict[int, dict[str, Decimal]]
    subscriptions: dict[int, Subscription]
    models: dict[int, ModelTerms]
    bundles: dict[int, list[rating.BundleTerms]] = field(default_factory=dict)
    provider_charges: dict[int, list[ProviderCharge]] = field(default_factory=dict)
    entitlements: dict[int, list[rating.EntitlementTerms]] = field(default_factory=dict)
    # Customers with a bundle whose price the period bills.
    bundles_billed: set[int] = field(default_factory=set)
    # Customers whose subscriptions split a month: all of them, in order.
    split_subscriptions: dict[int, list[Subscription]] = field(default_factory=dict)
    # The customers' tax rates, and the coupons discounting the (monthly) period.
    taxes: TaxTable = field(default_factory=TaxTable)
    discounts: dict[int, tuple[rating.DiscountTerms, ...]] = field(default_factory=dict)
    # Billing model id (None: no model) -> its share of the rating inputs.
    model_inputs: dict = field(default_factory=dict, repr=False)

    def per_use_operations(self, operations: set[str]) -> set[str]:
        per_use_types = {
            activity_type
            for model in self.models.values()
            for activity_type, frequency in model.frequencies.items()
            if frequency == PER_USE
        }
        return {
            code
            for code in operations
            if self.activity_of.get(code, code) in per_use_types
        }

    def customer_ids(self) -> set[int]:
        """Customers with something to bill besides usage."""
        ids = set(self.subscriptions) | set(self.provider_charges)
        return ids | self.bundles_billed | set(self.entitlements)


def _subscriptions_in_force(
    *, organization: Organization, period: Period, customer_ids=None
) -> tuple[dict[int, Subscription], dict[int, list[Subscription]]]:
    """The subscription in force at the period's end (the latest) per customer,
    and, for customers whose subscriptions split the period (a change, or a start
    or end inside it), all of them in order."""
    start, end = period.bounds
    rows = Subscription.objects.filter(
        organization=organization, starts_at__lt=end
    ).filter(Q(ends_at__isnull=True) | Q(ends_at__gt=start))
    if customer_ids is not None:
        rows = rows.filter(customer_id__in=customers_in(customer_ids))
    in_force: dict[int, Subscription] = {}
    all_of: dict[int, list[Subscription]] = defaultdict(list)
    rows = rows.only(
        "customer_id", "billing_model_id", "agents", "starts_at", "ends_at"
    )
    for subscription in rows.order_by("customer_id", "starts_at", "id"):
        in_force[subscription.customer_id] = subscription  # the latest wins
        all_of[subscription.customer_id].append(subscription)
    split = {
        customer_id: subscriptions
        for customer_id, subscriptions in all_of.items()
        if len(subscriptions) > 1
        or subscriptions[0].starts_at > start
        or (subscriptions[0].ends_at is not None and subscriptions[0].ends_at < end)
    }
    return in_force, split


def _model_terms(model_ids: set[int]) -> dict[int, ModelTerms]:
    if not model_ids:
        return {}
    models = pricing_selectors.billing_model_all().filter(pk__in=model_ids)
    return {
        model.pk: ModelTerms(
            name=model.name,
            pricing=pricing_selectors.billing_model_pricing(model),
            frequencies={
                config.activity_type: config.billing_frequency
                for config in model.activity_configs.all()
                if config.is_active
            },
        )
        for model in models
    }


def _bundles_in_force(
    *, organization: Organization, period: Period, customer_ids=None
) -> tuple[dict[int, list[rating.BundleTerms]], set[int]]:
    """Accepted bundles whose validity window overlaps the period, by customer,
    each with the units of the period's usage it covers (``invoices.allowances``:
    only usage inside its window, its allowance used in order of occurrence), and
    the customers with a bundle whose price the period bills.

    A bundle's price is billed once, by the period in which it took effect: the
    later of its start and its acceptance (an offer accepted after its start
    month was invoiced is billed by the month it was accepted in, never lost).
    """
    start, end = period.bounds
    bundles = PersonalizedBundle.objects.filter(
        organization=organization,
        accepted_at__isnull=False,
        valid_from__lt=end,
        valid_until__gt=start,
    ).exclude(status=PersonalizedBundle.Status.DECLINED)
    if customer_ids is not None:
        bundles = bundles.filter(customer_id__in=customers_in(customer_ids))
    bundles = (
        bundles.only("customer_id", "price", "valid_from", "valid_until", "accepted_at")
        .prefetch_related(
            Prefetch(
                "lines",
                queryset=PersonalizedBundleLine.objects.only(
                    "bundle_id", "operation", "included_quantity"
                ),
            ),
            Prefetch("templates", queryset=BundleTemplate.objects.only("name")),
        )
        .order_by("valid_from", "id")
    )
    by_customer: dict[int, list[PersonalizedBundle]] = defaultdict(list)
    for bundle in bundles:
        by_customer[bundle.customer_id].append(bundle)
    windows = {
        customer_id: [
            allowances.BundleWindow(
                key=bundle.pk,
                valid_from=bundle.valid_from,
                valid_until=bundle.valid_until,
                included={
                    line.operation: line.included_quantity
                    for line in bundle.lines.all()
                },
            )
            for bundle in customer_bundles
        ]
        for customer_id, customer_bundles in by_customer.items()
    }
    parts = {
        customer_id: allowances.segments(customer_windows, start=start, end=end)
        for customer_id, customer_windows in windows.items()
    }
    flat = [
        (customer_id, left, right)
        for customer_id, customer_parts in parts.items()
        for left, right in customer_parts
    ]
    read = iter(
        metering_selectors.usage_in_windows(organization=organization, windows=flat)
    )
    terms: dict[int, list[rating.BundleTerms]] = {}
    billed: set[int] = set()
    for customer_id, customer_bundles in by_customer.items():
        covered = allowances.covered_in_period(
            windows[customer_id],
            start=start,
            parts=parts[customer_id],
            usage=[next(read) for _ in parts[customer_id]],
        )
        terms[customer_id] = []
        for bundle in customer_bundles:
            takes_effect = max(bundle.valid_from, bundle.accepted_at)
            billed_here = start <= takes_effect < end
            billed |= {customer_id} if billed_here else set()
            terms[customer_id].append(
                rating.BundleTerms(
                    reference=f"bundle:{bundle.pk}",
                    name=bundle_selectors.bundle_name(bundle),
                    price=bundle.price,
                    included=covered[bundle.pk],
                    billed=billed_here,
                )
            )
    return terms, billed


def _plans_in_force(
    *, organization: Organization, period: Period, customer_ids=None
) -> dict[int, list[rating.EntitlementTerms]]:
    """Scaling plans in force during the period, by customer."""
    start, end = period.bounds
    plans = scaling_selectors.plans_in_force(
        organization=organization,
        start=start,
        end=end,
        customer_ids=None if customer_ids is None else customers_in(customer_ids),
    )
    return {
        customer_id: [
            rating.EntitlementTerms(
                reference=f"scaling_event:{plan.event_id}",
                name=plan.bundle_name,
                monthly_price=plan.monthly_price,
                start=plan.start,
                end=plan.end,
                period=end - start,
            )
            for plan in customer_plans
        ]
        for customer_id, customer_plans in plans.items()
    }


def provider_charges_open(
    *, organization: Organization, period: Period, customer_ids=None
) -> QuerySet[ProviderCharge]:
    """Charges a monthly invoice of ``period`` bills: its own month's and earlier
    months' not yet billed, plus those already on this period's draft."""
    charges = ProviderCharge.objects.filter(
        organization=organization, period_start__lte=period.start
    ).filter(
        Q(invoice__isnull=True)
        | Q(
            invoice__status=Invoice.Status.DRAFT,
            invoice__frequency=MONTHLY,
            invoice__period_start=period.start,
        )
    )
    if customer_ids is not None:
        charges = charges.filter(customer_id__in=customers_in(customer_ids))
    return charges.order_by("period_start", "id")


def organization_terms(
    *, organization: Organization, period: Period, customer_ids=None
) -> OrganizationTerms:
    """Load the period's rating terms of the organization in a handful of queries."""
    subscriptions, split = _subscriptions_in_force(
        organization=organization, period=period, customer_ids=customer_ids
    )
    terms = OrganizationTerms(
        organization=organization,
        period=period,
        settings=invoicing_settings_for(organization=organization),
        activity_of=dict(
            Operation.objects.filter(organization=organization)
            .exclude(activity_type="")
            .values_list("code", "activity_type")
        ),
        list_prices=bundle_selectors.list_prices(organization=organization),
        overrides=bundle_selectors.customer_price_overrides(
            organization=organization, customer_ids=customer_ids
        ),
        subscriptions=subscriptions,
        models=_model_terms(
            {
                subscription.billing_model_id
                for of_customer in split.values()
                for subscription in of_customer
            }
            | {subscription.billing_model_id for subscription in subscriptions.values()}
        ),
    )
    terms.taxes = tax_table(organization=organization, customer_ids=customer_ids)
    if period.frequency == MONTHLY:
        terms.split_subscriptions = split
        terms.discounts = discounts_by_customer(
            organization=organization, period=period, customer_ids=customer_ids
        )
    if period.frequency == MONTHLY:
        terms.bundles, terms.bundles_billed = _bundles_in_force(
            organization=organization, period=period, customer_ids=customer_ids
        )
        terms.entitlements = _plans_in_force(
            organization=organization, period=period, customer_ids=customer_ids
        )
        charges: dict[int, list[ProviderCharge]] = defaultdict(list)
        for charge in provider_charges_open(
            organization=organization, period=period, customer_ids=customer_ids
        ):
            charges[charge.customer_id].append(charge)
        terms.provider_charges = charges
    return terms


@dataclass(frozen=True)
class _ModelInputs:
    """What a billing model contributes to every rating input of a period."""

    activities: tuple[rating.ActivityTerms, ...]
    daily_types: frozenset[str]
    subscription_fee: Decimal
    name: str


def _model_inputs(terms: OrganizationTerms, model_id: int | None) -> _ModelInputs:
    """Built once per billing model and period, not once per customer."""
    found = terms.model_inputs.get(model_id)
    if found is not None:
        return found
    model = terms.models.get(model_id) if model_id is not None else None
    frequencies = model.frequencies if model else {}
    daily_types = frozenset(
        activity_type
        for activity_type, frequency in frequencies.items()
        if frequency != MONTHLY
    )
    activities = tuple(
        rating.ActivityTerms(
            pricing=activity, per_use=frequencies[activity.activity_type] == PER_USE
        )
        for activity in (model.pricing.activities if model else ())
        if (activity.activity_type in daily_types) == (terms.period.frequency == DAILY)
    )
    subscription_fee = ZERO
    if model and model.pricing.model_type in (
        BillingModel.ModelType.SUBSCRIPTION,
        BillingModel.ModelType.HYBRID,
    ):
        subscription_fee = model.pricing.subscription_fee
    found = terms.model_inputs[model_id] = _ModelInputs(
        activities=activities,
        daily_types=daily_types,
        subscription_fee=subscription_fee,
        name=model.name if model else "",
    )
    return found


def _fee_shares(terms: OrganizationTerms, customer_id: int) -> tuple:
    """Each subscription's fixed fees for its share of a month it splits."""
    split = terms.split_subscriptions.get(customer_id)
    if not split:
        return ()
    start, end = terms.period.bounds
    shares = []
    for subscription in split:
        inputs = _model_inputs(terms, subscription.billing_model_id)
        shares.append(
            rating.FeeShare(
                reference=f"subscription:{subscription.pk}",
                name=inputs.name,
                subscription_fee=inputs.subscription_fee,
                base_fees=tuple(
                    (activity.pricing.activity_type, activity.pricing.base_agent_fee)
                    for activity in inputs.activities
                ),
                agents=subscription.agents,
                start=max(subscription.starts_at, start),
                end=min(subscription.ends_at or end, end),
                period=end - start,
            )
        )
    return tuple(shares)


def rating_input(
    *,
    terms: OrganizationTerms,
    customer_id: int,
    usage: dict[str, Decimal],
    per_use_events: dict[str, dict[Decimal, int]] | None = None,
    adjustments: tuple[rating.Adjustment, ...] = (),
) -> rating.RatingInput:
    """What ``rating.rate`` needs for one customer and the terms' period."""
    currency = terms.organization.currency
    subscription = terms.subscriptions.get(customer_id)
    inputs = _model_inputs(
        terms, subscription.billing_model_id if subscription else None
    )
    daily = terms.period.frequency == DAILY
    in_stream = usage
    if inputs.daily_types or daily:
        in_stream = {
            code: units
            for code, units in usage.items()
            if (terms.activity_of.get(code, code) in inputs.daily_types) == daily
        }
    if daily:
        return rating.RatingInput(
            currency=currency,
            usage=in_stream,
            activity_of=terms.activity_of,
            activities=inputs.activities,
            per_use_events=per_use_events or {},
            agents=subscription.agents if subscription else 0,
            billing_model_name=inputs.name,
            taxes=terms.taxes.for_customer(customer_id),
        )
    prices = terms.list_prices
    overrides = terms.overrides.get(customer_id)
    if overrides:
        prices = {**prices, **overrides}
    return rating.RatingInput(
        currency=currency,
        usage=in_stream,
        activity_of=terms.activity_of,
        bundles=tuple(terms.bundles.get(customer_id, ())),
        entitlements=tuple(terms.entitlements.get(customer_id, ())),
        operation_prices=prices,
        activities=inputs.activities,
        agents=subscription.agents if subscription else 0,
        billing_model_name=inputs.name,
        subscription_fee=inputs.subscription_fee,
        fee_shares=_fee_shares(terms, customer_id),
        provider_charges=tuple(
            rating.ProviderChargeItem(
                reference=f"provider_charge:{charge.pk}",
                provider=charge.provider,
                description=charge.description
                or f"network charges {charge.period_start:%Y-%m}",
                amount=charge.amount,
            )
            for charge in terms.provider_charges.get(customer_id, ())
        ),
        markup_percent=terms.settings.provider_markup_percent,
        adjustments=adjustments,
        discounts=terms.discounts.get(customer_id, ()),
        taxes=terms.taxes.for_customer(customer_id),
    )
