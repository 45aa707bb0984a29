"""Staff pages: the cost calculator and the BPO comparison (the tier utilisation
report counts a model's subscribers, so invoicing serves it)."""

from dataclasses import dataclass

from django.shortcuts import render

from billing_site.chart_embed import figure_embed
from billing_site.ids import ascii_id
from metering.models import Organization
from metering.selectors import staff_organizations
from metering.staff import staff_page
from pricing import charts, engine, labels, selectors
from pricing.forms import BpoComparisonForm, CostPreviewForm


@dataclass(frozen=True)
class UnitsInput:
    name: str  # the input's name
    activity_type: str
    value: str
    summary: str  # the activity's tiers in short


@staff_page("pricing.view_billingmodel")
def cost_calculator(request):
    """What a saved billing model costs for the agents and units typed in, priced
    by the engine (the page refreshes its figures as they are typed)."""
    models = list(
        selectors.billing_model_all(organizations=staff_organizations(request.user))
    )
    selected = None
    wanted = ascii_id(request.GET.get("model", ""))
    if wanted:
        selected = next((m for m in models if m.pk == wanted), None)
    if selected is None and models:
        selected = models[0]
    context = {"title": "Cost calculator", "billing_models": models}
    if selected is not None:
        pricing = selectors.billing_model_pricing(selected)
        prefix = CostPreviewForm.UNITS_PREFIX
        values = {
            "preview_agents": request.GET.get("preview_agents", "1"),
            **{
                f"{prefix}{index}": request.GET.get(f"{prefix}{index}", "0")
                for index in range(len(pricing.activities))
            },
        }
        sample = CostPreviewForm(values)
        units = [
            UnitsInput(
                name=f"{prefix}{index}",
                activity_type=activity.activity_type,
                value=values[f"{prefix}{index}"],
                summary=engine.describe_tiers(activity),
            )
            for index, activity in enumerate(pricing.activities)
        ]
        preview = errors = None
        if sample.is_valid():
            result = engine.calculate_model_cost(
                pricing,
                {
                    activity.activity_type: sample.units(index)
                    for index, activity in enumerate(pricing.activities)
                },
                sample.cleaned_data["preview_agents"],
            )
            preview = labels.cost_preview(result)
        else:
            words = {u.name: f"Units of {u.activity_type}" for u in units}
            words["preview_agents"] = "Agents"
            errors = [
                f"{words.get(name, name)}: {message}"
                for name, messages in sample.errors.items()
                for message in messages
            ]
        context.update(
            selected=selected,
            agents=values["preview_agents"],
            units=units,
            preview=preview,
            errors=errors,
        )
    return render(request, "pricing/calculator.html", context)


def _organization(request) -> Organization | None:
    return selectors.organization_with_billing_models(
        slug=request.GET.get("organization"), among=staff_organizations(request.user)
    )


@staff_page("pricing.view_billingmodel")
def bpo_comparison_report(request):
    organization = _organization(request)
    form = BpoComparisonForm(request.GET or None)
    values = (
        form.cleaned_data
        if form.is_bound and form.is_valid()
        else {name: field.initial for name, field in form.fields.items()}
    )
    rows = chart = None
    if organization is not None and not (form.is_bound and form.errors):
        models = list(
            selectors.billing_model_list(organization=organization, is_active=True)
        )
        rows = selectors.bpo_comparison(
            billing_models=models,
            agents=values["agents"],
            units_per_agent=values["units_per_agent"],
            benchmark_per_employee=values["benchmark"],
        )
        chart = figure_embed(
            charts.bpo_comparison_figure(rows, currency=organization.currency)
        )
    return render(
        request,
        "pricing/bpo_comparison.html",
        {
            "title": "BPO comparison",
            "organization": organization,
            "form": form,
            "rows": rows,
            "chart": chart,
        },
    )
