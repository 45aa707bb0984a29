"""Usage alerts: the API, and firing as usage arrives, once per period."""

import threading
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from metering.models import AlertTrigger, UsageAlert, WebhookEvent
from metering.services import (
    usage_alert_create,
    usage_alert_fire,
    usage_alerts_due,
    usage_events_ingest,
)
from metering.tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db

NOVEMBER = datetime(2026, 11, 18, 9, 30, tzinfo=UTC)
DECEMBER = datetime(2026, 12, 2, 8, 0, tzinfo=UTC)


@pytest.fixture
def customer(organization):
    return CustomerFactory(organization=organization, external_id="cus_1")


def batch(name: str, quantity: str, at: datetime, count: int = 1, customer="cus_1"):
    return [
        {
            "event_id": f"{name}-{n}",
            "customer_id": customer,
            "operation": "image.resize",
            "quantity": quantity,
            "occurred_at": at.isoformat(),
        }
        for n in range(count)
    ]


def ingest(organization, events, now):
    result = usage_events_ingest(organization=organization, events=events, now=now)
    assert result.accepted == len(events)


# API ----------------------------------------------------------------------------


@pytest.mark.clock("2026-11-18T09:30:00+00:00")
def test_create_list_and_delete_an_alert(api_client, customer):
    url = "/api/v1/customers/cus_1/alerts/"

    created = api_client.post(
        url,
        {"kind": "usage", "operation": "image.resize", "threshold": "1000"},
        format="json",
    )

    assert created.status_code == 201, created.json()
    alert = UsageAlert.objects.get()
    assert created.json() == {
        "id": alert.pk,
        "customer_id": "cus_1",
        "kind": "usage",
        "operation": "image.resize",
        "threshold": "1000",
        "period": "billing_period",
        "period_start": "2026-11-01T00:00:00Z",
        "period_end": "2026-12-01T00:00:00Z",
        "triggered": False,
        "triggered_at": None,
        "value": None,
    }
    spend = api_client.post(url, {"kind": "spend", "threshold": 250}, format="json")
    assert spend.status_code == 201, spend.json()
    assert (spend.json()["operation"], spend.json()["threshold"]) == (None, "250")

    listed = api_client.get(url).json()
    assert [row["kind"] for row in listed["results"]] == ["spend", "usage"]

    deleted = api_client.delete(f"{url}{alert.pk}/")
    assert deleted.status_code == 204
    assert list(UsageAlert.objects.values_list("kind", flat=True)) == ["spend"]


@pytest.mark.parametrize(
    ("body", "errors"),
    [
        ({"kind": "usage", "threshold": "10"},
         {"operation": ["A usage alert names its operation."]}),
        ({"kind": "spend", "operation": "image.resize", "threshold": "10"},
         {"operation": ["A spend alert covers every operation: leave operation out."]}),
        ({"kind": "spend", "threshold": "10.005"},
         {"threshold": ["A spend threshold is an amount with at most 2 decimal "
                        "places."]}),
        ({"kind": "spend", "threshold": "10", "period": "day"},
         {"period": ["A spend alert watches the billing period."]}),
        ({"kind": "usage", "operation": "image.resize", "threshold": "0"},
         {"threshold": ["Must be more than 0 and at most 1000000000000."]}),
        ({"kind": "usage", "operation": "image.resize", "threshold": "1e3"},
         {"threshold": ["A valid number is required."]}),
        ({"kind": "usage", "operation": "image.resize"},
         {"threshold": ["This field is required."]}),
        ({"kind": "hourly", "operation": "image.resize", "threshold": "1"},
         {"kind": ['"hourly" is not a valid choice.']}),
        ({"kind": "usage", "operation": "image resize", "threshold": "1"},
         {"operation": ["Use letters, digits and . _ : / - only, starting with a "
                        "letter or digit."]}),
        ({"kind": "usage", "operation": "a", "threshold": "1", "period": "week"},
         {"period": ['"week" is not a valid choice.']}),
    ],
)  # fmt: skip
def test_invalid_alert_is_a_400_naming_the_field(api_client, customer, body, errors):
    response = api_client.post("/api/v1/customers/cus_1/alerts/", body, format="json")

    assert response.status_code == 400
    assert response.json() == {"errors": errors}
    assert not UsageAlert.objects.exists()


def test_another_customers_alert_is_not_found(api_client, organization, customer):
    other = CustomerFactory(organization=organization, external_id="cus_2")
    alert = usage_alert_create(
        customer=other, kind="usage", operation="x", threshold=Decimal(1)
    )

    response = api_client.delete(f"/api/v1/customers/cus_1/alerts/{alert.pk}/")

    assert response.status_code == 404
    assert UsageAlert.objects.filter(pk=alert.pk).exists()


# Firing -------------------------------------------------------------------------


def test_alert_fires_once_when_a_batch_crosses_it_and_again_next_period(
    organization, customer
):
    alert = usage_alert_create(
        customer=customer,
        kind="usage",
        operation="image.resize",
        threshold=Decimal("10"),
    )
    ingest(organization, batch("a", "4", NOVEMBER, count=2), NOVEMBER)
    assert not AlertTrigger.objects.exists()

    ingest(organization, batch("b", "3", NOVEMBER), NOVEMBER)  # 11 >= 10
    ingest(organization, batch("c", "5", NOVEMBER), NOVEMBER)  # 16: same period

    trigger = AlertTrigger.objects.get()
    assert (trigger.alert, trigger.period_start, trigger.value) == (
        alert,
        datetime(2026, 11, 1, tzinfo=UTC),
        Decimal("11"),
    )
    event = WebhookEvent.objects.get()
    assert event.type == "alert.triggered"
    assert event.payload == {
        "alert": {
            "id": alert.pk,
            "customer_id": "cus_1",
            "kind": "usage",
            "operation": "image.resize",
            "threshold": "10",
            "period": "billing_period",
        },
        "period_start": "2026-11-01T00:00:00+00:00",
        "period_end": "2026-12-01T00:00:00+00:00",
        "value": "11",
    }

    ingest(organization, batch("d", "12", DECEMBER), DECEMBER)

    assert list(
        AlertTrigger.objects.order_by("period_start").values_list(
            "period_start", "value"
        )
    ) == [
        (datetime(2026, 11, 1, tzinfo=UTC), Decimal("11")),
        (datetime(2026, 12, 1, tzinfo=UTC), Decimal("12")),
    ]
    assert WebhookEvent.objects.filter(type="alert.triggered").count() == 2


def test_daily_alert_counts_the_day_only(organization, customer):
    usage_alert_create(
        customer=customer,
        kind="usage",
        operation="image.resize",
        threshold=Decimal("5"),
        period="day",
    )
    yesterday = datetime(2026, 11, 17, 12, 0, tzinfo=UTC)
    ingest(organization, batch("a", "4", yesterday), NOVEMBER)
    ingest(organization, batch("b", "4", NOVEMBER), NOVEMBER)
    assert not AlertTrigger.objects.exists()

    ingest(organization, batch("c", "1", NOVEMBER), NOVEMBER)

    trigger = AlertTrigger.objects.get()
    assert (trigger.period_start, trigger.value) == (
        datetime(2026, 11, 18, tzinfo=UTC),
        Decimal("5"),
    )


def test_evaluation_reads_usage_once_per_batch_whatever_the_customers(organization):
    def world(prefix: str, customers: int):
        for n in range(customers):
            customer = CustomerFactory(
                organization=organization, external_id=f"{prefix}{n}"
            )
            usage_alert_create(
                customer=customer,
                kind="usage",
                operation="image.resize",
                threshold=Decimal("1000"),
            )
        return [
            event
            for n in range(customers)
            for event in batch(f"{prefix}{n}", "1", NOVEMBER, 3, f"{prefix}{n}")
        ]

    counts = []
    for prefix, customers in (("one", 1), ("many", 6)):
        events = world(prefix, customers)
        with CaptureQueriesContext(connection) as queries:
            ingest(organization, events, NOVEMBER)
        counts.append(len(queries))

    assert counts[0] == counts[1]


def test_a_second_fire_in_the_same_period_is_refused(organization, customer):
    usage_alert_create(
        customer=customer, kind="usage", operation="image.resize", threshold=Decimal(1)
    )
    (due,) = usage_alerts_due(
        organization=organization,
        customer_ids=[customer.pk],
        kind="usage",
        now=NOVEMBER,
    )

    first = usage_alert_fire(due=due, value=Decimal(2), now=NOVEMBER)
    second = usage_alert_fire(due=due, value=Decimal(3), now=NOVEMBER)

    assert first is not None
    assert second is None
    assert AlertTrigger.objects.count() == 1
    assert WebhookEvent.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_concurrent_batches_crossing_at_once_fire_once(organization, customer):
    usage_alert_create(
        customer=customer, kind="usage", operation="image.resize", threshold=Decimal(5)
    )
    barrier = threading.Barrier(4)
    failures = []

    def send(name: str):
        try:
            barrier.wait()
            ingest(organization, batch(name, "6", NOVEMBER), NOVEMBER)
        except Exception as error:  # noqa: BLE001 - reported below
            failures.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=send, args=(f"t{n}",)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert failures == []
    assert AlertTrigger.objects.count() == 1
    assert WebhookEvent.objects.filter(type="alert.triggered").count() == 1
