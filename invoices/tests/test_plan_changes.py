"""A plan change mid-month: each subscription's fixed fees for its share of the
month, usage rated by the plan in force at the month's end."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from invoices import services
from invoices.models import Invoice
from invoices.tests.conftest import AFTER_OCTOBER, OCTOBER, at, ingest
from invoices.tests.factories import SubscriptionFactory
from metering.tests.factories import CustomerFactory
from pricing.tests.factories import ActivityBasedConfigFactory, BillingModelFactory


@pytest.fixture
def scale_model(organization):
    """Subscription 99.00; api_calls at 0.10 with a 25.00 minimum; tokens at 0.001
    with a 20.00 agent fee."""
    model = BillingModelFactory(
        organization=organization,
        name="Scale plan",
        model_type="hybrid",
        subscription_fee=Decimal("99.00"),
    )
    ActivityBasedConfigFactory(
        billing_model=model,
        activity_type="api_calls",
        price_per_unit=Decimal("0.10"),
        minimum_charge=Decimal("25.00"),
    )
    ActivityBasedConfigFactory(
        billing_model=model,
        activity_type="tokens",
        price_per_unit=Decimal("0.001"),
        base_agent_fee=Decimal("20.00"),
    )
    return model


def rows(invoice):
    return [
        (line.kind, line.description, line.amount)
        for line in invoice.lines.order_by("position")
    ]


def test_a_plan_change_on_the_11th_prorates_fees_and_agents(
    organization, hybrid_model, scale_model
):
    customer = CustomerFactory(organization=organization, external_id="acme")
    SubscriptionFactory(
        customer=customer,
        billing_model=hybrid_model,
        agents=2,
        starts_at=datetime(2026, 9, 1, tzinfo=UTC),
    )
    services.subscription_create(
        organization=organization,
        customer=customer,
        billing_model=scale_model,
        agents=5,
        starts_at=at(11, 0),
    )
    ingest(customer, "api_calls", [100], when=at(5))
    ingest(customer, "tokens", [1000], when=at(20))

    services.invoices_generate(
        organization=organization, period=OCTOBER, now=AFTER_OCTOBER
    )
    invoice = Invoice.objects.get(customer=customer)

    first = "2026-10-01 00:00 to 2026-10-11 00:00 UTC"
    second = "2026-10-11 00:00 to 2026-11-01 00:00 UTC"
    assert rows(invoice) == [
        # 49.00 x 10/31 and 2 agents x 15.00 x 10/31.
        ("subscription", f"Subscription: Token plan, {first}", Decimal("15.81")),
        (
            "base_fee",
            f"Tokens — base fee (2 agents at USD 15.00), {first}",
            Decimal("9.68"),
        ),
        # 99.00 x 21/31 and 5 agents x 20.00 x 21/31.
        ("subscription", f"Subscription: Scale plan, {second}", Decimal("67.06")),
        (
            "base_fee",
            f"Tokens — base fee (5 agents at USD 20.00), {second}",
            Decimal("67.74"),
        ),
        # The month's usage at the Scale plan's prices; 10.00 tops up to 25.00.
        ("usage", "Api calls — usage (at 0.1)", Decimal("10.00")),
        (
            "minimum_charge",
            "Api calls — top-up to the minimum charge",
            Decimal("15.00"),
        ),
        ("usage", "Tokens — usage (at 0.001)", Decimal("1.00")),
    ]
    assert invoice.total == Decimal("186.29")
    assert invoice.billing_model_name == "Scale plan"


def test_a_first_subscription_mid_month_pays_from_its_start(organization, scale_model):
    customer = CustomerFactory(organization=organization, external_id="late")
    SubscriptionFactory(
        customer=customer, billing_model=scale_model, agents=1, starts_at=at(21, 0)
    )

    services.invoices_generate(
        organization=organization, period=OCTOBER, now=AFTER_OCTOBER
    )
    invoice = Invoice.objects.get(customer=customer)

    span = "2026-10-21 00:00 to 2026-11-01 00:00 UTC"
    assert rows(invoice) == [
        ("subscription", f"Subscription: Scale plan, {span}", Decimal("35.13")),
        (
            "base_fee",
            f"Tokens — base fee (1 agent at USD 20.00), {span}",
            Decimal("7.10"),
        ),
        # Activities are rated without usage too; the minimum counts the activity's
        # prorated agent fees (none for api_calls).
        ("usage", "Api calls — usage (at 0.1)", Decimal("0.00")),
        (
            "minimum_charge",
            "Api calls — top-up to the minimum charge",
            Decimal("25.00"),
        ),
        ("usage", "Tokens — usage (at 0.001)", Decimal("0.00")),
    ]
    assert invoice.total == Decimal("67.23")


def test_a_subscription_all_month_is_not_prorated(organization, scale_model):
    customer = CustomerFactory(organization=organization, external_id="steady")
    SubscriptionFactory(
        customer=customer,
        billing_model=scale_model,
        agents=1,
        starts_at=datetime(2026, 9, 15, tzinfo=UTC),
    )

    services.invoices_generate(
        organization=organization, period=OCTOBER, now=AFTER_OCTOBER
    )
    invoice = Invoice.objects.get(customer=customer)

    assert rows(invoice) == [
        ("subscription", "Subscription: Scale plan", Decimal("99.00")),
        ("usage", "Api calls — usage (at 0.1)", Decimal("0.00")),
        (
            "minimum_charge",
            "Api calls — top-up to the minimum charge",
            Decimal("25.00"),
        ),
        ("base_fee", "Tokens — base fee (1 agent at USD 20.00)", Decimal("20.00")),
        ("usage", "Tokens — usage (at 0.001)", Decimal("0.00")),
    ]
