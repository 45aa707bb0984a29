"""The live running total (usage counters) equals the invoice (event aggregation)."""

import itertools
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bundles.tests.factories import OperationPriceFactory
from invoices import selectors, services
from invoices.models import Invoice
from invoices.periods import MONTHLY, Period
from invoices.tests.conftest import ingest
from invoices.tests.factories import SubscriptionFactory
from metering.tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db

MONTH = Period(MONTHLY, date(2026, 10, 1))
_numbers = itertools.count(1)

events = st.lists(
    st.tuples(
        st.sampled_from(["image.resize", "pdf.export", "api_calls", "tokens"]),
        st.decimals(min_value=Decimal("0"), max_value=Decimal("9999"), places=3),
        st.integers(min_value=0, max_value=30 * 24 - 1),  # hour of the month
    ),
    min_size=1,
    max_size=25,
)


@pytest.fixture
def image_price(organization):
    return OperationPriceFactory(
        organization=organization,
        operation="image.resize",
        unit_price=Decimal("0.0137"),
    )


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(stream=events)
def test_live_total_equals_invoice_total_at_period_end(
    organization, hybrid_model, image_price, stream
):
    number = next(_numbers)
    customer = CustomerFactory(organization=organization, external_id=f"live-{number}")
    SubscriptionFactory(
        customer=customer, billing_model=hybrid_model, agents=number % 3
    )
    start = datetime(2026, 10, 1, tzinfo=UTC)
    for code, quantity, hour in stream:
        when = start + timedelta(hours=hour)
        ingest(customer, code, [quantity], when=when, now=when)

    last_moment = datetime(2026, 10, 31, 23, 59, 59, tzinfo=UTC)
    live = selectors.current_usage_cost(customer=customer, now=last_moment)
    services.invoices_generate(
        organization=organization,
        period=MONTH,
        now=datetime(2026, 11, 1, tzinfo=UTC),
        customer_ids=[customer.pk],
    )
    invoice = Invoice.objects.get(customer=customer)

    assert live.monthly.total == invoice.total
    assert [
        (line.kind, line.description, line.amount) for line in live.monthly.lines
    ] == [
        (line.kind, line.description, line.amount)
        for line in invoice.lines.order_by("position")
    ]


late_and_charges = st.tuples(
    # Late September usage of a priced operation, received after its invoice.
    st.lists(
        st.decimals(min_value=Decimal("1"), max_value=Decimal("999"), places=2),
        min_size=0,
        max_size=4,
    ),
    # Provider charges: September's (carried over) and October's.
    st.decimals(min_value=Decimal("0.01"), max_value=Decimal("500"), places=2),
    st.decimals(min_value=Decimal("0.01"), max_value=Decimal("500"), places=2),
    events,
)


@settings(
    max_examples=10,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(case=late_and_charges)
def test_live_total_equals_invoice_with_late_usage_and_provider_charges(
    organization, hybrid_model, image_price, case
):
    late, september_charge, october_charge, stream = case
    number = next(_numbers)
    customer = CustomerFactory(organization=organization, external_id=f"late-{number}")
    SubscriptionFactory(customer=customer, billing_model=hybrid_model, agents=1)
    september = Period(MONTHLY, date(2026, 9, 1))
    ingest(
        customer,
        "image.resize",
        [Decimal("10")],
        when=datetime(2026, 9, 15, tzinfo=UTC),
    )
    services.invoices_generate(
        organization=organization,
        period=september,
        now=datetime(2026, 10, 1, 1, tzinfo=UTC),
        customer_ids=[customer.pk],
    )
    services.invoice_finalize(
        invoice=Invoice.objects.get(customer=customer, period_start=september.start),
        now=datetime(2026, 10, 2, tzinfo=UTC),
    )
    for quantity in late:
        ingest(
            customer,
            "image.resize",
            [quantity],
            when=datetime(2026, 9, 30, 22, tzinfo=UTC),
            now=datetime(2026, 10, 3, tzinfo=UTC),
        )
    for month, amount in ((9, september_charge), (10, october_charge)):
        services.provider_charge_create(
            organization=organization,
            customer=customer,
            provider="Twilio",
            period_start=date(2026, month, 1),
            amount=amount,
            description=f"SMS {month}",
        )
    start = datetime(2026, 10, 1, tzinfo=UTC)
    for code, quantity, hour in stream:
        when = start + timedelta(hours=hour)
        ingest(customer, code, [quantity], when=when, now=when)

    live = selectors.current_usage_cost(
        customer=customer, now=datetime(2026, 10, 31, 23, 59, 59, tzinfo=UTC)
    )
    services.invoices_generate(
        organization=organization,
        period=MONTH,
        now=datetime(2026, 11, 1, tzinfo=UTC),
        customer_ids=[customer.pk],
    )
    invoice = Invoice.objects.get(customer=customer, period_start=MONTH.start)

    kinds = set(invoice.lines.values_list("kind", flat=True))
    assert "provider_charge" in kinds
    assert ("adjustment" in kinds) == bool(late)
    assert live.monthly.total == invoice.total
    assert [
        (line.kind, line.description, line.amount) for line in live.monthly.lines
    ] == [
        (line.kind, line.description, line.amount)
        for line in invoice.lines.order_by("position")
    ]
