"""Partial credit notes: the invoice's discounts and taxes are credited in the
same proportion as its lines (exactly its tax once every line is credited), the
amount due is lowered first and the rest refunded, bad input is a 400 naming its
field and writes nothing, and concurrent notes never credit a line twice."""

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.db import connection

from billing_site.errors import DomainError
from invoices import services
from invoices.models import (
    CreditNote,
    Invoice,
    InvoiceLine,
    InvoiceNumberSequence,
    Wallet,
    WalletTransaction,
)
from invoices.services.credit_notes import credit_note_create
from invoices.tests.factories import InvoiceFactory
from metering.models import WebhookEvent
from metering.tests.factories import CustomerFactory

pytestmark = [pytest.mark.django_db, pytest.mark.clock("2026-11-20T12:00:00+00:00")]

NOW = datetime(2026, 11, 20, 12, tzinfo=UTC)
D = Decimal
ZERO = Decimal("0")


def _issued(
    organization, lines, *, total, tax_total=ZERO, status="finalized", **figures
):
    """An issued invoice with ``lines`` ``[(kind, amount)]``: lines are written
    while it is a draft, then it is issued with the given figures."""
    invoice = InvoiceFactory(
        customer=CustomerFactory(organization=organization),
        total=total,
    )
    for position, (kind, amount) in enumerate(lines, start=1):
        InvoiceLine.objects.create(
            invoice=invoice,
            position=position,
            kind=kind,
            description=f"{kind} {position}",
            amount=D(amount),
        )
    figures.setdefault("amount_due", total - figures.get("amount_paid", D("0")))
    Invoice.objects.filter(pk=invoice.pk).update(
        status=status,
        number=f"INV-{invoice.pk:06d}",
        tax_total=tax_total,
        **figures,
    )
    invoice.refresh_from_db()
    return invoice


def _line(invoice, position):
    return invoice.lines.get(position=position).pk


def _credit(invoice, *lines, refund_to="", reason="goodwill"):
    return credit_note_create(
        invoice=invoice,
        lines=[(_line(invoice, position), D(amount)) for position, amount in lines],
        reason=reason,
        refund_to=refund_to,
        now=NOW,
    )


def _figures(note) -> tuple:
    return (
        note.subtotal,
        note.tax_amount,
        note.amount,
        note.applied_to_balance,
        note.refunded_amount,
    )


@pytest.fixture
def coupon_vat_invoice(organization):
    """150.00 of charges, a 20 % coupon (-30.00), 20 % VAT on 120.00 (24.00):
    total 144.00."""
    return _issued(
        organization,
        [("usage", "100.00"), ("usage", "50.00"), ("discount", "-30.00"),
         ("tax", "24.00")],
        total=D("144.00"),
        tax_total=D("24.00"),
        subtotal=D("150.00"),
        discount_total=D("30.00"),
    )  # fmt: skip


def test_one_line_with_coupon_and_vat_credits_its_share_of_both(organization):
    invoice = _issued(
        organization,
        [("usage", "100.00"), ("discount", "-20.00"), ("tax", "16.00")],
        total=D("96.00"),
        tax_total=D("16.00"),
    )
    note = _credit(invoice, (1, "100.00"))
    assert note.number == "CN-000001"
    assert note.kind == CreditNote.Kind.PARTIAL
    assert _figures(note) == (D("80.00"), D("16.00"), D("96.00"), D("96.00"), D("0"))
    invoice.refresh_from_db()
    assert (invoice.status, invoice.amount_credited, invoice.amount_due) == (
        "finalized",
        D("96.00"),
        D("0.00"),
    )


def test_notes_round_on_running_figures_and_end_on_the_invoice_tax(
    coupon_vat_invoice,
):
    invoice = coupon_vat_invoice
    first = _credit(invoice, (1, "33.33"))
    # 33.33 x 144 / 150 = 31.9968 -> 32.00; tax 33.33 x 24 / 150 = 5.3328 -> 5.33
    assert _figures(first) == (D("26.67"), D("5.33"), D("32.00"), D("32.00"), D("0"))
    second = _credit(invoice, (1, "66.67"), (2, "50.00"))
    # The rest: 144.00 - 32.00, tax 24.00 - 5.33.
    assert _figures(second) == (
        D("93.33"), D("18.67"), D("112.00"), D("112.00"), D("0")
    )  # fmt: skip
    assert first.tax_amount + second.tax_amount == invoice.tax_total
    assert first.amount + second.amount == invoice.total
    assert [
        (line.invoice_line.position, line.amount) for line in second.lines.all()
    ] == [(1, D("66.67")), (2, D("50.00"))]
    assert second.number == "CN-000002"
    invoice.refresh_from_db()
    assert (invoice.amount_credited, invoice.amount_due) == (D("144.00"), D("0.00"))


def test_three_thirds_never_credit_more_than_the_tax(organization):
    invoice = _issued(
        organization,
        [("usage", "10.00"), ("tax", "1.99")],
        total=D("11.99"),
        tax_total=D("1.99"),
    )
    notes = [_credit(invoice, (1, amount)) for amount in ("3.33", "3.33", "3.34")]
    # 3.33 x 1.99 / 10 = 0.66267 -> 0.66; 6.66 -> 1.32534 -> 1.33; 10 -> 1.99
    assert [note.tax_amount for note in notes] == [D("0.66"), D("0.67"), D("0.66")]
    assert [note.amount for note in notes] == [D("3.99"), D("4.00"), D("4.00")]
    assert sum(note.amount for note in notes) == D("11.99")


def test_settled_part_is_refunded_and_the_invoice_paid(organization):
    invoice = _issued(
        organization,
        [("usage", "100.00")],
        total=D("100.00"),
        amount_paid=D("80.00"),
    )
    with pytest.raises(DomainError) as refused:
        _credit(invoice, (1, "30.00"))
    assert refused.value.field == "refund_to"
    assert not CreditNote.objects.exists()

    note = _credit(invoice, (1, "30.00"), refund_to="payment")
    assert _figures(note) == (D("30.00"), D("0.00"), D("30.00"), D("20.00"), D("10.00"))
    assert note.refund_to == "payment"
    invoice.refresh_from_db()
    assert (invoice.status, invoice.paid_at, invoice.amount_due) == (
        "paid",
        NOW,
        D("0.00"),
    )
    assert (invoice.amount_paid, invoice.amount_credited) == (D("80.00"), D("20.00"))
    assert WebhookEvent.objects.filter(type="invoice.paid").count() == 1


def test_paid_invoice_refund_to_wallet_credits_the_wallet(organization):
    invoice = _issued(
        organization, [("usage", "100.00")], total=D("100.00"), status="paid",
        amount_paid=D("100.00"),
    )  # fmt: skip
    note = _credit(invoice, (1, "25.50"), refund_to="wallet")
    assert _figures(note) == (D("25.50"), D("0.00"), D("25.50"), D("0.00"), D("25.50"))
    wallet = Wallet.objects.get(customer=invoice.customer)
    assert wallet.balance == D("25.50")
    movement = WalletTransaction.objects.get(wallet=wallet)
    assert (movement.kind, movement.amount, movement.credit_note_id) == (
        "refund",
        D("25.50"),
        note.pk,
    )
    invoice.refresh_from_db()
    assert (invoice.status, invoice.amount_due, invoice.amount_credited) == (
        "paid",
        D("0.00"),
        D("0.00"),
    )


def test_fully_credited_unpaid_invoice_keeps_its_status(organization):
    invoice = _issued(
        organization, [("usage", "100.00")], total=D("100.00"), status="overdue"
    )
    _credit(invoice, (1, "100.00"))
    invoice.refresh_from_db()
    assert (invoice.status, invoice.amount_due, invoice.paid_at) == (
        "overdue",
        D("0.00"),
        None,
    )
    assert not WebhookEvent.objects.filter(type="invoice.paid").exists()


def test_void_after_a_partial_note_credits_only_what_is_left(organization):
    invoice = _issued(organization, [("usage", "100.00")], total=D("100.00"))
    _credit(invoice, (1, "30.00"))
    void = services.invoice_void(invoice=invoice, now=NOW, reason="cancelled")
    assert (void.kind, void.number, void.amount) == ("void", "CN-000002", D("70.00"))
    invoice.refresh_from_db()
    assert (invoice.status, invoice.amount_credited, invoice.amount_due) == (
        "void",
        D("100.00"),
        D("0.00"),
    )
    with pytest.raises(DomainError) as refused:
        _credit(invoice, (1, "10.00"))
    assert refused.value.field == "status"


def test_event_carries_the_note_figures(coupon_vat_invoice):
    note = _credit(coupon_vat_invoice, (2, "50.00"))
    event = WebhookEvent.objects.get(type="credit_note.created")
    assert event.key == f"credit_note:{note.pk}"
    data = event.payload["credit_note"]
    assert (data["number"], data["subtotal"], data["tax_amount"], data["amount"]) == (
        "CN-000001", "40.00", "8.00", "48.00"
    )  # fmt: skip
    assert data["lines"] == [
        {"invoice_line_id": _line(coupon_vat_invoice, 2), "amount": "50.00"}
    ]
    assert event.payload["invoice"]["amount_due"] == "96.00"


def _post(client, invoice, lines, **body):
    return client.post(
        f"/api/v1/invoices/{invoice.pk}/credit-notes/",
        {"lines": lines, "reason": "goodwill", **body},
        format="json",
    )


def test_api_creates_lists_reads_and_renders(api_client, coupon_vat_invoice):
    invoice = coupon_vat_invoice
    response = _post(
        api_client, invoice, [{"invoice_line_id": _line(invoice, 1), "amount": "25.00"}]
    )
    assert response.status_code == 201, response.content
    body = response.json()
    body.pop("issued_at")
    note = CreditNote.objects.get()
    assert body == {
        "id": note.pk,
        "number": "CN-000001",
        "invoice_id": invoice.pk,
        "kind": "partial",
        "currency": "USD",
        "subtotal": "20.00",
        "tax_amount": "4.00",
        "amount": "24.00",
        "applied_to_balance": "24.00",
        "refunded_amount": "0.00",
        "refund_to": "",
        "reason": "goodwill",
        "lines": [
            {
                "invoice_line_id": _line(invoice, 1),
                "description": "usage 1",
                "amount": "25.00",
            }
        ],
    }
    listed = api_client.get(f"/api/v1/invoices/{invoice.pk}/credit-notes/").json()
    assert [n["number"] for n in listed["results"]] == ["CN-000001"]
    one = api_client.get(f"/api/v1/credit-notes/{note.pk}/")
    assert one.json()["amount"] == "24.00"
    pdf = api_client.get(f"/api/v1/credit-notes/{note.pk}/pdf")
    assert pdf.status_code == 200
    assert pdf["Content-Type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF")


@pytest.mark.parametrize(
    ("lines", "field"),
    [
        (lambda inv, other: [{"invoice_line_id": other, "amount": "1.00"}],
         "lines[0].invoice_line_id"),
        (lambda inv, other: [{"invoice_line_id": _line(inv, 1), "amount": "1.00"},
                             {"invoice_line_id": _line(inv, 2), "amount": "0.00"}],
         "lines[1].amount"),
        (lambda inv, other: [{"invoice_line_id": _line(inv, 1), "amount": "1.00"},
                             {"invoice_line_id": _line(inv, 1), "amount": "1.00"}],
         "lines[1].invoice_line_id"),
        (lambda inv, other: [{"invoice_line_id": _line(inv, 2), "amount": "50.01"}],
         "lines[0].amount"),
        (lambda inv, other: [{"invoice_line_id": _line(inv, 3), "amount": "1.00"}],
         "lines[0].invoice_line_id"),
        (lambda inv, other: [{"invoice_line_id": _line(inv, 4), "amount": "1.00"}],
         "lines[0].invoice_line_id"),
    ],
)  # fmt: skip
def test_api_bad_lines_are_400s_naming_the_field_and_write_nothing(
    api_client, organization, coupon_vat_invoice, lines, field
):
    other = _issued(organization, [("usage", "5.00")], total=D("5.00"))
    response = _post(
        api_client, coupon_vat_invoice, lines(coupon_vat_invoice, _line(other, 1))
    )
    assert response.status_code == 400, response.content
    assert field in response.json()["errors"], response.json()
    assert not CreditNote.objects.exists()
    assert not InvoiceNumberSequence.objects.filter(kind="credit_note").exists()
    coupon_vat_invoice.refresh_from_db()
    assert coupon_vat_invoice.amount_due == D("144.00")


def test_api_refuses_a_draft_and_a_refund_without_destination(api_client, organization):
    draft = InvoiceFactory(customer=CustomerFactory(organization=organization))
    response = _post(api_client, draft, [{"invoice_line_id": 1, "amount": "1.00"}])
    assert response.status_code == 400
    assert "status" in response.json()["errors"]
    paid = _issued(
        organization, [("usage", "100.00")], total=D("100.00"), status="paid",
        amount_paid=D("100.00"),
    )  # fmt: skip
    line = [{"invoice_line_id": _line(paid, 1), "amount": "10.00"}]
    refused = _post(api_client, paid, line)
    assert refused.status_code == 400
    assert "refund_to" in refused.json()["errors"]
    assert _post(api_client, paid, line, refund_to="payment").status_code == 201


@pytest.mark.django_db(transaction=True)
def test_concurrent_notes_never_credit_a_line_beyond_its_amount(organization):
    invoice = _issued(organization, [("usage", "100.00")], total=D("100.00"))
    line_id = _line(invoice, 1)

    def credit(_):
        try:
            credit_note_create(invoice=invoice, lines=[(line_id, D("30.00"))], now=NOW)
            return True
        except DomainError as error:
            assert error.field == "lines[0].amount", error
            return False
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(credit, range(8)))
    assert results.count(True) == 3
    assert sorted(CreditNote.objects.values_list("number", flat=True)) == [
        "CN-000001", "CN-000002", "CN-000003"
    ]  # fmt: skip
    invoice.refresh_from_db()
    assert (invoice.amount_credited, invoice.amount_due) == (D("90.00"), D("10.00"))


def test_admin_credit_step_issues_a_note_and_shows_refusals(client, organization):
    from django.urls import reverse

    from invoices.tests.factories import staff_member

    invoice = _issued(
        organization, [("usage", "100.00"), ("usage", "20.00")], total=D("120.00")
    )
    staff = staff_member(
        organization, "view_invoice", "void_invoice", "view_creditnote"
    )
    client.force_login(staff)
    page = client.get(reverse("admin:invoices_invoice_change", args=[invoice.pk]))
    credit_url = reverse("admin:invoices_invoice_credit", args=[invoice.pk])
    assert credit_url in page.content.decode()
    first, second = _line(invoice, 1), _line(invoice, 2)

    form = client.post(credit_url)
    assert f'name="line_{first}"' in form.content.decode()
    refused = client.post(
        credit_url, {"confirm": "1", f"line_{second}": "20.01", "reason": "x"}
    )
    assert refused.status_code == 200
    assert list(refused.context["form"].errors) == [f"line_{second}"]
    assert not CreditNote.objects.exists()

    done = client.post(
        credit_url,
        {"confirm": "1", f"line_{first}": "10.00", "reason": "outage"},
    )
    assert done.status_code == 302
    note = CreditNote.objects.get()
    assert (note.amount, note.reason) == (D("10.00"), "outage")
    shown = client.get(done["Location"])
    assert [str(m) for m in shown.context["messages"]] == [
        f"Credit note {note.number} for USD 10.00 on {invoice}."
    ]

    listed = client.get(reverse("admin:invoices_creditnote_changelist"))
    assert note.number in listed.content.decode()
    detail = client.get(reverse("admin:invoices_creditnote_change", args=[note.pk]))
    assert detail.status_code == 200
    pdf = client.get(reverse("admin:invoices_creditnote_pdf", args=[note.pk]))
    assert pdf.content.startswith(b"%PDF")


def test_admin_credit_step_needs_the_void_permission(client, organization):
    from django.urls import reverse

    from invoices.tests.factories import staff_member

    invoice = _issued(organization, [("usage", "100.00")], total=D("100.00"))
    client.force_login(staff_member(organization, "view_invoice"))
    url = reverse("admin:invoices_invoice_credit", args=[invoice.pk])
    assert client.post(url, {"confirm": "1"}).status_code == 403


def test_portal_invoice_lists_its_credit_notes_with_their_pdf(client, organization):
    from django.urls import reverse

    from metering.tests.factories import PortalUserFactory

    invoice = _issued(organization, [("usage", "100.00")], total=D("100.00"))
    note = _credit(invoice, (1, "12.50"), reason="late delivery")
    stranger = _issued(organization, [("usage", "9.00")], total=D("9.00"))
    foreign = _credit(stranger, (1, "1.00"))
    client.force_login(PortalUserFactory(customer=invoice.customer).user)

    page = client.get(reverse("portal:invoice", args=[invoice.pk])).content.decode()
    pdf_url = reverse("portal:credit-note-pdf", args=[note.pk])
    assert note.number in page and "late delivery" in page and pdf_url in page
    pdf = client.get(pdf_url)
    assert (pdf.status_code, pdf.content[:4]) == (200, b"%PDF")
    foreign_url = reverse("portal:credit-note-pdf", args=[foreign.pk])
    assert client.get(foreign_url).status_code == 404
