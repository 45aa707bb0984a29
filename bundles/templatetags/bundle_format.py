"""``{{ value|plain }}``: a quantity or unit price without trailing zeros."""

from decimal import Decimal

from django import template

register = template.Library()


@register.filter
def plain(value) -> str:
    if value is None:
        return ""
    return f"{Decimal(value).normalize():f}"
