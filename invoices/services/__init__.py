"""Writes of invoicing: generation, the invoice lifecycle, charges, subscriptions.

Lifecycle: ``draft`` -> ``finalized`` (-> ``overdue``) -> ``paid``, or
``finalized`` -> ``void`` (with a credit note). Drafts are (re)generated from usage
until they are finalized, by an admin or automatically once the organization's
grace window after the period has passed; issued invoices never change again but
for their payments and credits; late usage goes to a later invoice as an
adjustment line.

Split by sub-domain; callers import from here:

- ``generation``: (re)generating a closed period's drafts, upgrade offers;
- ``draft_storage``: the bulk SQL writes of generated drafts and their lines;
- ``lifecycle``: finalize, void, the periodic cycle, invoicing settings;
- ``payments``: payments received for invoices (idempotent by reference);
- ``credit_notes``: partial credit notes of issued invoices;
- ``commercial``: tax rates, customers' tax profiles, coupons and their redemption;
- ``charges``: subscriptions and provider charges (one or a CSV import);
- ``spend_alerts``: customers' running bills against their spend alerts;
- ``wallets``: customers' prepaid credits, applied to invoices at finalization.

Invoice events reach the organization's webhook endpoints through metering's
``webhook_event_emit``.
"""

from invoices.documents import LINE_COLUMNS, SNAPSHOT_COLUMNS
from invoices.services.charges import (
    CSV_COLUMNS,
    ImportResult,
    provider_charge_create,
    provider_charges_import,
    subscription_create,
)
from invoices.services.commercial import (
    coupon_create,
    coupon_redeem,
    customer_tax_profile_update,
    tax_rate_create,
)
from invoices.services.credit_notes import credit_note_create
from invoices.services.draft_storage import INVOICE_COLUMNS
from invoices.services.generation import (
    CHUNK_SIZE,
    GenerationResult,
    invoices_generate,
    invoices_generate_fanout,
)
from invoices.services.lifecycle import (
    CycleResult,
    FinalizeOutcome,
    invoice_finalize,
    invoice_void,
    invoices_finalize,
    invoicing_cycle_run,
    invoicing_settings_update,
)
from invoices.services.payments import invoice_mark_paid, invoice_payment_record
from invoices.services.spend_alerts import spend_alerts_evaluate
from invoices.services.wallets import (
    wallet_apply_to_invoice,
    wallet_credit,
    wallet_credits_expire,
)

__all__ = [
    "coupon_create",
    "coupon_redeem",
    "customer_tax_profile_update",
    "tax_rate_create",
    "CHUNK_SIZE",
    "credit_note_create",
    "CSV_COLUMNS",
    "CycleResult",
    "FinalizeOutcome",
    "GenerationResult",
    "ImportResult",
    "INVOICE_COLUMNS",
    "invoice_finalize",
    "invoice_mark_paid",
    "invoice_payment_record",
    "invoice_void",
    "invoices_finalize",
    "invoices_generate",
    "invoices_generate_fanout",
    "invoicing_cycle_run",
    "invoicing_settings_update",
    "LINE_COLUMNS",
    "provider_charge_create",
    "provider_charges_import",
    "SNAPSHOT_COLUMNS",
    "spend_alerts_evaluate",
    "subscription_create",
    "wallet_apply_to_invoice",
    "wallet_credit",
    "wallet_credits_expire",
]
