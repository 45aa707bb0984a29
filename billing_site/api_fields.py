"""Serializer fields shared by the API of every app."""

from decimal import Decimal

from rest_framework import serializers

from billing_site.decimals import plain_decimal


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
