"""Wallets of prepaid credits: top-ups, spending at finalization in expiry
order, expiry, the low-balance event, the API, and exact balances under
concurrent movements."""

import threading
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from django.db import connection

from billing_site.errors import DomainError
from invoices import services
from invoices.models import Invoice, InvoicingSettings, Wallet, WalletTransaction
from invoices.tests.factories import InvoiceFactory
from metering.models import WebhookEvent
from metering.tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 11, 1, 12, tzinfo=UTC)
TOP_UP = WalletTransaction.Kind.TOP_UP


def _top_up(customer, amount, *, days=None, now=NOW):
    return services.wallet_credit(
        customer=customer,
        amount=Decimal(amount),
        kind=TOP_UP,
        now=now,
        expires_at=now + timedelta(days=days) if days is not None else None,
    )


def test_credit_creates_the_wallet_in_the_organizations_currency(organization):
    customer = CustomerFactory(organization=organization)
    first = _top_up(customer, "30.00", days=10)
    second = services.wallet_credit(
        customer=customer, amount=Decimal("50.00"), kind=TOP_UP, now=NOW, paid=True
    )
    wallet = Wallet.objects.get(customer=customer)
    assert (wallet.currency, wallet.balance) == (
        organization.currency,
        Decimal("80.00"),
    )
    assert [
        (m.amount, m.remaining, m.balance_after, m.paid) for m in (first, second)
    ] == [
        (Decimal("30.00"), Decimal("30.00"), Decimal("30.00"), False),
        (Decimal("50.00"), Decimal("50.00"), Decimal("80.00"), True),
    ]
    assert first.expires_at == NOW + timedelta(days=10)


@pytest.mark.parametrize(
    ("amount", "expires_at", "field"),
    [
        ("0", None, "amount"),
        ("-5", None, "amount"),
        ("1.005", None, "amount"),
        ("5", NOW, "expires_at"),
    ],
)
def test_credit_refuses_bad_input(organization, amount, expires_at, field):
    customer = CustomerFactory(organization=organization)
    with pytest.raises(DomainError) as raised:
        services.wallet_credit(
            customer=customer,
            amount=Decimal(amount),
            kind=TOP_UP,
            now=NOW,
            expires_at=expires_at,
        )
    assert raised.value.field == field
    assert not WalletTransaction.objects.exists()


def _finalized(customer, total, month=10):
    return InvoiceFactory(
        customer=customer,
        finalized=True,
        total=Decimal(total),
        period_start=date(2026, month, 1),
        period_end=date(2026, month, 28),
    )


def test_credits_pay_an_invoice_soonest_expiring_first(organization):
    customer = CustomerFactory(organization=organization)
    expiring = _top_up(customer, "30.00", days=10)
    lasting = _top_up(customer, "50.00")
    invoice = _finalized(customer, "64.00")

    applied = services.wallet_apply_to_invoice(invoice=invoice, now=NOW)

    invoice.refresh_from_db()
    assert (invoice.credits_applied, invoice.amount_due, invoice.status) == (
        Decimal("64.00"), Decimal("0.00"), Invoice.Status.PAID
    )  # fmt: skip
    assert invoice.paid_at == NOW
    expiring.refresh_from_db()
    lasting.refresh_from_db()
    assert (expiring.remaining, lasting.remaining) == (
        Decimal("0.00"),
        Decimal("16.00"),
    )
    assert (applied.kind, applied.amount, applied.balance_after, applied.invoice) == (
        WalletTransaction.Kind.APPLIED, Decimal("-64.00"), Decimal("16.00"), invoice
    )  # fmt: skip
    assert Wallet.objects.get(customer=customer).balance == Decimal("16.00")
    paid = WebhookEvent.objects.get(type=WebhookEvent.Type.INVOICE_PAID)
    assert paid.payload["invoice"]["amount_due"] == "0.00"


def test_credits_short_of_the_total_leave_the_rest_due(organization):
    customer = CustomerFactory(organization=organization)
    _top_up(customer, "50.00")
    invoice = _finalized(customer, "100.00")

    services.wallet_apply_to_invoice(invoice=invoice, now=NOW)

    invoice.refresh_from_db()
    assert (invoice.credits_applied, invoice.amount_due, invoice.status) == (
        Decimal("50.00"), Decimal("50.00"), Invoice.Status.FINALIZED
    )  # fmt: skip
    assert Wallet.objects.get(customer=customer).balance == Decimal("0.00")
    assert not WebhookEvent.objects.filter(type=WebhookEvent.Type.INVOICE_PAID).exists()


def test_expired_credits_are_not_spent_and_expire_once(organization):
    customer = CustomerFactory(organization=organization)
    _top_up(customer, "30.00", days=1)
    _top_up(customer, "20.00")
    later = NOW + timedelta(days=2)
    invoice = _finalized(customer, "25.00")

    services.wallet_apply_to_invoice(invoice=invoice, now=later)
    invoice.refresh_from_db()
    assert (invoice.credits_applied, invoice.amount_due) == (
        Decimal("20.00"), Decimal("5.00")
    )  # fmt: skip

    assert services.wallet_credits_expire(organization=organization, now=later) == 1
    assert services.wallet_credits_expire(organization=organization, now=later) == 0
    expired = WalletTransaction.objects.get(kind=WalletTransaction.Kind.EXPIRED)
    assert (expired.amount, expired.balance_after) == (
        Decimal("-30.00"),
        Decimal("0.00"),
    )
    assert Wallet.objects.get(customer=customer).balance == Decimal("0.00")


def test_low_balance_is_emitted_once_per_crossing(organization):
    InvoicingSettings.objects.create(
        organization=organization, wallet_low_balance=Decimal("20.00")
    )
    customer = CustomerFactory(organization=organization)
    _top_up(customer, "50.00")
    services.wallet_apply_to_invoice(invoice=_finalized(customer, "25.00"), now=NOW)
    assert not WebhookEvent.objects.filter(type=WebhookEvent.Type.WALLET_LOW_BALANCE)
    services.wallet_apply_to_invoice(invoice=_finalized(customer, "10.00", 9), now=NOW)
    services.wallet_apply_to_invoice(invoice=_finalized(customer, "5.00", 8), now=NOW)
    events = WebhookEvent.objects.filter(type=WebhookEvent.Type.WALLET_LOW_BALANCE)
    assert [e.payload["balance"] for e in events] == ["15.00"]
    _top_up(customer, "30.00")  # 40.00, above again
    services.wallet_apply_to_invoice(invoice=_finalized(customer, "35.00", 7), now=NOW)
    assert sorted(e.payload["balance"] for e in events.all()) == ["15.00", "5.00"]


def test_finalizing_a_draft_spends_the_wallet(organization):
    customer = CustomerFactory(organization=organization)
    _top_up(customer, "30.00", days=10)
    _top_up(customer, "50.00")
    draft = InvoiceFactory(customer=customer, total=Decimal("64.00"))

    invoice = services.invoice_finalize(invoice=draft, now=NOW)

    assert (invoice.credits_applied, invoice.amount_due, invoice.status) == (
        Decimal("64.00"), Decimal("0.00"), Invoice.Status.PAID
    )  # fmt: skip
    assert list(
        WalletTransaction.objects.filter(kind=TOP_UP).values_list(
            "remaining", flat=True
        )
    ) == [Decimal("0.00"), Decimal("16.00")]
    assert Wallet.objects.get(customer=customer).balance == Decimal("16.00")
    assert list(WebhookEvent.objects.order_by("id").values_list("type", flat=True)) == [
        "invoice.finalized",
        "invoice.paid",
    ]


def test_finalizing_without_a_wallet_leaves_the_invoice_due(organization):
    draft = InvoiceFactory(
        customer=CustomerFactory(organization=organization), total=Decimal("100.00")
    )
    invoice = services.invoice_finalize(invoice=draft, now=NOW)
    assert (invoice.credits_applied, invoice.amount_due, invoice.status) == (
        Decimal("0.00"), Decimal("100.00"), Invoice.Status.FINALIZED
    )  # fmt: skip


@pytest.mark.clock("2026-11-01T12:00:00+00:00")
def test_top_up_then_read_the_wallet_and_its_ledger(api_client, organization):
    customer = CustomerFactory(organization=organization, external_id="cus_w")
    url = "/api/v1/customers/cus_w/wallet/"
    assert api_client.get(url).json() == {
        "customer_id": "cus_w", "currency": organization.currency, "balance": "0.00"
    }  # fmt: skip
    response = api_client.post(
        url + "top-ups/",
        {"amount": "30.00", "paid": True, "expires_at": "2026-11-11T12:00:00Z"},
        format="json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["kind"], body["amount"], body["balance_after"], body["paid"]) == (
        "top_up", "30.00", "30.00", True
    )  # fmt: skip
    api_client.post(url + "top-ups/", {"amount": "50.00"}, format="json")
    assert api_client.get(url).json()["balance"] == "80.00"
    ledger = api_client.get(url + "transactions/").json()
    assert ledger["count"] == 2
    assert [
        (m["amount"], m["remaining"], m["expires_at"]) for m in ledger["results"]
    ] == [
        ("30.00", "30.00", "2026-11-11T12:00:00Z"),
        ("50.00", "50.00", None),
    ]
    assert Wallet.objects.get(customer=customer).balance == Decimal("80.00")


@pytest.mark.clock("2026-11-01T12:00:00+00:00")
@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"amount": "0"}, "amount"),
        ({"amount": "-1.00"}, "amount"),
        ({"amount": "1.001"}, "amount"),
        ({"amount": "abc"}, "amount"),
        ({}, "amount"),
        ({"amount": "5", "expires_at": "2026-11-01T11:00:00Z"}, "expires_at"),
        ({"amount": "5", "expires_at": "soon"}, "expires_at"),
        ({"amount": "5", "paid": "maybe"}, "paid"),
    ],
)
def test_top_up_refuses_bad_input_naming_the_field(
    api_client, organization, body, field
):
    CustomerFactory(organization=organization, external_id="cus_w")
    response = api_client.post(
        "/api/v1/customers/cus_w/wallet/top-ups/", body, format="json"
    )
    assert response.status_code == 400, response.content
    assert field in response.json()["errors"]
    assert not WalletTransaction.objects.exists()


def test_another_organizations_customer_is_not_found(api_client, other_organization):
    CustomerFactory(organization=other_organization, external_id="cus_x")
    base = "/api/v1/customers/cus_x/wallet/"
    assert api_client.get(base).status_code == 404
    assert api_client.get(base + "transactions/").status_code == 404
    response = api_client.post(base + "top-ups/", {"amount": "5"}, format="json")
    assert response.status_code == 404
    assert not Wallet.objects.exists()


def test_the_periodic_task_expires_every_organizations_credits(
    organization, other_organization
):
    from invoices.tasks import wallet_credits_expire_all

    _top_up(CustomerFactory(organization=organization), "12.00", days=1)
    _top_up(CustomerFactory(organization=other_organization), "7.50", days=3)
    _top_up(CustomerFactory(organization=other_organization), "9.00")

    later = NOW + timedelta(days=2)
    assert wallet_credits_expire_all(later.isoformat()) == 1
    assert wallet_credits_expire_all((NOW + timedelta(days=3)).isoformat()) == 1
    assert sorted(Wallet.objects.values_list("balance", flat=True)) == [
        Decimal("0.00"), Decimal("0.00"), Decimal("9.00")
    ]  # fmt: skip


@pytest.mark.django_db(transaction=True)
def test_concurrent_top_ups_and_invoices_keep_the_ledger_exact(organization):
    customer = CustomerFactory(organization=organization)
    _top_up(customer, "20.00")
    invoices = [_finalized(customer, "15.00", month) for month in (1, 2, 3, 4)]
    start = threading.Barrier(8)

    def top_up():
        try:
            start.wait()
            _top_up(customer, "10.00")
        finally:
            connection.close()

    def spend(invoice):
        try:
            start.wait()
            services.wallet_apply_to_invoice(invoice=invoice, now=NOW)
        finally:
            connection.close()

    threads = [threading.Thread(target=top_up) for _ in range(4)]
    threads += [threading.Thread(target=spend, args=(i,)) for i in invoices]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    wallet = Wallet.objects.get(customer=customer)
    movements = list(wallet.transactions.order_by("id"))
    spent = Invoice.objects.filter(
        pk__in=[i.pk for i in invoices], credits_applied__gt=0
    ).count()
    assert len(movements) == 5 + spent  # one row per top-up and per invoice paid
    assert wallet.balance == sum(m.amount for m in movements)
    assert min(m.balance_after for m in movements) >= 0
    running = Decimal("0")
    for movement in movements:
        running += movement.amount
        assert movement.balance_after == running
    applied = sum(
        Invoice.objects.filter(pk__in=[i.pk for i in invoices]).values_list(
            "credits_applied", flat=True
        ),
        Decimal("0"),
    )
    # 60.00 of credits for 60.00 of invoices: all of it is spent, in some order.
    assert applied == Decimal("60.00") - wallet.balance
    assert wallet.balance == sum(m.remaining for m in movements)


@pytest.fixture
def staff_client(client):
    from metering.tests.factories import UserFactory

    client.force_login(UserFactory(staff=True))
    return client


@pytest.mark.clock("2026-11-01T12:00:00+00:00")
def test_admin_tops_up_and_shows_the_ledger_read_only(staff_client, organization):
    from django.urls import reverse

    customer = CustomerFactory(organization=organization)
    add = reverse("admin:invoices_wallet_add")
    response = staff_client.post(
        add, {"customer": customer.pk, "amount": "25.00", "paid": "on"}
    )
    wallet = Wallet.objects.get(customer=customer)
    assert response.status_code == 302
    assert response["Location"] == reverse(
        "admin:invoices_wallet_change", args=[wallet.pk]
    )
    staff_client.post(add, {"customer": customer.pk, "amount": "5.50"})
    wallet.refresh_from_db()
    assert wallet.balance == Decimal("30.50")
    assert list(wallet.transactions.values_list("amount", "paid")) == [
        (Decimal("25.00"), True), (Decimal("5.50"), False)
    ]  # fmt: skip

    refused = staff_client.post(
        add,
        {"customer": customer.pk, "amount": "5", "expires_at": "2026-10-01 00:00"},
        follow=True,
    )
    assert "was not topped up: Must be in the future." in refused.content.decode()
    assert wallet.transactions.count() == 2

    page = staff_client.get(reverse("admin:invoices_wallet_change", args=[wallet.pk]))
    content = page.content.decode()
    assert "30.50" in content and "Top up this wallet" in content
    assert "transactions-0-amount" not in content  # no editable movement
    listed = staff_client.get(reverse("admin:invoices_wallet_changelist"))
    assert customer.name in listed.content.decode()
    delete = reverse("admin:invoices_wallet_delete", args=[wallet.pk])
    assert staff_client.post(delete, {"post": "yes"}).status_code == 403


@pytest.mark.clock("2026-11-01T12:00:00+00:00")
def test_portal_shows_the_credit_balance_and_ledger(client, organization):
    from metering.tests.factories import PortalUserFactory

    customer = CustomerFactory(organization=organization)
    client.force_login(PortalUserFactory(customer=customer).user)
    assert 'id="wallet"' not in client.get("/portal/invoices/").content.decode()

    _top_up(customer, "30.00", days=10)
    _top_up(customer, "50.00")
    services.wallet_apply_to_invoice(invoice=_finalized(customer, "64.00"), now=NOW)
    page = client.get("/portal/invoices/").content.decode()
    ledger = page[page.index('id="wallet"') :]
    assert 'id="wallet-balance">USD 16.00<' in ledger
    for text in ("Applied to an invoice", "2026-11-11", "-64.00", "80.00"):
        assert text in ledger, text
