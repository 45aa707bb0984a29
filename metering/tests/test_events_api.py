import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from metering.models import UsageCounterTotal, UsageEvent, UsageEventKey
from metering.tests.factories import (
    CustomerFactory,
    UsageEventFactory,
    usage_events_bulk_create,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def customer(organization):
    return CustomerFactory(organization=organization, external_id="cus_1")


OCCURRED_AT = ""


@pytest.fixture(autouse=True)
def _events_occur_a_minute_before_the_test(clock_start):
    """All events of a test occur at one instant, so a resent one is identical."""
    global OCCURRED_AT
    OCCURRED_AT = (clock_start - timedelta(minutes=1)).isoformat()


def event(**overrides) -> dict:
    row = {
        "event_id": "evt-1",
        "customer_id": "cus_1",
        "operation": "image.resize",
        "quantity": 2,
        "occurred_at": OCCURRED_AT,
        "properties": {"width": 640},
    }
    row.update(overrides)
    return row


def post(client, path, body):
    return client.post(path, json.dumps(body), content_type="application/json")


def test_single_event_accepted_then_duplicate(api_client, customer):
    response = post(api_client, "/api/v1/events/", event())
    assert response.status_code == 201
    assert response.json() == {"event_id": "evt-1", "status": "accepted"}
    response = post(api_client, "/api/v1/events", event())
    assert response.status_code == 200
    assert response.json() == {"event_id": "evt-1", "status": "duplicate"}
    assert UsageEvent.objects.count() == 1


def test_single_event_conflict_is_409(api_client, customer):
    post(api_client, "/api/v1/events/", event())
    response = post(api_client, "/api/v1/events/", event(quantity=3))
    assert response.status_code == 409
    assert response.json() == {
        "errors": {
            "event_id": [
                "Event 'evt-1' was already received with a different payload; "
                "use a new event_id for a new event."
            ]
        }
    }


BAD_EVENTS = [
    ({"quantity": "NaN"}, "quantity", "Must be a finite number."),
    ({"quantity": "Infinity"}, "quantity", "Must be a finite number."),
    ({"quantity": -1}, "quantity", "Must not be negative."),
    (
        {"quantity": "1000000000000.000001"},
        "quantity",
        "Must be at most 1000000000000.",
    ),
    ({"quantity": "0.0000001"}, "quantity", "Must have at most 6 decimal places."),
    ({"quantity": True}, "quantity", "Must be a number."),
    ({"quantity": "lots"}, "quantity", "Must be a number."),
    (
        {"occurred_at": "yesterday"},
        "occurred_at",
        "Must be an ISO 8601 date-time string with a time zone.",
    ),
    (
        {"occurred_at": "2026-11-21T10:00:00"},
        "occurred_at",
        "Must include a time zone, e.g. 'Z' or '+02:00'.",
    ),
    ({"occurred_at": None}, "occurred_at", "This field is required."),
    ({"event_id": ""}, "event_id", "This field is required."),
    (
        {"event_id": "x" * 129},
        "event_id",
        "Ensure this field has no more than 128 characters.",
    ),
    ({"event_id": 17}, "event_id", "Must be a string."),
    ({"customer_id": None}, "customer_id", "This field is required."),
    ({"customer_id": "nobody"}, "customer_id", "Unknown customer 'nobody'."),
    (
        {"operation": "resize image!"},
        "operation",
        "Use letters, digits and . _ : / - only, starting with a letter or digit.",
    ),
    (
        {"context": "c" * 257},
        "context",
        "Ensure this field has no more than 256 characters.",
    ),
    ({"user_id": "a\x00b"}, "user_id", "Must not contain NUL characters."),
    ({"properties": [1, 2]}, "properties", "Must be a JSON object."),
    (
        {"properties": {"blob": "x" * 20_000}},
        "properties",
        "Must be at most 16384 bytes of JSON.",
    ),
    ({"properties": {"k": "a\x00"}}, "properties", "Must not contain NUL characters."),
    ({"data_volume_bytes": -5}, "data_volume_bytes", "Must not be negative."),
    (
        {"data_volume_bytes": "big"},
        "data_volume_bytes",
        "Must be a whole number of bytes.",
    ),
    ({"qty": 3}, "qty", "Unknown field."),
]


@pytest.mark.parametrize(("overrides", "field", "message"), BAD_EVENTS)
def test_bad_event_is_400_naming_the_field(
    api_client, customer, overrides, field, message
):
    response = post(api_client, "/api/v1/events/", event(**overrides))
    assert response.status_code == 400
    assert response.json() == {"errors": {field: [message]}}
    assert not UsageEvent.objects.exists()
    assert not UsageEventKey.objects.exists()
    assert not UsageCounterTotal.objects.exists()


def test_event_too_far_in_future_is_rejected(api_client, customer, settings):
    settings.METERING_FUTURE_WINDOW_SECONDS = 60
    future = (timezone.now() + timedelta(minutes=5)).isoformat()
    response = post(api_client, "/api/v1/events/", event(occurred_at=future))
    assert response.status_code == 400
    assert response.json() == {
        "errors": {"occurred_at": ["Must not be more than 60 seconds in the future."]}
    }


@pytest.mark.parametrize(
    "body", [b"{not json", b"NaN", b'{"quantity": 1e400}'], ids=str
)
def test_unparseable_body_is_400(api_client, customer, body):
    response = api_client.post("/api/v1/events/", body, content_type="application/json")
    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["non_field_errors"]


def test_batch_reports_each_event(api_client, customer):
    post(api_client, "/api/v1/events/", event(event_id="old"))
    response = post(
        api_client,
        "/api/v1/events/batch/",
        {
            "events": [
                event(event_id="new"),
                event(event_id="old"),
                event(event_id="bad", quantity=-2),
                event(event_id="old", quantity=5),
                "not an object",
            ]
        },
    )
    assert response.status_code == 200
    body = response.json()
    assert {
        k: body[k] for k in ("accepted", "duplicates", "conflicts", "rejected")
    } == {
        "accepted": 1,
        "duplicates": 1,
        "conflicts": 1,
        "rejected": 2,
    }
    assert [(r["index"], r["event_id"], r["status"]) for r in body["results"]] == [
        (0, "new", "accepted"),
        (1, "old", "duplicate"),
        (2, "bad", "rejected"),
        (3, "old", "conflict"),
        (4, "", "rejected"),
    ]
    assert body["results"][2]["errors"] == {"quantity": ["Must not be negative."]}
    assert body["results"][4]["errors"] == {
        "non_field_errors": ["Must be a JSON object."]
    }
    assert sorted(UsageEvent.objects.values_list("event_id", flat=True)) == [
        "new",
        "old",
    ]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({}, "Must be a list of event objects."),
        ({"events": {"a": 1}}, "Must be a list of event objects."),
        ([1, 2], "Must be a list of event objects."),
        (
            {"events": [event(event_id=str(n)) for n in range(10_001)]},
            "At most 10000 events per batch; got 10001.",
        ),
    ],
    ids=["missing", "object", "list-body", "too-many"],
)
def test_bad_batch_is_400_naming_events(api_client, customer, body, message):
    response = post(api_client, "/api/v1/events/batch/", body)
    assert response.status_code == 400
    assert response.json() == {"errors": {"events": [message]}}
    assert not UsageEvent.objects.exists()


def test_batch_of_ten_thousand_is_accepted(api_client, customer):
    events = [event(event_id=f"e{n}", quantity=1) for n in range(10_000)]
    response = post(api_client, "/api/v1/events/batch/", {"events": events})
    assert response.status_code == 200
    assert response.json()["accepted"] == 10_000
    counter = UsageCounterTotal.objects.get()
    assert (counter.quantity, counter.event_count) == (Decimal("10000"), 10_000)


def test_events_need_authentication(client, customer):
    response = post(client, "/api/v1/events/batch/", {"events": [event()]})
    assert response.status_code == 401
    assert not UsageEvent.objects.exists()


def test_event_list_filters_and_paginates(
    api_client, organization, customer, clock_start
):
    other = CustomerFactory(organization=organization, external_id="cus_2")
    base = clock_start - timedelta(days=2)
    usage_events_bulk_create(
        customer=customer,
        events=[
            {"event_id": f"a{n}", "occurred_at": base + timedelta(hours=n)}
            for n in range(5)
        ],
    )
    UsageEventFactory(
        customer=other, event_id="b0", operation="video.encode", occurred_at=base
    )
    response = api_client.get("/api/v1/events/", {"customer_id": "cus_1", "limit": 2})
    assert response.status_code == 200
    page = response.json()
    assert [row["event_id"] for row in page["results"]] == ["a4", "a3"]
    assert page["results"][0]["customer_id"] == "cus_1"
    assert page["results"][0]["quantity"] == "1.000000"
    page2 = api_client.get(page["next"]).json()
    assert [row["event_id"] for row in page2["results"]] == ["a2", "a1"]

    response = api_client.get(
        "/api/v1/events/",
        {
            "from": (base + timedelta(hours=1)).isoformat(),
            "to": (base + timedelta(hours=3)).isoformat(),
        },
    )
    assert [row["event_id"] for row in response.json()["results"]] == ["a2", "a1"]
    response = api_client.get("/api/v1/events/", {"operation": "video.encode"})
    assert [row["event_id"] for row in response.json()["results"]] == ["b0"]
    # The customer's id, and the deprecated name of the filter.
    for params in ({"customer_id": other.pk}, {"customer": "cus_2"}):
        response = api_client.get("/api/v1/events/", params)
        assert [row["event_id"] for row in response.json()["results"]] == ["b0"]


def test_event_list_is_scoped_to_the_organization(
    api_client, customer, other_organization
):
    UsageEventFactory(customer=CustomerFactory(organization=other_organization))
    assert api_client.get("/api/v1/events/").json()["results"] == []


@pytest.mark.parametrize(
    ("params", "field", "message"),
    [
        (
            {"from": "soon"},
            "from",
            "Use an ISO 8601 date or date-time with a time zone.",
        ),
        (
            {"to": "2026-11-01T00:00"},
            "to",
            "Include a time zone, e.g. 'Z' or '+02:00'.",
        ),
        ({"customer_id": "ghost"}, "customer_id", "Unknown customer 'ghost'."),
        ({"customer": "ghost"}, "customer", "Unknown customer 'ghost'."),
        (
            {"customer_id": "cus_1", "customer": "cus_2"},
            "customer",
            "A deprecated alias of customer_id; give one of them.",
        ),
    ],
)
def test_event_list_bad_filter_is_400(api_client, customer, params, field, message):
    response = api_client.get("/api/v1/events/", params)
    assert response.status_code == 400
    assert response.json() == {"errors": {field: [message]}}


def test_customer_usage_grouped_by_operation_and_day(
    api_client, organization, customer
):
    day1 = datetime(2026, 11, 2, 9, tzinfo=UTC)
    day2 = datetime(2026, 11, 3, 23, 30, tzinfo=UTC)
    usage_events_bulk_create(
        customer=customer,
        events=[
            {"operation": "image.resize", "quantity": "2.5", "occurred_at": day1},
            {"operation": "image.resize", "quantity": "1", "occurred_at": day2},
            {"operation": "video.encode", "quantity": "4", "occurred_at": day2},
            {
                "operation": "video.encode",
                "quantity": "9",
                "occurred_at": day2 + timedelta(days=30),
            },
        ],
        now=datetime(2027, 1, 1, tzinfo=UTC),
    )
    params = {"from": "2026-11-01", "to": "2026-12-01T00:00:00Z"}
    response = api_client.get(
        f"/api/v1/customers/{customer.external_id}/usage/", params
    )
    assert response.status_code == 200
    assert response.json() == {
        "customer_id": "cus_1",
        "from": "2026-11-01T00:00:00+00:00",
        "to": "2026-12-01T00:00:00+00:00",
        "group_by": ["operation"],
        "results": [
            {"operation": "image.resize", "quantity": "3.500000", "event_count": 2},
            {"operation": "video.encode", "quantity": "4.000000", "event_count": 1},
        ],
    }
    response = api_client.get(
        f"/api/v1/customers/{customer.pk}/usage/", {**params, "group_by": "day"}
    )
    assert response.json()["results"] == [
        {"day": "2026-11-02", "quantity": "2.500000", "event_count": 1},
        {"day": "2026-11-03", "quantity": "5.000000", "event_count": 2},
    ]


def test_customer_usage_rejects_unknown_grouping(api_client, customer):
    response = api_client.get("/api/v1/customers/cus_1/usage/", {"group_by": "hour"})
    assert response.status_code == 400
    assert response.json() == {
        "errors": {"group_by": ["Use 'operation', 'day' or 'operation,day'."]}
    }


def test_customer_usage_of_other_organization_is_404(
    api_client, customer, other_organization
):
    theirs = CustomerFactory(organization=other_organization, external_id="theirs")
    response = api_client.get(f"/api/v1/customers/{theirs.pk}/usage/")
    assert response.status_code == 404


def test_ingestion_budget_per_key_answers_429_with_retry_after(
    api_client, api_client_for, organization, customer, settings, monkeypatch
):
    from django.core.cache import cache

    from metering.api import IngestRateThrottle

    settings.METERING_INGEST_RATE = "3/minute"
    cache.clear()
    clock = {"now": 60 * 29_000_000 + 15.0}  # 15 s into a minute
    monkeypatch.setattr(IngestRateThrottle, "timer", lambda self: clock["now"])
    for n in range(2):
        response = post(api_client, "/api/v1/events/", event(event_id=f"e{n}"))
        assert response.status_code == 201
    batch = {"events": [event(event_id="e2")]}
    assert post(api_client, "/api/v1/events/batch/", batch).status_code == 200

    refused = post(api_client, "/api/v1/events/", event(event_id="e3"))
    assert refused.status_code == 429
    assert refused["Retry-After"] == "45"
    assert refused.json() == {
        "errors": {
            "detail": ["Request was throttled. Expected available in 45 seconds."]
        }
    }
    assert post(api_client, "/api/v1/events/batch/", batch).status_code == 429
    assert not UsageEvent.objects.filter(event_id="e3").exists()

    other_key = api_client_for(organization)
    assert post(other_key, "/api/v1/events/", event(event_id="e4")).status_code == 201
    clock["now"] += 45
    assert post(api_client, "/api/v1/events/", event(event_id="e3")).status_code == 201


def test_ingestion_budget_of_zero_refuses_every_request(api_client, customer, settings):
    from django.core.cache import cache

    settings.METERING_INGEST_RATE = "0/minute"
    cache.clear()
    assert post(api_client, "/api/v1/events/", event()).status_code == 429
    assert not UsageEvent.objects.exists()
