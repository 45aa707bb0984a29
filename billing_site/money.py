"""The one place money is rounded.

Amounts are ``Decimal`` end to end. ``quantize_money`` rounds to the currency's minor
unit with an explicit rounding mode; nothing else calls ``.quantize()`` on money.
"""

from decimal import ROUND_HALF_UP, Decimal

# ISO 4217 minor units for the currencies whose exponent is not 2.
_MINOR_UNITS = {
    "BHD": 3, "CLP": 0, "IQD": 3, "ISK": 0, "JOD": 3, "JPY": 0, "KRW": 0, "KWD": 3,
    "LYD": 3, "OMR": 3, "PYG": 0, "TND": 3, "UGX": 0, "VND": 0, "XAF": 0, "XOF": 0,
}  # fmt: skip


def minor_units(currency: str) -> int:
    """Number of decimal places of the currency's minor unit (2 unless listed)."""
    return _MINOR_UNITS.get(currency.upper(), 2)


# Currency -> its minor unit as a Decimal exponent (Decimal("0.01")); invoicing
# rounds hundreds of thousands of lines at a time.
_EXPONENTS: dict[str, Decimal] = {}


def quantize_money(
    amount: Decimal, currency: str, rounding: str = ROUND_HALF_UP
) -> Decimal:
    """Round ``amount`` to ``currency``'s minor unit (half-up unless told)."""
    if not isinstance(amount, Decimal):
        raise TypeError(f"money must be Decimal, got {type(amount).__name__}")
    exponent = _EXPONENTS.get(currency)
    if exponent is None:
        exponent = _EXPONENTS[currency] = Decimal(1).scaleb(-minor_units(currency))
    return amount.quantize(exponent, rounding=rounding)
