"""Invoices rate each operation's billable quantity: a count, max, unique count or
latest metric is billed on its figure over the period; bundles cover sums and
counts only."""

from decimal import Decimal

import pytest

from bundles.tests.factories import (
    OperationPriceFactory,
    PersonalizedBundleFactory,
    PersonalizedBundleLineFactory,
)
from invoices import selectors, services
from invoices.models import Invoice
from invoices.tests.conftest import AFTER_OCTOBER, OCTOBER, at
from invoices.tests.test_services import line_rows
from metering.models import Operation
from metering.tests.factories import (
    CustomerFactory,
    OperationFactory,
    usage_events_bulk_create,
)

pytestmark = pytest.mark.django_db

D = Decimal
Aggregation = Operation.Aggregation
BEFORE, AFTER = at(30, 23, month=9), at(1, 0, month=11)


def send(customer, operation: str, *events) -> None:
    """Store ``(quantity, when, user_id)`` events of one operation."""
    usage_events_bulk_create(
        customer=customer,
        events=[
            {"operation": operation, "quantity": q, "occurred_at": when, "user_id": u}
            for q, when, u in events
        ],
        now=AFTER_OCTOBER,
    )


@pytest.fixture
def metered(organization):
    """A customer's October of one operation per metric, each with a list price,
    and events just outside the month on both sides."""
    prices = {
        "api.call": "0.01",
        "api.request": "0.50",
        "storage.gb": "0.25",
        "seats": "8.00",
        "plan.level": "1.50",
    }
    for code, price in prices.items():
        OperationPriceFactory(
            organization=organization, operation=code, unit_price=D(price)
        )
    OperationFactory(organization=organization, code="api.call")
    OperationFactory(
        organization=organization, code="api.request", aggregation=Aggregation.COUNT
    )
    OperationFactory(
        organization=organization, code="storage.gb", aggregation=Aggregation.MAX
    )
    OperationFactory(
        organization=organization,
        code="seats",
        aggregation=Aggregation.UNIQUE_COUNT,
        aggregation_property="user_id",
    )
    OperationFactory(
        organization=organization, code="plan.level", aggregation=Aggregation.LATEST
    )
    customer = CustomerFactory(organization=organization, external_id="acme")
    send(
        customer, "api.call", ("2.5", at(3), ""), ("4", at(20), ""), ("90", BEFORE, "")
    )
    send(
        customer,
        "api.request",
        ("7", at(3), ""),
        ("7", at(4), ""),
        ("3", at(31, 23), ""),
        ("1", AFTER, ""),
    )
    send(
        customer,
        "storage.gb",
        ("12.5", at(2), ""),
        ("40.25", at(15), ""),
        ("18", at(30), ""),
        ("500", AFTER, ""),
    )
    send(
        customer,
        "seats",
        ("1", at(2), "u1"),
        ("1", at(3), "u2"),
        ("1", at(9), "u1"),
        ("1", at(10), ""),
        ("1", BEFORE, "u3"),
        ("1", AFTER, "u4"),
    )
    send(
        customer,
        "plan.level",
        ("3", at(1), ""),
        ("5", at(28), ""),
        ("2", at(12), ""),
        ("9", AFTER, ""),
    )
    return customer


def test_the_period_usage_is_each_operations_billable_quantity(organization, metered):
    assert selectors.period_usage(organization=organization, period=OCTOBER) == {
        metered.pk: {
            "api.call": D("6.5"),
            "api.request": D(3),
            "storage.gb": D("40.25"),
            "seats": D(2),
            "plan.level": D(5),
        }
    }


def test_an_invoice_charges_each_metric_on_its_months_figure(organization, metered):
    services.invoices_generate(
        organization=organization, period=OCTOBER, now=AFTER_OCTOBER
    )
    invoice = Invoice.objects.get(customer=metered)
    assert line_rows(invoice) == [
        ("overage", "api.call", "6.5", "0.07"),  # 0.065 rounded half up
        ("overage", "api.request", "3", "1.50"),  # 3 events
        ("overage", "plan.level", "5", "7.50"),  # the last level, 28 October
        ("overage", "seats", "2", "16.00"),  # users u1 and u2
        ("overage", "storage.gb", "40.25", "10.06"),  # the peak, 10.0625
    ]
    assert invoice.total == D("35.13")


def test_bundles_cover_counts_but_not_other_metrics(organization, metered):
    bundle = PersonalizedBundleFactory(
        customer=metered,
        status="active",
        price=D("3.00"),
        valid_from=at(1, 0),
        valid_until=AFTER,
        accepted_at=at(1, 0),
    )
    PersonalizedBundleLineFactory(
        bundle=bundle, operation="api.request", included_quantity=D(2)
    )
    PersonalizedBundleLineFactory(
        bundle=bundle, operation="seats", included_quantity=D(10)
    )
    services.invoices_generate(
        organization=organization, period=OCTOBER, now=AFTER_OCTOBER
    )
    invoice = Invoice.objects.get(customer=metered)
    assert line_rows(invoice) == [
        ("bundle", "Bundle: Personalised bundle", "1", "3.00"),
        ("bundled_usage", "api.request: included in bundle", "2", "0.00"),
        ("overage", "api.call", "6.5", "0.07"),
        ("overage", "api.request: beyond bundle", "1", "0.50"),
        ("overage", "plan.level", "5", "7.50"),
        ("overage", "seats", "2", "16.00"),
        ("overage", "storage.gb", "40.25", "10.06"),
    ]
    assert invoice.total == D("37.13")


def test_the_live_total_of_the_month_rates_the_same_figures(organization, metered):
    cost = selectors.current_usage_cost(customer=metered, now=at(31, 23))
    assert [
        (line.description, line.quantity, line.amount) for line in cost.monthly.lines
    ] == [
        ("api.call", D("6.5"), D("0.07")),
        ("api.request", D(3), D("1.50")),
        ("plan.level", D(5), D("7.50")),
        ("seats", D(2), D("16.00")),
        ("storage.gb", D("40.25"), D("10.06")),
    ]
