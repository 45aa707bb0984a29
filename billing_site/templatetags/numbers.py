"""``{{ value|number }}`` and ``{{ amount|money:currency }}``: the one way templates
show quantities, unit prices and money (``billing_site.formatting``)."""

from django import template

from billing_site.formatting import format_money, format_number

register = template.Library()


@register.filter
def number(value) -> str:
    """``10000.000000`` -> ``10,000``; ``0.00150000`` -> ``0.0015``."""
    return format_number(value)


@register.filter
def money(amount, currency: str) -> str:
    """``12.5|money:"USD"`` -> ``USD 12.50``."""
    return format_money(amount, currency)
