"""Ingestion remembers customer ids per process and forgets them when a customer
is deleted or renamed (a database trigger raises the organization's version)."""

from datetime import UTC, datetime

import pytest
from django.db import transaction

from metering.models import Customer, Organization, UsageEvent
from metering.services import customer_update, usage_events_ingest
from metering.services import ingest as ingest_module
from metering.tests.factories import CustomerFactory

NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)


def send(organization, event_id: str, customer_id: str) -> str:
    result = usage_events_ingest(
        organization=organization,
        events=[
            {
                "event_id": event_id,
                "customer_id": customer_id,
                "operation": "image.resize",
                "occurred_at": "2026-11-21T11:00:00Z",
            }
        ],
        now=NOW,
    )
    (outcome,) = result.outcomes
    return outcome.status if not outcome.errors else str(outcome.errors)


def version(organization) -> int:
    return Organization.objects.get(pk=organization.pk).customer_keys_version


def remembered(organization) -> dict:
    return ingest_module._customer_cache.get(organization.pk, (None, {}))[1]


@pytest.mark.django_db
def test_deleting_or_renaming_a_customer_raises_the_version(organization):
    first = CustomerFactory(organization=organization, external_id="a")
    second = CustomerFactory(organization=organization, external_id="b")
    other = CustomerFactory(external_id="a")
    assert version(organization) == 0

    customer_update(customer=first, name="Renamed, same key")
    Customer.objects.filter(pk=second.pk).update(email="b@example.com")
    assert version(organization) == 0

    customer_update(customer=first, external_id="a2")
    assert version(organization) == 1
    Customer.objects.filter(organization=organization).update(name="All at once")
    assert version(organization) == 1

    second.delete()
    assert version(organization) == 2
    Customer.objects.filter(organization=organization).delete()
    assert version(organization) == 3
    assert version(other.organization) == 0


@pytest.mark.django_db(transaction=True)
def test_deleted_renamed_and_recreated_customers_are_never_served_stale(
    organization,
):
    kept = CustomerFactory(organization=organization, external_id="kept")
    doomed = CustomerFactory(organization=organization, external_id="doomed")
    renamed = CustomerFactory(organization=organization, external_id="old-key")
    assert send(organization, "e1", "kept") == "accepted"
    assert send(organization, "e2", "doomed") == "accepted"
    assert send(organization, "e3", "old-key") == "accepted"
    assert remembered(organization) == {
        "kept": kept.pk,
        "doomed": doomed.pk,
        "old-key": renamed.pk,
    }

    doomed.delete()
    customer_update(customer=renamed, external_id="new-key")
    assert send(organization, "e4", "doomed") == (
        "{'customer_id': [\"Unknown customer 'doomed'.\"]}"
    )
    assert send(organization, "e5", "old-key") == (
        "{'customer_id': [\"Unknown customer 'old-key'.\"]}"
    )
    assert send(organization, "e6", "new-key") == "accepted"
    reborn = CustomerFactory(organization=organization, external_id="doomed")
    assert send(organization, "e7", "doomed") == "accepted"
    assert send(organization, "e8", "kept") == "accepted"

    stored = UsageEvent.objects.filter(organization=organization)
    assert dict(stored.values_list("event_id", "customer_id")) == {
        "e1": kept.pk,
        "e3": renamed.pk,
        "e6": renamed.pk,
        "e7": reborn.pk,
        "e8": kept.pk,
    }


@pytest.mark.django_db(transaction=True)
def test_customers_of_a_rolled_back_transaction_are_not_remembered(organization):
    with transaction.atomic():
        CustomerFactory(organization=organization, external_id="ghost")
        assert send(organization, "e1", "ghost") == "accepted"
        transaction.set_rollback(True)
    assert "ghost" not in remembered(organization)
    assert send(organization, "e2", "ghost") == (
        "{'customer_id': [\"Unknown customer 'ghost'.\"]}"
    )
    assert not UsageEvent.objects.filter(organization=organization).exists()


@pytest.mark.django_db(transaction=True)
def test_remembered_customers_start_afresh_beyond_the_limit(organization, monkeypatch):
    monkeypatch.setattr(ingest_module, "CUSTOMER_CACHE_LIMIT", 2)
    customers = [
        CustomerFactory(organization=organization, external_id=key)
        for key in ("a", "b", "c")
    ]
    for n, customer in enumerate(customers):
        assert send(organization, f"e{n}", customer.external_id) == "accepted"
    assert remembered(organization) == {"c": customers[2].pk}
    assert send(organization, "e3", "a") == "accepted"
    assert remembered(organization) == {"c": customers[2].pk, "a": customers[0].pk}
