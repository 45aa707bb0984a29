"""Pricing bundle lines: list value, discount, upsell, price and predicted cost.

The rounding points are described in the ``bundles.engine`` package docstring.
"""

from collections.abc import Mapping, Sequence
from decimal import Decimal
from fractions import Fraction

from billing_site.money import quantize_money
from bundles.engine._common import _to_decimal
from bundles.engine.types import BundleLine, EngineSettings, Priced


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
