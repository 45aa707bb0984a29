"""The invoice document is declared once: the snapshot's and the rated line's fields
are the columns the bulk writers store, and once an invoice is issued the database
refuses a change of any column but its lifecycle ones."""

import importlib
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.db import DatabaseError, transaction

from invoices import services
from invoices.documents import (
    LIFECYCLE_FIELDS,
    SNAPSHOT_COLUMNS,
    InvoiceSnapshot,
)
from invoices.models import Invoice, InvoiceLine
from invoices.rating import RatedLine, Rating
from invoices.services import draft_storage
from invoices.tests.conftest import AFTER_OCTOBER, OCTOBER
from metering.tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db

SNAPSHOT = InvoiceSnapshot(
    currency="EUR",
    subtotal=Decimal("12.30"),
    discount_total=Decimal("2.46"),
    tax_total=Decimal("1.21"),
    total=Decimal("11.05"),
    amount_due=Decimal("11.05"),
    customer_name="Tab\there, new\nline, back\\slash",
    customer_external_id="x-1",
    customer_tax_id="DE 123\t456",
    customer_country="DE",
    billing_model_name="Plan A",
    lines_digest="0" * 32,
    rated_at=AFTER_OCTOBER,
)
RERATED = InvoiceSnapshot(
    currency="GBP",
    subtotal=Decimal("20.00"),
    discount_total=Decimal("0.01"),
    tax_total=Decimal("3.33"),
    total=Decimal("19.99"),
    amount_due=Decimal("19.99"),
    customer_name="Renamed",
    customer_external_id="x-2",
    customer_tax_id="GB 999",
    customer_country="GB",
    billing_model_name="Plan B",
    lines_digest="f" * 32,
    rated_at=AFTER_OCTOBER + timedelta(hours=1),
)


def _stored(invoice_id: int) -> InvoiceSnapshot:
    return InvoiceSnapshot(
        **Invoice.objects.filter(pk=invoice_id).values(*SNAPSHOT_COLUMNS).get()
    )


def _new_draft(organization, snapshot: InvoiceSnapshot) -> int:
    (invoice_id,) = draft_storage._insert_invoices(
        organization=organization,
        period=OCTOBER,
        snapshots=[(CustomerFactory(organization=organization).pk, snapshot)],
        now=AFTER_OCTOBER,
    )
    return invoice_id


def test_new_and_rerated_drafts_store_every_snapshot_field(organization):
    invoice_id = _new_draft(organization, SNAPSHOT)
    assert _stored(invoice_id) == SNAPSHOT

    draft_storage._update_drafts(
        [(invoice_id, RERATED)], now=AFTER_OCTOBER + timedelta(hours=1)
    )
    assert _stored(invoice_id) == RERATED
    assert Invoice.objects.get(pk=invoice_id).updated_at == AFTER_OCTOBER + timedelta(
        hours=1
    )


def test_copied_lines_store_every_field_of_their_rated_lines(organization):
    invoice_id = _new_draft(organization, SNAPSHOT)
    lines = (
        RatedLine(
            "usage", "Tab\there, new\nline, back\\slash", Decimal("1.5"),
            Decimal("0.00100000"), Decimal("0.01"), "op.a", "tokens", "bundle:3",
        ),
        RatedLine("minimum_charge", "Minimum", None, None, Decimal("5.00")),
        RatedLine(
            "adjustment", "Late usage", None, None, Decimal("2.00"),
            reference=f"invoice:{invoice_id}",
        ),
    )  # fmt: skip
    result = Rating(
        currency="EUR", lines=lines, subtotal=Decimal("5.01"), total=Decimal("7.01")
    )
    texts = {invoice_id: draft_storage._LineTexts()(result)}
    draft_storage._insert_lines([(invoice_id, result)], texts)

    stored = InvoiceLine.objects.filter(invoice_id=invoice_id).order_by("position")
    assert [RatedLine(*row) for row in stored.values_list(*RatedLine._fields)] == [
        *lines
    ]
    assert list(stored.values_list("position", "adjusts_invoice_id")) == [
        (1, None),
        (2, None),
        (3, invoice_id),
    ]


def _another(field, value):
    """A value of ``field``'s type other than ``value``."""
    kind = field.get_internal_type()
    if kind == "DateTimeField":
        return (value or AFTER_OCTOBER) + timedelta(days=1)
    if kind == "DateField":
        return (value or date(2026, 11, 1)) + timedelta(days=1)
    if kind == "DecimalField":
        return value + 1
    if kind == "CharField":
        return ("Z" + value)[: field.max_length]
    return value + 1_000_000  # ids and foreign keys


def test_issued_invoice_refuses_a_change_of_any_column_but_its_lifecycle(
    organization, october
):
    services.invoices_generate(
        organization=organization, period=OCTOBER, now=AFTER_OCTOBER
    )
    invoice = services.invoice_finalize(
        invoice=Invoice.objects.get(), now=AFTER_OCTOBER
    )
    before = _stored(invoice.pk)
    stored = Invoice.objects.filter(pk=invoice.pk)
    row = stored.values().get()

    refused = set()
    for field in Invoice._meta.concrete_fields:
        if field.name in LIFECYCLE_FIELDS:
            continue
        change = {field.attname: _another(field, row[field.attname])}
        with pytest.raises(
            DatabaseError,
            match=f"invoice {invoice.pk} is finalized, it cannot be edited",
        ):
            with transaction.atomic():
                stored.update(**change)
        refused.add(field.column)
    # A re-rating's values, each on its own (``amount_due`` is also the figure
    # that payments and credits move, so it is a lifecycle column).
    for name in set(SNAPSHOT_COLUMNS) - LIFECYCLE_FIELDS:
        with pytest.raises(DatabaseError, match="it cannot be edited"):
            with transaction.atomic():
                stored.update(**{name: getattr(RERATED, name)})

    assert set(SNAPSHOT_COLUMNS) - {"amount_due"} <= refused
    assert refused == {
        field.column
        for field in Invoice._meta.concrete_fields
        if field.name not in LIFECYCLE_FIELDS
    }
    assert _stored(invoice.pk) == before


def test_issued_invoice_lets_its_lifecycle_columns_change_but_not_back_to_draft(
    organization, october
):
    services.invoices_generate(
        organization=organization, period=OCTOBER, now=AFTER_OCTOBER
    )
    invoice = services.invoice_finalize(
        invoice=Invoice.objects.get(), now=AFTER_OCTOBER
    )
    stored = Invoice.objects.filter(pk=invoice.pk)
    paid_at = AFTER_OCTOBER + timedelta(days=3)

    assert (
        stored.update(
            status=Invoice.Status.PAID,
            paid_at=paid_at,
            voided_at=paid_at,
            updated_at=paid_at,
        )
        == 1
    )
    with pytest.raises(DatabaseError, match="is paid, it cannot be edited"):
        with transaction.atomic():
            stored.update(status=Invoice.Status.DRAFT)
    assert stored.values_list("status", "paid_at").get() == ("paid", paid_at)


def test_the_latest_guard_migration_freezes_the_declared_lifecycle_columns():
    """A change of ``LIFECYCLE_FIELDS`` needs a migration that installs the guard
    with the new list; until one is written, this fails."""
    latest = importlib.import_module(
        "invoices.migrations.0011_payments_wallets_partial_credit_notes"
    )
    assert latest.LIFECYCLE_FIELDS == LIFECYCLE_FIELDS
