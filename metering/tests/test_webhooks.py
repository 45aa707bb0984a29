"""Outbound webhooks: emitting events to endpoints, Standard Webhooks signatures,
attempts with backoff, resending."""

import base64
import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta

import pytest

from billing_site.errors import InvalidTransition
from metering import services, tasks, webhook_signing
from metering.models import WebhookAttempt, WebhookDelivery, WebhookEvent
from metering.tests.factories import (
    OrganizationFactory,
    WebhookDeliveryFactory,
    WebhookEndpointFactory,
)

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 11, 18, 9, 30, tzinfo=UTC)
KEY = b"0123456789abcdef0123456789abcdef"
SECRET = "whsec_" + base64.b64encode(KEY).decode()


def reference_signature(secret: str, message_id: str, timestamp: str, body: bytes):
    """The Standard Webhooks reference algorithm, written out on its own."""
    key = base64.b64decode(secret.split("_", 1)[1])
    content = message_id.encode() + b"." + timestamp.encode() + b"." + body
    mac = hmac.new(key, content, hashlib.sha256).digest()
    return "v1," + base64.b64encode(mac).decode()


def test_signature_of_a_known_message():
    body = b'{"type":"alert.triggered"}'

    signature = webhook_signing.signature(
        secret=SECRET, message_id="evt_42", timestamp=1795000000, body=body
    )

    assert signature == reference_signature(SECRET, "evt_42", "1795000000", body)
    assert signature == "v1,yQT+ps2KwlEl9FVlE2Ie9inPbtPBQgKPUURjcLTn+6E="


def test_generated_secret_has_32_random_bytes_of_key():
    secret = webhook_signing.secret_generate()

    assert secret.startswith("whsec_")
    assert len(webhook_signing.secret_key(secret)) == 32
    assert webhook_signing.secret_key_problem(secret) is None
    assert secret != webhook_signing.secret_generate()


def test_endpoint_created_without_a_secret_gets_one():
    endpoint = services.webhook_endpoint_create(
        organization=OrganizationFactory(), url="https://hooks.example.com/a"
    )

    assert webhook_signing.secret_key_problem(endpoint.secret) is None


def test_event_is_sent_to_active_endpoints_of_its_type(
    receiver, django_capture_on_commit_callbacks
):
    organization = OrganizationFactory()
    every, alerts, invoices, paused = (receiver() for _ in range(4))
    services.webhook_endpoint_create(
        organization=organization, url=every.url, secret=SECRET
    )
    services.webhook_endpoint_create(
        organization=organization,
        url=alerts.url,
        secret=SECRET,
        event_types=["alert.triggered"],
    )
    services.webhook_endpoint_create(
        organization=organization,
        url=invoices.url,
        secret=SECRET,
        event_types=["invoice.finalized"],
    )
    services.webhook_endpoint_create(
        organization=organization, url=paused.url, secret=SECRET, active=False
    )
    WebhookEndpointFactory(url=every.url)  # another organization's

    with django_capture_on_commit_callbacks(execute=True):
        event = services.webhook_event_emit(
            organization=organization,
            type="alert.triggered",
            payload={"alert": {"id": 7}},
            now=NOW,
        )

    assert [len(r.requests) for r in (every, alerts, invoices, paused)] == [1, 1, 0, 0]
    headers, body = alerts.requests[0]
    assert json.loads(body) == {
        "type": "alert.triggered",
        "timestamp": "2026-11-18T09:30:00+00:00",
        "data": {"alert": {"id": 7}},
    }
    assert headers["webhook-id"] == f"evt_{event.pk}"
    assert headers["webhook-signature"] == reference_signature(
        SECRET, f"evt_{event.pk}", headers["webhook-timestamp"], body
    )
    assert WebhookDelivery.objects.filter(status="delivered").count() == 2


def test_signature_verifies_with_the_standardwebhooks_package(
    receiver, django_capture_on_commit_callbacks
):
    standardwebhooks = pytest.importorskip("standardwebhooks")
    endpoint = receiver()
    organization = OrganizationFactory()
    services.webhook_endpoint_create(
        organization=organization, url=endpoint.url, secret=SECRET
    )
    with django_capture_on_commit_callbacks(execute=True):
        services.webhook_event_emit(
            organization=organization,
            type="recommendation.created",
            payload={"recommendation": {"id": 3}},
            now=NOW,
        )

    ((headers, body),) = endpoint.requests
    verified = standardwebhooks.Webhook(SECRET).verify(body.decode(), headers)
    assert verified["data"] == {"recommendation": {"id": 3}}


def test_event_with_a_key_is_emitted_once():
    organization = OrganizationFactory()
    WebhookEndpointFactory(organization=organization)

    first = services.webhook_event_emit(
        organization=organization, type="invoice.finalized", payload={}, now=NOW,
        key="invoice:1",
    )  # fmt: skip
    again = services.webhook_event_emit(
        organization=organization, type="invoice.finalized", payload={}, now=NOW,
        key="invoice:1",
    )  # fmt: skip

    assert again == first
    assert WebhookEvent.objects.count() == 1
    assert WebhookDelivery.objects.count() == 1


def test_unknown_event_type_is_refused():
    with pytest.raises(ValueError, match="unknown webhook event type 'invoice.eaten'"):
        services.webhook_event_emit(
            organization=OrganizationFactory(),
            type="invoice.eaten",
            payload={},
            now=NOW,
        )


def test_retry_schedule_doubles_from_30_seconds_up_to_an_hour_for_8_attempts():
    delays = [webhook_signing.retry_delay_seconds(n) for n in range(1, 9)]

    assert delays == [30, 60, 120, 240, 480, 960, 1920, None]
    assert webhook_signing.MAX_ATTEMPTS == 8


def test_failing_endpoint_is_retried_with_backoff_then_failed(receiver, monkeypatch):
    endpoint = receiver(codes=[503] * 8)
    delivery = WebhookDeliveryFactory(
        endpoint__url=endpoint.url, url=endpoint.url, endpoint__secret=SECRET
    )
    scheduled = []
    monkeypatch.setattr(
        tasks.webhook_deliver,
        "apply_async",
        lambda args, countdown: scheduled.append((args, countdown)),
    )

    for _ in range(8):
        tasks.webhook_deliver.apply(args=[delivery.pk])

    assert scheduled == [
        ([delivery.pk], 30), ([delivery.pk], 60), ([delivery.pk], 120),
        ([delivery.pk], 240), ([delivery.pk], 480), ([delivery.pk], 960),
        ([delivery.pk], 1920),
    ]  # fmt: skip
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == (
        "failed", 8, 503
    )  # fmt: skip
    attempts = list(delivery.attempt_rows.values_list("status_code", "error"))
    assert attempts == [(503, "Service Unavailable")] * 8
    assert len(endpoint.requests) == 8


def test_attempt_records_the_reply(receiver):
    endpoint = receiver(codes=[503, 200])
    delivery = WebhookDeliveryFactory(
        endpoint__url=endpoint.url, url=endpoint.url, endpoint__secret=SECRET
    )

    first = services.webhook_delivery_attempt(delivery_id=delivery.pk, now=NOW)
    later = NOW + timedelta(seconds=30)
    second = services.webhook_delivery_attempt(delivery_id=delivery.pk, now=later)

    assert first == services.AttemptOutcome("pending", 30)
    assert second == services.AttemptOutcome("delivered", None)
    rows = WebhookAttempt.objects.filter(delivery=delivery)
    assert list(
        rows.values_list("attempted_at", "status_code", "response_excerpt")
    ) == [
        (NOW, 503, "ok"),
        (later, 200, "ok"),
    ]
    assert all(row.duration_ms >= 0 for row in rows)
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.delivered_at) == (
        "delivered", 2, later
    )  # fmt: skip


def test_client_error_fails_at_once_and_no_reply_is_retried(receiver):
    endpoint = receiver(codes=[404])
    rejected = WebhookDeliveryFactory(
        endpoint__url=endpoint.url, url=endpoint.url, endpoint__secret=SECRET
    )
    unreachable = WebhookDeliveryFactory(
        endpoint__url="http://127.0.0.1:9/hooks", url="http://127.0.0.1:9/hooks"
    )

    assert services.webhook_delivery_attempt(
        delivery_id=rejected.pk, now=NOW
    ) == services.AttemptOutcome("failed", None)
    outcome = services.webhook_delivery_attempt(delivery_id=unreachable.pk, now=NOW)

    assert outcome == services.AttemptOutcome("pending", 30)
    row = WebhookAttempt.objects.get(delivery=unreachable)
    assert row.status_code is None
    assert "Connection refused" in row.error
    unreachable.refresh_from_db()
    assert unreachable.next_attempt_at == NOW + timedelta(seconds=30)


def test_resend_starts_a_failed_delivery_over_and_keeps_its_attempts(
    receiver, django_capture_on_commit_callbacks, clock_start
):
    endpoint = receiver(codes=[404, 200])
    delivery = WebhookDeliveryFactory(
        endpoint__url=endpoint.url, url=endpoint.url, endpoint__secret=SECRET
    )
    services.webhook_delivery_attempt(delivery_id=delivery.pk, now=clock_start)

    with django_capture_on_commit_callbacks(execute=True):
        services.webhook_delivery_resend(delivery=delivery, now=clock_start)

    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == ("delivered", 1)
    codes = delivery.attempt_rows.values_list("status_code", flat=True)
    assert list(codes) == [404, 200]
    first, second = (json.loads(body) for _, body in endpoint.requests)
    assert first == second


def test_resend_of_a_pending_delivery_is_refused():
    delivery = WebhookDeliveryFactory()

    with pytest.raises(InvalidTransition) as error:
        services.webhook_delivery_resend(delivery=delivery, now=NOW)

    assert error.value.message == (
        f"webhook delivery {delivery.pk} is pending, it is being sent"
    )
    assert error.value.field == "status"
