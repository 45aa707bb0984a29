from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.db import OperationalError, connection, transaction

from metering.models import (
    Customer,
    Operation,
    UsageCounterTotal,
    UsageEvent,
    UsageEventKey,
)
from metering.services import customer_delete, usage_events_ingest
from metering.services import ingest as ingest_module
from metering.tests.factories import CustomerFactory, UsageEventFactory

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)


def event(**overrides) -> dict:
    row = {
        "event_id": "evt-1",
        "customer_id": "cus_1",
        "operation": "image.resize",
        "quantity": "2.5",
        "occurred_at": "2026-11-21T11:59:00Z",
        "user_id": "u-7",
        "data_volume_bytes": 2048,
        "process_id": "p-1",
        "context": "editor",
        "properties": {"width": 640, "height": 480},
    }
    row.update(overrides)
    return row


@pytest.fixture
def customer(organization):
    return CustomerFactory(organization=organization, external_id="cus_1")


def statuses(result) -> list[str]:
    return [outcome.status for outcome in result.outcomes]


def test_ingest_stores_event_with_all_fields(organization, customer):
    result = usage_events_ingest(organization=organization, events=[event()], now=NOW)
    assert statuses(result) == ["accepted"]
    stored = UsageEvent.objects.get()
    assert stored.organization == organization
    assert stored.customer == customer
    assert stored.event_id == "evt-1"
    assert stored.operation == "image.resize"
    assert stored.quantity == Decimal("2.5")
    assert stored.occurred_at == datetime(2026, 11, 21, 11, 59, tzinfo=UTC)
    assert stored.received_at == NOW
    assert stored.user_id == "u-7"
    assert stored.data_volume_bytes == 2048
    assert stored.process_id == "p-1"
    assert stored.context == "editor"
    assert stored.properties == {"width": 640, "height": 480}
    assert stored.is_late is False


def test_ingest_updates_month_counter_and_catalogue(organization, customer):
    usage_events_ingest(
        organization=organization,
        events=[
            event(event_id="a", quantity="2.5"),
            event(event_id="b", quantity=1),
            event(event_id="c", operation="video.encode", quantity="0.25"),
            event(event_id="d", occurred_at="2026-10-31T23:59:59+00:00"),
        ],
        now=NOW,
    )
    counters = {
        (c.operation, c.period_start.isoformat()): (c.quantity, c.event_count)
        for c in UsageCounterTotal.objects.filter(customer=customer)
    }
    assert counters == {
        ("image.resize", "2026-11-01"): (Decimal("3.5"), 2),
        ("image.resize", "2026-10-01"): (Decimal("2.5"), 1),
        ("video.encode", "2026-11-01"): (Decimal("0.25"), 1),
    }
    assert sorted(
        Operation.objects.filter(organization=organization).values_list("code", "name")
    ) == [("image.resize", "image.resize"), ("video.encode", "video.encode")]


def test_resent_event_is_duplicate_without_second_effect(organization, customer):
    usage_events_ingest(organization=organization, events=[event()], now=NOW)
    # Same event spelled differently: "2.50" and "+00:00", properties reordered.
    again = event(
        quantity="2.50",
        occurred_at="2026-11-21T11:59:00+00:00",
        properties={"height": 480, "width": 640},
    )
    result = usage_events_ingest(organization=organization, events=[again], now=NOW)
    assert statuses(result) == ["duplicate"]
    assert UsageEvent.objects.count() == 1
    counter = UsageCounterTotal.objects.get()
    assert (counter.quantity, counter.event_count) == (Decimal("2.5"), 1)


def test_same_event_id_with_other_payload_is_conflict(organization, customer):
    usage_events_ingest(organization=organization, events=[event()], now=NOW)
    result = usage_events_ingest(
        organization=organization, events=[event(quantity="3")], now=NOW
    )
    (outcome,) = result.outcomes
    assert outcome.status == "conflict"
    assert outcome.errors == {
        "event_id": [
            "Event 'evt-1' was already received with a different payload; "
            "use a new event_id for a new event."
        ]
    }
    assert UsageEvent.objects.get().quantity == Decimal("2.5")


def test_repeated_event_id_inside_one_batch(organization, customer):
    result = usage_events_ingest(
        organization=organization,
        events=[event(), event(), event(quantity="9")],
        now=NOW,
    )
    assert statuses(result) == ["accepted", "duplicate", "conflict"]
    assert UsageEvent.objects.count() == 1


def test_event_ids_are_scoped_per_organization(
    organization, other_organization, customer
):
    CustomerFactory(organization=other_organization, external_id="cus_1")
    usage_events_ingest(organization=organization, events=[event()], now=NOW)
    result = usage_events_ingest(
        organization=other_organization, events=[event()], now=NOW
    )
    assert statuses(result) == ["accepted"]
    assert UsageEvent.objects.count() == 2


def test_valid_events_are_stored_beside_rejected_ones(organization, customer):
    result = usage_events_ingest(
        organization=organization,
        events=[event(event_id="ok"), event(event_id="bad", quantity="-1")],
        now=NOW,
    )
    assert [o.as_dict() for o in result.outcomes] == [
        {"index": 0, "event_id": "ok", "status": "accepted"},
        {
            "index": 1,
            "event_id": "bad",
            "status": "rejected",
            "errors": {"quantity": ["Must not be negative."]},
        },
    ]
    assert list(UsageEvent.objects.values_list("event_id", flat=True)) == ["ok"]
    assert list(UsageEventKey.objects.values_list("event_id", flat=True)) == ["ok"]


def test_unknown_customer_is_rejected_unless_organization_allows(organization):
    result = usage_events_ingest(
        organization=organization, events=[event(customer_id="cus_new")], now=NOW
    )
    assert result.outcomes[0].errors == {"customer_id": ["Unknown customer 'cus_new'."]}
    assert not UsageEvent.objects.exists()
    assert not UsageEventKey.objects.exists()

    organization.auto_create_customers = True
    organization.save()
    result = usage_events_ingest(
        organization=organization, events=[event(customer_id="cus_new")], now=NOW
    )
    assert statuses(result) == ["accepted"]
    created = Customer.objects.get(organization=organization, external_id="cus_new")
    assert created.name == "cus_new"
    assert UsageEvent.objects.get().customer == created


def test_event_before_open_month_is_flagged_late(organization, customer):
    usage_events_ingest(
        organization=organization,
        events=[
            event(event_id="late", occurred_at="2026-10-31T23:59:59Z"),
            event(event_id="now", occurred_at="2026-11-01T00:00:00Z"),
        ],
        now=NOW,
    )
    late = dict(UsageEvent.objects.values_list("event_id", "is_late"))
    assert late == {"late": True, "now": False}


def test_failed_insert_leaves_no_key_and_retry_counts_once(
    organization, customer, monkeypatch
):
    real_store = ingest_module._store_postgresql

    def store_then_fail(**kwargs):
        real_store(**kwargs)
        raise OperationalError("connection lost before commit")

    monkeypatch.setattr(ingest_module, "_store_postgresql", store_then_fail)
    with pytest.raises(OperationalError):
        usage_events_ingest(organization=organization, events=[event()], now=NOW)
    assert not UsageEventKey.objects.exists()
    assert not UsageEvent.objects.exists()
    assert not UsageCounterTotal.objects.exists()

    monkeypatch.setattr(ingest_module, "_store_postgresql", real_store)
    result = usage_events_ingest(organization=organization, events=[event()], now=NOW)
    assert statuses(result) == ["accepted"]
    again = usage_events_ingest(organization=organization, events=[event()], now=NOW)
    assert statuses(again) == ["duplicate"]
    assert UsageEvent.objects.count() == 1
    counter = UsageCounterTotal.objects.get()
    assert (counter.quantity, counter.event_count) == (Decimal("2.5"), 1)


def test_orm_path_matches_sql_path(organization, customer, monkeypatch):
    monkeypatch.setattr(ingest_module, "_store_postgresql", ingest_module._store_orm)
    result = usage_events_ingest(
        organization=organization,
        events=[event(event_id="a"), event(event_id="b", quantity="1")],
        now=NOW,
    )
    assert statuses(result) == ["accepted", "accepted"]
    again = usage_events_ingest(
        organization=organization,
        events=[event(event_id="a"), event(event_id="b", quantity="7")],
        now=NOW,
    )
    assert statuses(again) == ["duplicate", "conflict"]
    counter = UsageCounterTotal.objects.get()
    assert (counter.quantity, counter.event_count) == (Decimal("3.5"), 2)
    assert UsageEvent.objects.get(event_id="a").properties == {
        "width": 640,
        "height": 480,
    }


def test_usage_event_factory_goes_through_ingestion(organization, customer):
    stored = UsageEventFactory(customer=customer, quantity=Decimal("4"))
    assert stored.pk is not None
    assert UsageCounterTotal.objects.get().quantity == Decimal("4")


def test_batches_inside_one_transaction_store_each_event_once(organization, customer):
    with transaction.atomic():
        first = usage_events_ingest(
            organization=organization, events=[event(event_id="a")], now=NOW
        )
        second = usage_events_ingest(
            organization=organization, events=[event(event_id="b")], now=NOW
        )
    assert statuses(first) == statuses(second) == ["accepted"]
    assert sorted(UsageEvent.objects.values_list("event_id", flat=True)) == ["a", "b"]
    counter = UsageCounterTotal.objects.get()
    assert (counter.quantity, counter.event_count) == (Decimal("5"), 2)


def test_batch_summary_and_rows(organization, customer):
    result = usage_events_ingest(
        organization=organization,
        events=[event(event_id="a"), event(event_id="a"), event(event_id="b")],
        now=NOW,
    )
    again = usage_events_ingest(
        organization=organization,
        events=[event(event_id="a"), event(event_id="b", quantity=3), "x"],
        now=NOW,
    )
    assert result.summary() == {
        "accepted": 2,
        "duplicates": 1,
        "conflicts": 0,
        "rejected": 0,
    }
    assert again.summary() == {
        "accepted": 0,
        "duplicates": 1,
        "conflicts": 1,
        "rejected": 1,
    }
    assert (again.accepted, again.duplicates, again.conflicts, again.rejected) == (
        0,
        1,
        1,
        1,
    )
    assert [row["status"] for row in again.rows()] == [
        "duplicate",
        "conflict",
        "rejected",
    ]


def test_deleting_a_customer_removes_its_events_and_counters(organization, customer):
    other = CustomerFactory(organization=organization, external_id="cus_2")
    usage_events_ingest(
        organization=organization,
        events=[event(event_id="a"), event(event_id="b", customer_id="cus_2")],
        now=NOW,
    )
    customer_delete(customer=customer)
    assert list(UsageEvent.objects.values_list("event_id", flat=True)) == ["b"]
    assert list(UsageCounterTotal.objects.values_list("customer_id", flat=True)) == [
        other.pk
    ]


def test_batch_mixing_new_and_stored_events_stores_only_the_new(organization, customer):
    usage_events_ingest(
        organization=organization, events=[event(event_id="b")], now=NOW
    )
    result = usage_events_ingest(
        organization=organization,
        events=[
            event(event_id="a"),
            event(event_id="b"),
            event(event_id="c", quantity=4),
        ],
        now=NOW,
    )
    assert statuses(result) == ["accepted", "duplicate", "accepted"]
    assert sorted(UsageEvent.objects.values_list("event_id", flat=True)) == [
        "a",
        "b",
        "c",
    ]
    counter = UsageCounterTotal.objects.get()
    assert (counter.quantity, counter.event_count) == (Decimal("9"), 3)


def test_batch_statements_are_prepared_once_per_connection(organization, customer):
    for n in range(3):
        usage_events_ingest(
            organization=organization, events=[event(event_id=f"e{n}")], now=NOW
        )
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        statements = [row[0] for row in cursor.fetchall()]
    for marker in (
        "INSERT INTO metering_usagecounterincrement",
        "customer_keys_version",
    ):
        assert sum(marker in statement for statement in statements) == 1, marker


def _staged_rows() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM metering_ingest_stage")
        return cursor.fetchone()[0]


@pytest.mark.django_db(transaction=True)
def test_stage_is_created_once_per_connection_and_emptied_by_commit(organization):
    from metering.services import ingest_postgresql

    CustomerFactory(organization=organization, external_id="cus_1")
    connection.close()
    with transaction.atomic():
        usage_events_ingest(
            organization=organization, events=[event(event_id="a")], now=NOW
        )
        transaction.set_rollback(True)
    # The transaction that created the stage rolled back: so did the table.
    assert connection.connection not in ingest_postgresql._staged_connections
    for event_id in ("b", "c"):
        result = usage_events_ingest(
            organization=organization, events=[event(event_id=event_id)], now=NOW
        )
        assert statuses(result) == ["accepted"]
        assert connection.connection in ingest_postgresql._staged_connections
        assert _staged_rows() == 0
    stored = UsageEvent.objects.filter(organization=organization)
    assert sorted(stored.values_list("event_id", flat=True)) == ["b", "c"]
