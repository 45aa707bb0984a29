from decimal import Decimal

import pytest
from django.urls import reverse

from invoices import services
from invoices.models import Invoice
from invoices.tests.conftest import AFTER_OCTOBER, OCTOBER
from metering.tests.factories import CustomerFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(client):
    client.force_login(UserFactory(staff=True))
    return client


@pytest.fixture
def invoice(organization, october):
    services.invoices_generate(
        organization=organization, period=OCTOBER, now=AFTER_OCTOBER
    )
    return Invoice.objects.get()


def test_changelist_query_count_is_bounded(
    staff_client, organization, invoice, django_assert_max_num_queries
):
    for number in range(15):
        customer = CustomerFactory(organization=organization)
        Invoice.objects.create(
            organization=organization, customer=customer, frequency="monthly",
            period_start=OCTOBER.start, period_end=OCTOBER.end, currency="USD",
            total=Decimal(number), amount_due=Decimal(number),
        )  # fmt: skip
    with django_assert_max_num_queries(12):
        response = staff_client.get(reverse("admin:invoices_invoice_changelist"))
    assert response.status_code == 200
    assert response.content.count(b"vs previous") == 16


def test_filters_by_status_period_and_amount(staff_client, invoice):
    url = reverse("admin:invoices_invoice_changelist")
    assert b"acme" in staff_client.get(url + "?status__exact=draft").content
    assert b"acme" not in staff_client.get(url + "?status__exact=paid").content
    assert b"acme" in staff_client.get(url + "?total_range=100-1000").content
    assert b"acme" not in staff_client.get(url + "?total_range=0-100").content
    assert b"acme" in staff_client.get(url + "?frequency__exact=monthly").content


def test_detail_shows_grouped_lines(staff_client, invoice):
    response = staff_client.get(
        reverse("admin:invoices_invoice_change", args=[invoice.pk])
    )
    content = response.content.decode()
    assert response.status_code == 200
    for label in (
        "Subscription, plans and bundles",
        "Usage",
        "Fees",
        "Provider charges",
    ):
        assert label in content
    assert "Tokens — tier 2 (5,000–20,000 at 0.001)" in content


def test_finalize_selected_reports_each_failure_by_name(
    staff_client, organization, invoice
):
    services.invoice_finalize(invoice=invoice, now=AFTER_OCTOBER)
    other = CustomerFactory(organization=organization, name="Beta Inc")
    draft = Invoice.objects.create(
        organization=organization, customer=other, frequency="monthly",
        period_start=OCTOBER.start, period_end=OCTOBER.end, currency="USD",
    )  # fmt: skip

    response = staff_client.post(
        reverse("admin:invoices_invoice_changelist"),
        {"action": "finalize_selected", "_selected_action": [invoice.pk, draft.pk]},
        follow=True,
    )

    texts = [str(message) for message in response.context["messages"]]
    assert texts == [
        "Finalized 1 invoice(s): INV-000002",
        "INV-000001 (Acme Ltd) was not finalized: "
        "invoice INV-000001 is finalized, cannot finalize",
    ]


def test_issued_invoice_is_read_only_in_admin(staff_client, invoice):
    services.invoice_finalize(invoice=invoice, now=AFTER_OCTOBER)
    url = reverse("admin:invoices_invoice_change", args=[invoice.pk])
    response = staff_client.post(url, {"total": "1.00"})
    assert response.status_code == 403
    invoice.refresh_from_db()
    assert invoice.total == Decimal("190.02")


def test_diff_against_previous_period(staff_client, organization, invoice):
    previous = Invoice.objects.create(
        organization=organization, customer=invoice.customer, frequency="monthly",
        period_start=OCTOBER.previous().start, period_end=OCTOBER.previous().end,
        currency="USD",
    )  # fmt: skip
    previous.lines.create(
        position=1, kind="subscription", description="Subscription: Token plan",
        quantity=1, unit_price=Decimal("49"), amount=Decimal("39.00"),
    )  # fmt: skip

    response = staff_client.get(
        reverse("admin:invoices_invoice_diff", args=[invoice.pk])
    )

    assert response.status_code == 200
    rows = {row.description: row for row in response.context["rows"]}
    assert rows["Subscription: Token plan"].change == Decimal("10.00")
    tier_1 = rows["Tokens — tier 1 (0–5,000 at 0.0015)"]
    assert tier_1.previous_amount == Decimal("0")
    assert tier_1.change == Decimal("7.50")


def test_provider_charge_cannot_join_a_finalized_invoice(staff_client, invoice):
    services.invoice_finalize(invoice=invoice, now=AFTER_OCTOBER)
    url = reverse("admin:invoices_providercharge_add")

    response = staff_client.post(
        url,
        {
            "organization": invoice.organization_id,
            "customer": invoice.customer_id,
            "provider": "AWS",
            "period_start": "2026-10-01",
            "amount": "3.00",
            "invoice": invoice.pk,
        },
    )

    assert response.status_code == 200
    assert response.context["adminform"].form.errors == {
        "invoice": ["Invoice INV-000001 is finalized: no more charges."]
    }
    assert not invoice.provider_charges.filter(provider="AWS", amount=3).exists()


def test_provider_charge_can_join_a_draft_invoice(staff_client, invoice):
    url = reverse("admin:invoices_providercharge_add")

    response = staff_client.post(
        url,
        {
            "organization": invoice.organization_id,
            "customer": invoice.customer_id,
            "provider": "AWS",
            "period_start": "2026-10-01",
            "amount": "3.00",
            "invoice": invoice.pk,
        },
    )

    assert response.status_code == 302
    assert invoice.provider_charges.filter(provider="AWS", amount=3).exists()
