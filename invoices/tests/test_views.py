from datetime import UTC, date, datetime, time

import pytest
from django.urls import reverse
from django.utils import timezone

from invoices.tests.conftest import at, ingest
from invoices.tests.factories import SubscriptionFactory
from metering.tests.factories import CustomerFactory, OperationFactory, UserFactory
from pricing import selectors as pricing_selectors

pytestmark = pytest.mark.django_db

URL = "staff:pricing-tier-utilisation"


@pytest.fixture
def staff_client(client):
    client.force_login(UserFactory(staff=True))
    return client


@pytest.fixture
def tokens(organization, hybrid_model):
    """``tokens(units, when, subscribed=True)``: a customer using ``units`` tokens
    at ``when``, subscribed to the hybrid model since January 2026 unless not."""
    OperationFactory(
        organization=organization, code="tokens.gen", activity_type="tokens"
    )

    def use(units, when, *, subscribed=True):
        customer = CustomerFactory(organization=organization)
        if subscribed:
            SubscriptionFactory(
                customer=customer,
                billing_model=hybrid_model,
                starts_at=datetime(2026, 1, 1, tzinfo=UTC),
            )
        ingest(customer, "tokens.gen", [units], when=when)

    return use


def test_tier_utilisation_page_counts_a_chosen_months_subscribers(staff_client, tokens):
    for units in (500, 20000, 20001):
        tokens(units, at(5))
    tokens(600, at(5), subscribed=False)
    response = staff_client.get(reverse(URL), {"period": "2026-10"})
    assert response.status_code == 200
    assert response.context["period"] == date(2026, 10, 1)
    rows = response.context["rows"]
    assert [(row.label, row.customers) for row in rows] == [
        ("0-5k", 1), ("5k-20k", 1), ("20k+", 1),
    ]  # fmt: skip
    body = response.content.decode()
    assert "plotly/plotly.min.js" in body
    assert "Subscribers of Token plan" in body
    assert "October 2026" in body


def test_tier_utilisation_page_defaults_to_last_month(staff_client, tokens):
    now = timezone.now()
    last_month = pricing_selectors.last_period_start(today=now.astimezone(UTC).date())
    tokens(6000, datetime.combine(last_month, time(12), tzinfo=UTC))
    tokens(7000, now)  # this month
    response = staff_client.get(reverse(URL))
    assert response.context["period"] == last_month
    assert [row.customers for row in response.context["rows"]] == [0, 1, 0]


def test_tier_utilisation_page_without_subscribers_usage_that_month(
    staff_client, tokens
):
    tokens(600, at(5), subscribed=False)
    response = staff_client.get(reverse(URL), {"period": "2026-10"})
    assert response.context["rows"] is None
    assert (
        "No usage of tokens by subscribers of Token plan recorded in October 2026."
        in response.content.decode()
    )


def test_tier_utilisation_page_rejects_a_bad_month(staff_client, hybrid_model):
    response = staff_client.get(reverse(URL), {"period": "October"})
    assert response.status_code == 200
    assert response.context["form"].errors == {"period": ["Enter a month as YYYY-MM."]}
    assert "Enter a month as YYYY-MM." in response.content.decode()
