"""The OpenAPI schema is complete enough to build a client from.

A Python client is generated from the schema with openapi-python-client (offline,
into a temporary folder), imported, and drives the core flow against a live
server: create a customer, send a batch of events, list the customer's events a
page at a time, read the current usage cost, list invoices and download one as
PDF.
"""

import importlib
import subprocess
import sys
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.management import call_command
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.renderers import OpenApiJsonRenderer

from invoices import services as invoice_services
from invoices.periods import MONTHLY, Period
from metering.services import api_key_create
from metering.tests.factories import OrganizationFactory

# The flow's figures (May's invoice, June's running total) hold at this instant;
# the client, not the date, is under test.
pytestmark = pytest.mark.clock("2026-06-17T09:30:00+00:00")

PACKAGE = "billing_api_client"
CONFIG = f"""\
project_name_override: {PACKAGE}
package_name_override: {PACKAGE}
post_hooks: []
content_type_overrides:
  application/pdf: application/octet-stream
"""


def test_schema_validates_without_warnings(tmp_path):
    call_command(
        "spectacular",
        "--validate",
        "--fail-on-warn",
        "--file",
        str(tmp_path / "schema.yaml"),
    )


def _generated_client(folder: Path):
    """The client package generated from the schema, imported."""
    schema = SchemaGenerator().get_schema(request=None, public=True)
    (folder / "schema.json").write_bytes(OpenApiJsonRenderer().render(schema))
    (folder / "config.yaml").write_text(CONFIG)
    generator = Path(sys.executable).with_name("openapi-python-client")
    subprocess.run(
        [
            str(generator), "generate",
            "--path", str(folder / "schema.json"),
            "--output-path", str(folder / "client"),
            "--config", str(folder / "config.yaml"),
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )  # fmt: skip
    sys.path.insert(0, str(folder / "client"))
    return importlib.import_module(PACKAGE)


@pytest.fixture
def generated(tmp_path):
    try:
        yield _generated_client(tmp_path)
    finally:
        sys.path.remove(str(tmp_path / "client"))
        for name in [m for m in sys.modules if m.split(".")[0] == PACKAGE]:
            del sys.modules[name]


@pytest.mark.django_db(transaction=True)
def test_generated_client_runs_the_core_flow(generated, live_server):
    from billing_api_client import AuthenticatedClient, models
    from billing_api_client.api.customers import (
        customers_create,
        customers_current_usage_cost_retrieve,
    )
    from billing_api_client.api.events import events_batch_create, events_list
    from billing_api_client.api.invoices import invoices_list, invoices_pdf_retrieve
    from billing_api_client.api.operation_prices import operation_prices_create

    organization = OrganizationFactory()
    issued = api_key_create(organization=organization, name="client")
    client = AuthenticatedClient(
        base_url=live_server.url, token=issued.raw_key, prefix="Api-Key"
    )

    customer = customers_create.sync(
        client=client,
        body=models.CustomerInput(external_id="acme-1", name="Acme", email=""),
    )
    assert isinstance(customer, models.CustomerOutput), customer
    assert customer.external_id == "acme-1"

    price = operation_prices_create.sync(
        client=client,
        body=models.OperationPriceInput(operation="image.resize", unit_price="0.02"),
    )
    assert isinstance(price, models.OperationPriceOutput), price

    def event(event_id: str, occurred_at: str, quantity: str):
        return models.UsageEventInput(
            event_id=event_id,
            customer_id="acme-1",
            operation="image.resize",
            quantity=quantity,
            occurred_at=datetime.fromisoformat(occurred_at),
        )

    batch = events_batch_create.sync(
        client=client,
        body=models.UsageEventBatchInput(
            events=[
                event("may-1", "2026-05-20T10:00:00+00:00", "100"),
                event("may-2", "2026-05-21T10:00:00+00:00", "50"),
                event("june-1", "2026-06-16T10:00:00+00:00", "250"),
                event("june-1", "2026-06-16T10:00:00+00:00", "250"),
            ]
        ),
    )
    assert isinstance(batch, models.UsageEventBatchOutput), batch
    assert (batch.accepted, batch.duplicates, batch.rejected) == (3, 1, 0)
    assert [row.status.value for row in batch.results] == [
        "accepted", "accepted", "accepted", "duplicate",
    ]  # fmt: skip

    events = events_list.sync(client=client, customer_id="acme-1", limit=2)
    assert isinstance(events, models.PaginatedUsageEventOutputList), events
    assert [row.event_id for row in events.results] == ["june-1", "may-2"]
    assert [row.customer_id for row in events.results] == ["acme-1", "acme-1"]
    assert "cursor=" in events.to_dict()["next"]

    cost = customers_current_usage_cost_retrieve.sync("acme-1", client=client)
    assert isinstance(cost, models.CurrentUsageCostOutput), cost
    assert (cost.customer_id, cost.period, cost.total) == ("acme-1", "2026-06", "5.00")
    assert [(line.quantity, line.amount) for line in cost.monthly.lines] == [
        ("250", "5.00")
    ]

    invoice_services.invoices_generate(
        organization=organization,
        period=Period(MONTHLY, date(2026, 5, 1)),
        now=datetime(2026, 6, 17, 9, 30, tzinfo=UTC),
    )
    invoices = invoices_list.sync(client=client, customer_id="acme-1", period="2026-05")
    assert isinstance(invoices, models.PaginatedInvoiceOutputList), invoices
    (invoice,) = invoices.results
    assert (invoice.period_start, invoice.status.value) == (date(2026, 5, 1), "draft")
    assert Decimal(invoice.total) == Decimal("3.00")

    pdf = invoices_pdf_retrieve.sync_detailed(str(invoice.id), client=client)
    assert pdf.status_code == 200
    assert pdf.headers["content-type"] == "application/pdf"
    assert pdf.parsed.payload.read().startswith(b"%PDF")
