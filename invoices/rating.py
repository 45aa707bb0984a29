"""Rating: the lines and total a customer owes for one billing period.

Pure calculation (no ORM, no settings, no clock). ``invoices.selectors`` builds a
``RatingInput`` either from the running usage counters (the live total of the open
period) or from the SQL aggregation of the period's usage events (the invoice); the
same ``rate`` turns either into lines, so the two figures cannot disagree.

Rating is an ordered list of rules (``RULES``): plain functions over the rating
input, each adding its lines, in the order the lines appear:

1. ``subscription``: the billing model's subscription fee (subscription and hybrid).
   When subscriptions split a month (a plan change, or a start or end inside it),
   each one's subscription fee and agent fees (agents x base agent fee of each of
   its model's activities) for the share of the month it was in force, one line
   each with its dates; usage is then rated by the model in force at the month's
   end, its minimum charge topping up usage plus the prorated agent fees.
2. ``entitlement``: each plan (feature bundle) in force during the period, at its
   monthly price times the share of the period it was in force (to the
   microsecond); a plan change mid-period gives one line per plan, with its dates.
3. ``bundle``: the price of each personalised bundle whose validity starts in the
   period.
4. ``bundled_usage``: per operation, the usage the bundles in force cover (only
   usage inside each bundle's validity window, its allowance used in order of
   occurrence across periods: ``invoices.allowances``), at a zero price.
5. The rest of each operation's usage goes, in this order of precedence, to the
   customer's billing model when it prices the operation's activity type (the
   activity type defaults to the operation code), else to the operation's price
   (``overage``: per-customer override or list price), else it is reported as
   unpriced and not charged.
6. Per activity of the billing model, the pricing engine's lines:
   ``base_fee`` (agents x base agent fee), ``tier`` (one per tier entered) or
   ``usage`` (no tiers, or units beyond the last tier), ``minimum_charge``
   (the top-up to the minimum). An activity is rated even without usage, so its
   agent fee and minimum are billed every period. Each line is described by the
   cost preview's label (``pricing.labels``), built from the engine line's kind,
   tier band and prices: ``Tokens — tier 2 (10,000–50,000 at 0.0006)``.
   Per-use activities are priced event by event (each use is a charge of its own,
   rounded on its own, with the minimum applying per use) and their agent fee once
   per period; bundles do not cover them.
7. ``provider_charge``: network charges passed through, times (1 + markup %).
8. ``adjustment``: corrections for usage that arrived after an earlier period's
   invoice was finalized.
9. ``discount``: each coupon the customer redeemed that applies to the period, in
   the order redeemed: a percentage of its eligible lines (lines 1-7 of the
   operations it names, and of the billing-model activities they are priced
   under; all of lines 1-7 when it names none) or a fixed amount, capped at the
   eligible amount and at what earlier discounts left of lines 1-7. A negative
   line each.
10. ``tax``: one line per tax rate of the customer, on the taxable amount (lines
    1-9: charges and adjustments after discounts). An inclusive rate's tax is
    contained in that amount, ``amount - amount / (1 + rate)``: its line
    (``tax_included``) is shown but not added to the total. An exclusive rate is
    charged on the amount net of the inclusive taxes. Exempt customers have no
    rates.

Rounding: every line is rounded once, with ``quantize_money`` (ROUND_HALF_UP, the
currency's minor unit) when it is complete; tier lines come already rounded from the
pricing engine, and discount and tax lines are computed from the rounded lines
before them. The figures of a rating (``Rating``), all sums of rounded lines:

- ``charges``: lines 1-7;
- ``subtotal``: ``charges`` less the inclusive taxes they contain;
- ``discount_total``: the discounts, as a positive amount;
- ``tax_total``: every tax line, inclusive and exclusive;
- ``total``: every line but ``tax_included``, so that
  ``subtotal + adjustments - discount_total + tax_total == total``;
- ``amount_due``: what the customer owes, ``total`` (see ``amount_due``).

A breakdown always adds up to its total.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal, localcontext
from typing import NamedTuple

from django.db.models import TextChoices

from billing_site.decimals import plain_decimal
from billing_site.formatting import document_money, document_number
from billing_site.money import quantize_money
from pricing import engine as pricing_engine
from pricing import labels as pricing_labels

ZERO = Decimal(0)
UNLIMITED = Decimal("Infinity")
_PRECISION = 60


class LineKind(TextChoices):
    """What produced an invoice line; the order is the document's."""

    SUBSCRIPTION = "subscription", "Subscription fee"
    ENTITLEMENT = "entitlement", "Plan"
    BUNDLE = "bundle", "Bundle"
    BUNDLED_USAGE = "bundled_usage", "Bundled usage"
    OVERAGE = "overage", "Usage outside bundles"
    USAGE = "usage", "Usage"
    TIER = "tier", "Tiered usage"
    BASE_FEE = "base_fee", "Base agent fee"
    MINIMUM_CHARGE = "minimum_charge", "Minimum charge adjustment"
    PROVIDER_CHARGE = "provider_charge", "Provider charge"
    ADJUSTMENT = "adjustment", "Late usage adjustment"
    DISCOUNT = "discount", "Discount"
    TAX = "tax", "Tax"
    TAX_INCLUDED = "tax_included", "Tax included in the amounts"


SUBSCRIPTION = LineKind.SUBSCRIPTION.value
ENTITLEMENT = LineKind.ENTITLEMENT.value
BUNDLE = LineKind.BUNDLE.value
BUNDLED_USAGE = LineKind.BUNDLED_USAGE.value
OVERAGE = LineKind.OVERAGE.value
USAGE = LineKind.USAGE.value
TIER = LineKind.TIER.value
BASE_FEE = LineKind.BASE_FEE.value
MINIMUM_CHARGE = LineKind.MINIMUM_CHARGE.value
PROVIDER_CHARGE = LineKind.PROVIDER_CHARGE.value
ADJUSTMENT = LineKind.ADJUSTMENT.value
DISCOUNT = LineKind.DISCOUNT.value
TAX = LineKind.TAX.value
TAX_INCLUDED = LineKind.TAX_INCLUDED.value

# Lines 1-7: what the period's usage and terms charge (discounts apply to them).
CHARGE_KINDS = frozenset(
    {SUBSCRIPTION, ENTITLEMENT, BUNDLE, BUNDLED_USAGE, OVERAGE, USAGE, TIER,
     BASE_FEE, MINIMUM_CHARGE, PROVIDER_CHARGE}
)  # fmt: skip
# Lines shown on the document but not added to its total: the tax an inclusive
# rate finds inside the amounts already charged.
NOT_IN_TOTAL = frozenset({TAX_INCLUDED})

_MICROSECOND = timedelta(microseconds=1)


def _share(start: datetime, end: datetime, period: timedelta) -> Decimal:
    """The exact share of ``period`` from ``start`` to ``end`` (to the
    microsecond, the clock's resolution)."""
    return Decimal((end - start) // _MICROSECOND) / Decimal(period // _MICROSECOND)


# A share of a period is shown with six decimals (the quantity column's).
SHARE_STEP = Decimal("0.000001")


@dataclass(frozen=True)
class EntitlementTerms:
    """A plan (feature bundle) in force during part or all of the period."""

    reference: str  # "scaling_event:7": the change that put the plan in force
    name: str
    monthly_price: Decimal
    start: datetime  # in force from (clipped to the period)
    end: datetime  # until, exclusive (clipped to the period)
    period: timedelta  # the period's length

    @property
    def share(self) -> Decimal:
        return _share(self.start, self.end, self.period)


@dataclass(frozen=True)
class FeeShare:
    """One subscription's fixed fees for the part of the period it was in force,
    when a plan change (or a start or end mid-period) splits the period."""

    reference: str  # "subscription:4"
    name: str  # the billing model's
    subscription_fee: Decimal
    # (activity type, base fee per agent) of the model's activities of the period.
    base_fees: tuple[tuple[str, Decimal], ...]
    agents: int
    start: datetime
    end: datetime  # exclusive
    period: timedelta

    @property
    def share(self) -> Decimal:
        return _share(self.start, self.end, self.period)


@dataclass(frozen=True)
class BundleTerms:
    reference: str  # e.g. "bundle:12", copied onto the lines it produces
    name: str
    price: Decimal  # billed once, in the period its validity starts
    # Operation code -> units of the period's usage the bundle covers (see
    # ``invoices.allowances``); None means all of it.
    included: Mapping[str, Decimal | None] = field(default_factory=dict)
    billed: bool = True  # False when an earlier period billed the price


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
class DiscountTerms:
    """A redeemed coupon that applies to the period: exactly one of
    ``percent_off`` and ``amount_off``."""

    reference: str  # "coupon_redemption:7"
    name: str  # "SPRING20 (Spring offer)"
    percent_off: Decimal | None = None  # 0 < percent <= 100
    amount_off: Decimal | None = None  # in the rating's currency
    # Operation codes the coupon is limited to; empty means every charge.
    operations: frozenset[str] = frozenset()


@dataclass(frozen=True)
class TaxTerms:
    """A tax rate the customer's invoices carry."""

    reference: str  # "tax_rate:3"
    name: str
    rate_percent: Decimal  # 20 = 20 %
    inclusive: bool = False  # the amounts charged already contain the tax


@dataclass(frozen=True)
class RatingInput:
    currency: str
    # Operation code -> units used in the period (all operations, per-use included).
    usage: Mapping[str, Decimal] = field(default_factory=dict)
    # Operation code -> activity type; a missing code is its own activity type.
    activity_of: Mapping[str, str] = field(default_factory=dict)
    bundles: tuple[BundleTerms, ...] = ()
    entitlements: tuple[EntitlementTerms, ...] = ()
    # Operation code -> price per unit outside bundles (override or list price).
    operation_prices: Mapping[str, Decimal] = field(default_factory=dict)
    activities: tuple[ActivityTerms, ...] = ()
    # Per-use operations: code -> {units of one event: number of such events}.
    per_use_events: Mapping[str, Mapping[Decimal, int]] = field(default_factory=dict)
    agents: int = 0
    billing_model_name: str = ""
    subscription_fee: Decimal = ZERO
    # Set when subscriptions split the period: their fixed fees, prorated, replace
    # ``subscription_fee`` and the activities' agent fees.
    fee_shares: tuple[FeeShare, ...] = ()
    provider_charges: tuple[ProviderChargeItem, ...] = ()
    markup_percent: Decimal = ZERO
    adjustments: tuple[Adjustment, ...] = ()
    discounts: tuple[DiscountTerms, ...] = ()
    taxes: tuple[TaxTerms, ...] = ()


class RatedLine(NamedTuple):
    """One rated line: a tuple, as a month writes hundreds of thousands of them;
    its fields are the invoice line's columns of the same names
    (``invoices.documents.LINE_COLUMNS``)."""

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
    charges: Decimal = ZERO  # lines 1-7
    discount_total: Decimal = ZERO  # positive
    tax_total: Decimal = ZERO

    @property
    def amount_due(self) -> Decimal:
        """What the customer owes for the period: the total (the one place a
        later deduction from it belongs)."""
        return self.total


# The pricing engine's line kinds as invoice line kinds (units above the last
# tier are priced at the activity's unit price: usage).
_ENGINE_KINDS = {
    pricing_engine.BASE_AGENT_FEE: BASE_FEE,
    pricing_engine.USAGE: USAGE,
    pricing_engine.TIER: TIER,
    pricing_engine.OVERFLOW: USAGE,
    pricing_engine.MINIMUM_CHARGE_ADJUSTMENT: MINIMUM_CHARGE,
}


def _engine_label(line: pricing_engine.CostLine, currency: str) -> str:
    """The cost preview's label of an engine line, its figures in the document
    forms (the same text whatever the language of whoever rates)."""
    return pricing_labels.line_label(
        line, currency, number=document_number, money=document_money
    )


def _base_fee_label(
    activity_type: str, agents: int, fee: Decimal, currency: str
) -> str:
    """``Tokens — base fee (2 agents at USD 15.00)``: ``fee`` per agent."""
    line = pricing_engine.CostLine(
        key="base_agent_fee",
        amount=ZERO,
        units=Decimal(agents),
        unit_price=fee,
        kind=pricing_engine.BASE_AGENT_FEE,
        activity_type=activity_type,
    )
    return _engine_label(line, currency)


def _minimum_charge_label(activity_type: str, currency: str) -> str:
    line = pricing_engine.CostLine(
        key="minimum_charge_adjustment",
        amount=ZERO,
        kind=pricing_engine.MINIMUM_CHARGE_ADJUSTMENT,
        activity_type=activity_type,
    )
    return _engine_label(line, currency)


def _activity_lines(
    terms: ActivityTerms, units: Decimal, agents: int
) -> list[RatedLine]:
    pricing = terms.pricing
    activity_type = pricing.activity_type
    result = pricing_engine.calculate_cost(pricing, units, agents)
    lines = []
    for line in result.lines:
        if line.kind == pricing_engine.BASE_AGENT_FEE and not line.amount:
            continue
        lines.append(
            RatedLine(
                kind=_ENGINE_KINDS[line.kind],
                description=_engine_label(line, result.currency),
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
                description=_base_fee_label(
                    activity_type, agents, pricing.base_agent_fee, currency
                ),
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


@dataclass
class _Ledger:
    """What the rules build up while rating one customer's period."""

    currency: str
    lines: list[RatedLine] = field(default_factory=list)
    # Operation code -> units the period's bundles include, and their references.
    included: dict[str, Decimal] = field(default_factory=dict)
    included_by: dict[str, list[str]] = field(default_factory=dict)
    # Activity type -> units the billing model prices (after bundles).
    activity_units: dict[str, Decimal] = field(default_factory=dict)
    # Activity type -> {operation code: {units of one use: uses}} for per-use types.
    per_use_events: dict[str, dict[str, Mapping[Decimal, int]]] = field(
        default_factory=dict
    )
    out_of_bundle: dict[str, Decimal] = field(default_factory=dict)
    unpriced: dict[str, Decimal] = field(default_factory=dict)
    # Activity type -> prorated agent fees billed (when subscriptions split the
    # period), counted towards the activity's minimum charge.
    agent_fees: dict[str, Decimal] = field(default_factory=dict)

    def money(self, amount: Decimal) -> Decimal:
        return quantize_money(amount, self.currency)


def _subscription_rule(data: RatingInput, ledger: _Ledger) -> None:
    """The billing model's subscription fee; when subscriptions split the period,
    each one's subscription fee and agent fees for its share of the period."""
    if data.fee_shares:
        for share in data.fee_shares:
            _prorated_fee_lines(share, ledger)
        return
    if data.subscription_fee:
        ledger.lines.append(
            RatedLine(
                kind=SUBSCRIPTION,
                description=f"Subscription: {data.billing_model_name}".rstrip(": "),
                quantity=Decimal(1),
                unit_price=data.subscription_fee,
                amount=ledger.money(data.subscription_fee),
            )
        )


def _prorated_fee_lines(share: FeeShare, ledger: _Ledger) -> None:
    fraction = share.share
    dates = f"{share.start:%Y-%m-%d %H:%M} to {share.end:%Y-%m-%d %H:%M} UTC"
    if share.subscription_fee:
        ledger.lines.append(
            RatedLine(
                kind=SUBSCRIPTION,
                description=f"Subscription: {share.name}, {dates}",
                quantity=fraction.quantize(SHARE_STEP),
                unit_price=share.subscription_fee,
                amount=ledger.money(share.subscription_fee * fraction),
                reference=share.reference,
            )
        )
    for activity_type, fee in share.base_fees:
        if not (fee and share.agents):
            continue
        amount = ledger.money(fee * share.agents * fraction)
        ledger.lines.append(
            RatedLine(
                kind=BASE_FEE,
                description=(
                    _base_fee_label(activity_type, share.agents, fee, ledger.currency)
                    + f", {dates}"
                ),
                quantity=Decimal(share.agents),
                unit_price=fee * fraction,
                amount=amount,
                activity_type=activity_type,
                reference=share.reference,
            )
        )
        ledger.agent_fees[activity_type] = (
            ledger.agent_fees.get(activity_type, ZERO) + amount
        )


def _entitlement_rule(data: RatingInput, ledger: _Ledger) -> None:
    """Each plan in force during the period, for the share of the period's seconds
    it was in force: one line per plan change, rounded once."""
    for plan in data.entitlements:
        share = plan.share
        ledger.lines.append(
            RatedLine(
                kind=ENTITLEMENT,
                description=(
                    f"Plan {plan.name}: {plan.start:%Y-%m-%d %H:%M} to "
                    f"{plan.end:%Y-%m-%d %H:%M} UTC"
                ),
                quantity=share.quantize(SHARE_STEP),
                unit_price=plan.monthly_price,
                amount=ledger.money(plan.monthly_price * share),
                reference=plan.reference,
            )
        )


def _bundle_rule(data: RatingInput, ledger: _Ledger) -> None:
    """The price of each bundle whose validity starts in the period; what each
    bundle in force covers is pooled for the usage rule."""
    for bundle in data.bundles:
        if not bundle.billed:
            continue
        ledger.lines.append(
            RatedLine(
                kind=BUNDLE,
                description=f"Bundle: {bundle.name}",
                quantity=Decimal(1),
                unit_price=bundle.price,
                amount=ledger.money(bundle.price),
                reference=bundle.reference,
            )
        )
    for bundle in data.bundles:
        for code, quantity in bundle.included.items():
            quantity = UNLIMITED if quantity is None else quantity
            ledger.included[code] = ledger.included.get(code, ZERO) + quantity
            ledger.included_by.setdefault(code, []).append(bundle.reference)


def _usage_rule(data: RatingInput, ledger: _Ledger) -> None:
    """Per operation: the part bundles cover at zero, then the rest to the billing
    model's activity, else to the operation's price, else reported unpriced."""
    per_use_types = {
        terms.pricing.activity_type for terms in data.activities if terms.per_use
    }
    ledger.activity_units = {
        terms.pricing.activity_type: ZERO for terms in data.activities
    }
    priced_types = ledger.activity_units
    included = ledger.included
    prices = data.operation_prices
    has_bundles = bool(data.bundles)
    overage: list[RatedLine] = []
    for code in sorted(data.usage):
        quantity = data.usage[code]
        activity_type = data.activity_of.get(code) or code
        if activity_type in per_use_types:
            ledger.per_use_events.setdefault(activity_type, {})[code] = (
                data.per_use_events.get(code, {})
            )
            continue
        rest = quantity
        if code in included:
            covered = min(quantity, included[code])
            if covered:
                ledger.lines.append(
                    RatedLine(
                        BUNDLED_USAGE,
                        f"{code}: included in bundle",
                        covered,
                        ZERO,
                        ledger.money(ZERO),
                        code,
                        "",
                        ",".join(ledger.included_by[code]),
                    )
                )
            rest = quantity - covered
        if not rest:
            continue
        if has_bundles:
            ledger.out_of_bundle[code] = rest
        if activity_type in priced_types:
            priced_types[activity_type] += rest
        elif code in prices:
            price = prices[code]
            overage.append(
                RatedLine(
                    OVERAGE,
                    f"{code}: beyond bundle" if code in included else code,
                    rest,
                    price,
                    ledger.money(rest * price),
                    code,
                )
            )
        else:
            ledger.unpriced[code] = rest
    ledger.lines.extend(overage)


def _activity_rule(data: RatingInput, ledger: _Ledger) -> None:
    """The pricing engine's lines per activity of the billing model: agent fee,
    tiers or usage, minimum charge; per-use activities use by use. When
    subscriptions split the period, the agent fees are the prorated ones already
    billed, and the minimum charge tops up usage plus those fees."""
    prorated = bool(data.fee_shares)
    agents = 0 if prorated else data.agents
    for terms in data.activities:
        activity_type = terms.pricing.activity_type
        if terms.per_use:
            ledger.lines.extend(
                _per_use_lines(
                    terms,
                    ledger.per_use_events.get(activity_type, {}),
                    agents,
                    ledger.currency,
                )
            )
            continue
        lines = _activity_lines(terms, ledger.activity_units[activity_type], agents)
        if prorated:
            lines = _minimum_over_prorated_fees(terms, lines, ledger)
        ledger.lines.extend(lines)


def _minimum_over_prorated_fees(
    terms: ActivityTerms, lines: list[RatedLine], ledger: _Ledger
) -> list[RatedLine]:
    kept = [line for line in lines if line.kind != MINIMUM_CHARGE]
    minimum = ledger.money(terms.pricing.minimum_charge)
    charged = sum((line.amount for line in kept), ZERO) + ledger.agent_fees.get(
        terms.pricing.activity_type, ZERO
    )
    if charged < minimum:
        kept.append(
            RatedLine(
                kind=MINIMUM_CHARGE,
                description=_minimum_charge_label(
                    terms.pricing.activity_type, ledger.currency
                ),
                quantity=None,
                unit_price=None,
                amount=minimum - charged,
                activity_type=terms.pricing.activity_type,
            )
        )
    return kept


def _provider_charge_rule(data: RatingInput, ledger: _Ledger) -> None:
    """Network charges passed through, times (1 + markup %)."""
    markup = Decimal(1) + data.markup_percent / Decimal(100)
    for charge in data.provider_charges:
        unit_price = charge.amount * markup
        ledger.lines.append(
            RatedLine(
                kind=PROVIDER_CHARGE,
                description=f"{charge.provider}: {charge.description}".rstrip(": "),
                quantity=Decimal(1),
                unit_price=unit_price,
                amount=ledger.money(unit_price),
                reference=charge.reference,
            )
        )


def _adjustment_rule(data: RatingInput, ledger: _Ledger) -> None:
    """Corrections for usage that arrived after an earlier invoice was issued."""
    for adjustment in data.adjustments:
        ledger.lines.append(
            RatedLine(
                kind=ADJUSTMENT,
                description=adjustment.description,
                quantity=None,
                unit_price=None,
                amount=ledger.money(adjustment.amount),
                reference=adjustment.reference,
            )
        )


def _eligible(line: RatedLine, operations: frozenset[str], types: set[str]) -> bool:
    if line.operation:
        return line.operation in operations
    return line.activity_type in types


def _discount_rule(data: RatingInput, ledger: _Ledger) -> None:
    """Each coupon applying to the period, in the order redeemed: percent of its
    eligible lines (rounded once) or its fixed amount, capped at the eligible
    amount and at what earlier discounts left of lines 1-7."""
    if not data.discounts:
        return
    charges = [line for line in ledger.lines if line.kind in CHARGE_KINDS]
    remaining = sum((line.amount for line in charges), ZERO)
    for discount in data.discounts:
        eligible_lines = charges
        if discount.operations:
            types = {data.activity_of.get(code) or code for code in discount.operations}
            eligible_lines = [
                line for line in charges if _eligible(line, discount.operations, types)
            ]
        eligible = sum((line.amount for line in eligible_lines), ZERO)
        if discount.percent_off is not None:
            amount = ledger.money(eligible * discount.percent_off / Decimal(100))
            terms = f"{plain_decimal(discount.percent_off)}% off"
        else:
            amount = ledger.money(discount.amount_off or ZERO)
            terms = f"{ledger.money(discount.amount_off or ZERO)} off"
        amount = min(amount, eligible, remaining)
        if amount <= ZERO:
            continue
        scope = ", ".join(sorted(discount.operations))
        ledger.lines.append(
            RatedLine(
                kind=DISCOUNT,
                description=f"Coupon {discount.name}: {terms}"
                + (f" ({scope})" if scope else ""),
                quantity=None,
                unit_price=None,
                amount=-amount,
                reference=discount.reference,
            )
        )
        remaining -= amount


def _tax_rule(data: RatingInput, ledger: _Ledger) -> None:
    """One line per tax rate on the taxable amount (every line so far): inclusive
    rates first (the tax inside the amount, not added to the total), then
    exclusive rates on the amount net of them; each rounded once."""
    if not (data.taxes and ledger.lines):
        return
    taxable = sum((line.amount for line in ledger.lines), ZERO)
    included = ZERO
    for tax in data.taxes:
        if not tax.inclusive:
            continue
        amount = ledger.money(
            taxable - taxable / (Decimal(1) + tax.rate_percent / Decimal(100))
        )
        included += amount
        ledger.lines.append(
            RatedLine(
                kind=TAX_INCLUDED,
                description=(
                    f"{tax.name} {plain_decimal(tax.rate_percent)}% included in "
                    f"{taxable}"
                ),
                quantity=taxable,
                unit_price=tax.rate_percent / Decimal(100),
                amount=amount,
                reference=tax.reference,
            )
        )
    net = taxable - included
    for tax in data.taxes:
        if tax.inclusive:
            continue
        rate = tax.rate_percent / Decimal(100)
        ledger.lines.append(
            RatedLine(
                kind=TAX,
                description=f"{tax.name} {plain_decimal(tax.rate_percent)}% on {net}",
                quantity=net,
                unit_price=rate,
                amount=ledger.money(net * rate),
                reference=tax.reference,
            )
        )


# The rules, in the order their lines appear on the document. Each reads the rating
# input and adds lines (and, for bundles and usage, what later rules consume).
RULES = (
    _subscription_rule,
    _entitlement_rule,
    _bundle_rule,
    _usage_rule,
    _activity_rule,
    _provider_charge_rule,
    _adjustment_rule,
    _discount_rule,
    _tax_rule,
)


def rate(data: RatingInput) -> Rating:
    """Price one customer's period; see the module docstring for rules and rounding."""
    ledger = _Ledger(currency=data.currency)
    with localcontext() as context:
        context.prec = _PRECISION
        for rule in RULES:
            rule(data, ledger)
        sums: dict[str, Decimal] = {}
        for line in ledger.lines:
            sums[line.kind] = sums.get(line.kind, ZERO) + line.amount
        charges = sum((sums.get(kind, ZERO) for kind in CHARGE_KINDS), ZERO)
        total = sum(
            (amount for kind, amount in sums.items() if kind not in NOT_IN_TOTAL),
            ZERO,
        )
        included = sums.get(TAX_INCLUDED, ZERO)
    return Rating(
        currency=data.currency,
        lines=tuple(ledger.lines),
        subtotal=charges - included,
        total=total,
        out_of_bundle=ledger.out_of_bundle,
        unpriced=ledger.unpriced,
        charges=charges,
        discount_total=-sums.get(DISCOUNT, ZERO),
        tax_total=sums.get(TAX, ZERO) + included,
    )
