"""The usage read model: each operation's metric aggregates its events over a
period, from the counters (a month's sums and counts) or the events."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from metering import selectors
from metering.models import Operation
from metering.services import usage_counters_fold
from metering.tests.factories import (
    CustomerFactory,
    OperationFactory,
    usage_events_bulk_create,
)

pytestmark = pytest.mark.django_db

D = Decimal
Aggregation = Operation.Aggregation
RECEIVED = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
OCTOBER = {
    "start": datetime(2026, 10, 1, tzinfo=UTC),
    "end": datetime(2026, 11, 1, tzinfo=UTC),
}


def at(day: int, hour: int = 12, month: int = 10) -> datetime:
    return datetime(2026, month, day, hour, tzinfo=UTC)


def send(customer, operation: str, *events) -> None:
    """Store ``(quantity, when, extra fields)`` events of one operation."""
    usage_events_bulk_create(
        customer=customer,
        events=[
            {"operation": operation, "quantity": D(q), "occurred_at": when, **extra}
            for q, when, extra in events
        ],
        now=RECEIVED,
    )


@pytest.fixture
def metrics(organization):
    """One operation of each aggregation."""
    OperationFactory(organization=organization, code="api.call")  # sum
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
        organization=organization,
        code="projects",
        aggregation=Aggregation.UNIQUE_COUNT,
        aggregation_property="project",
    )
    OperationFactory(
        organization=organization, code="plan.level", aggregation=Aggregation.LATEST
    )


@pytest.fixture
def october(organization, metrics):
    """Two customers' October, with events just outside it on both sides."""
    alice = CustomerFactory(organization=organization, external_id="alice")
    bob = CustomerFactory(organization=organization, external_id="bob")
    before, after = at(30, 23, month=9), at(1, 0, month=11)
    send(alice, "api.call", ("2.5", at(3), {}), ("4", at(20), {}), ("99", before, {}))
    send(alice, "api.request", ("7", at(3), {}), ("7", at(4), {}), ("1", after, {}))
    usage_counters_fold()  # part of the month folded, the rest pending
    send(alice, "api.request", ("3", at(31, 23), {}))
    send(
        alice,
        "storage.gb",
        ("12.5", at(2), {}),
        ("40.25", at(15), {}),
        ("18", at(30), {}),
        ("500", after, {}),
    )
    send(
        alice,
        "seats",
        ("1", at(2), {"user_id": "u1"}),
        ("1", at(3), {"user_id": "u2"}),
        ("1", at(9), {"user_id": "u1"}),
        ("1", at(10), {}),  # no end user: not a seat
        ("1", before, {"user_id": "u3"}),
    )
    send(
        alice,
        "projects",
        ("1", at(5), {"properties": {"project": "p1"}}),
        ("1", at(6), {"properties": {"project": 7}}),
        ("1", at(7), {"properties": {"project": "7"}}),  # the same value as text
        ("1", at(8), {"properties": {"project": ""}}),
        ("1", at(8), {"properties": {"other": "x"}}),
        ("1", after, {"properties": {"project": "p9"}}),
    )
    send(
        alice,
        "plan.level",
        ("3", at(1), {}),
        ("5", at(28), {}),
        ("2", at(12), {}),  # arrives later, occurred earlier
        ("9", after, {}),
    )
    send(bob, "plan.level", ("4", at(31, 23), {}))
    send(bob, "plan.level", ("6", at(31, 23), {}))  # same instant, stored last
    send(bob, "storage.gb", ("0", at(5), {}))
    return alice, bob


ALICE_OCTOBER = {
    "api.call": D("6.5"),
    "api.request": D(3),
    "storage.gb": D("40.25"),
    "seats": D(2),
    "projects": D(2),
    "plan.level": D(5),
}
BOB_OCTOBER = {"plan.level": D(6), "storage.gb": D(0)}


def test_each_metric_aggregates_the_months_events(organization, october):
    alice, bob = october
    with CaptureQueriesContext(connection) as queries:
        usage = selectors.usage_by_customer(organization=organization, **OCTOBER)
    assert usage == {alice.pk: ALICE_OCTOBER, bob.pk: BOB_OCTOBER}
    # The metrics, the counters, then one aggregate per kind of event metric.
    assert len(queries) == 5


def test_the_counters_and_the_events_give_the_same_month(organization, october):
    assert selectors.usage_by_customer(
        organization=organization, from_events=True, **OCTOBER
    ) == selectors.usage_by_customer(organization=organization, **OCTOBER)


def test_a_span_other_than_a_month_aggregates_its_events(organization, october):
    alice, bob = october
    assert selectors.usage_by_customer(
        organization=organization, start=at(3), end=at(28)
    ) == {
        alice.pk: {
            "api.call": D("6.5"),
            "api.request": D(2),
            "storage.gb": D("40.25"),
            "seats": D(2),
            "projects": D(2),
            "plan.level": D(2),
        },
        bob.pk: {"storage.gb": D(0)},
    }


def test_usage_of_some_customers_and_operations(organization, october):
    alice, bob = october
    assert selectors.usage_by_customer(
        organization=organization, customer_ids=[bob.pk], **OCTOBER
    ) == {bob.pk: BOB_OCTOBER}
    assert selectors.customer_usage(
        customer=alice, operations=["seats", "api.request"], **OCTOBER
    ) == {"seats": D(2), "api.request": D(3)}
    assert (
        selectors.usage_by_customer(
            organization=organization, customer_ids=[], **OCTOBER
        )
        == {}
    )


def test_another_organizations_events_are_not_counted(
    organization, other_organization, october
):
    stranger = CustomerFactory(organization=other_organization, external_id="alice")
    send(stranger, "seats", ("1", at(4), {"user_id": "u9"}))
    send(stranger, "storage.gb", ("1000", at(4), {}))
    alice, bob = october
    assert selectors.usage_by_customer(organization=organization, **OCTOBER) == {
        alice.pk: ALICE_OCTOBER,
        bob.pk: BOB_OCTOBER,
    }
    # Its own operations are summed: it has registered no metrics.
    assert selectors.usage_by_customer(organization=other_organization, **OCTOBER) == {
        stranger.pk: {"seats": D(1), "storage.gb": D(1000)}
    }


def test_only_sums_and_counts_are_split_into_windows(organization, october):
    alice, bob = october
    assert selectors.usage_in_windows(
        organization=organization,
        windows=[(alice.pk, at(3), at(20)), (alice.pk, at(1, 0), at(1, 0, month=11))],
    ) == [
        {"api.call": D("2.5"), "api.request": D(2)},
        {"api.call": D("6.5"), "api.request": D(3)},
    ]


def test_each_use_counts_its_quantity_or_one_for_a_count_metric(organization, october):
    alice, bob = october
    assert selectors.usage_event_quantities(
        organization=organization,
        operations={"api.request", "storage.gb"},
        customer_ids=[alice.pk],
        **OCTOBER,
    ) == {
        alice.pk: {
            "api.request": {D(1): 3},
            "storage.gb": {D("12.5"): 1, D("40.25"): 1, D(18): 1},
        }
    }


def test_operations_registered_by_ingestion_sum(organization):
    customer = CustomerFactory(organization=organization)
    send(customer, "new.operation", ("2", at(3), {}), ("3", at(4), {}))
    assert Operation.objects.get(code="new.operation").aggregation == "sum"
    assert selectors.customer_usage(customer=customer, **OCTOBER) == {
        "new.operation": D(5)
    }
