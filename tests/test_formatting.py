"""Quantities, prices and money as every screen shows them: grouped by the locale,
no padded decimals, money with its currency and minor unit."""

from decimal import Decimal

import pytest
from django.template import Context, Template
from django.utils import translation

from billing_site.formatting import format_money, format_number

pytestmark = pytest.mark.clockless

D = Decimal


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (D("10000.000000"), "10,000"),
        (D("0.00150000"), "0.0015"),
        (D("1234567.891000"), "1,234,567.891"),
        (D("12.5"), "12.5"),
        (D("0E-8"), "0"),
        (D("-0.000"), "0"),
        (D("1E+6"), "1,000,000"),
        (15000, "15,000"),
        ("2500.50", "2,500.5"),
        (None, ""),
        ("n/a", "n/a"),
    ],
)
def test_number_is_grouped_and_never_padded(value, shown):
    assert format_number(value) == shown


@pytest.mark.parametrize(
    ("amount", "currency", "shown"),
    [
        (D("12.5"), "USD", "USD 12.50"),
        (D("47.50"), "USD", "USD 47.50"),
        (D("1234567.5"), "EUR", "EUR 1,234,567.50"),
        (D("1200"), "JPY", "JPY 1,200"),
        (D("1.2345"), "KWD", "KWD 1.235"),
        (D("0.005"), "USD", "USD 0.01"),
        (D("-3.10"), "USD", "USD -3.10"),
        (0, "USD", "USD 0.00"),
        (None, "USD", ""),
    ],
)
def test_money_shows_the_currency_and_its_minor_unit(amount, currency, shown):
    assert format_money(amount, currency) == shown


def test_numbers_follow_the_active_locale():
    with translation.override("de"):
        assert format_number(D("1234567.50")) == "1.234.567,5"
        assert format_money(D("1234.5"), "EUR") == "EUR 1.234,50"


def test_floats_are_refused():
    with pytest.raises(TypeError):
        format_number(0.1)


def test_template_filters():
    template = Template(
        "{% load numbers %}{{ units|number }} for {{ amount|money:currency }}"
    )
    context = Context(
        {"units": D("10000.000000"), "amount": D("12.5"), "currency": "USD"}
    )
    assert template.render(context) == "10,000 for USD 12.50"
