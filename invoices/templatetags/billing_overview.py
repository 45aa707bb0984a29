"""The admin index's billing overview: last closed month's revenue and the queues
waiting for staff, each linking to its filtered change list."""

from dataclasses import dataclass

from django import template
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode

from billing_site.formatting import format_money, format_number
from invoices import selectors
from invoices.selectors.overview import REVENUE_STATUSES
from metering.selectors import staff_organizations
from profiling import selectors as profiling_selectors

register = template.Library()


@dataclass(frozen=True)
class Tile:
    label: str
    figures: tuple[str, ...]  # one line per currency for revenue, else one count
    url: str


def _changelist(name: str, **filters: str) -> str:
    return f"{reverse(f'admin:{name}_changelist')}?{urlencode(filters)}"


@register.inclusion_tag("invoices/admin/billing_overview.html", takes_context=True)
def billing_overview(context) -> dict:
    """Tiles for what the user may view, over the organizations they act for."""
    user = context["request"].user
    organizations = staff_organizations(user)
    overview = selectors.billing_overview(
        organizations=organizations, now=timezone.now()
    )
    month = overview.month
    tiles = []
    if user.has_perm("invoices.view_invoice"):
        tiles.append(
            Tile(
                label=f"Revenue {month.label}",
                figures=tuple(
                    format_money(row.amount, row.currency) for row in overview.revenue
                )
                or ("none",),
                url=_changelist(
                    "invoices_invoice",
                    status__in=",".join(REVENUE_STATUSES),
                    period_start__gte=month.start.isoformat(),
                    period_start__lte=month.end.isoformat(),
                ),
            )
        )
        tiles.append(
            Tile(
                label="Drafts awaiting finalization",
                figures=(format_number(overview.drafts),),
                url=_changelist("invoices_invoice", status__exact="draft"),
            )
        )
    if user.has_perm("metering.view_webhookdelivery"):
        tiles.append(
            Tile(
                label="Failed webhook deliveries",
                figures=(format_number(overview.failed_webhooks),),
                url=_changelist("metering_webhookdelivery", status__exact="failed"),
            )
        )
    if user.has_perm("scaling.view_recommendation"):
        tiles.append(
            Tile(
                label="Pending scaling recommendations",
                figures=(format_number(overview.pending_recommendations),),
                url=_changelist("scaling_recommendation", status__exact="pending"),
            )
        )
    if user.has_perm("profiling.view_customerprofile"):
        unusual = profiling_selectors.unusual_profiles(organizations=organizations)
        tiles.append(
            Tile(
                label="Unusual customers in the latest profiling run",
                figures=(format_number(unusual.count()),),
                url=_changelist("profiling_customerprofile", unusual="latest"),
            )
        )
    return {"tiles": tiles}
