"""Rating: the lines and total a customer owes for one billing period.

Pure calculation (no ORM, no settings, no clock). ``invoices.selectors`` builds a
``RatingInput`` either from the running usage counters (the live total of the open
period) or from the SQL aggregation of the period's usage events (the invoice); the
same ``rate`` turns either into lines, so the two figures cannot disagree.

Rules, in the order the lines appear:

1. ``subscription``: the billing model's subscription fee (subscription and hybrid).
2. ``bundle``: the price of each personalised bundle billed in the period.
3. ``bundled_usage``: per operation, the usage covered by the bundles' included
   quantities (all bundles of the period pooled), at a zero price.
4. The rest of each operation's usage goes, in this order of precedence, to the
   customer's billing model when it prices the operation's activity type (the
   activity type defaults to the operation code), else to the operation's price
   (``overage``: per-customer override or list price), else it is reported as
   unpriced and not charged.
5. Per activity of the billing model, the pricing engine's lines:
   ``base_fee`` (agents x base agent fee), ``tier`` (one per tier entered) or
   ``usage`` (no tiers, or units beyond the last tier), ``minimum_charge``
   (the top-up to the minimum). An activity is rated even without usage, so its
   agent fee and minimum are billed every period.
   Per-use activities are priced event by event (each use is a charge of its own,
   rounded on its own, with the minimum applying per use) and their agent fee once
   per period; bundles do not cover them.
6. ``provider_charge``: network charges passed through, times (1 + markup %).
7. ``adjustment``: corrections for usage that arrived after an earlier period's
   invoice was finalized.

Rounding: every line is rounded once, with ``quantize_money`` (ROUND_HALF_UP, the
currency's minor unit) when it is complete; tier lines come already rounded from the
pricing engine. ``subtotal`` is the sum of lines 1-6, ``total`` the sum of all lines:
a breakdown always adds up to its total.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, localcontext
from typing import NamedTuple

from billing_site.decimals import plain_decimal
from billing_site.money import quantize_money
from pricing import engine as pricing_engine

ZERO = Decimal(0)
UNLIMITED = Decimal("Infinity")
_PRECISION = 60

SUBSCRIPTION = "subscription"
BUNDLE = "bundle"
BUNDLED_USAGE = "bundled_usage"
OVERAGE = "overage"
USAGE = "usage"
TIER = "tier"
BASE_FEE = "base_fee"
MINIMUM_CHARGE = "minimum_charge"
PROVIDER_CHARGE = "provider_charge"
ADJUSTMENT = "adjustment"

KIND_CHOICES = [
    (SUBSCRIPTION, "Subscription fee"),
    (BUNDLE, "Bundle"),
    (BUNDLED_USAGE, "Bundled usage"),
    (OVERAGE, "Usage outside bundles"),
    (USAGE, "Usage"),
    (TIER, "Tiered usage"),
    (BASE_FEE, "Base agent fee"),
    (MINIMUM_CHARGE, "Minimum charge adjustment"),
    (PROVIDER_CHARGE, "Provider charge"),
    (ADJUSTMENT, "Late usage adjustment"),
]


@dataclass(frozen=True)
class BundleTerms:
    reference: str  # e.g. "bundle:12", copied onto the lines it produces
    name: str
    price: Decimal  # billed once, in this period
    # Operation code -> units included; None means unlimited.
    included: Mapping[str, Decimal | None] = field(default_factory=dict)


@dataclass(frozen=True)
class ActivityTerms:
    pricing: pricing_engine.ActivityPricing
    per_use: bool = False


@dataclass(frozen=True)
class ProviderChargeItem:
    reference: str
    provider: str
    description: str
    amount: Decimal  # before markup


@dataclass(frozen=True)
class Adjustment:
    reference: str
    description: str
    amount: Decimal  # exact; rounded here


@dataclass(frozen=True)
class RatingInput:
    currency: str
    # Operation code -> units used in the period (all operations, per-use included).
    usage: Mapping[str, Decimal] = field(default_factory=dict)
    # Operation code -> activity type; a missing code is its own activity type.
    activity_of: Mapping[str, str] = field(default_factory=dict)
    bundles: tuple[BundleTerms, ...] = ()
    # Operation code -> price per unit outside bundles (override or list price).
    operation_prices: Mapping[str, Decimal] = field(default_factory=dict)
    activities: tuple[ActivityTerms, ...] = ()
    # Per-use operations: code -> {units of one event: number of such events}.
    per_use_events: Mapping[str, Mapping[Decimal, int]] = field(default_factory=dict)
    agents: int = 0
    billing_model_name: str = ""
    subscription_fee: Decimal = ZERO
    provider_charges: tuple[ProviderChargeItem, ...] = ()
    markup_percent: Decimal = ZERO
    adjustments: tuple[Adjustment, ...] = ()


class RatedLine(NamedTuple):
    """One rated line: a tuple, as a month writes hundreds of thousands of them;
    its fields, in order, are the columns ``invoices.services`` copies them to."""

    kind: str
    description: str
    quantity: Decimal | None
    unit_price: Decimal | None
    amount: Decimal  # rounded to the currency's minor unit
    operation: str = ""
    activity_type: str = ""
    reference: str = ""  # what produced the line: "bundle:3", "provider_charge:9"


@dataclass(frozen=True)
class Rating:
    currency: str
    lines: tuple[RatedLine, ...]
    subtotal: Decimal
    total: Decimal
    # Operation code -> units charged outside bundles, for customers with bundles.
    out_of_bundle: Mapping[str, Decimal] = field(default_factory=dict)
    # Operation code -> units nothing prices.
    unpriced: Mapping[str, Decimal] = field(default_factory=dict)


def _engine_kind(key: str) -> str:
    if key == "base_agent_fee":
        return BASE_FEE
    if key == "minimum_charge_adjustment":
        return MINIMUM_CHARGE
    if key.startswith("tier_"):
        return TIER
    return USAGE


def _engine_description(key: str, activity_type: str, agents: int) -> str:
    if key == "base_agent_fee":
        return f"{activity_type}: base fee, {agents} agent(s)"
    if key == "minimum_charge_adjustment":
        return f"{activity_type}: minimum charge adjustment"
    if key.startswith("tier_"):
        return f"{activity_type}: tier {key.split('_')[1]}"
    if key == "overflow_cost":
        return f"{activity_type}: beyond the last tier"
    return f"{activity_type}: usage"


def _activity_lines(
    terms: ActivityTerms, units: Decimal, agents: int
) -> list[RatedLine]:
    pricing = terms.pricing
    activity_type = pricing.activity_type
    result = pricing_engine.calculate_cost(pricing, units, agents)
    lines = []
    for line in result.lines:
        if line.key == "base_agent_fee" and not line.amount:
            continue
        lines.append(
            RatedLine(
                kind=_engine_kind(line.key),
                description=_engine_description(line.key, activity_type, agents),
                quantity=line.units,
                unit_price=line.unit_price,
                amount=line.amount,
                activity_type=activity_type,
            )
        )
    return lines


def _per_use_lines(
    terms: ActivityTerms,
    events: Mapping[str, Mapping[Decimal, int]],
    agents: int,
    currency: str,
) -> list[RatedLine]:
    pricing = terms.pricing
    activity_type = pricing.activity_type
    lines = []
    fee = quantize_money(pricing.base_agent_fee * agents, currency)
    if fee:
        lines.append(
            RatedLine(
                kind=BASE_FEE,
                description=f"{activity_type}: base fee, {agents} agent(s)",
                quantity=Decimal(agents),
                unit_price=pricing.base_agent_fee,
                amount=fee,
                activity_type=activity_type,
            )
        )
    for code in sorted(events):
        uses = 0
        units = ZERO
        amount = ZERO
        for quantity, count in sorted(events[code].items()):
            # Each use is one rounded charge; equal uses cost the same.
            per_use = pricing_engine.calculate_cost(pricing, quantity, 0).total
            uses += count
            units += quantity * count
            amount += per_use * count
        if not uses:
            continue
        lines.append(
            RatedLine(
                kind=USAGE,
                description=(
                    f"{code}: {uses} use(s), {plain_decimal(units)} unit(s), "
                    "priced per use"
                ),
                quantity=Decimal(uses),
                unit_price=None,
                amount=amount,
                operation=code,
                activity_type=activity_type,
            )
        )
    return lines


def rate(data: RatingInput) -> Rating:
    """Price one customer's period; see the module docstring for rules and rounding."""
    currency = data.currency
    lines: list[RatedLine] = []
    out_of_bundle: dict[str, Decimal] = {}
    unpriced: dict[str, Decimal] = {}
    with localcontext() as context:
        context.prec = _PRECISION
        if data.subscription_fee:
            lines.append(
                RatedLine(
                    kind=SUBSCRIPTION,
                    description=f"Subscription: {data.billing_model_name}".rstrip(": "),
                    quantity=Decimal(1),
                    unit_price=data.subscription_fee,
                    amount=quantize_money(data.subscription_fee, currency),
                )
            )
        included: dict[str, Decimal] = {}
        included_by: dict[str, list[str]] = {}
        for bundle in data.bundles:
            lines.append(
                RatedLine(
                    kind=BUNDLE,
                    description=f"Bundle: {bundle.name}",
                    quantity=Decimal(1),
                    unit_price=bundle.price,
                    amount=quantize_money(bundle.price, currency),
                    reference=bundle.reference,
                )
            )
            for code, quantity in bundle.included.items():
                quantity = UNLIMITED if quantity is None else quantity
                included[code] = included.get(code, ZERO) + quantity
                included_by.setdefault(code, []).append(bundle.reference)

        per_use_types: set[str] = set()
        priced_types: set[str] = set()
        for terms in data.activities:
            priced_types.add(terms.pricing.activity_type)
            if terms.per_use:
                per_use_types.add(terms.pricing.activity_type)
        activity_units = {activity_type: ZERO for activity_type in priced_types}
        per_use_events: dict[str, dict[str, Mapping[Decimal, int]]] = {}
        overage: list[RatedLine] = []
        usage = data.usage
        activity_of = data.activity_of
        prices = data.operation_prices
        has_bundles = bool(data.bundles)
        for code in sorted(usage):
            quantity = usage[code]
            activity_type = activity_of.get(code) or code
            if activity_type in per_use_types:
                per_use_events.setdefault(activity_type, {})[code] = (
                    data.per_use_events.get(code, {})
                )
                continue
            rest = quantity
            if code in included:
                covered = min(quantity, included[code])
                if covered:
                    lines.append(
                        RatedLine(
                            BUNDLED_USAGE,
                            f"{code}: included in bundle",
                            covered,
                            ZERO,
                            quantize_money(ZERO, currency),
                            code,
                            "",
                            ",".join(included_by[code]),
                        )
                    )
                rest = quantity - covered
            if not rest:
                continue
            if has_bundles:
                out_of_bundle[code] = rest
            if activity_type in priced_types:
                activity_units[activity_type] += rest
            elif code in prices:
                price = prices[code]
                overage.append(
                    RatedLine(
                        OVERAGE,
                        f"{code}: beyond bundle" if code in included else code,
                        rest,
                        price,
                        quantize_money(rest * price, currency),
                        code,
                    )
                )
            else:
                unpriced[code] = rest
        lines.extend(overage)

        for terms in data.activities:
            activity_type = terms.pricing.activity_type
            if terms.per_use:
                lines.extend(
                    _per_use_lines(
                        terms,
                        per_use_events.get(activity_type, {}),
                        data.agents,
                        currency,
                    )
                )
                continue
            lines.extend(
                _activity_lines(terms, activity_units[activity_type], data.agents)
            )

        markup = Decimal(1) + data.markup_percent / Decimal(100)
        for charge in data.provider_charges:
            unit_price = charge.amount * markup
            lines.append(
                RatedLine(
                    kind=PROVIDER_CHARGE,
                    description=(
                        f"{charge.provider}: {charge.description}".rstrip(": ")
                    ),
                    quantity=Decimal(1),
                    unit_price=unit_price,
                    amount=quantize_money(unit_price, currency),
                    reference=charge.reference,
                )
            )
        subtotal = sum((line.amount for line in lines), ZERO)
        total = subtotal
        for adjustment in data.adjustments:
            lines.append(
                RatedLine(
                    kind=ADJUSTMENT,
                    description=adjustment.description,
                    quantity=None,
                    unit_price=None,
                    amount=quantize_money(adjustment.amount, currency),
                    reference=adjustment.reference,
                )
            )
            total += lines[-1].amount
    return Rating(
        currency=currency,
        lines=tuple(lines),
        subtotal=subtotal,
        total=total,
        out_of_bundle=out_of_bundle,
        unpriced=unpriced,
    )
