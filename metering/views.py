"""Pages owned by metering: the portal home and the staff "Live usage" page."""

from django.contrib.auth.decorators import login_required
from django.http import JsonResponse
from django.shortcuts import render
from django.utils import timezone

from billing_site.decimals import plain_decimal
from billing_site.formatting import format_number
from billing_site.ids import ascii_id
from metering.ingestion import month_start
from metering.models import Organization
from metering.selectors import (
    live_usage,
    portal_customer_for_request,
    staff_organizations,
    usage_alert_states,
    usage_total_list,
)
from metering.staff import staff_page


@login_required
def portal_home(request):
    """The customer's account, this month's usage per operation (from counters)
    and its alerts with whether each fired in its current period."""
    customer = portal_customer_for_request(request)
    now = timezone.now()
    period_start = month_start(now).date()
    usage = usage_total_list(
        organization=customer.organization, customer=customer, period_start=period_start
    ).order_by("-quantity", "operation")
    return render(
        request,
        "portal/home.html",
        {
            "customer": customer,
            "period_start": period_start,
            "usage": usage,
            "alerts": usage_alert_states(customer=customer, now=now),
        },
    )


def _live_organization(request) -> Organization | None:
    slug = request.GET.get("organization")
    organizations = staff_organizations(request.user).order_by("name")
    if slug:
        return organizations.filter(slug=slug).first()
    return organizations.first()


def _live_minutes(request) -> int:
    minutes = ascii_id(request.GET.get("minutes", ""))
    return min(minutes, 60) if minutes else LIVE_MINUTES


LIVE_MINUTES = 10


@staff_page("metering.view_usageevent")
def live_usage_page(request):
    """Staff page "Live usage": refreshes itself from ``live_usage_data``."""
    organization = _live_organization(request)
    return render(
        request,
        "metering/live_usage.html",
        {
            "title": "Live usage",
            "organization": organization,
            "organizations": staff_organizations(request.user).order_by("name"),
            "minutes": _live_minutes(request),
        },
    )


@staff_page("metering.view_usageevent")
def live_usage_data(request):
    """JSON for the live page: events per operation and minute, top customers.

    Figures come as data (quantities as exact decimal strings) and, under
    ``*_shown``, as the page writes them (``format_number``: grouped, unpadded)."""
    organization = _live_organization(request)
    if organization is None:
        return JsonResponse(
            {"errors": {"organization": ["Unknown organization."]}}, status=404
        )
    usage = live_usage(
        organization=organization, now=timezone.now(), minutes=_live_minutes(request)
    )
    return JsonResponse(
        {
            "organization": organization.slug,
            "minutes": [minute.isoformat() for minute in usage.minutes],
            "events_per_second": str(usage.events_per_second),
            "events_per_second_shown": format_number(usage.events_per_second),
            "operations": [
                {
                    "operation": rate.operation,
                    "per_minute": rate.per_minute,
                    "total": rate.total,
                    "total_shown": format_number(rate.total),
                }
                for rate in usage.operations
            ],
            "top_customers": [
                {
                    "external_id": top.external_id,
                    "name": top.name,
                    "event_count": top.event_count,
                    "event_count_shown": format_number(top.event_count),
                    "quantity": plain_decimal(top.quantity),
                    "quantity_shown": format_number(top.quantity),
                }
                for top in usage.top_customers
            ],
        }
    )
