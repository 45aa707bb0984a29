"""Invoice webhook settings and deliveries move onto metering's webhooks with
their history."""

import base64
from datetime import date
from decimal import Decimal

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

BEFORE = [
    ("invoices", "0008_invoice_guard_from_declaration"),
    ("metering", "0012_webhook_endpoints_events_deliveries"),
]
AFTER = [("invoices", "0009_webhook_deliveries_move_to_metering")]
SECRET = "0123456789abcdef0123456789abcdef"


def _migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


@pytest.fixture
def migrated_back():
    yield
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())


@pytest.mark.django_db(transaction=True)
def test_deliveries_keep_their_history_and_settings_become_an_endpoint(
    migrated_back,
):
    apps = _migrate(BEFORE)
    organization = apps.get_model("metering", "Organization").objects.create(
        slug="acme", name="Acme"
    )
    customer = apps.get_model("metering", "Customer").objects.create(
        organization=organization, external_id="c-1", name="C One"
    )
    apps.get_model("invoices", "InvoicingSettings").objects.create(
        organization=organization,
        webhook_url="https://hooks.example.com/billing",
        webhook_secret=SECRET,
    )
    invoice = apps.get_model("invoices", "Invoice").objects.create(
        organization=organization,
        customer=customer,
        customer_external_id="c-1",
        customer_name="C One",
        period_start=date(2026, 10, 1),
        period_end=date(2026, 10, 31),
        frequency="monthly",
        currency="USD",
        number="INV-000001",
        status="draft",
        subtotal=Decimal("190.02"),
        total=Decimal("190.02"),
    )
    old = apps.get_model("invoices", "WebhookDelivery").objects.create(
        organization=organization,
        invoice=invoice,
        event="invoice.finalized",
        url="https://hooks.example.com/billing",
        status="failed",
        attempts=9,
        last_status_code=503,
        last_error="Service Unavailable",
    )

    apps = _migrate(AFTER)

    endpoint = apps.get_model("metering", "WebhookEndpoint").objects.get()
    assert (endpoint.url, endpoint.event_types) == (
        "https://hooks.example.com/billing",
        ["invoice.finalized"],
    )
    assert base64.b64decode(endpoint.secret.removeprefix("whsec_")) == SECRET.encode()
    delivery = apps.get_model("metering", "WebhookDelivery").objects.get()
    assert (
        delivery.pk, delivery.endpoint_id, delivery.status, delivery.attempts,
        delivery.last_status_code, delivery.last_error, delivery.created_at,
    ) == (
        old.pk, endpoint.pk, "failed", 9, 503, "Service Unavailable", old.created_at,
    )  # fmt: skip
    event = delivery.event
    assert (event.type, event.key) == ("invoice.finalized", f"invoice:{invoice.pk}")
    assert event.payload["invoice"]["total"] == "190.02"
    assert event.payload["invoice"]["number"] == "INV-000001"
    assert event.occurred_at == old.created_at  # a draft's: no finalized_at
