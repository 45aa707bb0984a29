"""Combining matched templates into bundle lines: overlap resolution, the
algorithmic lines for uncovered predicted use, and the line cap."""

from collections.abc import Callable, Iterable, Mapping, Sequence
from decimal import ROUND_CEILING, Decimal
from fractions import Fraction

from bundles.engine._common import _scaler, _to_decimal
from bundles.engine.types import (
    ALGORITHMIC,
    TEMPLATE,
    BundleLine,
    CustomerSignals,
    EngineSettings,
    Match,
    TemplateSpec,
)


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
