"""Forms of the staff pricing pages."""

from decimal import Decimal

from django import forms

from pricing.selectors import DEFAULT_BPO_BENCHMARK


class BpoComparisonForm(forms.Form):
    benchmark = forms.DecimalField(
        label="BPO cost per employee per month",
        min_value=Decimal("0.01"),
        max_digits=12,
        decimal_places=2,
        initial=DEFAULT_BPO_BENCHMARK,
    )
    agents = forms.IntegerField(
        label="Agents (employees replaced)", min_value=1, max_value=10_000, initial=5
    )
    units_per_agent = forms.DecimalField(
        label="Units per agent per month",
        min_value=Decimal(0),
        max_digits=18,
        decimal_places=6,
        initial=Decimal(20000),
    )
