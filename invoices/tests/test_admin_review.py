"""Invoice review in the admin: lifecycle buttons and their confirmation pages,
downloads, the read-only change page and the period diff."""

from decimal import Decimal

import pytest
from django.urls import reverse

from invoices import services
from invoices.models import CreditNote, Invoice
from invoices.tests.conftest import AFTER_OCTOBER, OCTOBER
from invoices.tests.factories import InvoiceFactory, staff_member
from metering.tests.factories import CustomerFactory, UserFactory

pytestmark = pytest.mark.django_db

TRANSITION_BUTTONS = ('name="finalize"', 'name="void"', 'name="pay"')


@pytest.fixture
def invoice(organization, october):
    services.invoices_generate(
        organization=organization, period=OCTOBER, now=AFTER_OCTOBER
    )
    return Invoice.objects.select_related("organization").get()


@pytest.fixture
def admin_client(client):
    client.force_login(UserFactory(staff=True))
    return client


def change_url(invoice: Invoice) -> str:
    return reverse("admin:invoices_invoice_change", args=[invoice.pk])


def action_url(invoice: Invoice, name: str) -> str:
    return reverse(f"admin:invoices_invoice_{name}", args=[invoice.pk])


def buttons(response) -> list[str]:
    content = response.content.decode()
    return [button for button in TRANSITION_BUTTONS if button in content]


def messages_of(response) -> list[str]:
    return [str(message) for message in response.context["messages"]]


def test_draft_offers_finalize_only_and_no_save_buttons(admin_client, invoice):
    response = admin_client.get(change_url(invoice))

    content = response.content.decode()
    assert response.status_code == 200
    assert buttons(response) == ['name="finalize"']
    assert f'action="{action_url(invoice, "finalize")}"' in content
    assert 'name="_save"' not in content
    assert 'name="_continue"' not in content
    assert f'href="{action_url(invoice, "pdf")}"' in content
    assert f'href="{action_url(invoice, "csv")}"' in content


def test_lines_digest_sits_in_a_collapsed_technical_section(admin_client, invoice):
    response = admin_client.get(change_url(invoice))

    fieldsets = [
        (fieldset.name, fieldset.classes, [line.fields for line in fieldset])
        for fieldset in response.context["adminform"]
    ]
    assert fieldsets[-1] == ("Technical", "collapse", [["rated_at"], ["lines_digest"]])
    assert all("lines_digest" not in str(fields) for _, _, fields in fieldsets[:-1])


def test_finalized_invoice_offers_void_and_payment(admin_client, invoice):
    services.invoice_finalize(invoice=invoice, now=AFTER_OCTOBER)

    response = admin_client.get(change_url(invoice))

    assert buttons(response) == ['name="void"', 'name="pay"']
    assert 'name="_save"' not in response.content.decode()


@pytest.mark.parametrize("status", ["paid", "void"])
def test_paid_and_void_invoices_offer_no_transition(admin_client, invoice, status):
    services.invoice_finalize(invoice=invoice, now=AFTER_OCTOBER)
    if status == "paid":
        services.invoice_mark_paid(invoice=invoice, now=AFTER_OCTOBER)
    else:
        services.invoice_void(invoice=invoice, now=AFTER_OCTOBER, reason="duplicate")

    response = admin_client.get(change_url(invoice))

    assert response.status_code == 200
    assert buttons(response) == []


def test_buttons_follow_the_members_permissions(client, organization, invoice):
    client.force_login(staff_member(organization, "view_invoice", "void_invoice"))

    draft_page = client.get(change_url(invoice))
    services.invoice_finalize(invoice=invoice, now=AFTER_OCTOBER)
    issued_page = client.get(change_url(invoice))

    assert buttons(draft_page) == []
    assert buttons(issued_page) == ['name="void"']


def test_transition_without_permission_is_forbidden(client, organization, invoice):
    client.force_login(staff_member(organization, "view_invoice"))

    response = client.post(action_url(invoice, "finalize"), {"confirm": "yes"})

    assert response.status_code == 403
    invoice.refresh_from_db()
    assert invoice.status == "draft"


def test_another_organizations_invoice_is_not_found(
    client, other_organization, invoice
):
    client.force_login(
        staff_member(other_organization, "view_invoice", "finalize_invoice")
    )

    assert client.get(action_url(invoice, "finalize")).status_code == 404
    assert client.get(action_url(invoice, "pdf")).status_code == 404


def test_finalize_button_opens_a_confirmation_stating_the_invoice(
    admin_client, invoice
):
    response = admin_client.post(action_url(invoice, "finalize"))

    summary = dict(
        zip(
            ["Invoice", "Customer", "Period", "Status", "Total"],
            [
                f"Draft acme {OCTOBER.label}",
                "Acme Ltd (acme)",
                "2026-10",
                "Draft",
                "USD 190.02",
            ],
            strict=True,
        )
    )
    content = response.content.decode()
    assert response.status_code == 200
    for label, value in summary.items():
        assert f'<th scope="row">{label}</th><td>{value}</td>' in content
    assert (
        "Finalizing gives this draft the next invoice number of the sequence INV, "
        "issues it today with payment due in 30 days"
    ) in content
    invoice.refresh_from_db()
    assert invoice.status == "draft"


def test_confirmed_finalize_finalizes_and_reports(admin_client, invoice, clock_start):
    response = admin_client.post(
        action_url(invoice, "finalize"), {"confirm": "yes"}, follow=True
    )

    invoice.refresh_from_db()
    assert response.redirect_chain == [(change_url(invoice), 302)]
    assert messages_of(response) == [
        f"Finalized Draft acme {OCTOBER.label} (Acme Ltd) as INV-000001."
    ]
    assert invoice.status == "finalized"
    assert invoice.number == "INV-000001"
    assert invoice.issued_on == clock_start.date()


def test_void_needs_a_reason(admin_client, invoice):
    services.invoice_finalize(invoice=invoice, now=AFTER_OCTOBER)

    response = admin_client.post(
        action_url(invoice, "void"), {"confirm": "yes", "reason": "  "}
    )

    assert response.status_code == 200
    assert response.context["form"].errors == {"reason": ["This field is required."]}
    invoice.refresh_from_db()
    assert invoice.status == "finalized"
    assert not CreditNote.objects.exists()


def test_confirmed_void_issues_a_credit_note_with_the_reason(admin_client, invoice):
    services.invoice_finalize(invoice=invoice, now=AFTER_OCTOBER)

    response = admin_client.post(
        action_url(invoice, "void"),
        {"confirm": "yes", "reason": "Billed twice"},
        follow=True,
    )

    invoice.refresh_from_db()
    credit_note = CreditNote.objects.get()
    assert messages_of(response) == [
        "Voided INV-000001 (Acme Ltd): credit note CN-000001 for USD 190.02."
    ]
    assert invoice.status == "void"
    assert (credit_note.invoice, credit_note.amount, credit_note.reason) == (
        invoice,
        Decimal("190.02"),
        "Billed twice",
    )


def test_void_after_a_credit_note_credits_what_is_still_due(admin_client, invoice):
    services.invoice_finalize(invoice=invoice, now=AFTER_OCTOBER)
    line = invoice.lines.filter(amount__gte=10).order_by("id").first()
    services.credit_note_create(
        invoice=invoice, lines=[(line.pk, Decimal("10.00"))], now=AFTER_OCTOBER
    )

    page = admin_client.get(action_url(invoice, "void")).content.decode()
    assert "credit note for what is still due, USD 180.02," in page
    response = admin_client.post(
        action_url(invoice, "void"), {"confirm": "yes", "reason": "Moved"}, follow=True
    )

    assert messages_of(response) == [
        "Voided INV-000001 (Acme Ltd): credit note CN-000002 for USD 180.02."
    ]
    invoice.refresh_from_db()
    assert (invoice.status, invoice.amount_credited, invoice.amount_due) == (
        "void",
        Decimal("190.02"),
        Decimal("0.00"),
    )


def test_void_of_a_draft_shows_the_domain_error(admin_client, invoice):
    response = admin_client.post(
        action_url(invoice, "void"),
        {"confirm": "yes", "reason": "Wrong customer"},
        follow=True,
    )

    invoice.refresh_from_db()
    assert response.redirect_chain == [(change_url(invoice), 302)]
    assert messages_of(response) == [
        f"Draft acme {OCTOBER.label} (Acme Ltd) was not changed: "
        f"invoice {invoice.pk} is draft, cannot void"
    ]
    assert invoice.status == "draft"


def test_confirmed_payment_marks_the_invoice_paid(admin_client, invoice, clock_start):
    services.invoice_finalize(invoice=invoice, now=AFTER_OCTOBER)

    response = admin_client.post(
        action_url(invoice, "pay"), {"confirm": "yes"}, follow=True
    )

    invoice.refresh_from_db()
    assert messages_of(response) == [
        "Recorded payment of USD 190.02 for INV-000001 (Acme Ltd)."
    ]
    assert invoice.status == "paid"
    assert invoice.paid_at.date() == clock_start.date()


def test_confirmed_payment_after_a_partial_one_records_what_was_left(
    admin_client, organization, clock_start
):
    invoice = InvoiceFactory(
        customer=CustomerFactory(organization=organization, name="Globex"),
        finalized=True,
        total=Decimal("12345.67"),
    )
    services.invoice_payment_record(
        invoice=invoice,
        amount=Decimal("345.00"),
        paid_at=clock_start,
        reference="bank-1",
        source="api",
        now=clock_start,
    )

    response = admin_client.post(
        action_url(invoice, "pay"), {"confirm": "yes"}, follow=True
    )

    invoice.refresh_from_db()
    assert messages_of(response) == [
        f"Recorded payment of USD 12,000.67 for {invoice.number} (Globex)."
    ]
    assert (invoice.status, invoice.amount_paid, invoice.amount_due) == (
        "paid",
        Decimal("12345.67"),
        Decimal("0.00"),
    )


def test_pdf_and_csv_downloads(admin_client, invoice):
    services.invoice_finalize(invoice=invoice, now=AFTER_OCTOBER)

    pdf = admin_client.get(action_url(invoice, "pdf"))
    csv = admin_client.get(action_url(invoice, "csv"))

    assert pdf["Content-Type"] == "application/pdf"
    assert pdf["Content-Disposition"] == 'attachment; filename="INV-000001.pdf"'
    assert pdf.content.startswith(b"%PDF-")
    assert csv["Content-Type"] == "text/csv"
    assert csv["Content-Disposition"] == 'attachment; filename="INV-000001.csv"'
    rows = csv.content.decode().splitlines()
    assert len(rows) == 1 + invoice.lines.count()
    assert rows[1].split(",")[:2] == [str(invoice.pk), "INV-000001"]


def test_diff_names_line_kinds_and_totals_both_periods(
    admin_client, organization, invoice
):
    previous = InvoiceFactory(
        customer=invoice.customer,
        period_start=OCTOBER.previous().start,
        period_end=OCTOBER.previous().end,
        total=Decimal("39.00"),
    )
    previous.lines.create(
        position=1, kind="subscription", description="Subscription: Token plan",
        quantity=1, unit_price=Decimal("49"), amount=Decimal("39.00"),
    )  # fmt: skip

    response = admin_client.get(
        reverse("admin:invoices_invoice_diff", args=[invoice.pk])
    )

    content = response.content.decode()
    totals = response.context["totals"]
    assert (totals.previous, totals.current, totals.change) == (
        Decimal("39.00"),
        Decimal("190.02"),
        Decimal("151.02"),
    )
    assert totals.current == invoice.total
    assert totals.previous == previous.total
    assert "<td>Subscription fee</td>" in content
    assert "<td>Tiered usage</td>" in content
    assert "<td>subscription</td>" not in content
    assert (
        "<th>USD 39.00</th>\n          <th>USD 190.02</th>\n"
        "          <th>USD 151.02</th>"
    ) in content
    assert "<td>Tokens — tier 1 (0–5,000 at 0.0015)</td>" in content
