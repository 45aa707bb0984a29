"""Payments: partial payments lower the amount due until the invoice is paid,
recording is idempotent by reference, bad input is a 400 naming its field, and
concurrent clients never pay an invoice beyond its total."""

import json
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.db import connection
from rest_framework.test import APIClient

from invoices import services
from invoices.models import Invoice, Payment
from invoices.tests.factories import InvoiceFactory
from metering import webhook_signing
from metering.models import WebhookEvent
from metering.tests.factories import CustomerFactory, PortalUserFactory

pytestmark = [pytest.mark.django_db, pytest.mark.clock("2026-11-20T12:00:00+00:00")]

NOW = datetime(2026, 11, 20, 12, tzinfo=UTC)
PAID_AT = "2026-11-18T09:30:00Z"


@pytest.fixture
def invoice(organization):
    return InvoiceFactory(
        customer=CustomerFactory(organization=organization, external_id="acme"),
        finalized=True,
        total=Decimal("100.00"),
    )


def _pay(client, invoice, amount, reference):
    return client.post(
        f"/api/v1/invoices/{invoice.pk}/payments/",
        {"amount": amount, "paid_at": PAID_AT, "reference": reference},
        format="json",
    )


def _figures(invoice) -> tuple:
    invoice.refresh_from_db()
    return invoice.status, invoice.amount_paid, invoice.amount_due


def test_partial_payments_then_paid_with_one_event(api_client, invoice):
    first = _pay(api_client, invoice, "40.00", "bank-1")
    assert first.status_code == 201, first.content
    body = first.json()
    body.pop("created_at")
    assert body == {
        "id": Payment.objects.get().pk,
        "invoice_id": invoice.pk,
        "amount": "40.00",
        "currency": "USD",
        "paid_at": "2026-11-18T09:30:00Z",
        "reference": "bank-1",
        "source": "api",
    }
    assert _figures(invoice) == ("finalized", Decimal("40.00"), Decimal("60.00"))
    assert not WebhookEvent.objects.filter(type="invoice.paid").exists()
    shown = api_client.get(f"/api/v1/invoices/{invoice.pk}/").json()
    assert [shown[name] for name in (
        "total", "credits_applied", "amount_paid", "amount_credited", "amount_due"
    )] == ["100.00", "0.00", "40.00", "0.00", "60.00"]  # fmt: skip

    assert _pay(api_client, invoice, "60.00", "bank-2").status_code == 201

    assert _figures(invoice) == ("paid", Decimal("100.00"), Decimal("0.00"))
    assert invoice.paid_at == datetime(2026, 11, 18, 9, 30, tzinfo=UTC)
    event = WebhookEvent.objects.get(type="invoice.paid")
    assert (event.key, event.payload["invoice"]["number"]) == (
        f"invoice:{invoice.pk}",
        invoice.number,
    )
    listed = api_client.get(f"/api/v1/invoices/{invoice.pk}/payments/").json()
    assert [(p["reference"], p["amount"]) for p in listed["results"]] == [
        ("bank-1", "40.00"),
        ("bank-2", "60.00"),
    ]


def test_a_replayed_reference_returns_the_stored_payment(api_client, invoice):
    assert _pay(api_client, invoice, "40.00", "bank-1").status_code == 201
    replay = _pay(api_client, invoice, "40.00", "bank-1")

    assert replay.status_code == 200
    assert replay.json()["id"] == Payment.objects.get().pk
    assert _figures(invoice) == ("finalized", Decimal("40.00"), Decimal("60.00"))


def test_a_reference_of_another_payment_is_a_conflict(api_client, invoice):
    assert _pay(api_client, invoice, "40.00", "bank-1").status_code == 201
    response = _pay(api_client, invoice, "30.00", "bank-1")

    assert response.status_code == 409
    assert response.json()["errors"] == {
        "reference": [
            "Reference 'bank-1' was already used for another payment "
            f"(40.00 USD on invoice {invoice.pk})."
        ]
    }
    assert Payment.objects.count() == 1


@pytest.mark.parametrize(
    ("amount", "reference", "errors"),
    [
        ("100.01", "r", {"amount": [
            "More than the amount due of invoice {number}, 100.00 USD."]}),
        ("0", "r", {"amount": ["Must be more than 0."]}),
        ("-5", "r", {"amount": ["Must be more than 0."]}),
        ("10.001", "r", {"amount": [
            "Ensure that there are no more than 2 decimal places."]}),
        ("ten", "r", {"amount": ["A valid number is required."]}),
        ("10", "", {"reference": ["This field may not be blank."]}),
    ],
)  # fmt: skip
def test_bad_payments_are_refused_by_field_and_store_nothing(
    api_client, invoice, amount, reference, errors
):
    response = _pay(api_client, invoice, amount, reference)

    assert response.status_code == 400, response.content
    expected = {
        field: [message.format(number=invoice.number) for message in messages]
        for field, messages in errors.items()
    }
    assert response.json()["errors"] == expected
    assert not Payment.objects.exists()
    assert _figures(invoice) == ("finalized", Decimal("0.00"), Decimal("100.00"))


def test_draft_and_other_organizations_invoices_take_no_payment(
    api_client, organization, other_organization
):
    draft = InvoiceFactory(customer=CustomerFactory(organization=organization))
    foreign = InvoiceFactory(
        customer=CustomerFactory(organization=other_organization), finalized=True
    )

    refused = _pay(api_client, draft, "10.00", "r1")
    assert refused.status_code == 400
    assert refused.json()["errors"] == {
        "status": [f"invoice {draft.pk} is draft, it takes no payment"]
    }
    assert _pay(api_client, foreign, "10.00", "r2").status_code == 404
    assert not Payment.objects.exists()


def test_marking_paid_records_the_remainder_as_a_staff_payment(api_client, invoice):
    assert _pay(api_client, invoice, "25.50", "bank-1").status_code == 201

    services.invoice_mark_paid(invoice=invoice, now=NOW)

    assert _figures(invoice) == ("paid", Decimal("100.00"), Decimal("0.00"))
    assert list(Payment.objects.order_by("id").values_list("amount", "source")) == [
        (Decimal("25.50"), "api"),
        (Decimal("74.50"), "admin"),
    ]


def _concurrently(api_client, invoice, payments):
    key = api_client._credentials["HTTP_AUTHORIZATION"]
    start = threading.Barrier(len(payments))

    def post(payment) -> int:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=key)
        try:
            start.wait(timeout=30)
            return _pay(client, invoice, *payment).status_code
        finally:
            connection.close()

    with ThreadPoolExecutor(len(payments)) as pool:
        return sorted(pool.map(post, payments))


@pytest.mark.django_db(transaction=True)
def test_eight_concurrent_payments_never_exceed_the_total(api_client_for, organization):
    invoice = InvoiceFactory(
        customer=CustomerFactory(organization=organization),
        finalized=True,
        total=Decimal("100.00"),
    )
    client = api_client_for(organization)

    statuses = _concurrently(
        client, invoice, [("30.00", f"bank-{n}") for n in range(8)]
    )

    assert statuses == [201] * 3 + [400] * 5
    assert Payment.objects.count() == 3
    assert _figures(invoice) == ("finalized", Decimal("90.00"), Decimal("10.00"))


@pytest.mark.django_db(transaction=True)
def test_eight_concurrent_replays_of_one_reference_store_one_payment(
    api_client_for, organization
):
    invoice = InvoiceFactory(
        customer=CustomerFactory(organization=organization),
        finalized=True,
        total=Decimal("100.00"),
    )
    client = api_client_for(organization)

    statuses = _concurrently(client, invoice, [("30.00", "bank-1")] * 8)

    assert statuses == [200] * 7 + [201]
    assert Payment.objects.count() == 1
    assert _figures(invoice) == ("finalized", Decimal("30.00"), Decimal("70.00"))
    assert Invoice.objects.get().status == "finalized"


SECRET = webhook_signing.secret_from_key(b"k" * 32)
PROVIDER_URL = "/api/v1/payment-provider/{slug}/events/"


def _provider_post(organization, body: dict, *, secret=SECRET, stamp=None):
    raw = json.dumps(body).encode()
    stamp = int(NOW.timestamp()) if stamp is None else stamp
    headers = webhook_signing.signed_headers(
        secret=secret, message_id="msg_1", timestamp=stamp, body=raw
    )
    return APIClient().post(
        PROVIDER_URL.format(slug=organization.slug),
        raw,
        content_type="application/json",
        headers=headers,
    )


def _succeeded(invoice, amount="40.00", reference="pi_1") -> dict:
    return {
        "type": "payment.succeeded",
        "data": {
            "invoice_number": invoice.number,
            "amount": amount,
            "currency": "USD",
            "reference": reference,
            "paid_at": PAID_AT,
        },
    }


@pytest.fixture
def provider_secret(organization):
    services.invoicing_settings_update(
        organization=organization, payment_webhook_secret=SECRET
    )


def test_a_signed_provider_event_records_the_payment_once(
    organization, invoice, provider_secret
):
    first = _provider_post(organization, _succeeded(invoice))
    replay = _provider_post(organization, _succeeded(invoice))

    assert (first.status_code, first.json()["recorded"]) == (201, True)
    assert (replay.status_code, replay.json()["recorded"]) == (200, False)
    payment = Payment.objects.get()
    assert (payment.amount, payment.reference, payment.source) == (
        Decimal("40.00"),
        "pi_1",
        "provider",
    )
    assert _figures(invoice) == ("finalized", Decimal("40.00"), Decimal("60.00"))


def test_other_provider_events_are_acknowledged_and_ignored(
    organization, invoice, provider_secret
):
    response = _provider_post(organization, {"type": "payment.refunded"})

    assert response.status_code == 200
    assert response.json() == {"recorded": False, "payment": None}
    assert not Payment.objects.exists()


@pytest.mark.parametrize(
    ("secret", "shift", "message"),
    [
        (webhook_signing.secret_from_key(b"x" * 32), 0,
         "webhook-signature does not match the body."),
        (SECRET, -301, "webhook-timestamp is more than 300 seconds away."),
        (SECRET, 301, "webhook-timestamp is more than 300 seconds away."),
    ],
)  # fmt: skip
def test_a_wrong_signature_or_a_stale_timestamp_is_refused(
    organization, invoice, provider_secret, secret, shift, message
):
    response = _provider_post(
        organization,
        _succeeded(invoice),
        secret=secret,
        stamp=int(NOW.timestamp()) + shift,
    )

    assert response.status_code == 401
    assert response.json() == {"errors": {"webhook-signature": [message]}}
    assert not Payment.objects.exists()


def test_without_a_secret_every_provider_request_is_refused(organization, invoice):
    response = _provider_post(organization, _succeeded(invoice))

    assert response.status_code == 401
    assert response.json() == {
        "errors": {
            "webhook-signature": ["Signed requests are not accepted: no secret is set."]
        }
    }


def test_a_tampered_body_is_refused(organization, invoice, provider_secret):
    raw = json.dumps(_succeeded(invoice)).encode()
    headers = webhook_signing.signed_headers(
        secret=SECRET, message_id="msg_1", timestamp=int(NOW.timestamp()), body=raw
    )
    tampered = raw.replace(b"40.00", b"99.00")

    response = APIClient().post(
        PROVIDER_URL.format(slug=organization.slug),
        tampered,
        content_type="application/json",
        headers=headers,
    )

    assert response.status_code == 401
    assert not Payment.objects.exists()


@pytest.mark.parametrize(
    ("change", "errors"),
    [
        ({"amount": "lots"}, {"data.amount": ["A decimal number."]}),
        ({"currency": "EUR"}, {"data.currency": ["Invoice {number} is in USD."]}),
        ({"paid_at": "2026-11-18"},
         {"data.paid_at": ["An ISO 8601 date-time with its offset."]}),
        ({"invoice_number": "INV-404"},
         {"data.invoice_number": ["No issued invoice 'INV-404'."]}),
        ({"reference": ""}, {"data.reference": ["Required, a string."]}),
    ],
)  # fmt: skip
def test_a_signed_event_with_bad_data_is_a_400_naming_the_field(
    organization, invoice, provider_secret, change, errors
):
    body = _succeeded(invoice)
    body["data"].update(change)

    response = _provider_post(organization, body)

    assert response.status_code == 400
    assert response.json()["errors"] == {
        field: [message.format(number=invoice.number) for message in messages]
        for field, messages in errors.items()
    }
    assert not Payment.objects.exists()


def test_the_portal_invoice_shows_its_payments_and_what_is_left(
    client, api_client, invoice
):
    assert _pay(api_client, invoice, "40.00", "bank-1").status_code == 201
    client.force_login(PortalUserFactory(customer=invoice.customer).user)

    page = client.get(f"/portal/invoices/{invoice.pk}/").content.decode()

    for text in (
        '<tr id="total-total"><th>Total</th><td class="num">USD 100.00</td>',
        '<tr id="total-amount_paid"><th>Paid</th><td class="num">USD -40.00</td>',
        '<tr id="total-amount_due"><th>Amount due</th><td class="num">USD 60.00</td>',
        '<tr><td>2026-11-18</td><td>bank-1</td><td class="num">USD 40.00</td></tr>',
    ):
        assert text in page
