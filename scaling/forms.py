"""Forms of the scaling pages."""

from django import forms

from scaling.models import Recommendation


class RejectForm(forms.Form):
    reason = forms.CharField(
        required=False,
        max_length=Recommendation._meta.get_field("decision_note").max_length,
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        help_text="Optional. Kept with the decision.",
    )
