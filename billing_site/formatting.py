"""Numbers as people read them: grouped by the active locale, never padded.

The one way a quantity, a unit price or an amount of money is written on a screen
(templates use the ``number`` and ``money`` filters of ``billing_site.templatetags.
numbers``). Quantities and prices show every significant digit and no trailing
zeros (``10000.000000`` -> ``10,000``, ``0.00150000`` -> ``0.0015``); money shows
the currency and exactly its minor unit (``USD 12.50``, ``JPY 1,200``).

Text stored on a document (an invoice line's description) must not depend on the
language of whoever generated it: ``document_number`` and ``document_money`` write
the same forms with a comma for thousands and a point for decimals, always.
"""

from decimal import Decimal, InvalidOperation

from django.utils.formats import number_format

from billing_site.decimals import plain_decimal
from billing_site.money import minor_units, quantize_money


def _decimal(value) -> Decimal | None:
    if value is None or value == "" or isinstance(value, bool):
        return None
    if isinstance(value, float):
        raise TypeError("numbers are shown from Decimal or int, never float")
    try:
        number = value if isinstance(value, Decimal) else Decimal(str(value))
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


def format_number(value) -> str:
    """A quantity or unit price, exact, grouped: ``1234567.5000`` -> ``1,234,567.5``.

    Empty text for ``None``; text that is not a number is returned as it is.
    """
    number = _decimal(value)
    if number is None:
        return "" if value is None else str(value)
    return number_format(
        Decimal(plain_decimal(number)), use_l10n=True, force_grouping=True
    )


def format_money(amount, currency: str) -> str:
    """``USD 1,234.50``: the currency code, then the amount to its minor unit
    (rounded half-up with ``quantize_money`` when it carries more digits)."""
    number = _decimal(amount)
    if number is None:
        return "" if amount is None else str(amount)
    rounded = quantize_money(number, currency)
    text = number_format(
        rounded, decimal_pos=minor_units(currency), use_l10n=True, force_grouping=True
    )
    return f"{currency} {text}"


def document_number(value: Decimal) -> str:
    """A quantity or unit price on a document: exact, grouped, whatever the active
    locale: ``Decimal("10000.000000")`` -> ``10,000``."""
    return format(Decimal(plain_decimal(value)), ",f")


def document_money(amount: Decimal, currency: str) -> str:
    """Money on a document: ``USD 1,234.50``, rounded half-up with
    ``quantize_money`` to the currency's minor unit, whatever the active locale."""
    return f"{currency} {quantize_money(amount, currency):,f}"
