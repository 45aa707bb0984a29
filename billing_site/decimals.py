"""Decimals as plain text, the one way quantities and unit prices are shown."""

from decimal import Decimal


def plain_decimal(value: Decimal) -> str:
    """No trailing zeros and no exponent: 1500.000000 -> "1500", 0.0150 -> "0.015";
    any zero (whatever its sign or exponent) -> "0"."""
    return f"{value.normalize():f}" if value else "0"
