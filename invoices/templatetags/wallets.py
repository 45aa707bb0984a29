"""The portal's wallet section: ``{% customer_wallet customer as wallet %}``."""

from django import template

from invoices.selectors.wallets import customer_wallet as wallet_of
from invoices.selectors.wallets import wallet_transactions

register = template.Library()

LEDGER_ROWS = 20


@register.simple_tag
def customer_wallet(customer) -> dict:
    """The customer's balance and its latest movements, newest first."""
    wallet = wallet_of(customer=customer)
    movements = wallet_transactions(customer=customer).order_by("-occurred_at", "-id")
    return {
        "wallet": wallet,
        "movements": list(movements[:LEDGER_ROWS]) if wallet.pk else [],
    }
