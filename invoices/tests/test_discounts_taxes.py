"""Coupons and taxes on generated invoices: a 20 % coupon for three months, VAT
20 % exclusive on one customer and 19 % inclusive on another, each month's
subtotal, discounts, taxes, total and amount due; redemption limits."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from billing_site.errors import Conflict, DomainError
from bundles.tests.factories import OperationPriceFactory
from invoices import services
from invoices.models import Coupon, Invoice
from invoices.periods import MONTHLY, Period
from invoices.tests.conftest import ingest
from invoices.tests.factories import CouponFactory, TaxRateFactory
from metering.tests.factories import CustomerFactory

pytestmark = [pytest.mark.django_db, pytest.mark.clock("2026-10-05T12:00:00+00:00")]

MONTHS = [date(2026, 10, 1), date(2026, 11, 1), date(2026, 12, 1), date(2027, 1, 1)]


def _figures(invoice: Invoice) -> tuple:
    return (
        invoice.subtotal,
        invoice.discount_total,
        invoice.tax_total,
        invoice.total,
        invoice.amount_due,
    )


def _month(start: date) -> Period:
    return Period(MONTHLY, start)


@pytest.fixture
def taxed_customers(organization):
    """Two customers paying 1.00 per image.resize, both redeeming SPRING20 (20 %
    off for 3 months) on 5 October: ``vat`` is taxed by its own exclusive VAT
    20 %; ``mwst`` (Germany) by the organization's default inclusive 19 % of its
    country."""
    OperationPriceFactory(
        organization=organization, operation="image.resize", unit_price=Decimal("1")
    )
    vat_rate = TaxRateFactory(organization=organization, code="VAT20", name="VAT")
    TaxRateFactory(
        organization=organization,
        code="DE19",
        name="MwSt",
        rate_percent=Decimal("19"),
        inclusive=True,
        is_default=True,
        country="DE",
    )
    vat = CustomerFactory(organization=organization, external_id="vat")
    mwst = CustomerFactory(organization=organization, external_id="mwst")
    services.customer_tax_profile_update(
        customer=vat, country="FR", tax_id="FR123", tax_rate_codes=[vat_rate.code]
    )
    services.customer_tax_profile_update(customer=mwst, country="DE")
    coupon = services.coupon_create(
        organization=organization,
        code="SPRING20",
        name="Spring offer",
        percent_off=Decimal("20"),
        duration=Coupon.Duration.REPEATING,
        duration_in_periods=3,
    )
    redeemed = datetime(2026, 10, 5, 12, tzinfo=UTC)
    for customer in (vat, mwst):
        services.coupon_redeem(coupon=coupon, customer=customer, now=redeemed)
    for start in MONTHS:
        when = datetime.combine(start, datetime.min.time(), tzinfo=UTC).replace(day=10)
        ingest(vat, "image.resize", [60, 40], when=when)
        ingest(mwst, "image.resize", [119], when=when)
    return vat, mwst


def test_three_discounted_months_then_full_price(organization, taxed_customers):
    vat, mwst = taxed_customers
    for start in MONTHS:
        period = _month(start)
        services.invoices_generate(
            organization=organization, period=period, now=period.closes_at
        )
    vat_months = [
        _figures(Invoice.objects.get(customer=vat, period_start=start))
        for start in MONTHS
    ]
    mwst_months = [
        _figures(Invoice.objects.get(customer=mwst, period_start=start))
        for start in MONTHS
    ]
    discounted_vat = tuple(
        Decimal(x) for x in ("100.00", "20.00", "16.00", "96.00", "96.00")
    )
    # 119.00 - 23.80 = 95.20 holds 95.20 - 95.20 / 1.19 = 15.20 of tax.
    discounted_mwst = tuple(
        Decimal(x) for x in ("103.80", "23.80", "15.20", "95.20", "95.20")
    )
    assert vat_months == [discounted_vat] * 3 + [
        tuple(Decimal(x) for x in ("100.00", "0", "20.00", "120.00", "120.00"))
    ]
    assert mwst_months == [discounted_mwst] * 3 + [
        tuple(Decimal(x) for x in ("100.00", "0", "19.00", "119.00", "119.00"))
    ]
    october = Invoice.objects.get(customer=mwst, period_start=MONTHS[0])
    assert [
        (line.kind, line.description, line.amount)
        for line in october.lines.order_by("position")
    ] == [
        ("overage", "image.resize", Decimal("119.00")),
        ("discount", "Coupon SPRING20: 20% off", Decimal("-23.80")),
        ("tax_included", "MwSt 19% included in 95.20", Decimal("15.20")),
    ]
    january = Invoice.objects.get(customer=vat, period_start=MONTHS[3])
    assert [
        (line.kind, line.description, line.amount)
        for line in january.lines.order_by("position")
    ] == [
        ("overage", "image.resize", Decimal("100.00")),
        ("tax", "VAT 20% on 100.00", Decimal("20.00")),
    ]


def test_wallet_credit_and_a_partial_payment_bring_the_amount_due_down(
    organization, taxed_customers
):
    """October of both customers: 50.00 of prepaid credits each, spent at
    finalization, then a partial payment of 30.00; what is left is due."""
    october = _month(MONTHS[0])
    services.invoices_generate(
        organization=organization, period=october, now=october.closes_at
    )
    for customer in taxed_customers:
        services.wallet_credit(
            customer=customer,
            amount=Decimal("50.00"),
            kind="top_up",
            now=october.closes_at,
        )
    finalized_at = october.closes_at + timedelta(days=2)
    due = {}
    for customer in taxed_customers:
        invoice = services.invoice_finalize(
            invoice=Invoice.objects.get(customer=customer, period_start=MONTHS[0]),
            now=finalized_at,
        )
        services.invoice_payment_record(
            invoice=invoice,
            amount=Decimal("30.00"),
            paid_at=finalized_at,
            reference=f"bank-{customer.external_id}",
            source="api",
            now=finalized_at,
        )
        invoice.refresh_from_db()
        due[customer.external_id] = (
            *_figures(invoice),
            invoice.credits_applied,
            invoice.amount_paid,
            invoice.status,
        )

    assert due == {
        # subtotal, discount, tax, total, amount due, credits, paid, status
        "vat": (
            *(Decimal(x) for x in ("100.00", "20.00", "16.00", "96.00", "16.00")),
            Decimal("50.00"), Decimal("30.00"), "finalized",
        ),
        "mwst": (
            *(Decimal(x) for x in ("103.80", "23.80", "15.20", "95.20", "15.20")),
            Decimal("50.00"), Decimal("30.00"), "finalized",
        ),
    }  # fmt: skip


def test_the_live_total_carries_the_discount_and_tax(organization, taxed_customers):
    from invoices.selectors import current_usage_cost

    vat, _ = taxed_customers
    cost = current_usage_cost(customer=vat, now=datetime(2026, 10, 31, 23, tzinfo=UTC))
    assert (cost.monthly.discount_total, cost.monthly.tax_total, cost.total) == (
        Decimal("20.00"),
        Decimal("16.00"),
        Decimal("96.00"),
    )


def test_exempt_customers_get_no_tax_lines(organization, taxed_customers):
    vat, _ = taxed_customers
    services.customer_tax_profile_update(
        customer=vat, country="FR", tax_exempt=True, tax_rate_codes=["VAT20"]
    )
    period = _month(MONTHS[0])
    services.invoices_generate(
        organization=organization, period=period, now=period.closes_at
    )
    invoice = Invoice.objects.get(customer=vat, period_start=MONTHS[0])
    assert _figures(invoice) == (
        Decimal("100.00"),
        Decimal("20.00"),
        Decimal("0"),
        Decimal("80.00"),
        Decimal("80.00"),
    )
    assert not invoice.lines.filter(kind__in=["tax", "tax_included"]).exists()


def test_a_once_coupon_discounts_the_month_it_was_redeemed_in(organization):
    customer = CustomerFactory(organization=organization)
    coupon = CouponFactory(organization=organization, duration="once")
    redemption = services.coupon_redeem(
        coupon=coupon, customer=customer, now=datetime(2026, 10, 31, 23, tzinfo=UTC)
    )
    assert (redemption.first_period_start, redemption.last_period_start) == (
        date(2026, 10, 1),
        date(2026, 10, 1),
    )
    forever = CouponFactory(organization=organization, duration="forever")
    assert (
        services.coupon_redeem(
            coupon=forever, customer=customer, now=datetime(2026, 12, 1, tzinfo=UTC)
        ).last_period_start
        is None
    )


def test_redemption_limits(organization):
    first, second = CustomerFactory.create_batch(2, organization=organization)
    now = datetime(2026, 10, 5, tzinfo=UTC)
    coupon = CouponFactory(organization=organization, code="ONE", max_redemptions=1)
    services.coupon_redeem(coupon=coupon, customer=first, now=now)
    with pytest.raises(Conflict, match="Coupon ONE has been redeemed 1 time"):
        services.coupon_redeem(coupon=coupon, customer=second, now=now)
    again = CouponFactory(organization=organization, code="AGAIN")
    services.coupon_redeem(coupon=again, customer=first, now=now)
    with pytest.raises(Conflict, match="has already redeemed coupon AGAIN"):
        services.coupon_redeem(coupon=again, customer=first, now=now)
    old = CouponFactory(
        organization=organization,
        code="OLD",
        expires_at=datetime(2026, 10, 1, tzinfo=UTC),
    )
    with pytest.raises(DomainError, match="Coupon OLD expired at 2026-10-01"):
        services.coupon_redeem(coupon=old, customer=first, now=now)
    coupon.refresh_from_db()
    assert coupon.times_redeemed == 1


def test_portal_invoice_page_shows_discount_and_totals(
    client, organization, taxed_customers
):
    from metering.tests.factories import PortalUserFactory

    vat, mwst = taxed_customers
    period = _month(MONTHS[0])
    services.invoices_generate(
        organization=organization, period=period, now=period.closes_at
    )
    invoice = services.invoice_finalize(
        invoice=Invoice.objects.get(customer=vat), now=period.closes_at
    )
    client.force_login(PortalUserFactory(customer=vat).user)
    page = client.get(f"/portal/invoices/{invoice.pk}/").content.decode()
    for text in (
        "Coupon SPRING20: 20% off",
        "VAT 20% on 80.00",
        '<tr id="total-subtotal"><th>Subtotal</th><td class="num">USD 100.00</td>',
        '<tr id="total-discount_total"><th>Discounts</th>'
        '<td class="num">USD -20.00</td>',
        '<tr id="total-tax_total"><th>Tax</th><td class="num">USD 16.00</td>',
        '<tr id="total-total"><th>Total</th><td class="num">USD 96.00</td>',
        '<tr id="total-amount_due"><th>Amount due</th><td class="num">USD 96.00</td>',
        f"Billed to {vat.name}, tax id FR123, FR",
    ):
        assert text in page
    # Another customer's invoice, and a draft, are not found.
    draft = Invoice.objects.get(customer=mwst)
    assert client.get(f"/portal/invoices/{draft.pk}/").status_code == 404
    client.force_login(PortalUserFactory(customer=mwst).user)
    assert client.get(f"/portal/invoices/{invoice.pk}/").status_code == 404


def test_invoices_state_the_customers_tax_id_and_country_as_rated(
    api_client, organization, taxed_customers
):
    import io

    import pypdf

    vat, mwst = taxed_customers
    period = _month(MONTHS[0])
    services.invoices_generate(
        organization=organization, period=period, now=period.closes_at
    )
    issued = services.invoice_finalize(
        invoice=Invoice.objects.get(customer=vat), now=period.closes_at
    )
    draft = Invoice.objects.get(customer=mwst)
    assert (issued.customer_tax_id, issued.customer_country) == ("FR123", "FR")
    assert (draft.customer_tax_id, draft.customer_country) == ("", "DE")

    # A later change of the profiles re-rates the draft, never the issued invoice.
    services.customer_tax_profile_update(
        customer=vat, country="BE", tax_id="BE0999", tax_rate_codes=["VAT20"]
    )
    services.customer_tax_profile_update(customer=mwst, country="DE", tax_id="DE42")
    services.invoices_generate(
        organization=organization, period=period, now=period.closes_at
    )
    issued.refresh_from_db()
    draft.refresh_from_db()
    assert (issued.customer_tax_id, issued.customer_country) == ("FR123", "FR")
    assert (draft.customer_tax_id, draft.customer_country) == ("DE42", "DE")

    body = api_client.get(f"/api/v1/invoices/{issued.pk}/").json()
    assert (body["customer_tax_id"], body["customer_country"]) == ("FR123", "FR")
    pdf = api_client.get(f"/api/v1/invoices/{issued.pk}/pdf/")
    text = "\n".join(
        page.extract_text() for page in pypdf.PdfReader(io.BytesIO(pdf.content)).pages
    )
    assert "Tax id: FR123 (FR)" in text
