"""Serializer fields shared by the API of every app."""

import math
import re
from decimal import Decimal

from rest_framework import serializers

from billing_site.decimals import PLAIN_DECIMAL_RE, plain_decimal
from billing_site.ids import BIGINT_MAX


class PlainDecimalField(serializers.DecimalField):
    """A decimal of any precision, rendered exactly without trailing zeros
    ("0.0008", "10000"); used for quantities and unit prices, not amounts."""

    def __init__(self, **kwargs):
        kwargs.setdefault("max_digits", None)
        kwargs.setdefault("decimal_places", None)
        super().__init__(**kwargs)

    def to_representation(self, value):
        if value is None:
            return None
        return plain_decimal(Decimal(value))


PLAIN_INTEGER_RE = re.compile(r"[+-]?[0-9]+", re.ASCII)
# DRF's own messages: the fields below refuse more, for the same reason.
NOT_A_NUMBER = "A valid number is required."
NOT_AN_INTEGER = "A valid integer is required."

# Dates and times the API takes: anything else is a typo or an attack.
EARLIEST_YEAR, LATEST_YEAR = 2000, 2100


def strict_number(value, *, integer: bool = False):
    """``value`` if it is a JSON number (not a boolean, finite) or a plain
    decimal string; else a ``ValidationError``. Shared by the fields below."""
    if isinstance(value, bool):
        raise serializers.ValidationError(NOT_AN_INTEGER if integer else NOT_A_NUMBER)
    if isinstance(value, float) and not math.isfinite(value):
        raise serializers.ValidationError(NOT_A_NUMBER)
    if isinstance(value, Decimal) and not value.is_finite():
        raise serializers.ValidationError(NOT_A_NUMBER)
    if isinstance(value, str):
        pattern = PLAIN_INTEGER_RE if integer else PLAIN_DECIMAL_RE
        if len(value) > 64 or not pattern.fullmatch(value.strip()):
            raise serializers.ValidationError(
                NOT_AN_INTEGER if integer else NOT_A_NUMBER
            )
    elif not isinstance(value, (int, float, Decimal)):
        raise serializers.ValidationError(NOT_AN_INTEGER if integer else NOT_A_NUMBER)
    return value


class StrictDecimalField(serializers.DecimalField):
    """A decimal from a JSON number or a plain decimal string only."""

    def to_internal_value(self, data):
        return super().to_internal_value(strict_number(data))


class StrictPlainDecimalField(PlainDecimalField):
    """``PlainDecimalField`` that takes a JSON number or a plain decimal string."""

    def to_internal_value(self, data):
        return super().to_internal_value(strict_number(data))


class StrictIntegerField(serializers.IntegerField):
    """A whole number from a JSON integer or a string of ASCII digits, within
    PostgreSQL's ``bigint`` unless tighter bounds are given."""

    def __init__(self, **kwargs):
        kwargs.setdefault("min_value", -BIGINT_MAX)
        kwargs.setdefault("max_value", BIGINT_MAX)
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        if isinstance(data, float) and not data.is_integer():
            self.fail("invalid")
        return super().to_internal_value(strict_number(data, integer=True))


class StrictFloatField(serializers.FloatField):
    """A measurement from a JSON number or a plain decimal string, finite."""

    def to_internal_value(self, data):
        value = super().to_internal_value(strict_number(data))
        if not math.isfinite(value):
            raise serializers.ValidationError(NOT_A_NUMBER)
        return value


def check_year(year: int) -> None:
    """A ``ValidationError`` unless ``year`` is one the API accepts."""
    if not EARLIEST_YEAR <= year <= LATEST_YEAR:
        raise serializers.ValidationError(
            f"Must be between the years {EARLIEST_YEAR} and {LATEST_YEAR}."
        )


def _check_ascii(data) -> None:
    if isinstance(data, str) and not data.isascii():
        raise serializers.ValidationError("Use ISO 8601 with ASCII digits.")


class BoundedDateTimeField(serializers.DateTimeField):
    """An ISO 8601 date-time in the years 2000 to 2100."""

    def to_internal_value(self, value):
        _check_ascii(value)
        moment = super().to_internal_value(value)
        check_year(moment.year)
        return moment


class BoundedDateField(serializers.DateField):
    """An ISO 8601 date in the years 2000 to 2100."""

    def to_internal_value(self, value):
        _check_ascii(value)
        day = super().to_internal_value(value)
        check_year(day.year)
        return day
