"""A coupon in a real browser: staff apply it to a customer in the admin; the
month's invoice then shows the discount, the tax and the totals on the
customer's portal invoice page."""

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from bundles.tests.factories import OperationPriceFactory
from invoices import services
from invoices.models import CouponRedemption, Invoice
from invoices.periods import MONTHLY, Period
from invoices.tests.conftest import ingest
from invoices.tests.factories import CouponFactory, TaxRateFactory
from metering.tests.factories import (
    CustomerFactory,
    OrganizationFactory,
    PortalUserFactory,
    UserFactory,
)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.clock("2026-10-05T12:00:00+00:00"),
]

PASSWORD = "pw-for-tests-1"
OCTOBER = Period(MONTHLY, date(2026, 10, 1))


def test_apply_a_coupon_in_the_admin_and_see_it_on_the_portal_invoice(
    live_server, page
):
    organization = OrganizationFactory(currency="EUR")
    OperationPriceFactory(
        organization=organization, operation="image.resize", unit_price=Decimal("1")
    )
    TaxRateFactory(organization=organization, code="VAT20", is_default=True)
    coupon = CouponFactory(organization=organization, code="SPRING20")
    customer = CustomerFactory(
        organization=organization, name="Globex Corporation", external_id="globex"
    )
    ingest(customer, "image.resize", [100], when=datetime(2026, 10, 3, tzinfo=UTC))
    admin = UserFactory(staff=True)

    page.goto(f"{live_server.url}/admin/")
    page.fill("#id_username", admin.username)
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_selector("#site-name")
    page.goto(f"{live_server.url}/admin/invoices/couponredemption/add/")
    page.select_option("#id_coupon", str(coupon.pk))
    page.fill("#id_customer", str(customer.pk))
    page.click("input[name=_save]")
    page.wait_for_selector("ul.messagelist")
    assert "was added successfully" in page.inner_text("ul.messagelist")
    redemption = CouponRedemption.objects.get()
    assert (redemption.customer, redemption.first_period_start) == (
        customer,
        date(2026, 10, 1),
    )

    services.invoices_generate(
        organization=organization, period=OCTOBER, now=OCTOBER.closes_at
    )
    invoice = services.invoice_finalize(
        invoice=Invoice.objects.get(customer=customer), now=OCTOBER.closes_at
    )

    # The customer logs in to the portal in the same browser (the page checks
    # its Content-Security-Policy).
    portal = page
    portal.context.clear_cookies()
    portal_user = PortalUserFactory(customer=customer)
    portal.goto(f"{live_server.url}/portal/login/")
    portal.fill("#id_username", portal_user.user.username)
    portal.fill("#id_password", PASSWORD)
    portal.click("button[type=submit]")
    portal.wait_for_url(f"{live_server.url}/portal/")
    portal.goto(f"{live_server.url}/portal/invoices/")
    portal.click(f"text={invoice.number}")
    portal.wait_for_selector("#invoice-totals")
    lines = portal.inner_text("#invoice-lines")
    assert "Coupon SPRING20: 20% off" in lines
    assert "-20.00" in lines
    assert "VAT 20% on 80.00" in lines
    totals = [
        portal.inner_text(f"#total-{key}")
        for key in ("subtotal", "discount_total", "tax_total", "total", "amount_due")
    ]
    assert totals == [
        "Subtotal\tEUR 100.00",
        "Discounts\tEUR -20.00",
        "Tax\tEUR 16.00",
        "Total\tEUR 96.00",
        "Amount due\tEUR 96.00",
    ]
