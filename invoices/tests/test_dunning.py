"""Due dates from the customer's or the organization's terms; invoices past
their due date become overdue once; reminders go out on the listed days after
the due date, each once, and never for a paid invoice."""

from datetime import UTC, date, datetime, time
from decimal import Decimal

import pytest
from django.core import mail

from invoices import services
from invoices.models import CustomerTaxProfile, Invoice, PaymentReminder
from invoices.services.dunning import reminder_day_due
from invoices.tests.factories import InvoiceFactory
from metering.models import WebhookEvent
from metering.tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db


def _at(day: date) -> datetime:
    return datetime.combine(day, time(6), tzinfo=UTC)


@pytest.fixture
def customer(organization):
    return CustomerFactory(
        organization=organization, name="Acme", email="billing@acme.example"
    )


def _issued(customer, *, finalized_on: date, total="100.00") -> Invoice:
    draft = InvoiceFactory(customer=customer, total=Decimal(total))
    return services.invoice_finalize(invoice=draft, now=_at(finalized_on))


def _run(organization, day: date) -> tuple[int, int]:
    now = _at(day)
    return (
        services.invoicing_cycle_run(organization=organization, now=now).overdue,
        len(mail.outbox),
    )


def test_due_date_follows_the_customers_terms_else_the_organizations(
    organization, customer
):
    services.invoicing_settings_update(organization=organization, payment_terms_days=14)
    other = CustomerFactory(organization=organization)
    CustomerTaxProfile.objects.create(
        organization=organization, customer=customer, payment_terms_days=45
    )

    assert _issued(customer, finalized_on=date(2026, 11, 2)).due_on == date(
        2026, 12, 17
    )
    assert _issued(other, finalized_on=date(2026, 11, 2)).due_on == date(2026, 11, 16)


def test_overdue_after_the_due_date_once_with_one_event(organization, customer):
    invoice = _issued(customer, finalized_on=date(2026, 11, 2))  # due 2 Dec
    assert invoice.due_on == date(2026, 12, 2)

    assert _run(organization, date(2026, 12, 2))[0] == 0
    assert _run(organization, date(2026, 12, 3))[0] == 1
    assert _run(organization, date(2026, 12, 4))[0] == 0

    invoice.refresh_from_db()
    assert (invoice.status, invoice.overdue_at) == ("overdue", _at(date(2026, 12, 3)))
    event = WebhookEvent.objects.get(type="invoice.overdue")
    assert (event.key, event.payload["invoice"]["amount_due"]) == (
        f"invoice:{invoice.pk}",
        "100.00",
    )


def test_reminders_on_day_1_and_7_each_once(organization, customer):
    invoice = _issued(customer, finalized_on=date(2026, 11, 2))  # due 2 Dec
    services.invoice_payment_record(
        invoice=invoice,
        amount=Decimal("40.00"),
        paid_at=_at(date(2026, 11, 20)),
        reference="bank-1",
        source="api",
        now=_at(date(2026, 11, 20)),
    )

    sent = [_run(organization, date(2026, 12, day))[1] for day in range(2, 12)]

    # 3 Dec is day 1 after the due date, 9 Dec day 7.
    assert sent == [0, 1, 1, 1, 1, 1, 1, 2, 2, 2]
    assert list(
        PaymentReminder.objects.values_list("days_after_due", "recipient", "sent_at")
    ) == [
        (1, "billing@acme.example", _at(date(2026, 12, 3))),
        (7, "billing@acme.example", _at(date(2026, 12, 9))),
    ]
    first = mail.outbox[0]
    assert (first.subject, first.to) == (
        f"Invoice {invoice.number} is overdue",
        ["billing@acme.example"],
    )
    assert "was due on 02 December 2026; USD 60.00 is still to be paid." in first.body


def test_a_paid_invoice_and_a_customer_without_email_are_not_reminded(
    organization, customer
):
    paid = _issued(customer, finalized_on=date(2026, 11, 2))
    services.invoice_mark_paid(invoice=paid, now=_at(date(2026, 11, 30)))
    silent = _issued(
        CustomerFactory(organization=organization, email=""),
        finalized_on=date(2026, 11, 2),
    )

    assert _run(organization, date(2026, 12, 20)) == (1, 0)

    paid.refresh_from_db()
    silent.refresh_from_db()
    assert (paid.status, silent.status) == ("paid", "overdue")
    assert not PaymentReminder.objects.exists()


def test_after_downtime_only_the_latest_reminder_due_is_sent(organization, customer):
    _issued(customer, finalized_on=date(2026, 11, 2))  # due 2 Dec

    assert _run(organization, date(2026, 12, 20)) == (1, 1)
    assert _run(organization, date(2026, 12, 21)) == (0, 1)

    assert list(PaymentReminder.objects.values_list("days_after_due", flat=True)) == [
        14
    ]


def test_a_leap_day_due_date(organization, customer):
    services.invoicing_settings_update(organization=organization, payment_terms_days=29)
    invoice = _issued(customer, finalized_on=date(2028, 1, 31))
    assert invoice.due_on == date(2028, 2, 29)

    assert _run(organization, date(2028, 2, 29)) == (0, 0)
    assert _run(organization, date(2028, 3, 1)) == (1, 1)


@pytest.mark.parametrize(
    ("days_late", "expected"),
    [(-3, None), (0, None), (1, 1), (6, 1), (7, 7), (13, 7), (14, 14), (400, 14)],
)
def test_the_reminder_day_due(days_late, expected):
    assert reminder_day_due(reminder_days=[1, 7, 14], days_late=days_late) == expected
