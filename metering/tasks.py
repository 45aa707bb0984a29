"""Celery tasks of metering: thin wrappers that load by id and call one function."""

from celery import shared_task

from metering.models import Organization
from metering.selectors import customer_list


@shared_task
def organization_customer_count(organization_id: int) -> int:
    """Count an organization's customers (a cheap health check of the worker path)."""
    organization = Organization.objects.get(pk=organization_id)
    return customer_list(organization=organization).count()
