"""Celery tasks of invoicing: the periodic cycle and its fanned-out parts."""

from datetime import datetime

from celery import shared_task
from django.utils import timezone

from invoices import periods, services
from metering.models import Organization


@shared_task
def invoicing_cycle(organization_id: int, now_iso: str | None = None) -> dict:
    """Generate the last closed periods and finalize drafts past grace, for one
    organization (``now_iso`` lets a caller replay a moment)."""
    organization = Organization.objects.get(pk=organization_id)
    now = timezone.datetime.fromisoformat(now_iso) if now_iso else timezone.now()
    result = services.invoicing_cycle_run(organization=organization, now=now)
    return {
        "generated": {
            str(generated.period): generated.created + generated.refreshed
            for generated in result.generated
        },
        "dispatched": {str(period): tasks for period, tasks in result.dispatched},
        "finalized": len(result.finalized.finalized),
        "failed": len(result.finalized.failed),
        "overdue": result.overdue,
        "reminded": result.reminded,
    }


@shared_task
def invoices_generate_part(
    organization_id: int, period: str, now_iso: str, customer_ids: list[int]
) -> dict:
    """Generate a period's invoices for some of an organization's customers: one
    share of ``services.invoices_generate_fanout``."""
    organization = Organization.objects.get(pk=organization_id)
    result = services.invoices_generate(
        organization=organization,
        period=periods.period_parse(period),
        now=datetime.fromisoformat(now_iso),
        customer_ids=customer_ids,
    )
    return {
        "created": result.created,
        "refreshed": result.refreshed,
        "already_issued": result.already_issued,
        "removed_empty": result.removed_empty,
    }


@shared_task
def invoicing_cycle_all() -> int:
    """The beat entry point: one cycle task per organization."""
    ids = list(Organization.objects.values_list("pk", flat=True))
    for organization_id in ids:
        invoicing_cycle.delay(organization_id)
    return len(ids)


@shared_task
def spend_alerts_evaluate(
    organization_id: int, customer_ids: list[int], now_iso: str
) -> int:
    """Spend alerts of the customers a stored usage batch named (see
    ``invoices.apps``); returns how many fired."""
    return services.spend_alerts_evaluate(
        organization=Organization.objects.get(pk=organization_id),
        customer_ids=customer_ids,
        now=datetime.fromisoformat(now_iso),
    )


@shared_task
def wallet_credits_expire_all(now_iso: str | None = None) -> int:
    """The beat entry point: expire what is left of every organization's credits
    past their expiry; returns how many credits expired."""
    now = datetime.fromisoformat(now_iso) if now_iso else timezone.now()
    return sum(
        services.wallet_credits_expire(organization=organization, now=now)
        for organization in Organization.objects.order_by("pk")
    )
