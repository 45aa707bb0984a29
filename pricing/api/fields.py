"""Pieces shared by the billing models API's input and output: the decimal-exact
JSON parser, the plain decimal field and the money-format note for the schema.
"""

from decimal import Decimal

from rest_framework import exceptions, parsers

MONEY_FORMAT = (
    "Amounts are decimal strings rounded half-up to the currency's minor unit "
    '(e.g. "47.50"), never JSON numbers, so no precision is lost; unit prices and '
    "thresholds are exact decimal strings. Requests may send decimals as JSON "
    "numbers or strings."
)


class DecimalJSONParser(parsers.JSONParser):
    """JSON whose non-integer numbers become ``Decimal`` (0.0015 stays exact)."""

    def parse(self, stream, media_type=None, parser_context=None):
        import json

        encoding = (parser_context or {}).get("encoding", "utf-8")
        try:
            return json.loads(stream.read().decode(encoding), parse_float=Decimal)
        except ValueError as error:
            raise exceptions.ParseError(f"JSON parse error - {error}") from error
