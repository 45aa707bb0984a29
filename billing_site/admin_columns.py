"""Admin columns and read-only fields that write a number the way the screens do
(``billing_site.formatting``: ``10,000``, ``0.0015``), where the admin would pad a
``DecimalField`` to its decimal places (``10000.000000``, ``0.00150000``).

``number_field("quantity", "quantity")`` goes in ``list_display`` or
``readonly_fields`` in place of the field's name. A form that shows it read-only
must not also offer the field itself: name the form's ``fields``.
``PlainDecimalsForm`` (or the ``PlainDecimals`` mixin) fills decimal inputs the
same way: ``10000``, not ``10000.000000``.
"""

from collections.abc import Callable
from decimal import Decimal

from django import forms
from django.contrib import admin

from billing_site.decimals import plain_decimal
from billing_site.formatting import format_number


class PlainDecimals:
    """Decimal inputs show their value unpadded: 10000, not 10000.000000."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name, field in self.fields.items():
            value = self.initial.get(name)
            if isinstance(field, forms.DecimalField) and isinstance(value, Decimal):
                self.initial[name] = plain_decimal(value)


class PlainDecimalsForm(PlainDecimals, forms.ModelForm):
    """An admin model form whose decimal inputs are unpadded."""


def number_field(name: str, description: str, *, empty: str = "-") -> Callable:
    """A column showing the attribute ``name`` unpadded (``empty`` when None),
    sorted by it."""

    @admin.display(description=description, ordering=name)
    def column(obj) -> str:
        value = getattr(obj, name)
        return empty if value is None else format_number(value)

    column.__name__ = f"{name}_number"
    return column
