"""Writes of metering.

Tenancy (organizations, customers, API keys, portal users) lives here; usage event
ingestion in ``ingest.py`` (its batch storage in ``ingest_postgresql.py`` and
``ingest_orm.py``), folding counter increments in ``counters.py``, event table
partitions in ``partitions.py``, outbound webhooks in ``webhooks.py`` and usage
alerts in ``alerts.py``, re-exported so callers import everything from
``metering.services``.
"""

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.contrib.auth import get_user_model
from django.db import transaction

from billing_site.errors import DomainError, InvalidTransition
from metering.models import ApiKey, Customer, Organization, PortalUser
from metering.services.alerts import DueAlert as DueAlert
from metering.services.alerts import alert_period_bounds as alert_period_bounds
from metering.services.alerts import usage_alert_create as usage_alert_create
from metering.services.alerts import usage_alert_delete as usage_alert_delete
from metering.services.alerts import usage_alert_fire as usage_alert_fire
from metering.services.alerts import usage_alerts_due as usage_alerts_due
from metering.services.alerts import usage_alerts_evaluate as usage_alerts_evaluate
from metering.services.counters import usage_counters_fold as usage_counters_fold
from metering.services.ingest import MAX_BATCH_EVENTS as MAX_BATCH_EVENTS
from metering.services.ingest import EventOutcome as EventOutcome
from metering.services.ingest import IngestResult as IngestResult
from metering.services.ingest import Status as Status
from metering.services.ingest import usage_events_ingest as usage_events_ingest
from metering.services.partitions import (
    usage_partitions_ensure as usage_partitions_ensure,
)
from metering.services.webhooks import AttemptOutcome as AttemptOutcome
from metering.services.webhooks import webhook_body as webhook_body
from metering.services.webhooks import (
    webhook_delivery_attempt as webhook_delivery_attempt,
)
from metering.services.webhooks import (
    webhook_delivery_resend as webhook_delivery_resend,
)
from metering.services.webhooks import (
    webhook_endpoint_create as webhook_endpoint_create,
)
from metering.services.webhooks import webhook_event_emit as webhook_event_emit

API_KEY_PREFIX = "bk_"
_LAST_USED_RESOLUTION = timedelta(minutes=1)


def api_key_hash(raw_key: str) -> str:
    return hashlib.sha256(raw_key.encode()).hexdigest()


@dataclass(frozen=True)
class IssuedApiKey:
    api_key: ApiKey
    raw_key: str  # shown once, never stored


@transaction.atomic
def organization_create(
    *, slug: str, name: str, currency: str = "USD", timezone: str = "UTC"
) -> Organization:
    organization = Organization(
        slug=slug, name=name, currency=currency, timezone=timezone
    )
    organization.full_clean()
    organization.save()
    return organization


@transaction.atomic
def api_key_create(*, organization: Organization, name: str = "") -> IssuedApiKey:
    """Create a key; the returned ``raw_key`` is the only copy of the secret."""
    raw_key = API_KEY_PREFIX + secrets.token_urlsafe(32)
    api_key = ApiKey.objects.create(
        organization=organization,
        name=name,
        prefix=raw_key[: len(API_KEY_PREFIX) + 8],
        hashed_key=api_key_hash(raw_key),
    )
    return IssuedApiKey(api_key=api_key, raw_key=raw_key)


@transaction.atomic
def api_key_revoke(*, api_key: ApiKey, now: datetime) -> ApiKey:
    api_key = ApiKey.objects.select_for_update().get(pk=api_key.pk)
    if api_key.revoked_at is not None:
        raise InvalidTransition(f"API key {api_key.prefix} is already revoked")
    api_key.revoked_at = now
    api_key.save(update_fields=["revoked_at", "updated_at"])
    return api_key


def api_key_touch(*, api_key: ApiKey, now: datetime) -> None:
    """Record use, at most once per minute per key (one UPDATE, no lock)."""
    if api_key.last_used_at and now - api_key.last_used_at < _LAST_USED_RESOLUTION:
        return
    ApiKey.objects.filter(pk=api_key.pk).update(last_used_at=now)
    api_key.last_used_at = now


@transaction.atomic
def customer_create(
    *,
    organization: Organization,
    external_id: str,
    name: str,
    email: str = "",
    metadata: dict | None = None,
) -> Customer:
    if Customer.objects.filter(
        organization=organization, external_id=external_id
    ).exists():
        raise DomainError(
            f"A customer with external id {external_id!r} already exists.",
            field="external_id",
        )
    customer = Customer(
        organization=organization,
        external_id=external_id,
        name=name,
        email=email,
        metadata=metadata or {},
    )
    customer.full_clean()
    customer.save()
    return customer


@transaction.atomic
def customer_update(*, customer: Customer, **changes) -> Customer:
    customer = Customer.objects.select_for_update().get(pk=customer.pk)
    new_external_id = changes.get("external_id", customer.external_id)
    if (
        new_external_id != customer.external_id
        and Customer.objects.filter(
            organization_id=customer.organization_id, external_id=new_external_id
        ).exists()
    ):
        raise DomainError(
            f"A customer with external id {new_external_id!r} already exists.",
            field="external_id",
        )
    for field in ("external_id", "name", "email", "metadata"):
        if field in changes:
            setattr(customer, field, changes[field])
    customer.full_clean()
    customer.save()
    return customer


# Other apps whose records make a customer undeletable register a check here:
# a callable taking the customer and returning a reason string, or "" when clear.
CUSTOMER_DELETE_GUARDS: list = []


@transaction.atomic
def customer_delete(*, customer: Customer) -> None:
    """Delete a customer unless another app (e.g. invoicing) still holds records."""
    for guard in CUSTOMER_DELETE_GUARDS:
        reason = guard(customer)
        if reason:
            raise DomainError(reason, field="customer")
    customer.delete()


@transaction.atomic
def portal_user_create(
    *, customer: Customer, username: str, password: str, email: str = ""
) -> PortalUser:
    user = get_user_model().objects.create_user(
        username=username, password=password, email=email
    )
    return PortalUser.objects.create(user=user, customer=customer)
