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


class CostPreviewForm(forms.Form):
    """The sample a cost preview is computed for: agents, and the units of each
    activity form of the billing model page (``preview_units-<n>`` for the n-th;
    a missing one counts as zero)."""

    UNITS_PREFIX = "preview_units-"

    preview_agents = forms.IntegerField(
        label="Agents", min_value=0, max_value=1_000_000, required=False
    )

    def __init__(self, data=None, **kwargs):
        super().__init__(data, **kwargs)
        for name in sorted((data or {}).keys()):
            index = name[len(self.UNITS_PREFIX) :]
            if (
                name.startswith(self.UNITS_PREFIX)
                and index.isascii()
                and index.isdigit()
            ):
                self.fields[name] = forms.DecimalField(
                    label="Units",
                    min_value=Decimal(0),
                    max_digits=30,
                    decimal_places=6,
                    required=False,
                )

    def clean_preview_agents(self) -> int:
        return self.cleaned_data["preview_agents"] or 0

    def units(self, index: int) -> Decimal:
        return self.cleaned_data.get(f"{self.UNITS_PREFIX}{index}") or Decimal(0)
