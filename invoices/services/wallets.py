"""Customers' wallets of prepaid credits.

Every movement is one ``WalletTransaction`` row written under the wallet's row
lock, with the balance it leaves: credits (top-ups, refunds from credit notes)
raise it and keep what is left of them in ``remaining``; applying credits to an
invoice at finalization and expiring them lower it. Spending takes from the
unexpired credits that expire first (never-expiring ones last, then the oldest).
The balance never goes below zero (service check and database constraint).
When a debit takes the balance from at least the organization's
``wallet_low_balance`` to below it, ``wallet.low_balance`` is emitted once.
"""

from datetime import datetime
from decimal import Decimal

from django.db import transaction
from django.db.models import F, Q

from billing_site.errors import DomainError
from billing_site.money import quantize_money
from invoices import selectors
from invoices.models import CreditNote, Invoice, Wallet, WalletTransaction
from invoices.services.events import invoice_settle
from metering.models import Customer, Organization, WebhookEvent
from metering.services import webhook_event_emit

Kind = WalletTransaction.Kind


def _locked_wallet(*, customer: Customer) -> Wallet:
    """The customer's wallet, created in the organization's currency if missing,
    row-locked until the end of the transaction."""
    Wallet.objects.get_or_create(
        customer=customer,
        defaults={
            "organization_id": customer.organization_id,
            "currency": customer.organization.currency,
        },
    )
    return Wallet.objects.select_for_update().get(customer=customer)


def wallet_credit(
    *,
    customer: Customer,
    amount: Decimal,
    kind: str,
    now: datetime,
    expires_at: datetime | None = None,
    paid: bool = False,
    credit_note: CreditNote | None = None,
) -> WalletTransaction:
    """Add ``amount`` of credits (a ``top_up`` or a ``refund`` from a credit note)
    to the customer's wallet, spendable until ``expires_at`` (never if None)."""
    if kind not in WalletTransaction.CREDITS:
        raise DomainError(f"{kind!r} is not a credit.", field="kind")
    if amount <= 0:
        raise DomainError("Must be more than 0.", field="amount")
    if expires_at is not None and expires_at <= now:
        raise DomainError("Must be in the future.", field="expires_at")
    with transaction.atomic():
        wallet = _locked_wallet(customer=customer)
        if quantize_money(amount, wallet.currency) != amount:
            raise DomainError(
                f"Use at most the decimals of {wallet.currency}'s minor unit.",
                field="amount",
            )
        wallet.balance += amount
        movement = WalletTransaction(
            organization_id=wallet.organization_id,
            wallet=wallet,
            kind=kind,
            amount=amount,
            balance_after=wallet.balance,
            remaining=amount,
            paid=paid,
            expires_at=expires_at,
            credit_note=credit_note,
            occurred_at=now,
        )
        movement.full_clean()
        movement.save()
        wallet.save(update_fields=["balance", "updated_at"])
        return movement


def _spendable(wallet: Wallet, now: datetime):
    """The wallet's unexpired credits with something left, in spending order,
    row-locked."""
    return (
        WalletTransaction.objects.select_for_update()
        .filter(wallet=wallet, remaining__gt=0)
        .filter(Q(expires_at__isnull=True) | Q(expires_at__gt=now))
        .order_by(F("expires_at").asc(nulls_last=True), "occurred_at", "id")
    )


def _debit(
    *,
    wallet: Wallet,
    kind: str,
    amount: Decimal,
    now: datetime,
    invoice: Invoice | None = None,
) -> WalletTransaction:
    """Write a debit of ``amount`` (positive) on the locked ``wallet`` and emit
    ``wallet.low_balance`` if it crosses the organization's threshold."""
    if amount > wallet.balance:
        raise DomainError(
            f"More than the wallet's balance, {wallet.balance} {wallet.currency}.",
            field="amount",
        )
    before = wallet.balance
    wallet.balance -= amount
    movement = WalletTransaction(
        organization_id=wallet.organization_id,
        wallet=wallet,
        kind=kind,
        amount=-amount,
        balance_after=wallet.balance,
        remaining=Decimal("0"),
        invoice=invoice,
        occurred_at=now,
    )
    movement.full_clean()
    movement.save()
    wallet.save(update_fields=["balance", "updated_at"])
    organization = wallet.customer.organization
    threshold = selectors.invoicing_settings_for(
        organization=organization
    ).wallet_low_balance
    if threshold is not None and before >= threshold > wallet.balance:
        webhook_event_emit(
            organization=organization,
            type=WebhookEvent.Type.WALLET_LOW_BALANCE,
            payload={
                "customer_id": wallet.customer.external_id,
                "currency": wallet.currency,
                "balance": str(wallet.balance),
                "threshold": str(threshold),
            },
            now=now,
            key=f"wallet_transaction:{movement.pk}",
        )
    return movement


@transaction.atomic
def wallet_apply_to_invoice(
    *, invoice: Invoice, now: datetime
) -> WalletTransaction | None:
    """Spend the customer's unexpired credits on the just-finalized ``invoice``,
    up to its amount due, as one ``applied`` movement; the invoice is ``paid``
    when nothing is left due. None when there is nothing to apply."""
    invoice = Invoice.objects.select_for_update(of=("self",)).get(pk=invoice.pk)
    if not invoice.is_open or invoice.amount_due <= 0:
        return None
    wallet = (
        Wallet.objects.select_for_update()
        .filter(customer_id=invoice.customer_id)
        .first()
    )
    if wallet is None or wallet.currency != invoice.currency:
        return None
    left = invoice.amount_due
    taken = Decimal("0")
    for credit in _spendable(wallet, now):
        if left <= 0:
            break
        part = min(left, credit.remaining)
        credit.remaining -= part
        credit.save(update_fields=["remaining"])
        taken += part
        left -= part
    if taken <= 0:
        return None
    movement = _debit(
        wallet=wallet, kind=Kind.APPLIED, amount=taken, now=now, invoice=invoice
    )
    invoice_settle(invoice=invoice, column="credits_applied", amount=taken, now=now)
    return movement


def wallet_credits_expire(*, organization: Organization, now: datetime) -> int:
    """Expire what is left of the organization's credits whose expiry has
    passed, one ``expired`` movement each; returns how many."""
    count = 0
    wallet_ids = (
        WalletTransaction.objects.filter(
            organization=organization, remaining__gt=0, expires_at__lte=now
        )
        .values_list("wallet_id", flat=True)
        .distinct()
    )
    for wallet_id in list(wallet_ids):
        with transaction.atomic():
            wallet = Wallet.objects.select_for_update().get(pk=wallet_id)
            credits = WalletTransaction.objects.select_for_update().filter(
                wallet=wallet, remaining__gt=0, expires_at__lte=now
            )
            for credit in credits.order_by("expires_at", "id"):
                amount = credit.remaining
                credit.remaining = Decimal("0")
                credit.save(update_fields=["remaining"])
                _debit(wallet=wallet, kind=Kind.EXPIRED, amount=amount, now=now)
                count += 1
    return count
