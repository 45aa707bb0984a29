import hashlib
import hmac
import json
import threading
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from celery.exceptions import Retry

from invoices import services, tasks
from invoices.models import Invoice, WebhookDelivery
from invoices.tests.conftest import AFTER_OCTOBER, OCTOBER
from metering.tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db

SECRET = "whsec-0123456789abcdef0123456789abcdef"


class Receiver:
    """A local HTTP endpoint answering with the queued status codes."""

    def __init__(self, codes):
        self.codes = list(codes)
        self.requests = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.requests.append((dict(self.headers), body))
                self.send_response(receiver.codes.pop(0) if receiver.codes else 200)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_port}/hooks"

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    instances = []

    def make(codes=()):
        instance = Receiver(codes)
        instances.append(instance)
        return instance

    yield make
    for instance in instances:
        instance.close()


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
    services.invoicing_settings_update(
        organization=organization, webhook_url=endpoint.url, webhook_secret=SECRET
    )
    with django_capture_on_commit_callbacks(execute=True):
        services.invoice_finalize(invoice=draft, now=AFTER_OCTOBER)

    ((headers, body),) = endpoint.requests
    expected = hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    assert headers["X-Billing-Signature"] == f"sha256={expected}"
    assert headers["X-Billing-Event"] == "invoice.finalized"
    payload = json.loads(body)
    assert payload["invoice"]["number"] == "INV-000001"
    assert payload["invoice"]["total"] == "190.02"
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.attempts) == ("delivered", 1)


def test_webhook_5xx_is_retried_and_4xx_fails(organization, draft, receiver):
    endpoint = receiver(codes=[503, 404])
    services.invoicing_settings_update(
        organization=organization, webhook_url=endpoint.url, webhook_secret=SECRET
    )
    services.invoice_finalize(invoice=draft, now=AFTER_OCTOBER)
    delivery = WebhookDelivery.objects.get()

    with pytest.raises((Retry, ConnectionError)):
        tasks.invoice_webhook_deliver.apply(args=[delivery.pk], throw=True)
    delivery.refresh_from_db()
    assert delivery.last_status_code in (503, 404)
    assert delivery.attempts >= 1

    tasks.invoice_webhook_deliver.apply(args=[delivery.pk])
    delivery.refresh_from_db()
    assert delivery.status == "failed"
    assert delivery.last_status_code == 404


def test_webhook_task_retry_policy():
    task = tasks.invoice_webhook_deliver
    assert task.autoretry_for == (ConnectionError,)
    assert task.retry_backoff == 30
    assert task.max_retries == 8


def test_cycle_task_wiring(organization, october):
    result = tasks.invoicing_cycle.delay(
        organization.pk, AFTER_OCTOBER.isoformat()
    ).get()
    assert result == {
        "generated": {"2026-10": 1, "2026-10-31": 0},
        "dispatched": {},
        "finalized": 0,
        "failed": 0,
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
