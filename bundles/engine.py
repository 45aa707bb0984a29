"""The bundle engine: matching templates to a customer, combining them, pricing.

Pure calculation: plain values and dataclasses in and out, no ORM, no clock.

Quantities are ``Decimal`` operation units; prices are ``Decimal`` per unit in the
organization's currency. Scores are exact ``Fraction``s in [0, 1].

Predicted counts arrive for a horizon (``CustomerSignals.horizon_seconds``) and are
scaled linearly to each template's validity length before they are compared with
included quantities.

Money is rounded at three documented points only, in ``price_bundle``: the list value,
the discount and the upsell component are each quantized once with
``quantize_money``; the price is their exact sum (list - discount + upsell), so the
shown breakdown always adds up to the price. The predicted pay-per-operation cost of
the covered usage is quantized once, and the expected saving is the exact difference
of the two rounded figures.
"""

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_CEILING, Context, Decimal
from fnmatch import fnmatchcase
from fractions import Fraction

from billing_site.money import quantize_money

TEMPLATE = "template"
ALGORITHMIC = "algorithmic"


@dataclass(frozen=True)
class CustomerSignals:
    """What the profiler says about one customer."""

    # Behavioral tag name -> score in [0, 1] (values outside are clamped).
    tags: Mapping[str, float | Decimal]
    # The customer's segment name, if the profiler assigned one.
    segment: str | None
    # Operation code -> expected count over the next ``horizon_seconds``.
    predicted_counts: Mapping[str, Decimal]
    horizon_seconds: int = 30 * 86_400


@dataclass(frozen=True)
class TemplateLine:
    operation: str
    # Operation units included; None means unlimited.
    included_quantity: Decimal | None


@dataclass(frozen=True)
class TemplateSpec:
    key: int | str
    name: str
    lines: tuple[TemplateLine, ...]
    # Percent off the list value of the included quantities (0..100) ...
    discount_percent: Decimal | None = None
    # ... or a fixed price for the template's included quantities.
    fixed_price: Decimal | None = None
    validity: str = "month"
    # Length of the validity, in seconds (the caller resolves months and sessions).
    validity_seconds: int = 30 * 86_400
    # Tag name and segment name patterns (fnmatch, e.g. "heavy:image.*",
    # "Image-heavy*") -> weight.
    target_tags: Mapping[str, Decimal] = field(default_factory=dict)
    target_segments: Mapping[str, Decimal] = field(default_factory=dict)

    @property
    def has_targets(self) -> bool:
        return bool(self.target_tags or self.target_segments)


@dataclass(frozen=True)
class EngineSettings:
    currency: str = "USD"
    # Minimum matching score in [0, 1].
    threshold: Decimal = Decimal("0.5")
    # Headroom added to predicted quantities of algorithmic lines, percent.
    quantity_margin_percent: Decimal = Decimal("10")
    # Most operation lines a bundle may hold.
    max_lines: int = 10
    # Added on top of the discounted value, percent.
    upsell_percent: Decimal = Decimal("5")
    # Discount of algorithmic lines (no template gives them one), percent.
    algorithmic_discount_percent: Decimal = Decimal("20")


@dataclass(frozen=True)
class Match:
    template: TemplateSpec
    score: Fraction
    targeting: Fraction | None
    coverage: Fraction
    matched_tags: tuple[str, ...]
    matched_segment: str | None


@dataclass(frozen=True)
class BundleLine:
    operation: str
    # None means unlimited.
    included_quantity: Decimal | None
    unit_price: Decimal
    # Predicted use over the bundle's validity (scaled from the horizon).
    predicted_quantity: Decimal
    source: str  # TEMPLATE or ALGORITHMIC
    template_key: int | str | None
    # Discount applied to this line, as a fraction of its list value.
    discount: Fraction

    @property
    def list_value(self) -> Decimal:
        """Included quantity x unit price; unlimited lines at the predicted quantity."""
        quantity = (
            self.predicted_quantity
            if self.included_quantity is None
            else self.included_quantity
        )
        return quantity * self.unit_price

    @property
    def covered_quantity(self) -> Decimal:
        """The predicted use this line covers."""
        if self.included_quantity is None:
            return self.predicted_quantity
        return min(self.predicted_quantity, self.included_quantity)


@dataclass(frozen=True)
class Proposal:
    """A priced bundle that passed the never-pay-more rule."""

    matches: tuple[Match, ...]
    validity: str
    validity_seconds: int
    lines: tuple[BundleLine, ...]
    list_value: Decimal
    discount: Decimal
    upsell: Decimal
    price: Decimal
    # What the customer would pay per operation for the predicted use it covers.
    predicted_cost: Decimal
    expected_saving: Decimal
    # Pay-per-operation cost of everything predicted (bundled or not), for reasons.
    predicted_total_cost: Decimal

    @property
    def template_keys(self) -> tuple:
        return tuple(match.template.key for match in self.matches)


@dataclass(frozen=True)
class Priced:
    lines: tuple[BundleLine, ...]
    list_value: Decimal
    discount: Decimal
    upsell: Decimal
    price: Decimal
    predicted_cost: Decimal
    expected_saving: Decimal

    @property
    def never_pay_more(self) -> bool:
        return self.price < self.predicted_cost


def _fraction(value) -> Fraction:
    return Fraction(value) if not isinstance(value, float) else Fraction(str(value))


_EXACT = Context(prec=60)


def _to_decimal(value: Fraction) -> Decimal:
    if value.denominator == 1:
        return Decimal(value.numerator)
    return _EXACT.divide(Decimal(value.numerator), Decimal(value.denominator))


def scale_counts(
    counts: Mapping[str, Decimal], *, from_seconds: int, to_seconds: int
) -> dict[str, Decimal]:
    """Predicted counts over ``from_seconds`` scaled linearly to ``to_seconds``."""
    if to_seconds == from_seconds:
        return {operation: count for operation, count in counts.items() if count > 0}
    ratio = Fraction(to_seconds, from_seconds)
    return {
        operation: _to_decimal(Fraction(count) * ratio)
        for operation, count in counts.items()
        if count > 0
    }


def _scaler(signals: CustomerSignals) -> Callable[[int], dict[str, Decimal]]:
    """Predicted counts scaled to a validity length, computed once per length."""
    cache: dict[int, dict[str, Decimal]] = {}

    def scaled(seconds: int) -> dict[str, Decimal]:
        if seconds not in cache:
            cache[seconds] = scale_counts(
                signals.predicted_counts,
                from_seconds=signals.horizon_seconds,
                to_seconds=seconds,
            )
        return cache[seconds]

    return scaled


def _targeting(
    template: TemplateSpec, signals: CustomerSignals
) -> tuple[Fraction, tuple[str, ...], str | None]:
    total = sum(
        (_fraction(w) for w in template.target_tags.values()), Fraction(0)
    ) + sum((_fraction(w) for w in template.target_segments.values()), Fraction(0))
    if total <= 0:
        return Fraction(0), (), None
    matched = Fraction(0)
    matched_tags = []
    for pattern, weight in template.target_tags.items():
        scores = [
            min(Fraction(1), max(Fraction(0), _fraction(score)))
            for name, score in signals.tags.items()
            if fnmatchcase(name, pattern)
        ]
        if scores and max(scores) > 0:
            matched += _fraction(weight) * max(scores)
            matched_tags.extend(
                sorted(name for name in signals.tags if fnmatchcase(name, pattern))
            )
    segment = None
    if signals.segment is not None:
        for pattern, weight in template.target_segments.items():
            if fnmatchcase(signals.segment, pattern):
                matched += _fraction(weight)
                segment = signals.segment
    return matched / total, tuple(dict.fromkeys(matched_tags)), segment


def _coverage(template: TemplateSpec, predicted: Mapping[str, Decimal]) -> Fraction:
    if not template.lines:
        return Fraction(0)
    total = Fraction(0)
    for line in template.lines:
        used = predicted.get(line.operation, Decimal(0))
        if used <= 0:
            continue
        if (
            line.included_quantity is None
            or line.included_quantity <= 0
            or used >= line.included_quantity
        ):
            total += 1
        else:
            total += Fraction(used) / Fraction(line.included_quantity)
    return total / len(template.lines)


def match_templates(
    signals: CustomerSignals,
    templates: Iterable[TemplateSpec],
    threshold: Decimal,
    scaled: Callable[[int], dict[str, Decimal]] | None = None,
) -> list[Match]:
    """Templates scoring at least ``threshold``, best first.

    Coverage is the mean over the template's lines of the share of the included
    quantity the customer is predicted to use in the template's validity (1 for an
    unlimited line with any predicted use). Targeting is the weighted share of the
    template's target tags (weighted by the tag's score) and segments the customer
    has. A template with targets scores (targeting + coverage) / 2, one without
    scores its coverage. A template the customer is predicted not to use at all
    (coverage 0) never matches.
    """
    scaled = scaled or _scaler(signals)
    threshold = _fraction(threshold)
    matches = []
    for template in templates:
        coverage = _coverage(template, scaled(template.validity_seconds))
        if coverage <= 0:
            continue
        targeting, tags, segment = None, (), None
        if template.has_targets:
            targeting, tags, segment = _targeting(template, signals)
            score = (targeting + coverage) / 2
        else:
            score = coverage
        if score >= threshold:
            matches.append(Match(template, score, targeting, coverage, tags, segment))
    matches.sort(key=lambda m: (-m.score, m.template.validity_seconds, m.template.name))
    return matches


def _template_discount(
    template: TemplateSpec,
    prices: Mapping[str, Decimal],
    predicted: Mapping[str, Decimal],
) -> Fraction:
    """The template's discount as a fraction of list value.

    A fixed price becomes 1 - fixed / (list value of the template's own included
    quantities); a fixed price at or above that list value gives no discount.
    """
    if template.fixed_price is not None:
        value = Fraction(0)
        for line in template.lines:
            if line.operation not in prices:
                continue
            quantity = (
                predicted.get(line.operation, Decimal(0))
                if line.included_quantity is None
                else line.included_quantity
            )
            value += Fraction(quantity) * Fraction(prices[line.operation])
        if value <= 0:
            return Fraction(0)
        return max(Fraction(0), 1 - Fraction(template.fixed_price) / value)
    if template.discount_percent is not None:
        return Fraction(template.discount_percent) / 100
    return Fraction(0)


def _whole_units(quantity: Decimal) -> Decimal:
    return quantity.to_integral_value(rounding=ROUND_CEILING)


def combine(
    matches: Sequence[Match],
    signals: CustomerSignals,
    prices: Mapping[str, Decimal],
    settings: EngineSettings,
    scaled: Callable[[int], dict[str, Decimal]] | None = None,
) -> tuple[tuple[Match, ...], tuple[BundleLine, ...]]:
    """Merge the matches sharing the best match's validity into bundle lines.

    Overlapping operations keep the larger included quantity (unlimited beats any
    quantity; on a tie the larger discount). Predicted operations no template covers
    get an algorithmic line sized to the predicted quantity plus the margin, rounded
    up to whole units, when that line on its own saves the customer money.
    Operations without a unit price are left out. Past
    ``max_lines`` the lines worth least in predicted use are dropped.
    """
    if not matches:
        return (), ()
    best = matches[0].template
    merged = tuple(
        m for m in matches if m.template.validity_seconds == best.validity_seconds
    )
    predicted = (scaled or _scaler(signals))(best.validity_seconds)
    lines: dict[str, BundleLine] = {}
    for match in merged:
        template = match.template
        discount = _template_discount(template, prices, predicted)
        for line in template.lines:
            if line.operation not in prices:
                continue
            candidate = BundleLine(
                operation=line.operation,
                included_quantity=line.included_quantity,
                unit_price=prices[line.operation],
                predicted_quantity=predicted.get(line.operation, Decimal(0)),
                source=TEMPLATE,
                template_key=template.key,
                discount=discount,
            )
            current = lines.get(line.operation)
            if current is None or _larger(candidate, current):
                lines[line.operation] = candidate
    for operation, quantity in sorted(predicted.items()):
        if operation in lines or operation not in prices:
            continue
        line = _algorithmic_line(operation, quantity, prices, settings)
        if _worth_it(line, settings):
            lines[operation] = line
    return merged, _capped(lines.values(), settings.max_lines)


def _worth_it(line: BundleLine, settings: EngineSettings) -> bool:
    """An algorithmic line saves the customer money on its own: its discounted
    value plus upsell is below the pay-per-operation cost of the use it covers."""
    charged = (
        Fraction(line.list_value)
        * (1 - line.discount)
        * (1 + Fraction(settings.upsell_percent) / 100)
    )
    return charged < Fraction(line.covered_quantity) * Fraction(line.unit_price)


def _algorithmic_line(
    operation: str,
    predicted: Decimal,
    prices: Mapping[str, Decimal],
    settings: EngineSettings,
) -> BundleLine:
    """Predicted quantity plus the margin, rounded up to whole units."""
    margin = 1 + Fraction(settings.quantity_margin_percent) / 100
    return BundleLine(
        operation=operation,
        included_quantity=_whole_units(_to_decimal(Fraction(predicted) * margin)),
        unit_price=prices[operation],
        predicted_quantity=predicted,
        source=ALGORITHMIC,
        template_key=None,
        discount=Fraction(settings.algorithmic_discount_percent) / 100,
    )


def _capped(lines: Iterable[BundleLine], max_lines: int) -> tuple[BundleLine, ...]:
    """The ``max_lines`` lines worth most in predicted use, by operation code."""
    kept = sorted(
        lines,
        key=lambda line: (
            -line.covered_quantity * line.unit_price,
            line.source != TEMPLATE,
            line.operation,
        ),
    )[: max(max_lines, 0)]
    return tuple(sorted(kept, key=lambda line: line.operation))


def _larger(candidate: BundleLine, current: BundleLine) -> bool:
    if current.included_quantity is None:
        return candidate.included_quantity is None and (
            candidate.discount > current.discount
        )
    if candidate.included_quantity is None:
        return True
    if candidate.included_quantity != current.included_quantity:
        return candidate.included_quantity > current.included_quantity
    return candidate.discount > current.discount


def price_bundle(lines: Sequence[BundleLine], settings: EngineSettings) -> Priced:
    """List value, discount, upsell, price, predicted cost and saving of ``lines``.

    See the module docstring for the rounding points.
    """
    currency = settings.currency
    list_value = Fraction(0)
    discount = Fraction(0)
    predicted_cost = Fraction(0)
    for line in lines:
        value = Fraction(line.list_value)
        list_value += value
        discount += value * line.discount
        predicted_cost += Fraction(line.covered_quantity * line.unit_price)
    upsell = (list_value - discount) * Fraction(settings.upsell_percent) / 100
    list_q = quantize_money(_to_decimal(list_value), currency)
    discount_q = quantize_money(_to_decimal(discount), currency)
    upsell_q = quantize_money(_to_decimal(upsell), currency)
    price = list_q - discount_q + upsell_q
    cost_q = quantize_money(_to_decimal(predicted_cost), currency)
    return Priced(
        lines=tuple(lines),
        list_value=list_q,
        discount=discount_q,
        upsell=upsell_q,
        price=price,
        predicted_cost=cost_q,
        expected_saving=cost_q - price,
    )


def predicted_total_cost(
    predicted: Mapping[str, Decimal], prices: Mapping[str, Decimal], currency: str
) -> Decimal:
    """Pay-per-operation cost of all predicted use (one rounding, at the end)."""
    total = sum(
        (
            Fraction(quantity) * Fraction(prices[operation])
            for operation, quantity in predicted.items()
            if operation in prices
        ),
        Fraction(0),
    )
    return quantize_money(_to_decimal(total), currency)


def propose_bundle(
    signals: CustomerSignals,
    templates: Iterable[TemplateSpec],
    prices: Mapping[str, Decimal],
    settings: EngineSettings,
) -> Proposal | None:
    """The personalised bundle for one customer, or None when none is worth offering.

    None when no template matches, when no line has a price, or when the price is
    not strictly below the predicted pay-per-operation cost of the use it covers
    (the never-pay-more rule: the customer is never offered a bundle that makes
    them pay more for what they are predicted to use).
    """
    scaled = _scaler(signals)
    matches = match_templates(signals, templates, settings.threshold, scaled)
    merged, lines = combine(matches, signals, prices, settings, scaled)
    if not lines:
        return None
    best = merged[0].template
    return _proposal(
        scaled(best.validity_seconds),
        merged,
        lines,
        prices,
        settings,
        best.validity,
        best.validity_seconds,
    )


def propose_algorithmic(
    signals: CustomerSignals,
    operations: Iterable[str],
    prices: Mapping[str, Decimal],
    settings: EngineSettings,
    validity: str,
    validity_seconds: int,
) -> Proposal | None:
    """A bundle of algorithmic lines only, for the given predicted operations.

    Same pricing and never-pay-more rule as ``propose_bundle``.
    """
    predicted = scale_counts(
        signals.predicted_counts,
        from_seconds=signals.horizon_seconds,
        to_seconds=validity_seconds,
    )
    candidates = (
        _algorithmic_line(operation, predicted[operation], prices, settings)
        for operation in sorted(set(operations))
        if operation in predicted and operation in prices
    )
    lines = _capped(
        (line for line in candidates if _worth_it(line, settings)),
        settings.max_lines,
    )
    if not lines:
        return None
    return _proposal(predicted, (), lines, prices, settings, validity, validity_seconds)


def _proposal(
    predicted: Mapping[str, Decimal],
    matches: tuple[Match, ...],
    lines: tuple[BundleLine, ...],
    prices: Mapping[str, Decimal],
    settings: EngineSettings,
    validity: str,
    validity_seconds: int,
) -> Proposal | None:
    priced = price_bundle(lines, settings)
    if not priced.never_pay_more:
        return None
    return Proposal(
        matches=matches,
        validity=validity,
        validity_seconds=validity_seconds,
        lines=priced.lines,
        list_value=priced.list_value,
        discount=priced.discount,
        upsell=priced.upsell,
        price=priced.price,
        predicted_cost=priced.predicted_cost,
        expected_saving=priced.expected_saving,
        predicted_total_cost=predicted_total_cost(predicted, prices, settings.currency),
    )


def score_text(score: Fraction) -> str:
    """A score shown to three decimals."""
    return f"{_to_decimal(score):.3f}"


def reasons_for(proposal: Proposal, signals: CustomerSignals) -> dict:
    """Why the bundle was built, as JSON-ready values (strings for decimals)."""
    return {
        "templates": [
            {
                "name": match.template.name,
                "score": score_text(match.score),
                "coverage": score_text(match.coverage),
                "tags": list(match.matched_tags),
                "segment": match.matched_segment,
            }
            for match in proposal.matches
        ],
        "segment": signals.segment,
        "predictions": {
            line.operation: f"{line.predicted_quantity:.2f}" for line in proposal.lines
        },
        "algorithmic_lines": [
            line.operation for line in proposal.lines if line.source == ALGORITHMIC
        ],
        "predicted_cost": str(proposal.predicted_cost),
        "predicted_total_cost": str(proposal.predicted_total_cost),
        "expected_saving": str(proposal.expected_saving),
    }
