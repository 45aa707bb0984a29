"""Decimals as plain text, the one way quantities and unit prices are shown."""

import re
from decimal import Decimal

# A plain decimal as text: ASCII digits, an optional sign and fraction, nothing
# else. Decimal() also reads "1_000", "٣" (as 3), "1e3", "NaN" and "Infinity".
PLAIN_DECIMAL_RE = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)", re.ASCII)


def plain_decimal(value: Decimal) -> str:
    """No trailing zeros and no exponent: 1500.000000 -> "1500", 0.0150 -> "0.015";
    any zero (whatever its sign or exponent) -> "0"."""
    return f"{value.normalize():f}" if value else "0"
