"""The customer portal's invoices page, driven in a real browser."""

import io
from datetime import UTC, date, datetime
from decimal import Decimal

import pypdf
import pytest
from django.utils import timezone

from invoices import services
from invoices.models import Invoice
from invoices.periods import MONTHLY, Period
from invoices.tests.factories import ProviderChargeFactory, SubscriptionFactory
from metering.tests.factories import (
    CustomerFactory,
    PortalUserFactory,
    usage_events_bulk_create,
)
from pricing.tests.factories import ActivityBasedConfigFactory, BillingModelFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "pw-for-tests-1"


# November 2026: October's invoice is issued and November's usage is running.
@pytest.mark.clock("2026-11-20T10:00:00+00:00")
def test_portal_lists_invoices_with_pdf_and_running_total(live_server, page):
    portal_user = PortalUserFactory(customer=CustomerFactory(name="Initech"))
    customer = portal_user.customer
    organization = customer.organization
    model = BillingModelFactory(organization=organization)
    ActivityBasedConfigFactory(
        billing_model=model, activity_type="api_calls", price_per_unit=Decimal("0.25")
    )
    SubscriptionFactory(customer=customer, billing_model=model)
    ProviderChargeFactory(
        customer=customer, period_start=date(2026, 10, 1), amount=Decimal("4.00")
    )
    services.invoices_generate(
        organization=organization,
        period=Period(MONTHLY, date(2026, 10, 1)),
        now=datetime(2026, 11, 2, tzinfo=UTC),
    )
    invoice = services.invoice_finalize(
        invoice=Invoice.objects.get(), now=datetime(2026, 11, 2, tzinfo=UTC)
    )
    now = timezone.now()
    usage_events_bulk_create(
        customer=customer,
        events=[{"operation": "api_calls", "quantity": "10", "occurred_at": now}],
        now=now,
    )

    page.goto(f"{live_server.url}/portal/login/")
    page.fill("#id_username", portal_user.user.username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/portal/")
    page.goto(f"{live_server.url}/portal/invoices/")

    assert page.inner_text("#running-total-amount") == "USD 2.50"
    table = page.inner_text("#invoices")
    assert invoice.number in table
    assert "USD 4.00" in table
    with page.expect_download() as download:
        page.click("text=PDF")
    content = open(download.value.path(), "rb").read()
    text = pypdf.PdfReader(io.BytesIO(content)).pages[0].extract_text()
    assert f"Invoice {invoice.number}" in text
    assert "Initech" in text
