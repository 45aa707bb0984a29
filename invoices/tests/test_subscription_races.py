"""A customer has at most one open subscription, whatever the concurrency: the
service serialises on the customer and PostgreSQL's exclusion constraint refuses
overlapping subscriptions; the loser of a race gets a 409."""

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import pytest
from django.db import IntegrityError, connection, transaction
from rest_framework.test import APIClient

from invoices.models import Subscription
from invoices.tests.factories import SubscriptionFactory
from metering.tests.factories import CustomerFactory
from pricing.tests.factories import BillingModelFactory


def test_the_database_refuses_overlapping_subscriptions(organization):
    customer = CustomerFactory(organization=organization)
    SubscriptionFactory(
        customer=customer, starts_at=datetime(2026, 10, 1, tzinfo=UTC), ends_at=None
    )
    with pytest.raises(IntegrityError, match="subscription_periods_never_overlap"):
        with transaction.atomic():
            SubscriptionFactory(
                customer=customer,
                starts_at=datetime(2026, 11, 1, tzinfo=UTC),
                ends_at=datetime(2026, 12, 1, tzinfo=UTC),
            )
    # Back to back is not an overlap; another customer is not affected.
    closed = Subscription.objects.get(customer=customer)
    closed.ends_at = datetime(2026, 11, 1, tzinfo=UTC)
    closed.save()
    SubscriptionFactory(
        customer=customer, starts_at=datetime(2026, 11, 1, tzinfo=UTC), ends_at=None
    )
    SubscriptionFactory(starts_at=datetime(2026, 10, 1, tzinfo=UTC), ends_at=None)
    assert Subscription.objects.filter(ends_at__isnull=True).count() == 2


def test_starting_before_the_open_subscription_is_a_conflict(api_client, organization):
    model = BillingModelFactory(organization=organization)
    customer = CustomerFactory(organization=organization, external_id="acme")
    SubscriptionFactory(
        customer=customer,
        billing_model=model,
        starts_at=datetime(2026, 10, 15, tzinfo=UTC),
        ends_at=None,
    )
    response = api_client.post(
        "/api/v1/subscriptions/",
        {"customer_id": "acme", "billing_model_id": model.pk, "agents": 1,
         "starts_at": "2026-10-01T00:00:00Z"},
        format="json",
    )  # fmt: skip
    assert response.status_code == 409
    assert response.json() == {
        "errors": {
            "starts_at": [
                "The customer already has a subscription starting "
                "2026-10-15T00:00:00+00:00; start after it."
            ]
        }
    }


@pytest.mark.django_db(transaction=True)
def test_eight_concurrent_posts_leave_one_open_subscription(
    organization, api_client_for
):
    model = BillingModelFactory(organization=organization)
    CustomerFactory(organization=organization, external_id="acme")
    key = api_client_for(organization)._credentials["HTTP_AUTHORIZATION"]
    start = threading.Barrier(8)

    def post(agents: int) -> int:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=key)
        try:
            start.wait(timeout=30)
            return client.post(
                "/api/v1/subscriptions/",
                {"customer_id": "acme", "billing_model_id": model.pk,
                 "agents": agents, "starts_at": "2026-10-01T00:00:00Z"},
                format="json",
            ).status_code  # fmt: skip
        finally:
            connection.close()

    with ThreadPoolExecutor(8) as pool:
        statuses = sorted(pool.map(post, range(1, 9)))

    assert statuses == [201] + [409] * 7
    assert Subscription.objects.count() == 1
    assert Subscription.objects.filter(ends_at__isnull=True).count() == 1
