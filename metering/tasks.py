"""Periodic metering work."""

from celery import shared_task
from django.utils import timezone

from metering.services import (
    usage_counters_fold,
    usage_partitions_ensure,
    webhook_delivery_attempt,
)


@shared_task(name="metering.ensure_usage_partitions")
def ensure_usage_partitions(months_ahead: int = 3) -> list[str]:
    """Keep monthly partitions of the usage event table created ahead; idempotent.

    Scheduled daily by ``setup_periodic_tasks`` (django-celery-beat)."""
    return usage_partitions_ensure(now=timezone.now(), months_ahead=months_ahead)


@shared_task(name="metering.fold_usage_counters")
def fold_usage_counters() -> int:
    """Fold pending counter increments into the usage counters (every minute)."""
    return usage_counters_fold()


@shared_task(
    name="metering.deliver_webhook",
    autoretry_for=(ConnectionError,),
    retry_backoff=True,
    max_retries=3,
)
def webhook_deliver(delivery_id: int) -> str:
    """POST one webhook delivery once; while it stays pending, the next attempt
    is scheduled after the delivery's backoff (``retry_delay_seconds``)."""
    outcome = webhook_delivery_attempt(delivery_id=delivery_id, now=timezone.now())
    if outcome.retry_in_seconds is not None:
        webhook_deliver.apply_async(
            args=[delivery_id], countdown=outcome.retry_in_seconds
        )
    return outcome.status
