"""Forms of the staff invoicing pages."""

from django import forms


class TierUtilisationForm(forms.Form):
    config = forms.IntegerField(required=False, widget=forms.HiddenInput)
    # A calendar month ("2026-10" from a month input); empty means last month.
    period = forms.DateField(
        required=False,
        input_formats=["%Y-%m", "%Y-%m-%d"],
        error_messages={"invalid": "Enter a month as YYYY-MM."},
    )
