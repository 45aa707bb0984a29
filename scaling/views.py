"""The Performance & Scaling dashboard: staff (any account) and portal (own account)."""

from datetime import timedelta

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from billing_site.chart_embed import figure_embed
from billing_site.errors import DomainError
from billing_site.ids import ascii_id
from metering.models import Customer
from metering.selectors import portal_customer_for_request, staff_organizations
from metering.staff import staff_page
from scaling import charts, selectors
from scaling.forms import RejectForm
from scaling.models import Recommendation
from scaling.plan_change import PlanChangeQuote
from scaling.services import recommendations

ACTUALS_WINDOW = timedelta(days=60)
DAY = timedelta(days=1)


def dashboard_context(*, customer: Customer) -> dict:
    entitlement = selectors.entitlement_for(customer=customer)
    forecasts = selectors.forecasts_latest_for_customer(customer=customer)
    sections = []
    for resource in selectors.customer_resources(customer=customer):
        forecast = next((f for f in forecasts if f.resource == resource), None)
        step = selectors.metric_step(customer=customer, resource=resource)
        if forecast and (forecast.step_seconds or 0) >= DAY.total_seconds():
            step = "day"
        latest = selectors.metric_latest_for(customer=customer, resource=resource)
        since = latest.replace(hour=0, minute=0, second=0, microsecond=0) - (
            ACTUALS_WINDOW
        )
        actuals = selectors.metric_series_by_step(
            customer=customer, resource=resource, step=step, since=since
        )
        capacity = selectors.capacity_history(customer=customer, resource=resource)
        sections.append(
            {
                "resource": resource,
                "forecast": forecast,
                "utilisation": figure_embed(
                    charts.utilisation_figure(
                        resource=resource,
                        step=step,
                        actuals=actuals,
                        capacity=capacity,
                    )
                ),
                "forecast_chart": figure_embed(
                    charts.forecast_with_interval_figure(
                        resource=resource,
                        step=step,
                        actuals=actuals,
                        points=selectors.forecast_points_by_step(
                            forecast=forecast, step=step
                        ),
                        capacity=capacity,
                    )
                )
                if forecast and forecast.points
                else "",
            }
        )
    events = list(selectors.scaling_events_for(customer=customer))
    timeline = [
        {
            "occurred_at": event.occurred_at,
            "bundle": event.to_bundle.name,
            "kind": event.kind,
            "monthly_price": event.monthly_price,
        }
        for event in reversed(events)
    ]
    return {
        "customer": customer,
        "entitlement": entitlement,
        "sections": sections,
        "recommendations": selectors.recommendation_list(
            organization=customer.organization, customer=customer
        )[:20],
        "events": events,
        "events_chart": figure_embed(
            charts.scaling_events_figure(
                events=timeline, currency=customer.organization.currency
            )
        )
        if timeline
        else "",
        "accuracy": selectors.forecast_accuracy_rows(customer=customer),
    }


@staff_page("scaling.view_forecast")
def staff_dashboard(request):
    organizations = staff_organizations(request.user).order_by("name")
    slug = request.GET.get("organization")
    organization = (
        organizations.filter(slug=slug).first() if slug else organizations.first()
    )
    if organization is None:
        raise Http404("No organization")
    accounts = selectors.accounts_by_attention(organization=organization)
    key = request.GET.get("account")
    if key:
        number = ascii_id(key)
        customer = next(
            (row.customer for row in accounts if row.customer.pk == number), None
        )
        if customer is None:
            raise Http404("No such account")
    else:
        # Opens on the first account needing attention, else the first by name.
        customer = accounts[0].customer if accounts else None
    context = {
        "title": "Performance & Scaling",
        "organizations": organizations,
        "organization": organization,
        "accounts": accounts,
    }
    if customer is not None:
        context.update(dashboard_context(customer=customer))
    return render(request, "scaling/staff_dashboard.html", context)


@login_required
def portal_dashboard(request):
    customer = portal_customer_for_request(request)
    context = dashboard_context(customer=customer)
    recommendations = context["recommendations"].prefetch_related(
        "current_bundle__capacities", "recommended_bundle__capacities"
    )
    context["portal_recommendations"] = [
        (
            rec,
            selectors.recommendation_reason(recommendation=rec),
            selectors.bundle_price(
                bundle=rec.recommended_bundle, currency=rec.currency
            ),
        )
        for rec in recommendations
    ]
    context["accuracy_text"] = selectors.forecast_accuracy_text(customer=customer)
    return render(request, "scaling/portal_dashboard.html", context)


PRICE_CHANGED = "The price has changed since. Please review it again."


def _quoted_price_posted(request, quote: PlanChangeQuote) -> bool:
    """Whether the request posts the new monthly price the quote states now."""
    return request.POST.get("new_price") == str(quote.new_price)


def _confirmation_context(recommendation: Recommendation, now) -> dict:
    """What a confirmation page shows: the quote of approving now (current and new
    monthly price, the change on this month's invoice) and the plain reason."""
    return {
        "recommendation": recommendation,
        "quote": selectors.recommendation_quote(recommendation=recommendation, at=now),
        "reason": selectors.recommendation_reason(recommendation=recommendation),
        "currency": recommendation.currency,
    }


def _own_recommendation(request, pk: int):
    customer = portal_customer_for_request(request)
    recommendation = selectors.recommendation_get(
        organization=customer.organization, pk=pk
    )
    if recommendation.customer_id != customer.pk:
        raise Http404("No such recommendation")
    return recommendation


@login_required
@require_GET
def portal_approve_confirm(request, pk: int):
    """What approving changes: the current and new monthly price, the change on
    this month's invoice and why; the approval is posted from this page only."""
    recommendation = _own_recommendation(request, pk)
    if recommendation.status != Recommendation.Status.PENDING:
        messages.error(
            request,
            f"This recommendation is {recommendation.get_status_display().lower()}; "
            "only a pending one can be approved.",
        )
        return redirect("portal:scaling")
    return render(
        request,
        "scaling/portal_approve_confirm.html",
        _confirmation_context(recommendation, timezone.now()),
    )


@login_required
@require_POST
def portal_decide(request, pk: int, decision: str):
    recommendation = _own_recommendation(request, pk)
    if decision not in ("approve", "reject"):
        raise Http404("No such recommendation")
    now = timezone.now()
    if decision == "approve":
        # Only the confirmation page posts the price it showed; anything else, or a
        # price that has changed since, goes back to the confirmation.
        quote = selectors.recommendation_quote(recommendation=recommendation, at=now)
        if not _quoted_price_posted(request, quote):
            if "new_price" in request.POST:
                messages.error(request, PRICE_CHANGED)
            return redirect("portal:scaling-approve", pk=recommendation.pk)
    service = (
        recommendations.recommendation_approve
        if decision == "approve"
        else recommendations.recommendation_reject
    )
    try:
        service(
            recommendation=recommendation,
            decided_by=request.user.get_username(),
            now=now,
        )
    except DomainError as error:
        messages.error(request, error.message)
    else:
        verb = "approved" if decision == "approve" else "rejected"
        messages.success(
            request, f"Recommendation {recommendation.recommended_bundle} {verb}."
        )
    return redirect("portal:scaling")


# URL segment -> (button, past tense)
STAFF_DECISIONS = {"approve": ("Approve", "approved"), "reject": ("Reject", "rejected")}


@staff_page("scaling.decide_recommendation")
@require_http_methods(["GET", "POST"])
def staff_decide(request, pk: int, decision: str):
    """The confirmation of a staff member's decision on a pending recommendation
    (GET), and the decision once confirmed (a POST with ``confirm``). Approving
    shows what the customer's confirmation shows and posts the price it showed;
    rejecting takes an optional reason. The decision is recorded with the staff
    member's username."""
    if decision not in STAFF_DECISIONS:
        raise Http404("No such decision")
    recommendation = selectors.recommendation_get_for_staff(
        organizations=staff_organizations(request.user), pk=pk
    )
    customer = recommendation.customer
    query = {"organization": recommendation.organization.slug, "account": customer.pk}
    dashboard = f"{reverse('staff:scaling')}?{urlencode(query)}"
    if recommendation.status != Recommendation.Status.PENDING:
        messages.error(
            request,
            f"This recommendation is {recommendation.get_status_display().lower()}; "
            f"only a pending one can be {STAFF_DECISIONS[decision][1]}.",
        )
        return redirect(dashboard)
    now = timezone.now()
    context = _confirmation_context(recommendation, now)
    confirmed = request.method == "POST" and "confirm" in request.POST
    form = RejectForm(request.POST if confirmed else None)
    status = 200
    stale = decision == "approve" and not _quoted_price_posted(
        request, context["quote"]
    )
    if confirmed and stale:
        messages.error(request, PRICE_CHANGED)
        status = 409
    elif confirmed and decision == "reject" and not form.is_valid():
        status = 400
    elif confirmed:
        decided_by = request.user.get_username()
        try:
            if decision == "approve":
                recommendations.recommendation_approve(
                    recommendation=recommendation, decided_by=decided_by, now=now
                )
            else:
                recommendations.recommendation_reject(
                    recommendation=recommendation,
                    decided_by=decided_by,
                    now=now,
                    note=form.cleaned_data["reason"],
                )
        except DomainError as error:
            messages.error(request, error.message)
        else:
            messages.success(
                request,
                f"The change of {customer.name} to {recommendation.recommended_bundle}"
                f" is {STAFF_DECISIONS[decision][1]}.",
            )
        return redirect(dashboard)
    context.update(
        {
            "title": f"{STAFF_DECISIONS[decision][0]} the change to "
            f"{recommendation.recommended_bundle}",
            "decision": decision,
            "customer": customer,
            "form": form if decision == "reject" else None,
            "dashboard": dashboard,
        }
    )
    return render(request, "scaling/staff_decide_confirm.html", context, status=status)
