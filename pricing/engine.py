"""The cost engine: what a priced activity costs for a number of units and agents.

Pure calculation (no ORM, no settings, no clock): plain dataclasses and ``Decimal`` in,
a ``CostResult`` out. ``pricing.selectors.billing_model_pricing`` builds the input from
the database; invoices call ``calculate_cost`` / ``calculate_model_cost`` with it.

Tier semantics (the public tier-pricing engines': Stripe, Lago, OpenMeter):

- A tier covers the units above the previous tier's ``up_to`` and up to its own
  (inclusive); ``up_to=None`` is open-ended and only the last tier may be.
- Units above the last bounded tier are charged at ``price_per_unit`` (the seed's
  rule); that is the open-ended tier the stored tiers imply, shown as the
  ``overflow_cost`` line. Without volume pricing every unit is at ``price_per_unit``.
- ``graduated``: each unit is priced in the tier it falls in; a tier's flat fee is
  charged once usage enters that tier (none at zero usage).
- ``volume``: the first tier whose ``up_to`` the total does not exceed (the first tier
  at zero usage) prices every unit, plus that tier's flat fee; a total may drop at a
  boundary.
- Base fee = agents x ``base_agent_fee``; total = max(usage + base fee,
  ``minimum_charge``), the difference shown as ``minimum_charge_adjustment``.

Rounding: every line is computed exactly, then rounded once with
``quantize_money`` (ROUND_HALF_UP, the currency's minor unit); the total is the sum
of the rounded lines, so a breakdown always adds up to its total. Nothing is rounded
before a line is complete.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal, localcontext

from billing_site.errors import DomainError
from billing_site.money import quantize_money

ZERO = Decimal(0)
GRADUATED = "graduated"
VOLUME = "volume"
TIER_MODES = (GRADUATED, VOLUME)
# Enough significant digits that units x 8-decimal prices are exact.
_PRECISION = 60


class PricingInputError(DomainError):
    """An impossible engine input; ``field`` names it (a 400 in the API)."""


@dataclass(frozen=True)
class Tier:
    up_to: Decimal | None  # inclusive upper bound in units; None = open-ended
    unit_price: Decimal
    flat_fee: Decimal = ZERO

    @property
    def is_open_ended(self) -> bool:
        return self.up_to is None


@dataclass(frozen=True)
class ActivityPricing:
    """How one activity type is priced (one ``ActivityBasedConfig``)."""

    price_per_unit: Decimal
    activity_type: str = ""
    base_agent_fee: Decimal = ZERO
    volume_pricing_enabled: bool = False
    tier_mode: str = GRADUATED
    tiers: tuple[Tier, ...] = ()
    minimum_charge: Decimal = ZERO
    currency: str = "USD"


@dataclass(frozen=True)
class ModelPricing:
    """A whole billing model: a subscription fee plus its activities' pricing."""

    model_type: str
    subscription_fee: Decimal = ZERO
    activities: tuple[ActivityPricing, ...] = ()
    currency: str = "USD"


# What a cost line charges (``CostLine.kind``).
SUBSCRIPTION_FEE = "subscription_fee"
BASE_AGENT_FEE = "base_agent_fee"
USAGE = "usage"  # every unit at ``price_per_unit`` (no tiers)
TIER = "tier"  # the units of one stored tier
OVERFLOW = "overflow"  # the units above the last stored tier, at ``price_per_unit``
MINIMUM_CHARGE_ADJUSTMENT = "minimum_charge_adjustment"


@dataclass(frozen=True)
class CostLine:
    key: str  # breakdown key, e.g. "tier_2_cost"
    amount: Decimal  # rounded to the currency's minor unit
    units: Decimal | None = None  # units priced on this line (agents for the base fee)
    unit_price: Decimal | None = None
    flat_fee: Decimal = ZERO
    kind: str = ""  # one of the kinds above
    activity_type: str = ""  # empty for the subscription fee
    tier: int | None = None  # 1-based number of the tier (tier and overflow lines)
    # The tier's band: the units above ``lower`` up to ``upper`` (None: no bound).
    lower: Decimal | None = None
    upper: Decimal | None = None


@dataclass(frozen=True)
class CostResult:
    total: Decimal
    lines: tuple[CostLine, ...]
    minimum_charge_applied: bool = False
    currency: str = "USD"
    activities: tuple[tuple[str, "CostResult"], ...] = field(default=())

    @property
    def breakdown(self) -> dict[str, Decimal]:
        """Line amounts by key, then ``total``: the seed's breakdown shape."""
        return {**{line.key: line.amount for line in self.lines}, "total": self.total}


def effective_tiers(pricing: ActivityPricing) -> tuple[Tier, ...]:
    """The stored tiers plus the open-ended ``price_per_unit`` tier they imply."""
    if not pricing.volume_pricing_enabled or not pricing.tiers:
        return (Tier(up_to=None, unit_price=pricing.price_per_unit),)
    if pricing.tiers[-1].is_open_ended:
        return pricing.tiers
    return (*pricing.tiers, Tier(up_to=None, unit_price=pricing.price_per_unit))


def tier_problems(
    tiers: Sequence[Tier], *, volume_pricing_enabled: bool = True
) -> list[tuple[int | None, str, str]]:
    """Why a tier list is invalid, as ``(tier index or None, field, message)``.

    Thresholds must be positive and strictly increasing, only the last tier may be
    open-ended, prices and fees non-negative, and tiers need volume pricing.
    """
    problems: list[tuple[int | None, str, str]] = []
    if tiers and not volume_pricing_enabled:
        problems.append(
            (None, "tiers", "Tiers apply only when volume pricing is enabled.")
        )
    previous: Decimal | None = None
    for index, tier in enumerate(tiers):
        if tier.up_to is None:
            if index != len(tiers) - 1:
                problems.append(
                    (index, "up_to", "Only the last tier may be open-ended.")
                )
        elif not tier.up_to.is_finite() or tier.up_to <= 0:
            problems.append((index, "up_to", "Must be a positive number of units."))
        elif previous is not None and tier.up_to <= previous:
            problems.append(
                (
                    index,
                    "up_to",
                    f"Must be greater than the previous tier's threshold "
                    f"({previous.normalize():f}).",
                )
            )
        if tier.up_to is not None and tier.up_to.is_finite():
            previous = tier.up_to
        if tier.unit_price < 0:
            problems.append((index, "unit_price", "Must not be negative."))
        if tier.flat_fee < 0:
            problems.append((index, "flat_fee", "Must not be negative."))
    return problems


def _check_quantity(value: Decimal, name: str) -> None:
    if not isinstance(value, Decimal) and not isinstance(value, int):
        raise PricingInputError(
            f"Must be a Decimal or int, not {type(value).__name__}.", name
        )
    if isinstance(value, Decimal) and not value.is_finite():
        raise PricingInputError("Must be a finite number.", name)
    if value < 0:
        raise PricingInputError("Must not be negative.", name)


@dataclass(frozen=True)
class _UsageLine:
    """One usage line before rounding."""

    key: str
    kind: str
    units: Decimal
    unit_price: Decimal
    flat_fee: Decimal
    amount: Decimal
    tier: int | None = None
    lower: Decimal | None = None
    upper: Decimal | None = None


def _usage_lines(pricing: ActivityPricing, units: Decimal) -> list[_UsageLine]:
    """Unrounded usage lines, each with the tier band it priced."""
    tiers = effective_tiers(pricing)
    if len(tiers) == 1 and not (pricing.volume_pricing_enabled and pricing.tiers):
        price = tiers[0].unit_price
        return [_UsageLine("usage_cost", USAGE, units, price, ZERO, units * price)]
    stored = len(pricing.tiers)

    def line(index: int, lower: Decimal, in_tier: Decimal) -> _UsageLine:
        tier = tiers[index]
        return _UsageLine(
            key=f"tier_{index + 1}_cost" if index < stored else "overflow_cost",
            kind=TIER if index < stored else OVERFLOW,
            units=in_tier,
            unit_price=tier.unit_price,
            flat_fee=tier.flat_fee,
            amount=in_tier * tier.unit_price + tier.flat_fee,
            tier=index + 1,
            lower=lower,
            upper=tier.up_to,
        )

    if pricing.tier_mode == VOLUME:
        lower = ZERO
        for index, tier in enumerate(tiers):
            if tier.up_to is None or units <= tier.up_to:
                return [line(index, lower, units)]
            lower = tier.up_to
    lines = []
    lower = ZERO
    for index, tier in enumerate(tiers):
        if units <= lower:
            break
        upper = units if tier.up_to is None else min(units, tier.up_to)
        lines.append(line(index, lower, upper - lower))
        if tier.up_to is None:
            break
        lower = tier.up_to
    return lines


def calculate_cost(
    pricing: ActivityPricing, units: Decimal | int, agents: int = 0
) -> CostResult:
    """Cost of ``units`` of one activity for ``agents`` agents (see module rules).

    Lines: ``base_agent_fee`` (always), then ``usage_cost`` without volume pricing, or
    one ``tier_N_cost`` per tier entered (graduated) / the tier reached (volume), and
    ``overflow_cost`` for units above the last threshold; ``minimum_charge_adjustment``
    when the minimum binds.
    """
    _check_quantity(units, "units")
    _check_quantity(agents, "agents")
    if pricing.tier_mode not in TIER_MODES:
        raise PricingInputError(
            f"Unknown tier mode {pricing.tier_mode!r}.", "tier_mode"
        )
    currency = pricing.currency
    with localcontext() as context:
        context.prec = _PRECISION
        units = Decimal(units)
        activity_type = pricing.activity_type
        lines = [
            CostLine(
                key="base_agent_fee",
                amount=quantize_money(pricing.base_agent_fee * agents, currency),
                units=Decimal(agents),
                unit_price=pricing.base_agent_fee,
                kind=BASE_AGENT_FEE,
                activity_type=activity_type,
            )
        ]
        for usage in _usage_lines(pricing, units):
            lines.append(
                CostLine(
                    key=usage.key,
                    amount=quantize_money(usage.amount, currency),
                    units=usage.units,
                    unit_price=usage.unit_price,
                    flat_fee=usage.flat_fee,
                    kind=usage.kind,
                    activity_type=activity_type,
                    tier=usage.tier,
                    lower=usage.lower,
                    upper=usage.upper,
                )
            )
        subtotal = sum((line.amount for line in lines), ZERO)
        minimum = quantize_money(pricing.minimum_charge, currency)
        applied = subtotal < minimum
        if applied:
            lines.append(
                CostLine(
                    key="minimum_charge_adjustment",
                    amount=minimum - subtotal,
                    kind=MINIMUM_CHARGE_ADJUSTMENT,
                    activity_type=activity_type,
                )
            )
        total = sum((line.amount for line in lines), ZERO)
    return CostResult(
        total=total,
        lines=tuple(lines),
        minimum_charge_applied=applied,
        currency=currency,
    )


def calculate_model_cost(
    pricing: ModelPricing,
    units: Decimal | int | Mapping[str, Decimal | int],
    agents: int = 0,
) -> CostResult:
    """Cost of a whole billing model.

    ``units`` is one quantity for a model with a single activity, or a mapping of
    activity type to quantity (missing types count as zero). A hybrid's breakdown
    keys are prefixed with the activity type (``tokens.tier_1_cost``) after its
    ``subscription_fee`` line; each activity's minimum charge applies to that
    activity alone. The total is the sum of the (already rounded) lines.
    """
    currency = pricing.currency
    if isinstance(units, Mapping):
        known = {activity.activity_type for activity in pricing.activities}
        for activity_type, quantity in units.items():
            if activity_type not in known:
                raise PricingInputError(
                    f"No active pricing for activity type {activity_type!r}.", "units"
                )
            _check_quantity(quantity, "units")
        per_type = dict(units)
    else:
        _check_quantity(units, "units")
        if len(pricing.activities) > 1:
            raise PricingInputError(
                "This model prices several activity types; give units per type.",
                "units",
            )
        per_type = {a.activity_type: units for a in pricing.activities}

    if pricing.model_type == "activity" and len(pricing.activities) == 1:
        activity = pricing.activities[0]
        return calculate_cost(activity, per_type.get(activity.activity_type, 0), agents)

    lines: list[CostLine] = []
    results: list[tuple[str, CostResult]] = []
    if pricing.model_type in ("subscription", "hybrid"):
        lines.append(
            CostLine(
                key="subscription_fee",
                amount=quantize_money(pricing.subscription_fee, currency),
                kind=SUBSCRIPTION_FEE,
            )
        )
    for activity in pricing.activities:
        result = calculate_cost(
            activity, per_type.get(activity.activity_type, 0), agents
        )
        results.append((activity.activity_type, result))
        lines.extend(
            replace(line, key=f"{activity.activity_type}.{line.key}")
            for line in result.lines
        )
    return CostResult(
        total=sum((line.amount for line in lines), ZERO),
        lines=tuple(lines),
        minimum_charge_applied=any(r.minimum_charge_applied for _, r in results),
        currency=currency,
        activities=tuple(results),
    )


def _compact(value: Decimal) -> str:
    """10000 -> "10k", 1500000 -> "1.5M", 250 -> "250" (exact, never rounded)."""
    for size, suffix in ((10**9, "B"), (10**6, "M"), (10**3, "k")):
        if value >= size:
            text = f"{(value / size).normalize():f}"
            if len(text) <= 5:
                return text + suffix
    return f"{value.normalize():f}"


def tier_labels(pricing: ActivityPricing) -> list[str]:
    """Unit ranges of the effective tiers: ``["0-10k", "10k-50k", "50k+"]``."""
    labels = []
    lower = ZERO
    for tier in effective_tiers(pricing):
        if tier.up_to is None:
            labels.append(f"{_compact(lower)}+")
        else:
            labels.append(f"{_compact(lower)}-{_compact(tier.up_to)}")
            lower = tier.up_to
    return labels


def describe_tiers(pricing: ActivityPricing) -> str:
    """``0-10k @0.0008 | 10k-50k @0.0006 | 50k+ @0.001`` (flat fees as ``+ 5``)."""
    parts = []
    for label, tier in zip(tier_labels(pricing), effective_tiers(pricing), strict=True):
        text = f"{label} @{tier.unit_price.normalize():f}"
        if tier.flat_fee:
            text += f" + {tier.flat_fee.normalize():f}"
        parts.append(text)
    if pricing.volume_pricing_enabled and pricing.tiers and pricing.tier_mode == VOLUME:
        return "volume: " + " | ".join(parts)
    return " | ".join(parts)
