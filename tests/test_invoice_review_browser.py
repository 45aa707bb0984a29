"""Invoice review in a real browser: finalize from the invoice's page, then
download its PDF; void a finalized invoice with a reason, then download its CSV;
record the payment of what is still due."""

from decimal import Decimal
from pathlib import Path

import pytest

from invoices import services
from invoices.models import CreditNote, Invoice, Payment
from invoices.tests.conftest import AFTER_OCTOBER
from invoices.tests.factories import InvoiceFactory
from metering.tests.factories import CustomerFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "pw-for-tests-1"


def draft(name: str, external_id: str) -> Invoice:
    customer = CustomerFactory(name=name, external_id=external_id)
    invoice = InvoiceFactory(customer=customer, total=Decimal("49.00"))
    invoice.lines.create(
        position=1, kind="subscription", description="Subscription: Starter",
        quantity=1, unit_price=Decimal("49"), amount=Decimal("49.00"),
    )  # fmt: skip
    return invoice


def login(page, live_server):
    admin = UserFactory(staff=True)
    page.goto(f"{live_server.url}/admin/")
    page.fill("#id_username", admin.username)
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_selector("#site-name")


def test_finalize_from_the_invoice_page_and_download_its_pdf(live_server, page):
    invoice = draft("Globex Corporation", "globex")
    login(page, live_server)

    change_url = f"{live_server.url}/admin/invoices/invoice/{invoice.pk}/change/"
    page.goto(change_url)
    page.click("button[name=finalize]")
    page.wait_for_selector("#invoice-summary")
    assert "Globex Corporation (globex)" in page.inner_text("#invoice-summary")
    assert "USD 49.00" in page.inner_text("#invoice-summary")
    page.click("input[name=confirm]")
    page.wait_for_url(change_url)

    assert page.inner_text("ul.messagelist") == (
        "Finalized Draft globex 2026-10 (Globex Corporation) as INV-000001."
    )
    invoice.refresh_from_db()
    assert (invoice.status, invoice.number) == (Invoice.Status.FINALIZED, "INV-000001")
    assert page.locator("button[name=finalize]").count() == 0
    assert page.locator("button[name=void]").count() == 1

    with page.expect_download() as download_info:
        page.click("#invoice-pdf")
    download = download_info.value
    assert download.suggested_filename == "INV-000001.pdf"
    assert Path(download.path()).read_bytes().startswith(b"%PDF-")


def test_void_with_a_reason_from_the_invoice_page_and_download_its_csv(
    live_server, page
):
    invoice = draft("Initech", "initech")
    services.invoice_finalize(invoice=invoice, now=AFTER_OCTOBER)
    login(page, live_server)

    change_url = f"{live_server.url}/admin/invoices/invoice/{invoice.pk}/change/"
    page.goto(change_url)
    assert page.locator("button[name=finalize]").count() == 0
    page.click("button[name=void]")
    page.wait_for_selector("#invoice-summary")
    summary = page.inner_text("#invoice-summary")
    assert "INV-000001" in summary
    assert "Initech (initech)" in summary
    assert "USD 49.00" in summary
    assert "credit note for what is still due, USD 49.00," in page.inner_text(
        "#consequence"
    )
    page.fill("textarea[name=reason], input[name=reason]", "Billed twice")
    page.click("input[name=confirm]")
    page.wait_for_url(change_url)

    assert page.inner_text("ul.messagelist").startswith("Voided INV-000001 (Initech)")
    invoice.refresh_from_db()
    assert invoice.status == Invoice.Status.VOID
    assert CreditNote.objects.get(invoice=invoice).reason == "Billed twice"
    assert page.locator("button[name=void]").count() == 0

    with page.expect_download() as download_info:
        page.click("#invoice-csv")
    download = download_info.value
    assert download.suggested_filename == "INV-000001.csv"
    rows = Path(download.path()).read_text().splitlines()
    assert len(rows) == 2
    assert rows[1].split(",")[:2] == [str(invoice.pk), "INV-000001"]


def test_record_the_payment_of_what_is_due_from_the_invoice_page(live_server, page):
    invoice = draft("Umbrella", "umbrella")
    invoice = services.invoice_finalize(invoice=invoice, now=AFTER_OCTOBER)
    services.invoice_payment_record(
        invoice=invoice,
        amount=Decimal("9.00"),
        paid_at=AFTER_OCTOBER,
        reference="bank-1",
        source="api",
        now=AFTER_OCTOBER,
    )
    login(page, live_server)

    change_url = f"{live_server.url}/admin/invoices/invoice/{invoice.pk}/change/"
    page.goto(change_url)
    page.click("button[name=pay]")
    page.wait_for_selector("#invoice-summary")
    assert "Umbrella (umbrella)" in page.inner_text("#invoice-summary")
    assert "what is still due, USD 40.00" in page.inner_text("#consequence")
    page.click("input[name=confirm]")
    page.wait_for_url(change_url)

    assert page.inner_text("ul.messagelist").startswith("Recorded payment")
    invoice.refresh_from_db()
    assert (invoice.status, invoice.amount_paid, invoice.amount_due) == (
        Invoice.Status.PAID,
        Decimal("49.00"),
        Decimal("0.00"),
    )
    assert list(Payment.objects.order_by("id").values_list("amount", "source")) == [
        (Decimal("9.00"), "api"),
        (Decimal("40.00"), "admin"),
    ]
    assert page.locator("button[name=pay]").count() == 0
