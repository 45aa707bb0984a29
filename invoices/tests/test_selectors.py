from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from invoices import charts, selectors
from invoices.tests.conftest import OCTOBER, at, ingest
from invoices.tests.factories import SubscriptionFactory
from metering.tests.factories import CustomerFactory, OperationFactory
from pricing import selectors as pricing_selectors
from pricing.tests.factories import BillingModelFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def tokens_usage(organization, hybrid_model):
    """October's tokens usage of customers subscribed to the hybrid model at some
    time in October, and of others who are not; returns them by name."""
    OperationFactory(
        organization=organization, code="tokens.gen", activity_type="tokens"
    )
    customers = {}

    def customer(name, units, *subscriptions):
        customers[name] = CustomerFactory(organization=organization, name=name)
        for model, starts_at, ends_at in subscriptions:
            SubscriptionFactory(
                customer=customers[name],
                billing_model=model,
                starts_at=starts_at,
                ends_at=ends_at,
            )
        if units:
            ingest(customers[name], "tokens.gen", [units], when=at(10))

    other_model = BillingModelFactory(organization=organization, name="Other plan")
    customer("open since September", 4000, (hybrid_model, at(1, month=9), None))
    customer("from October 20", 6000, (hybrid_model, at(20), None))
    customer(
        "changed plan twice in October",
        25000,
        (hybrid_model, at(1, month=9), at(15)),
        (other_model, at(15), at(20)),
        (hybrid_model, at(20), None),
    )
    customer("subscribed without usage", 0, (hybrid_model, at(1, month=9), None))
    customer(
        "ended before October",
        7000,
        (hybrid_model, at(1, month=9), at(15, month=9)),
    )
    customer(
        "ended as October began",
        8000,
        (hybrid_model, at(1, month=9), datetime(2026, 10, 1, tzinfo=UTC)),
    )
    customer(
        "starts as November begins",
        9000,
        (hybrid_model, datetime(2026, 11, 1, tzinfo=UTC), None),
    )
    customer("another model", 2500, (other_model, at(1, month=9), None))
    customer("never subscribed", 3000)
    return customers


def test_subscribers_are_those_with_a_subscription_in_force_in_the_period(
    hybrid_model, tokens_usage
):
    ids = selectors.billing_model_subscriber_ids(
        billing_model=hybrid_model, period=OCTOBER
    )
    names = {customer.pk: name for name, customer in tokens_usage.items()}
    assert sorted(names[pk] for pk in ids.values_list("customer_id", flat=True)) == [
        "changed plan twice in October",
        "changed plan twice in October",
        "from October 20",
        "open since September",
        "subscribed without usage",
    ]


def test_tier_utilisation_counts_only_the_models_subscribers(
    organization, tokens_usage
):
    (config,) = pricing_selectors.tiered_activity_list(organization=organization)
    with CaptureQueriesContext(connection) as queries:
        rows = selectors.subscriber_tier_utilisation(
            config=config, period_start=date(2026, 10, 17)
        )
    assert len(queries) == 2  # the operations' metrics, then the report
    # The non-subscriber (3,000), the other model's subscriber (2,500), the
    # subscriptions ended by October (7,000; 8,000) or starting after it (9,000)
    # are not counted; the plan changer counts once, with the month's usage.
    assert [(row.label, row.customers, row.units) for row in rows] == [
        ("0-5k", 1, Decimal("4000")),
        ("5k-20k", 1, Decimal("6000")),
        ("20k+", 1, Decimal("25000")),
    ]
    figure = charts.tier_utilisation_figure(rows, title="t")
    assert list(figure.data[0].x) == ["0-5k", "5k-20k", "20k+"]
    assert list(figure.data[0].y) == [1, 1, 1]
