"""Celery tasks: the periodic offer run per organization and the expiry sweep."""

from celery import shared_task
from django.utils import timezone

from bundles import services
from metering.models import Organization


@shared_task(autoretry_for=(ConnectionError,), retry_backoff=True, max_retries=5)
def create_personalized_bundles(organization_id: int) -> dict:
    """Offer personalised bundles to the organization's profiled customers."""
    organization = Organization.objects.get(pk=organization_id)
    summary = services.personalized_bundles_create(
        organization=organization, now=timezone.now()
    )
    return summary.__dict__


@shared_task
def create_personalized_bundles_all() -> list[int]:
    """Fan out one offer run per organization (the beat schedule calls this)."""
    ids = list(Organization.objects.values_list("pk", flat=True))
    for organization_id in ids:
        create_personalized_bundles.delay(organization_id)
    return ids


@shared_task(autoretry_for=(ConnectionError,), retry_backoff=True, max_retries=5)
def expire_bundles() -> int:
    """Expire every bundle whose validity has ended."""
    return services.bundles_expire(now=timezone.now())
