"""Import command, partitions, the beat task, the live usage page and the client."""

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from metering.client import UsageClient, current_customer, metered
from metering.ingestion import add_months, month_start
from metering.models import Operation, UsageEvent
from metering.selectors import live_usage, usage_totals
from metering.services.partitions import partition_name, usage_partition_list
from metering.tasks import ensure_usage_partitions
from metering.tests.factories import (
    CustomerFactory,
    OperationFactory,
    UserFactory,
    usage_events_bulk_create,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def customer(organization):
    return CustomerFactory(organization=organization, external_id="cus_1")


def test_import_events_from_jsonl_reports_summary(tmp_path, organization, customer):
    path = tmp_path / "events.jsonl"
    lines = [
        {"event_id": "a", "customer_id": "cus_1", "operation": "image.resize",
         "quantity": 2, "occurred_at": "2025-03-04T05:06:07Z"},
        {"event_id": "b", "customer_id": "cus_1", "operation": "image.resize",
         "quantity": -1, "occurred_at": "2025-03-04T05:06:07Z"},
    ]  # fmt: skip
    path.write_text("\n".join(json.dumps(line) for line in lines) + "\n{broken\n")
    out, err = StringIO(), StringIO()
    call_command(
        "import_events", str(path), "--organization", organization.slug,
        stdout=out, stderr=err,
    )  # fmt: skip
    assert out.getvalue().strip() == (
        "3 lines: 1 accepted, 0 duplicate, 0 conflict, 2 rejected"
    )
    assert "line 2: rejected {'quantity': ['Must not be negative.']}" in err.getvalue()
    assert "line 3: not valid JSON" in err.getvalue()
    stored = UsageEvent.objects.get()
    assert (stored.event_id, stored.quantity, stored.is_late) == ("a", 2, True)

    out = StringIO()
    call_command(
        "import_events", str(path), "--organization", organization.slug,
        stdout=out, stderr=StringIO(),
    )  # fmt: skip
    assert out.getvalue().strip() == (
        "3 lines: 0 accepted, 1 duplicate, 0 conflict, 2 rejected"
    )


def test_import_events_from_csv(tmp_path, organization, customer):
    path = tmp_path / "events.csv"
    path.write_text(
        "event_id,customer_id,operation,quantity,occurred_at,user_id,properties\n"
        'c1,cus_1,pdf.export,3.5,2025-01-02T00:00:00+00:00,u1,"{""pages"": 7}"\n'
        "c2,cus_1,pdf.export,,2025-01-02T00:00:00+00:00,,\n"
    )
    out = StringIO()
    call_command(
        "import_events", str(path), "--organization", organization.slug,
        "--batch-size", "1", stdout=out, stderr=StringIO(),
    )  # fmt: skip
    assert out.getvalue().strip() == (
        "2 lines: 2 accepted, 0 duplicate, 0 conflict, 0 rejected"
    )
    first = UsageEvent.objects.get(event_id="c1")
    assert (first.quantity, first.user_id, first.properties) == (
        Decimal("3.5"),
        "u1",
        {"pages": 7},
    )
    assert UsageEvent.objects.get(event_id="c2").quantity == Decimal("1")


def test_partitions_are_created_ahead_and_default_is_emptied(organization, customer):
    now = timezone.now()
    ensure_usage_partitions.delay().get()
    names = [name for name, _ in usage_partition_list()]
    assert "metering_usageevent_default" in names
    # Last month, this month and the three ahead.
    this_month = month_start(now)
    around = {partition_name(add_months(this_month, k)) for k in range(-1, 4)}
    assert around <= set(names)

    old = datetime(2019, 5, 17, 12, tzinfo=UTC)
    usage_events_bulk_create(
        customer=customer, events=[{"event_id": "old", "occurred_at": old}], now=now
    )
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM metering_usageevent_default")
        assert cursor.fetchone()[0] == 1
    created = ensure_usage_partitions.delay().get()
    assert created == ["metering_usageevent_p2019_05"]
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM metering_usageevent_default")
        assert cursor.fetchone()[0] == 0
        cursor.execute("SELECT event_id FROM metering_usageevent_p2019_05")
        assert cursor.fetchall() == [("old",)]
    assert UsageEvent.objects.get().occurred_at == old
    assert ensure_usage_partitions.delay().get() == []


def test_new_partitions_carry_the_event_keys_and_indexes(organization, customer):
    old = datetime(2019, 5, 17, 12, tzinfo=UTC)
    usage_events_bulk_create(
        customer=customer,
        events=[{"event_id": "old", "occurred_at": old}],
        now=timezone.now(),
    )
    ensure_usage_partitions.delay().get()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexdef FROM pg_indexes "
            "WHERE tablename = 'metering_usageevent_p2019_05'"
        )
        definitions = sorted(row[0].split(" USING ")[1] for row in cursor.fetchall())
    assert definitions == [
        "brin (id)",
        "brin (received_at)",
        "btree (customer_id, occurred_at)",
        "btree (organization_id, occurred_at, id)",
    ]
    event = UsageEvent.objects.get(event_id="old")
    assert UsageEvent.objects.get(pk=event.pk).occurred_at == old


def test_ensure_usage_partitions_command(organization):
    out = StringIO()
    call_command("ensure_usage_partitions", "--months-ahead", "5", stdout=out)
    assert out.getvalue().startswith("Created metering_usageevent_p")


def test_usage_totals_in_sql(organization, customer):
    base = datetime(2026, 11, 3, 10, tzinfo=UTC)
    usage_events_bulk_create(
        customer=customer,
        events=[
            {"operation": "a", "quantity": "1.5", "occurred_at": base, "user_id": "x"},
            {"operation": "a", "quantity": "2", "occurred_at": base, "user_id": "y"},
            {
                "operation": "b",
                "quantity": "4",
                "occurred_at": base + timedelta(days=1),
            },
        ],
        now=datetime(2026, 11, 21, tzinfo=UTC),
    )
    totals = usage_totals(
        organization=organization,
        start=datetime(2026, 11, 1, tzinfo=UTC),
        end=datetime(2026, 12, 1, tzinfo=UTC),
        group_by=("customer", "user_id"),
    )
    assert [(t.customer_id, t.user_id, t.quantity, t.event_count) for t in totals] == [
        (customer.pk, "", Decimal("4"), 1),
        (customer.pk, "x", Decimal("1.5"), 1),
        (customer.pk, "y", Decimal("2"), 1),
    ]
    (whole,) = usage_totals(
        organization=organization,
        customer=customer,
        start=datetime(2026, 11, 1, tzinfo=UTC),
        end=datetime(2026, 11, 4, tzinfo=UTC),
        group_by=(),
    )
    assert (whole.quantity, whole.event_count) == (Decimal("3.5"), 2)


def test_live_usage_counts_recent_events_per_minute(organization, customer):
    now = datetime(2026, 11, 21, 12, 30, 30, tzinfo=UTC)
    other = CustomerFactory(organization=organization, external_id="cus_2")
    usage_events_bulk_create(
        customer=customer,
        events=[{"operation": "a"}, {"operation": "a"}, {"operation": "b"}],
        now=now - timedelta(minutes=3),
    )
    usage_events_bulk_create(customer=other, events=[{"operation": "a"}], now=now)
    usage_events_bulk_create(
        customer=other, events=[{"operation": "a"}], now=now - timedelta(hours=1)
    )
    usage = live_usage(organization=organization, now=now, minutes=5)
    assert [(r.operation, r.per_minute, r.total) for r in usage.operations] == [
        ("a", [0, 0, 2, 0, 0, 1], 3),
        ("b", [0, 0, 1, 0, 0, 0], 1),
    ]
    assert [(t.external_id, t.event_count) for t in usage.top_customers] == [
        ("cus_1", 3),
        ("cus_2", 1),
    ]
    assert usage.events_per_second == Decimal("0.01")


def test_live_usage_page_and_data_for_staff(client, organization, customer):
    usage_events_bulk_create(
        customer=customer, events=[{"operation": "a", "quantity": "1250.5"}]
    )
    client.force_login(UserFactory(staff=True))
    page = client.get("/staff/live-usage/", {"organization": organization.slug})
    assert page.status_code == 200
    assert b"Top customers" in page.content
    data = client.get("/staff/live-usage/data/", {"organization": organization.slug})
    body = data.json()
    assert body["operations"][0]["operation"] == "a"
    assert body["operations"][0]["total"] == 1
    assert body["operations"][0]["total_shown"] == "1"
    top = body["top_customers"][0]
    assert (top["external_id"], top["quantity"], top["quantity_shown"]) == (
        "cus_1",
        "1250.5",
        "1,250.5",
    )


def test_live_usage_is_staff_only(client, organization):
    client.force_login(UserFactory())
    response = client.get("/staff/live-usage/data/")
    assert response.status_code == 302


def test_operation_catalogue_keeps_admin_entries(organization, customer):
    OperationFactory(
        organization=organization, code="image.resize", name="Resize", unit="image"
    )
    usage_events_bulk_create(customer=customer, events=[{"operation": "image.resize"}])
    operation = Operation.objects.get(organization=organization)
    assert (operation.name, operation.unit) == ("Resize", "image")


@pytest.mark.django_db(transaction=True)
def test_client_and_decorator_against_live_server(live_server):
    from metering.services import api_key_create
    from metering.tests.factories import OrganizationFactory

    organization = OrganizationFactory(auto_create_customers=True)
    raw_key = api_key_create(organization=organization).raw_key
    client = UsageClient(live_server.url, raw_key, flush_interval=0.05)

    @metered("image.resize", client=client)
    def execute_operation(parameters: dict, *, customer: str | None = None) -> str:
        if parameters.get("fail"):
            raise ValueError("boom")
        return "done"

    try:
        event_id = client.log_operation(
            "cus_a", "pdf.export", quantity="2.5", user_id="u1", pages=3
        )
        assert execute_operation({"width": 640}, customer="cus_b") == "done"
        token = current_customer.set("cus_c")
        try:
            execute_operation({"width": 320})
            with pytest.raises(ValueError):
                execute_operation({"fail": True})
        finally:
            current_customer.reset(token)
        assert client.flush(timeout=30)
    finally:
        client.close()
    events = {
        e.customer.external_id: e
        for e in UsageEvent.objects.filter(organization=organization).select_related(
            "customer"
        )
    }
    assert sorted(events) == ["cus_a", "cus_b", "cus_c"]
    assert events["cus_a"].event_id == event_id
    assert events["cus_a"].quantity == Decimal("2.5")
    assert events["cus_a"].properties == {"pages": 3}
    assert events["cus_b"].operation == "image.resize"
    assert events["cus_b"].properties == {"width": 640}
    assert events["cus_c"].properties == {"width": 320}
