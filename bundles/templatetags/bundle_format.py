"""``{{ value|plain }}``: a quantity or unit price without trailing zeros."""

from decimal import Decimal

from django import template

from billing_site.decimals import plain_decimal

register = template.Library()


@register.filter
def plain(value) -> str:
    if value is None:
        return ""
    return plain_decimal(Decimal(value))
