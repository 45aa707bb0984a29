"""Reads of invoicing: usage aggregation, rating inputs, invoices, live totals.

Usage of a month, for its invoice as for the live total of the open month, is read
from metering's usage counters (see ``period_usage`` for why they are exact); usage of
a day is aggregated in SQL over the day's events (one ``GROUP BY customer,
operation``). Both feed ``invoices.rating.rate`` through ``rating_input``, which
decides what belongs on which invoice:

- a monthly invoice carries the subscription fee, the bundles that start in the
  month (price and included quantities), usage priced per operation or by the
  billing model's monthly activities, provider charges and late-usage adjustments;
- a daily invoice carries the billing model's daily and per-use activities and the
  usage of the operations mapped to them.
"""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from django.db import connection
from django.db.models import Count, Exists, OuterRef, Prefetch, Q, QuerySet, Sum
from django.db.models.expressions import RawSQL
from django.http import Http404

from bundles import selectors as bundle_selectors
from bundles.models import BundleTemplate, PersonalizedBundle, PersonalizedBundleLine
from invoices import periods, rating
from invoices.models import (
    Invoice,
    InvoiceLine,
    InvoicingSettings,
    ProviderCharge,
    Subscription,
)
from invoices.periods import DAILY, MONTHLY, Period
from metering.models import Customer, Operation, Organization, UsageCounter, UsageEvent
from pricing import engine as pricing_engine
from pricing import selectors as pricing_selectors
from pricing.models import ActivityBasedConfig, BillingModel

ZERO = Decimal(0)
PER_USE = ActivityBasedConfig.BillingFrequency.PER_USE
BILLABLE_STATUSES = (Invoice.Status.FINALIZED, Invoice.Status.PAID)


def invoicing_settings_for(*, organization: Organization) -> InvoicingSettings:
    """The organization's settings, or unsaved defaults."""
    found = InvoicingSettings.objects.filter(organization=organization).first()
    return found or InvoicingSettings(organization=organization)


# Invoices ---------------------------------------------------------------------------


def invoice_list(
    *,
    organization: Organization,
    customer_external_id: str | None = None,
    status: str | None = None,
    period: Period | None = None,
) -> QuerySet[Invoice]:
    invoices = Invoice.objects.filter(organization=organization).select_related(
        "customer"
    )
    if customer_external_id:
        invoices = invoices.filter(customer__external_id=customer_external_id)
    if status:
        invoices = invoices.filter(status=status)
    if period is not None:
        invoices = invoices.filter(
            frequency=period.frequency, period_start=period.start
        )
    return invoices.prefetch_related(
        Prefetch("lines", queryset=InvoiceLine.objects.order_by("position"))
    ).order_by("-period_start", "customer_name", "id")


def invoice_get(*, organization: Organization, pk: int | str) -> Invoice:
    """One invoice of the organization with its lines; 404 for any other."""
    key = str(pk)
    invoice = (
        invoice_list(organization=organization).filter(pk=int(key)).first()
        if key.isdigit()
        else None
    )
    if invoice is None:
        raise Http404(f"No invoice {key!r}")
    return invoice


def customer_invoices(*, customer: Customer) -> QuerySet[Invoice]:
    """A customer's issued invoices (drafts are not shown to customers)."""
    return (
        Invoice.objects.filter(
            organization_id=customer.organization_id, customer=customer
        )
        .exclude(status=Invoice.Status.DRAFT)
        .order_by("-period_start", "-id")
    )


def invoice_previous(*, invoice: Invoice) -> Invoice | None:
    """The customer's invoice of the period before, same frequency (not void)."""
    previous = invoice.period.previous()
    return (
        Invoice.objects.filter(
            customer_id=invoice.customer_id,
            frequency=invoice.frequency,
            period_start=previous.start,
        )
        .exclude(status=Invoice.Status.VOID)
        .prefetch_related("lines")
        .first()
    )


@dataclass(frozen=True)
class DiffRow:
    kind: str
    description: str
    previous_quantity: Decimal | None
    current_quantity: Decimal | None
    previous_amount: Decimal
    current_amount: Decimal

    @property
    def change(self) -> Decimal:
        return self.current_amount - self.previous_amount


def invoice_diff(*, invoice: Invoice) -> tuple[Invoice | None, list[DiffRow]]:
    """Lines of ``invoice`` against the previous period's, matched by kind and text."""
    previous = invoice_previous(invoice=invoice)
    before = {
        (line.kind, line.description): line
        for line in (previous.lines.all() if previous else [])
    }
    after = {(line.kind, line.description): line for line in invoice.lines.all()}
    rows = []
    for key in list(after) + [key for key in before if key not in after]:
        old, new = before.get(key), after.get(key)
        rows.append(
            DiffRow(
                kind=key[0],
                description=key[1],
                previous_quantity=old.quantity if old else None,
                current_quantity=new.quantity if new else None,
                previous_amount=old.amount if old else ZERO,
                current_amount=new.amount if new else ZERO,
            )
        )
    return previous, rows


def invoices_finalizable(*, organization: Organization, now: datetime) -> list[Invoice]:
    """Drafts whose period closed more than the grace window ago."""
    grace = timedelta(
        hours=invoicing_settings_for(organization=organization).grace_hours
    )
    drafts = Invoice.objects.filter(
        organization=organization, status=Invoice.Status.DRAFT
    ).order_by("period_start", "id")
    return [draft for draft in drafts if draft.period.closes_at + grace <= now]


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
    """Customer id -> {operation code: units} of events occurring in [start, end).

    One ``GROUP BY customer, operation`` over the organization's events.
    """
    events = UsageEvent.objects.filter(
        organization=organization, occurred_at__gte=start, occurred_at__lt=end
    )
    if customer_ids is not None:
        events = events.filter(customer_id__in=customers_in(customer_ids))
    usage: dict[int, dict[str, Decimal]] = defaultdict(dict)
    rows = (
        events.order_by()
        .values_list("customer_id", "operation")
        .annotate(units=Sum("quantity"))
    )
    for customer_id, operation, units in rows:
        usage[customer_id][operation] = units
    return usage


def per_use_events_by_customer(
    *,
    organization: Organization,
    start: datetime,
    end: datetime,
    operations: set[str],
    customer_ids: list[int] | None = None,
) -> dict[int, dict[str, dict[Decimal, int]]]:
    """Customer id -> {operation: {units of one event: events}} (SQL GROUP BY)."""
    if not operations:
        return {}
    events = UsageEvent.objects.filter(
        organization=organization,
        occurred_at__gte=start,
        occurred_at__lt=end,
        operation__in=operations,
    )
    if customer_ids is not None:
        events = events.filter(customer_id__in=customers_in(customer_ids))
    grouped: dict[int, dict[str, dict[Decimal, int]]] = defaultdict(
        lambda: defaultdict(dict)
    )
    rows = (
        events.order_by()
        .values_list("customer_id", "operation", "quantity")
        .annotate(events=Count("id"))
    )
    for customer_id, operation, quantity, count in rows:
        grouped[customer_id][operation][quantity] = count
    return grouped


def usage_from_counters(*, customer: Customer, month: Period) -> dict[str, Decimal]:
    """Operation code -> units of the month, from the running counters."""
    return dict(
        UsageCounter.objects.filter(
            organization_id=customer.organization_id,
            customer=customer,
            period_start=month.start,
        ).values_list("operation", "quantity")
    )


def usage_by_customer_from_counters(
    *, organization: Organization, month: Period, customer_ids=None
) -> dict[int, dict[str, Decimal]]:
    """Customer id -> {operation code: units} of the month, from the counters."""
    counters = UsageCounter.objects.filter(
        organization=organization, period_start=month.start
    )
    wanted = None
    if customer_ids is not None:
        wanted = set(customer_ids)
        if not wanted:
            return {}
        # Their id range, sifted below: a generation share is a contiguous slice,
        # and a range scans well where a list of thousands of ids does not.
        counters = counters.filter(
            customer_id__gte=min(wanted), customer_id__lte=max(wanted)
        )
    sql, params = (
        counters.order_by()
        .values_list("customer_id", "operation", "quantity")
        .query.sql_with_params()
    )
    usage: dict[int, dict[str, Decimal]] = {}
    with connection.cursor() as cursor:
        # A plain cursor: ~40 counter rows per customer, too many for model rows.
        cursor.execute(sql, params)
        for customer_id, operation, units in cursor.fetchall():
            if wanted is not None and customer_id not in wanted:
                continue
            of_customer = usage.get(customer_id)
            if of_customer is None:
                of_customer = usage[customer_id] = {}
            of_customer[operation] = units
    return usage


def period_usage(
    *, organization: Organization, period: Period, customer_ids=None
) -> dict[int, dict[str, Decimal]]:
    """Customer id -> {operation code: units} used in the period.

    A month reads metering's usage counters rather than scanning its events: a
    counter row per customer, operation and UTC month (the months of
    ``invoices.periods``) is incremented by the same statement that stores the
    events (metering's ingestion, the only writer of events), so it always equals
    the sum of the month's stored events, late ones included (a late event counts
    in the month it occurred in, whenever it arrives). A draft regenerated in the
    grace window, the live total and the re-rating behind a late-usage adjustment
    therefore all see the same figures as an event scan, at ~40 rows per customer
    instead of every event. A day has no counters and aggregates its events.
    """
    if period.frequency == MONTHLY:
        return usage_by_customer_from_counters(
            organization=organization, month=period, customer_ids=customer_ids
        )
    start, end = period.bounds
    return usage_by_customer(
        organization=organization, start=start, end=end, customer_ids=customer_ids
    )


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


# Rating inputs ----------------------------------------------------------------------


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
        return ids | set(self.bundles)


def _subscriptions_in_force(
    *, organization: Organization, period: Period, customer_ids=None
) -> dict[int, Subscription]:
    start, end = period.bounds
    rows = Subscription.objects.filter(
        organization=organization, starts_at__lt=end
    ).filter(Q(ends_at__isnull=True) | Q(ends_at__gt=start))
    if customer_ids is not None:
        rows = rows.filter(customer_id__in=customers_in(customer_ids))
    in_force: dict[int, Subscription] = {}
    rows = rows.only("customer_id", "billing_model_id", "agents")
    for subscription in rows.order_by("customer_id", "starts_at", "id"):
        in_force[subscription.customer_id] = subscription  # the latest wins
    return in_force


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


def _bundles_starting_in(
    *, organization: Organization, period: Period, customer_ids=None
) -> dict[int, list[rating.BundleTerms]]:
    """Accepted bundles whose validity starts in the period, by customer.

    A bundle is billed, and its inclusions count, in the month its validity starts.
    """
    start, end = period.bounds
    bundles = PersonalizedBundle.objects.filter(
        organization=organization,
        accepted_at__isnull=False,
        valid_from__gte=start,
        valid_from__lt=end,
    ).exclude(status=PersonalizedBundle.Status.DECLINED)
    if customer_ids is not None:
        bundles = bundles.filter(customer_id__in=customers_in(customer_ids))
    bundles = (
        bundles.only("customer_id", "price")
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
    by_customer: dict[int, list[rating.BundleTerms]] = defaultdict(list)
    for bundle in bundles:
        by_customer[bundle.customer_id].append(
            rating.BundleTerms(
                reference=f"bundle:{bundle.pk}",
                name=bundle_selectors.bundle_name(bundle),
                price=bundle.price,
                included={
                    line.operation: line.included_quantity
                    for line in bundle.lines.all()
                },
            )
        )
    return by_customer


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
    subscriptions = _subscriptions_in_force(
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
            {subscription.billing_model_id for subscription in subscriptions.values()}
        ),
    )
    if period.frequency == MONTHLY:
        terms.bundles = _bundles_starting_in(
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
        operation_prices=prices,
        activities=inputs.activities,
        agents=subscription.agents if subscription else 0,
        billing_model_name=inputs.name,
        subscription_fee=inputs.subscription_fee,
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
    )


# Late usage -------------------------------------------------------------------------


def invoices_with_late_usage(
    *, organization: Organization, before: Period, customer_ids=None
) -> QuerySet[Invoice]:
    """Issued invoices of earlier periods with events received after finalization."""
    late = UsageEvent.objects.filter(
        organization=organization,
        customer_id=OuterRef("customer_id"),
        occurred_at__date__gte=OuterRef("period_start"),
        occurred_at__date__lte=OuterRef("period_end"),
        received_at__gt=OuterRef("finalized_at"),
    )
    invoices = Invoice.objects.filter(
        organization=organization,
        status__in=BILLABLE_STATUSES,
        frequency=before.frequency,
        period_start__lt=before.start,
    )
    if customer_ids is not None:
        invoices = invoices.filter(customer_id__in=customers_in(customer_ids))
    return invoices.filter(Exists(late)).order_by("period_start", "id")


def late_adjustments(
    *,
    organization: Organization,
    period: Period,
    exclude_invoice_ids: set[int] = frozenset(),
    customer_ids=None,
) -> dict[int, list[rating.Adjustment]]:
    """Customer id -> corrections owed for earlier issued invoices of the frequency.

    Each earlier invoice with late events is re-rated with its period's usage as it
    stands now and the provider charges it billed; the adjustment is the new subtotal
    minus the invoice's subtotal and the adjustments already billed for it elsewhere.
    """
    adjustments: dict[int, list[rating.Adjustment]] = defaultdict(list)
    for invoice in invoices_with_late_usage(
        organization=organization, before=period, customer_ids=customer_ids
    ):
        terms = organization_terms(
            organization=organization,
            period=invoice.period,
            customer_ids=[invoice.customer_id],
        )
        terms.provider_charges = {
            invoice.customer_id: list(invoice.provider_charges.order_by("id"))
        }
        start, end = invoice.period.bounds
        usage = period_usage(
            organization=organization,
            period=invoice.period,
            customer_ids=[invoice.customer_id],
        ).get(invoice.customer_id, {})
        per_use = per_use_events_by_customer(
            organization=organization,
            start=start,
            end=end,
            operations=terms.per_use_operations(set(usage)),
            customer_ids=[invoice.customer_id],
        ).get(invoice.customer_id, {})
        corrected = rating.rate(
            rating_input(
                terms=terms,
                customer_id=invoice.customer_id,
                usage=usage,
                per_use_events=per_use,
            )
        ).subtotal
        billed = (
            InvoiceLine.objects.filter(adjusts_invoice=invoice)
            .exclude(invoice__status=Invoice.Status.VOID)
            .exclude(invoice_id__in=exclude_invoice_ids)
            .aggregate(total=Sum("amount"))["total"]
            or ZERO
        )
        delta = corrected - invoice.subtotal - billed
        if delta:
            adjustments[invoice.customer_id].append(
                rating.Adjustment(
                    reference=f"invoice:{invoice.pk}",
                    description=(
                        f"Late usage for {invoice.period_label} "
                        f"(invoice {invoice.number})"
                    ),
                    amount=delta,
                )
            )
    return adjustments


# Live totals ------------------------------------------------------------------------


@dataclass(frozen=True)
class CurrentUsageCost:
    customer: Customer
    month: Period
    day: Period
    monthly: rating.Rating
    daily: rating.Rating

    @property
    def total(self) -> Decimal:
        return self.monthly.total + self.daily.total


def current_usage_cost(*, customer: Customer, now: datetime) -> CurrentUsageCost:
    """The running total of the open month (from the usage counters) and of the
    open day's daily and per-use charges (from its events), rated like invoices."""
    organization = customer.organization
    month = periods.period_containing(now, MONTHLY)
    day = periods.period_containing(now, DAILY)
    month_terms = organization_terms(
        organization=organization, period=month, customer_ids=[customer.pk]
    )
    monthly = rating.rate(
        rating_input(
            terms=month_terms,
            customer_id=customer.pk,
            usage=usage_from_counters(customer=customer, month=month),
        )
    )
    day_terms = organization_terms(
        organization=organization, period=day, customer_ids=[customer.pk]
    )
    start, end = day.bounds
    day_usage = usage_by_customer(
        organization=organization, start=start, end=end, customer_ids=[customer.pk]
    ).get(customer.pk, {})
    per_use = per_use_events_by_customer(
        organization=organization,
        start=start,
        end=end,
        operations=day_terms.per_use_operations(set(day_usage)),
        customer_ids=[customer.pk],
    ).get(customer.pk, {})
    daily = rating.rate(
        rating_input(
            terms=day_terms,
            customer_id=customer.pk,
            usage=day_usage,
            per_use_events=per_use,
        )
    )
    return CurrentUsageCost(
        customer=customer, month=month, day=day, monthly=monthly, daily=daily
    )


def customer_has_invoices(customer: Customer) -> str:
    """The customer-delete guard: a reason when invoices exist, else ""."""
    count = Invoice.objects.filter(customer=customer).count()
    if count:
        return (
            f"Customer {customer.external_id} has {count} invoice(s) and cannot be "
            "deleted."
        )
    return ""


@dataclass(frozen=True)
class LineGroup:
    label: str
    lines: tuple[InvoiceLine, ...]
    amount: Decimal  # sum of the group's (rounded) line amounts


_GROUPS = (
    ("Subscription and bundles", (rating.SUBSCRIPTION, rating.BUNDLE)),
    ("Usage", (rating.BUNDLED_USAGE, rating.OVERAGE, rating.USAGE, rating.TIER)),
    ("Fees", (rating.BASE_FEE, rating.MINIMUM_CHARGE)),
    ("Provider charges", (rating.PROVIDER_CHARGE,)),
    ("Adjustments", (rating.ADJUSTMENT,)),
)


def invoice_line_groups(*, invoice: Invoice) -> list[LineGroup]:
    """The invoice's lines grouped for display, in document order within a group."""
    lines = sorted(invoice.lines.all(), key=lambda line: line.position)
    groups = []
    for label, kinds in _GROUPS:
        members = tuple(line for line in lines if line.kind in kinds)
        if members:
            groups.append(
                LineGroup(
                    label=label,
                    lines=members,
                    amount=sum((line.amount for line in members), ZERO),
                )
            )
    return groups
