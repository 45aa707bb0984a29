"""A new scaling recommendation is a recommendation.created webhook event."""

import datetime as dt

import pytest

from metering.models import WebhookEvent
from scaling.services import provisioning
from scaling.services.recommendations import recommendation_generate
from scaling.tests.factories import ForecastFactory

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2025, 12, 31, 12, tzinfo=dt.UTC)


def test_new_recommendation_emits_its_event_once(organization, customer, bundles):
    provisioning.entitlement_record(
        customer=customer, bundle=bundles["Startup Launch"], now=NOW
    )
    ForecastFactory(customer=customer)

    recommendation = recommendation_generate(customer=customer, now=NOW)
    assert recommendation_generate(customer=customer, now=NOW) == recommendation

    event = WebhookEvent.objects.get()
    assert (event.type, event.key, event.occurred_at) == (
        "recommendation.created",
        f"recommendation:{recommendation.pk}",
        NOW,
    )
    assert event.payload == {
        "recommendation": {
            "id": recommendation.pk,
            "customer_id": customer.external_id,
            "direction": "upgrade",
            "status": "pending",
            "current_bundle_id": bundles["Startup Launch"].pk,
            "recommended_bundle_id": bundles["Growth Accelerator"].pk,
            "confidence": 0.9,
            "currency": "USD",
            "upgrade_cost": "4.00",
            "net_benefit": "116.00",
        }
    }
