"""Pieces shared by the billing models API's input and output: the decimal-exact
JSON parser, the plain decimal field and the money-format note for the schema.
"""

from billing_site.api_input import HardenedJSONParser

MONEY_FORMAT = (
    "Amounts are decimal strings rounded half-up to the currency's minor unit "
    '(e.g. "47.50"), never JSON numbers, so no precision is lost; unit prices and '
    "thresholds are exact decimal strings. Requests may send decimals as JSON "
    "numbers or strings."
)


class DecimalJSONParser(HardenedJSONParser):
    """JSON whose non-integer numbers become ``Decimal`` (0.0015 stays exact)."""

    decimal_floats = True
