import base64
import hashlib
import hmac
import json
from decimal import Decimal

import pytest

from invoices import services, tasks
from invoices.models import Invoice
from invoices.tests.conftest import AFTER_OCTOBER, OCTOBER
from metering.models import WebhookDelivery, WebhookEvent
from metering.services import webhook_endpoint_create
from metering.tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db

SECRET = "whsec_MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="
KEY = b"0123456789abcdef0123456789abcdef"


@pytest.fixture
def draft(organization, october):
    services.invoices_generate(
        organization=organization, period=OCTOBER, now=AFTER_OCTOBER
    )
    return Invoice.objects.get()


def test_finalize_sends_a_signed_webhook(
    organization, draft, receiver, django_capture_on_commit_callbacks
):
    endpoint = receiver()
    webhook_endpoint_create(organization=organization, url=endpoint.url, secret=SECRET)
    with django_capture_on_commit_callbacks(execute=True):
        services.invoice_finalize(invoice=draft, now=AFTER_OCTOBER)

    ((headers, body),) = endpoint.requests
    event = WebhookEvent.objects.get()
    signed = f"evt_{event.pk}.{headers['webhook-timestamp']}.".encode() + body
    expected = base64.b64encode(hmac.new(KEY, signed, hashlib.sha256).digest())
    assert headers["webhook-signature"] == f"v1,{expected.decode()}"
    assert headers["webhook-id"] == f"evt_{event.pk}"
    payload = json.loads(body)
    assert payload["type"] == "invoice.finalized"
    assert payload["data"]["invoice"]["number"] == "INV-000001"
    assert payload["data"]["invoice"]["total"] == "190.02"
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.attempts) == ("delivered", 1)


def test_finalize_without_endpoints_records_the_event_only(organization, draft):
    services.invoice_finalize(invoice=draft, now=AFTER_OCTOBER)

    event = WebhookEvent.objects.get()
    assert (event.type, event.key) == ("invoice.finalized", f"invoice:{draft.pk}")
    assert not WebhookDelivery.objects.exists()


def test_cycle_task_wiring(organization, october):
    result = tasks.invoicing_cycle.delay(
        organization.pk, AFTER_OCTOBER.isoformat()
    ).get()
    assert result == {
        "generated": {"2026-10": 1, "2026-10-31": 0},
        "dispatched": {},
        "finalized": 0,
        "failed": 0,
        "overdue": 0,
        "reminded": 0,
    }


def test_cycle_of_a_large_organization_generates_in_parallel_tasks(
    organization, october, settings
):
    CustomerFactory(organization=organization)  # nothing to bill
    settings.INVOICING_CUSTOMERS_PER_TASK = 1

    result = tasks.invoicing_cycle.delay(
        organization.pk, AFTER_OCTOBER.isoformat()
    ).get()

    assert result == {
        "generated": {},
        "dispatched": {"2026-10": 2, "2026-10-31": 2},
        "finalized": 0,
        "failed": 0,
        "overdue": 0,
        "reminded": 0,
    }
    invoice = Invoice.objects.get()
    assert (invoice.customer_id, invoice.total) == (october.pk, Decimal("190.02"))


def test_fanout_generates_each_customer_slice_in_a_task(organization, october):
    result = services.invoices_generate_fanout(
        organization=organization, period=OCTOBER, now=AFTER_OCTOBER, parts=2
    )

    assert result.get() == [
        {"created": 1, "refreshed": 0, "already_issued": 0, "removed_empty": 0}
    ]
    assert Invoice.objects.get().total == Decimal("190.02")
