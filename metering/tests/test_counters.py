"""Usage counters: increments appended by ingestion, folded by a periodic task, and
read exactly (counters plus pending increments) at any time."""

from datetime import UTC, date, datetime
from decimal import Decimal

import psycopg
import pytest
from django.db import connection
from django.db.models import Sum
from django.test.utils import CaptureQueriesContext

from billing_site.periodic import declared_periodic_tasks
from metering import selectors
from metering.models import UsageCounter, UsageCounterIncrement, UsageCounterTotal
from metering.services import counters, usage_counters_fold, usage_events_ingest
from metering.tasks import fold_usage_counters
from metering.tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
NOVEMBER = date(2026, 11, 1)


def send(organization, *events) -> None:
    result = usage_events_ingest(
        organization=organization,
        events=[
            {
                "event_id": event_id,
                "customer_id": customer,
                "operation": operation,
                "quantity": quantity,
                "occurred_at": occurred_at,
            }
            for event_id, customer, operation, quantity, occurred_at in events
        ],
        now=NOW,
    )
    assert result.accepted == len(events)


def totals(organization) -> dict:
    return {
        (t.customer.external_id, t.operation, t.period_start): (
            t.quantity,
            t.event_count,
        )
        for t in selectors.usage_total_list(organization=organization)
    }


@pytest.fixture
def customers(organization):
    return [
        CustomerFactory(organization=organization, external_id=key)
        for key in ("alice", "bob")
    ]


def test_ingestion_appends_one_increment_per_counter_and_batch(organization, customers):
    send(
        organization,
        ("a", "alice", "image.resize", "2.5", "2026-11-21T10:00:00Z"),
        ("b", "alice", "image.resize", "1", "2026-11-21T11:00:00Z"),
        ("c", "bob", "image.resize", "4", "2026-11-21T11:00:00Z"),
        ("d", "alice", "image.resize", "7", "2026-10-31T23:00:00Z"),
    )
    send(organization, ("e", "alice", "image.resize", "0.5", "2026-11-21T11:30:00Z"))
    assert not UsageCounter.objects.exists()
    assert sorted(
        UsageCounterIncrement.objects.values_list(
            "customer__external_id", "period_start", "quantity", "event_count"
        )
    ) == [
        ("alice", date(2026, 10, 1), Decimal("7"), 1),
        ("alice", NOVEMBER, Decimal("0.5"), 1),
        ("alice", NOVEMBER, Decimal("3.5"), 2),
        ("bob", NOVEMBER, Decimal("4"), 1),
    ]
    assert totals(organization) == {
        ("alice", "image.resize", NOVEMBER): (Decimal("4"), 3),
        ("alice", "image.resize", date(2026, 10, 1)): (Decimal("7"), 1),
        ("bob", "image.resize", NOVEMBER): (Decimal("4"), 1),
    }


def test_fold_moves_increments_into_counters_and_keeps_totals(organization, customers):
    send(
        organization,
        ("a", "alice", "image.resize", "2.5", "2026-11-21T10:00:00Z"),
        ("b", "bob", "pdf.export", "3", "2026-11-21T10:00:00Z"),
    )
    send(organization, ("c", "alice", "image.resize", "1.25", "2026-11-21T10:05:00Z"))
    before = totals(organization)

    assert usage_counters_fold() == 3

    assert not UsageCounterIncrement.objects.exists()
    assert (
        totals(organization)
        == before
        == {
            ("alice", "image.resize", NOVEMBER): (Decimal("3.75"), 2),
            ("bob", "pdf.export", NOVEMBER): (Decimal("3"), 1),
        }
    )
    assert sorted(
        UsageCounter.objects.values_list(
            "customer__external_id", "operation", "quantity", "event_count"
        )
    ) == [
        ("alice", "image.resize", Decimal("3.75"), 2),
        ("bob", "pdf.export", Decimal("3"), 1),
    ]
    # New usage lands on top of the folded counter; folding again adds it in.
    send(organization, ("d", "alice", "image.resize", "1", "2026-11-21T11:00:00Z"))
    assert totals(organization)[("alice", "image.resize", NOVEMBER)] == (
        Decimal("4.75"),
        3,
    )
    assert usage_counters_fold() == 1
    assert UsageCounter.objects.get(customer=customers[0]).quantity == Decimal("4.75")
    assert usage_counters_fold() == 0


def test_fold_adds_many_increments_of_a_counter_at_once(organization, customers):
    for n in range(7):
        send(
            organization, (f"e{n}", "bob", "image.resize", "1", "2026-11-21T10:00:00Z")
        )
    assert UsageCounterIncrement.objects.count() == 7
    assert usage_counters_fold() == 7
    counter = UsageCounter.objects.get()
    assert (counter.quantity, counter.event_count) == (Decimal("7"), 7)


def test_a_months_usage_adds_counters_and_increments(
    organization, customers, other_organization
):
    alice, bob = customers
    send(organization, ("a", "alice", "image.resize", "2", "2026-11-21T10:00:00Z"))
    usage_counters_fold()
    send(
        organization,
        ("b", "alice", "image.resize", "0.5", "2026-11-21T10:00:00Z"),
        ("c", "alice", "pdf.export", "3", "2026-11-21T10:00:00Z"),
        ("d", "bob", "image.resize", "9", "2026-11-21T10:00:00Z"),
        ("e", "bob", "image.resize", "100", "2026-10-21T10:00:00Z"),
    )
    CustomerFactory(organization=other_organization, external_id="alice")
    send(
        other_organization, ("a", "alice", "image.resize", "5", "2026-11-21T10:00:00Z")
    )

    november = {
        "organization": organization,
        "start": datetime(2026, 11, 1, tzinfo=UTC),
        "end": datetime(2026, 12, 1, tzinfo=UTC),
    }
    expected = {
        alice.pk: {"image.resize": Decimal("2.5"), "pdf.export": Decimal("3")},
        bob.pk: {"image.resize": Decimal("9")},
    }
    with CaptureQueriesContext(connection) as queries:
        assert selectors.usage_by_customer(**november) == expected
    # The operations' metrics, then the counters and increments in one statement.
    assert len(queries) == 2
    assert "metering_usagecounterpart" in queries[1]["sql"]
    assert selectors.usage_by_customer(**november, from_events=True) == expected
    assert selectors.usage_by_customer(**november, customer_ids=[bob.pk]) == {
        bob.pk: {"image.resize": Decimal("9")}
    }


def test_customer_totals_and_deletion(organization, customers):
    alice, bob = customers
    send(
        organization,
        ("a", "alice", "image.resize", "2", "2026-11-21T10:00:00Z"),
        ("b", "bob", "image.resize", "3", "2026-11-21T10:00:00Z"),
    )
    usage_counters_fold()
    send(organization, ("c", "alice", "image.resize", "1", "2026-11-21T10:00:00Z"))
    assert list(
        selectors.usage_total_list(customer=alice).values_list("operation", "quantity")
    ) == [("image.resize", Decimal("3"))]

    alice.delete()
    assert list(UsageCounterTotal.objects.values_list("customer_id", flat=True)) == [
        bob.pk
    ]
    assert not UsageCounterIncrement.objects.exists()


def test_fold_task_is_scheduled_every_minute(organization, customers):
    send(organization, ("a", "alice", "image.resize", "2", "2026-11-21T10:00:00Z"))
    assert fold_usage_counters.delay().get() == 1
    (spec,) = [
        spec
        for spec in declared_periodic_tasks()
        if spec.task == "metering.fold_usage_counters"
    ]
    assert spec.crontab == {"minute": "*"}


def test_a_second_fold_leaves_while_one_runs(organization, customers):
    send(organization, ("a", "alice", "image.resize", "2", "2026-11-21T10:00:00Z"))
    settings = connection.settings_dict
    other = psycopg.connect(
        host=settings["HOST"],
        port=settings["PORT"],
        user=settings["USER"],
        password=settings["PASSWORD"],
        dbname=settings["NAME"],
        autocommit=True,
    )
    with other:
        other.execute("SELECT pg_advisory_lock(%s)", [counters._LOCK_KEY])
        assert usage_counters_fold() == 0
        assert UsageCounterIncrement.objects.count() == 1
        other.execute("SELECT pg_advisory_unlock(%s)", [counters._LOCK_KEY])
    assert usage_counters_fold() == 1


def test_counter_parts_sum_to_the_totals(organization, customers):
    alice, bob = customers
    send(organization, ("a", "alice", "image.resize", "2", "2026-11-21T10:00:00Z"))
    usage_counters_fold()
    send(
        organization,
        ("b", "alice", "image.resize", "0.5", "2026-11-21T10:00:00Z"),
        ("c", "alice", "pdf.export", "3", "2026-11-21T10:00:00Z"),
        ("d", "bob", "image.resize", "9", "2026-10-21T10:00:00Z"),
    )
    parts = selectors.usage_counter_part_list(
        organization=organization, period_start=NOVEMBER
    )
    assert sorted(parts.values_list("source", "customer_id", "quantity")) == [
        ("counter", alice.pk, Decimal("2")),
        ("increment", alice.pk, Decimal("0.5")),
        ("increment", alice.pk, Decimal("3")),
    ]
    by_customer = {
        row["customer"]: (row["units"], row["events"])
        for row in parts.values("customer").annotate(
            units=Sum("quantity"), events=Sum("event_count")
        )
    }
    assert by_customer == {alice.pk: (Decimal("5.5"), 3)}


def test_a_customers_pending_increments_are_read_through_their_key(
    organization, customers
):
    send(organization, ("e1", "alice", "image.resize", 2, "2026-11-21T10:00:00Z"))
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")  # tables this small
        cursor.execute(
            "EXPLAIN SELECT * FROM metering_usagecountertotal "
            "WHERE organization_id = %s AND customer_id = %s AND period_start = %s",
            [organization.pk, customers[0].pk, NOVEMBER],
        )
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "usage_increment_pkey" in plan
