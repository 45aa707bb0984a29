"""Payments received for issued invoices.

A payment lowers its invoice's ``amount_due`` by its amount in the same
transaction, under the invoice's row lock, so concurrent payments never take an
invoice below zero. Recording is idempotent by the payment's ``reference`` (the
provider's or the bank's): the same reference for the same invoice and amount
returns the payment already stored; for anything else it is a conflict. When the
amount due reaches zero the invoice is ``paid`` and ``invoice.paid`` is emitted.
"""

import json
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation

from django.db import IntegrityError, transaction
from django.utils.dateparse import parse_datetime

from billing_site.errors import Conflict, DomainError, InvalidTransition
from billing_site.money import quantize_money
from invoices import selectors
from invoices.models import Invoice, Payment
from invoices.services.events import invoice_settle
from metering import webhook_signing
from metering.models import Organization


def _stored(*, invoice: Invoice, reference: str, amount: Decimal) -> Payment | None:
    """The payment already recorded under ``reference``, if it is this one."""
    stored = Payment.objects.filter(
        organization_id=invoice.organization_id, reference=reference
    ).first()
    if stored is None:
        return None
    if stored.invoice_id != invoice.pk or stored.amount != amount:
        raise Conflict(
            f"Reference {reference!r} was already used for another payment "
            f"({stored.amount} {stored.currency} on invoice {stored.invoice_id}).",
            field="reference",
        )
    return stored


def invoice_payment_record(
    *,
    invoice: Invoice,
    amount: Decimal,
    paid_at: datetime,
    reference: str,
    source: str,
    now: datetime,
) -> tuple[Payment, bool]:
    """Record ``amount`` paid for the open ``invoice``; returns the payment and
    whether it is new (``False``: the reference was already recorded for it)."""
    reference = reference.strip()
    if not reference:
        raise DomainError("A payment needs its reference.", field="reference")
    if amount <= 0:
        raise DomainError("Must be more than 0.", field="amount")
    if quantize_money(amount, invoice.currency) != amount:
        raise DomainError(
            f"Use at most the decimals of {invoice.currency}'s minor unit.",
            field="amount",
        )
    try:
        with transaction.atomic():
            return _record(
                invoice=invoice,
                amount=amount,
                paid_at=paid_at,
                reference=reference,
                source=source,
                now=now,
            )
    except IntegrityError:
        # Another request stored the reference between the check and the insert.
        stored = _stored(invoice=invoice, reference=reference, amount=amount)
        if stored is None:
            raise
        return stored, False


def _record(*, invoice, amount, paid_at, reference, source, now):
    invoice = Invoice.objects.select_for_update(of=("self",)).get(pk=invoice.pk)
    stored = _stored(invoice=invoice, reference=reference, amount=amount)
    if stored is not None:
        return stored, False
    name = invoice.number or invoice.pk
    if not invoice.is_open:
        raise InvalidTransition(
            f"invoice {name} is {invoice.status}, it takes no payment",
            field="status",
        )
    if amount > invoice.amount_due:
        raise DomainError(
            f"More than the amount due of invoice {name}, "
            f"{invoice.amount_due} {invoice.currency}.",
            field="amount",
        )
    payment = Payment.objects.create(
        organization_id=invoice.organization_id,
        invoice=invoice,
        amount=amount,
        currency=invoice.currency,
        paid_at=paid_at,
        reference=reference,
        source=source,
    )
    invoice_settle(
        invoice=invoice, column="amount_paid", amount=amount, now=now, paid_at=paid_at
    )
    return payment, True


def invoice_mark_paid(*, invoice: Invoice, now: datetime) -> Invoice:
    """Record that the customer paid what the open invoice still asks for, as a
    payment entered by staff (its reference names the invoice and the instant)."""
    invoice = Invoice.objects.get(pk=invoice.pk)
    if not invoice.is_open or invoice.amount_due <= 0:
        raise InvalidTransition(
            f"invoice {invoice.number or invoice.pk} is {invoice.status}, "
            "cannot mark it paid",
            field="status",
        )
    invoice_payment_record(
        invoice=invoice,
        amount=invoice.amount_due,
        paid_at=now,
        reference=f"{invoice.number}/settled/{now:%Y%m%dT%H%M%S.%f}",
        source=Payment.Source.ADMIN,
        now=now,
    )
    return Invoice.objects.get(pk=invoice.pk)


class UnsignedRequest(DomainError):
    """An inbound provider request whose signature does not verify."""


@dataclass(frozen=True)
class ProviderEvent:
    """A payment provider's event, parsed from its signed body."""

    type: str
    invoice_number: str = ""
    amount: Decimal | None = None
    currency: str = ""
    reference: str = ""
    paid_at: datetime | None = None


PAYMENT_SUCCEEDED = "payment.succeeded"


def provider_payment_receive(
    *, organization: Organization, headers: dict, body: bytes, now: datetime
) -> tuple[Payment | None, bool]:
    """Record the payment a provider's signed ``payment.succeeded`` event
    reports (source ``provider``; idempotent by its reference like any
    payment). Other event types are acknowledged and ignored: ``(None,
    False)``. The signature is checked first, against
    ``InvoicingSettings.payment_webhook_secret``; without a secret every
    request is refused."""
    secret = selectors.invoicing_settings_for(
        organization=organization
    ).payment_webhook_secret
    try:
        webhook_signing.verify(
            secret=secret,
            headers={name.lower(): value for name, value in headers.items()},
            body=body,
            now_seconds=int(now.timestamp()),
        )
    except ValueError as error:
        raise UnsignedRequest(str(error), field="webhook-signature") from None
    event = provider_event_parse(body)
    if event.type != PAYMENT_SUCCEEDED:
        return None, False
    invoice = (
        Invoice.objects.filter(organization=organization, number=event.invoice_number)
        .exclude(number="")
        .first()
    )
    if invoice is None:
        raise DomainError(
            f"No issued invoice {event.invoice_number!r}.", field="data.invoice_number"
        )
    if event.currency != invoice.currency:
        raise DomainError(
            f"Invoice {invoice.number} is in {invoice.currency}.",
            field="data.currency",
        )
    return invoice_payment_record(
        invoice=invoice,
        amount=event.amount,
        paid_at=event.paid_at,
        reference=event.reference,
        source=Payment.Source.PROVIDER,
        now=now,
    )


def provider_event_parse(body: bytes) -> ProviderEvent:
    """The event of a provider's JSON body (``DomainError`` naming the field)."""
    try:
        document = json.loads(body)
    except (UnicodeDecodeError, ValueError):
        raise DomainError("The body is not JSON.", field="body") from None
    if not isinstance(document, dict) or not isinstance(document.get("type"), str):
        raise DomainError("An event has a type.", field="type")
    if document["type"] != PAYMENT_SUCCEEDED:
        return ProviderEvent(type=document["type"])
    data = document.get("data")
    if not isinstance(data, dict):
        raise DomainError("A payment event has its data.", field="data")
    texts = {}
    for name in ("invoice_number", "amount", "currency", "reference", "paid_at"):
        value = data.get(name)
        if not isinstance(value, str) or not value or len(value) > 128:
            raise DomainError("Required, a string.", field=f"data.{name}")
        texts[name] = value
    try:
        amount = Decimal(texts["amount"])
    except InvalidOperation:
        amount = None
    if amount is None or not amount.is_finite():
        raise DomainError("A decimal number.", field="data.amount")
    try:
        paid_at = parse_datetime(texts["paid_at"])
    except ValueError:
        paid_at = None
    if paid_at is None or paid_at.tzinfo is None:
        raise DomainError(
            "An ISO 8601 date-time with its offset.", field="data.paid_at"
        )
    return ProviderEvent(
        type=PAYMENT_SUCCEEDED,
        invoice_number=texts["invoice_number"],
        amount=amount,
        currency=texts["currency"],
        reference=texts["reference"],
        paid_at=paid_at,
    )
