"""Provisioning: the backends that put a bundle into effect, and the entitlement
record (the account's active bundle, with its history as scaling events)."""

import hashlib
import hmac
import json
import urllib.request
from datetime import datetime
from decimal import Decimal
from typing import Protocol

from django.db import transaction

from metering.models import Customer
from scaling import selectors
from scaling.models import (
    Entitlement,
    FeatureBundle,
    Recommendation,
    ScalingEvent,
    ScalingPolicy,
)

SIGNATURE_HEADER = "X-Scaling-Signature"
WEBHOOK_TIMEOUT_SECONDS = 10


class Provisioner(Protocol):
    name: str

    def provision(
        self, *, customer: Customer, bundle: FeatureBundle, payload: dict
    ) -> dict:
        """Put the bundle into effect; return details for the scaling event.

        Raise ``OSError`` (connection, timeout, HTTP error) for a transient failure:
        the apply task retries it.
        """


class EntitlementProvisioner:
    """Records the entitlement only; the platform reads capacities from it."""

    name = "entitlement"

    def provision(
        self, *, customer: Customer, bundle: FeatureBundle, payload: dict
    ) -> dict:
        return {}


def webhook_signature(*, secret: str, body: bytes) -> str:
    """``sha256=<hex HMAC-SHA256 of the raw body keyed with the account's secret>``."""
    digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


class WebhookProvisioner:
    """POSTs the change to the account's endpoint, signed, with an idempotency key."""

    name = "webhook"

    def __init__(self, *, url: str, secret: str):
        self.url = url
        self.secret = secret

    def provision(
        self, *, customer: Customer, bundle: FeatureBundle, payload: dict
    ) -> dict:
        body = json.dumps(payload, sort_keys=True).encode()
        request = urllib.request.Request(
            self.url,
            data=body,
            method="POST",
            headers={
                "Content-Type": "application/json",
                "Idempotency-Key": payload["idempotency_key"],
                SIGNATURE_HEADER: webhook_signature(secret=self.secret, body=body),
            },
        )
        with urllib.request.urlopen(  # noqa: S310 - the account's configured URL
            request, timeout=WEBHOOK_TIMEOUT_SECONDS
        ) as response:
            return {"url": self.url, "status": response.status}


def provisioner_for(*, policy: ScalingPolicy) -> Provisioner:
    if policy.provisioner == ScalingPolicy.Provisioner.WEBHOOK and policy.webhook_url:
        return WebhookProvisioner(url=policy.webhook_url, secret=policy.webhook_secret)
    return EntitlementProvisioner()


def _capacities(bundle: FeatureBundle) -> dict:
    return {c.resource: str(c.capacity) for c in bundle.capacities.all()}


@transaction.atomic
def entitlement_record(
    *,
    customer: Customer,
    bundle: FeatureBundle,
    now: datetime,
    recommendation: Recommendation | None = None,
    backend: str = EntitlementProvisioner.name,
    detail: dict | None = None,
) -> Entitlement:
    """Make ``bundle`` the account's active bundle and append a scaling event;
    both keep the bundle's capacities as they are now."""
    currency = customer.organization.currency
    price: Decimal = selectors.bundle_price(bundle=bundle, currency=currency)
    current = Entitlement.objects.select_for_update().filter(customer=customer).first()
    previous = current.bundle if current else None
    if previous is None:
        kind = ScalingEvent.Kind.INITIAL
    else:
        old_price = selectors.bundle_price(bundle=previous, currency=currency)
        kind = (
            ScalingEvent.Kind.UPGRADE
            if price >= old_price
            else ScalingEvent.Kind.DOWNGRADE
        )
    capacities = _capacities(bundle)
    entitlement, _ = Entitlement.objects.update_or_create(
        customer=customer,
        defaults={
            "organization_id": customer.organization_id,
            "bundle": bundle,
            "capacities": capacities,
            "monthly_price": price,
            "activated_at": now,
        },
    )
    ScalingEvent.objects.create(
        organization_id=customer.organization_id,
        customer=customer,
        kind=kind,
        from_bundle=previous,
        to_bundle=bundle,
        recommendation=recommendation,
        monthly_price=price,
        capacities=capacities,
        occurred_at=now,
        backend=backend,
        detail=detail or {},
    )
    return entitlement
