"""Staff pages: the cost calculator and the BPO comparison (the tier utilisation
report counts a model's subscribers, so invoicing serves it)."""

from decimal import Decimal

from django.shortcuts import render

from billing_site.chart_embed import figure_embed
from billing_site.ids import ascii_id
from billing_site.money import minor_units
from metering.models import Organization
from metering.selectors import staff_organizations
from metering.staff import staff_page
from pricing import charts, engine, selectors
from pricing.forms import BpoComparisonForm
from pricing.models import BillingModel


def _plain(value: Decimal | None) -> str | None:
    return None if value is None else f"{value.normalize():f}"


def calculator_config(billing_model: BillingModel) -> dict:
    """The engine input of ``billing_model`` as JSON for the client-side calculator.

    Decimals travel as exact strings; the page computes with scaled integers.
    """
    pricing = selectors.billing_model_pricing(billing_model)
    return {
        "id": billing_model.pk,
        "name": billing_model.name,
        "model_type": pricing.model_type,
        "currency": pricing.currency,
        "minor_units": minor_units(pricing.currency),
        "subscription_fee": _plain(pricing.subscription_fee),
        "activities": [
            {
                "activity_type": activity.activity_type,
                "price_per_unit": _plain(activity.price_per_unit),
                "base_agent_fee": _plain(activity.base_agent_fee),
                "volume_pricing_enabled": activity.volume_pricing_enabled,
                "tier_mode": activity.tier_mode,
                "tiers": [
                    {
                        "up_to": _plain(tier.up_to),
                        "unit_price": _plain(tier.unit_price),
                        "flat_fee": _plain(tier.flat_fee),
                    }
                    for tier in activity.tiers
                ],
                "minimum_charge": _plain(activity.minimum_charge),
                "summary": engine.describe_tiers(activity),
            }
            for activity in pricing.activities
        ],
    }


@staff_page("pricing.view_billingmodel")
def cost_calculator(request):
    models = list(
        selectors.billing_model_all(organizations=staff_organizations(request.user))
    )
    selected = None
    wanted = ascii_id(request.GET.get("model", ""))
    if wanted:
        selected = next((m for m in models if m.pk == wanted), None)
    if selected is None and models:
        selected = models[0]
    return render(
        request,
        "pricing/calculator.html",
        {
            "title": "Cost calculator",
            "billing_models": models,
            "selected": selected,
            "config": calculator_config(selected) if selected else None,
        },
    )


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
