"""Template filters for invoice documents."""

from decimal import Decimal

from django import template

register = template.Library()


@register.filter
def plain(value) -> str:
    """A Decimal without trailing zeros or exponent: 1500.000000 -> "1500"."""
    if value is None or value == "":
        return ""
    if isinstance(value, Decimal):
        return f"{value.normalize():f}" if value else "0"
    return str(value)
