"""Template filters for invoice documents."""

from decimal import Decimal

from django import template

from billing_site.decimals import plain_decimal

register = template.Library()


@register.filter
def plain(value) -> str:
    """A Decimal without trailing zeros or exponent: 1500.000000 -> "1500"."""
    if value is None or value == "":
        return ""
    if isinstance(value, Decimal):
        return plain_decimal(value)
    return str(value)
