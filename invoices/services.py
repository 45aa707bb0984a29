"""Writes of invoicing: generation, the invoice lifecycle, charges, subscriptions.

Lifecycle: ``draft`` -> ``finalized`` -> ``paid``, or ``finalized`` -> ``void`` (with
a credit note). Drafts are (re)generated from usage until they are finalized, by an
admin or automatically once the organization's grace window after the period has
passed; issued invoices never change again, late usage goes to a later invoice as an
adjustment line.
"""

import csv
import functools
import gc
import hashlib
import hmac
import io
import json
import logging
import urllib.error
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation

from django.db import connection, transaction

from billing_site.errors import DomainError, InvalidTransition
from billing_site.money import quantize_money
from bundles import services as bundle_services
from invoices import periods, rating, selectors
from invoices.models import (
    CreditNote,
    Invoice,
    InvoiceLine,
    InvoiceNumberSequence,
    InvoicingSettings,
    ProviderCharge,
    Subscription,
    WebhookDelivery,
)
from invoices.periods import DAILY, MONTHLY, Period
from metering.models import Customer, Organization
from pricing.models import BillingModel

logger = logging.getLogger(__name__)

CHUNK_SIZE = 2000
WEBHOOK_TIMEOUT_SECONDS = 10


class WebhookTransientError(ConnectionError):
    """The receiver could not be reached or answered 5xx; the task retries."""


# Generation -------------------------------------------------------------------------


@dataclass
class GenerationResult:
    period: Period
    created: int = 0
    refreshed: int = 0
    already_issued: int = 0
    removed_empty: int = 0
    upgrade_offers: list[tuple[int, str]] = field(default_factory=list)


LINE_COLUMNS = (
    "invoice_id", "position", "kind", "description", "quantity", "unit_price",
    "amount", "operation", "activity_type", "reference", "adjusts_invoice_id",
)  # fmt: skip
INVOICE_COLUMNS = (
    "id", "created_at", "updated_at", "organization_id", "customer_id", "frequency",
    "period_start", "period_end", "status", "number", "currency", "subtotal",
    "total", "customer_name", "customer_external_id", "billing_model_name",
    "lines_digest", "rated_at",
)  # fmt: skip
# What a (re)rating stores on the invoice, in INVOICE_COLUMNS order from "currency".
SNAPSHOT_COLUMNS = INVOICE_COLUMNS[INVOICE_COLUMNS.index("currency") : -1]


def _adjusted_invoice(line: rating.RatedLine) -> int | None:
    if line.kind == rating.ADJUSTMENT and line.reference.startswith("invoice:"):
        return int(line.reference.split(":", 1)[1])
    return None


def _line_rows(invoice_id: int, result: rating.Rating) -> list[tuple]:
    """Rows (LINE_COLUMNS) of a rating's lines."""
    return [
        (
            invoice_id, position, line.kind, line.description[:300], line.quantity,
            line.unit_price, line.amount, line.operation, line.activity_type,
            line.reference, _adjusted_invoice(line),
        )
        for position, line in enumerate(result.lines, start=1)
    ]  # fmt: skip


# COPY's text format: tab-separated, \N for NULL, these characters escaped.
_COPY_NULL = "\\N"
_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


class _LineTexts:
    """COPY text (LINE_COLUMNS) of ratings' lines, each line without its leading
    invoice id, so that a draft's text, and its digest, exist before its id.

    Formatted here rather than row by row by the driver: a month has ~30 lines per
    invoice, and the texts (operation codes, tier and bundle names) repeat, so
    each distinct one is escaped once.
    """

    def __init__(self) -> None:
        # Escaped description; escaped "operation\tactivity type\treference".
        self.descriptions: dict[str, str] = {}
        self.sources: dict[tuple[str, str, str], str] = {}

    def __call__(self, result: rating.Rating) -> list[str]:
        descriptions, sources = self.descriptions, self.sources
        texts = []
        for position, line in enumerate(result.lines, start=1):
            kind, description, quantity, price, amount, operation, activity, ref = line
            text = descriptions.get(description)
            if text is None:
                text = descriptions[description] = description[:300].translate(
                    _COPY_ESCAPES
                )
            key = (operation, activity, ref)
            source = sources.get(key)
            if source is None:
                source = sources[key] = "\t".join(
                    value.translate(_COPY_ESCAPES) for value in key
                )
            adjusts = _adjusted_invoice(line) if kind == rating.ADJUSTMENT else None
            # "!s": str() is several times faster than format() on a Decimal.
            texts.append(
                f"\t{position!s}\t{kind}\t{text}\t"
                f"{_COPY_NULL if quantity is None else quantity!s}\t"
                f"{_COPY_NULL if price is None else price!s}\t{amount!s}\t{source}\t"
                f"{_COPY_NULL if adjusts is None else adjusts!s}\n"
            )
        return texts


def _lines_digest(texts: list[str]) -> str:
    """What a draft's lines are, in 32 hex digits: equal digests, equal lines."""
    return hashlib.blake2b("".join(texts).encode(), digest_size=16).hexdigest()


def _copy(table: str, columns: tuple[str, ...], rows: list[tuple]) -> None:
    with connection.cursor() as cursor:
        with cursor.cursor.copy(
            f"COPY {table} ({', '.join(columns)}) FROM STDIN"
        ) as copy:
            for row in rows:
                copy.write_row(row)


def _insert_lines(
    written: list[tuple[int, rating.Rating]], texts: dict[int, list[str]]
) -> None:
    """Write the lines of (invoice id, rating) pairs: one COPY on PostgreSQL of
    their texts (``_LineTexts``, by invoice id), ``bulk_create`` elsewhere."""
    if not written:
        return
    if connection.vendor != "postgresql":
        InvoiceLine.objects.bulk_create(
            [
                InvoiceLine(**dict(zip(LINE_COLUMNS, row, strict=True)))
                for invoice_id, result in written
                for row in _line_rows(invoice_id, result)
            ],
            batch_size=2000,
        )
        return
    payload = "".join(
        [
            f"{invoice_id!s}{line}"
            for invoice_id, _ in written
            for line in texts[invoice_id]
        ]
    ).encode()
    with connection.cursor() as cursor:
        # The statement-level guard's transition table holds every row: in memory.
        cursor.execute("SET LOCAL work_mem = '64MB'")
        with cursor.cursor.copy(
            f"COPY {InvoiceLine._meta.db_table} ({', '.join(LINE_COLUMNS)}) FROM STDIN"
        ) as copy:
            for offset in range(0, len(payload), 1 << 20):
                copy.write(payload[offset : offset + (1 << 20)])


def _insert_invoices(
    *,
    organization: Organization,
    period: Period,
    snapshots: list[tuple[int, tuple]],
    now: datetime,
) -> list[int]:
    """Create draft invoices from (customer id, snapshot) pairs; returns their ids
    in order. On PostgreSQL the ids are drawn from the table's sequence first and
    the rows written by one COPY; elsewhere ``bulk_create``."""
    if not snapshots:
        return []
    if connection.vendor != "postgresql":
        invoices = [
            Invoice(
                organization=organization,
                customer_id=customer_id,
                frequency=period.frequency,
                period_start=period.start,
                period_end=period.end,
                **dict(zip(SNAPSHOT_COLUMNS, snapshot, strict=True)),
                rated_at=now,
            )
            for customer_id, snapshot in snapshots
        ]
        Invoice.objects.bulk_create(invoices)
        return [invoice.pk for invoice in invoices]
    table = Invoice._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, 'id')) "
            "FROM generate_series(1, %s)",
            [table, len(snapshots)],
        )
        ids = [row[0] for row in cursor.fetchall()]
    fixed = (
        now, now, organization.pk, period.frequency, period.start, period.end,
        Invoice.Status.DRAFT.value, "",
    )  # fmt: skip
    _copy(
        table,
        INVOICE_COLUMNS,
        [
            (pk, *fixed[:3], customer_id, *fixed[3:], *snapshot, now)
            for pk, (customer_id, snapshot) in zip(ids, snapshots, strict=True)
        ],
    )
    return ids


def _update_drafts(drafts: list[tuple[int, tuple]], *, now: datetime) -> None:
    """Store re-rated snapshots of drafts from (invoice id, snapshot) pairs: one
    UPDATE ... FROM unnest(arrays) on PostgreSQL, ``bulk_update`` elsewhere."""
    if not drafts:
        return
    if connection.vendor != "postgresql":
        invoices = [
            Invoice(
                pk=pk,
                **dict(zip(SNAPSHOT_COLUMNS, snapshot, strict=True)),
                rated_at=now,
                updated_at=now,
            )
            for pk, snapshot in drafts
        ]
        Invoice.objects.bulk_update(
            invoices, [*SNAPSHOT_COLUMNS, "rated_at", "updated_at"]
        )
        return
    types = {"subtotal": "numeric", "total": "numeric"}
    columns = ("id", *SNAPSHOT_COLUMNS)
    arrays = ", ".join(
        f"%s::{types.get(name, 'varchar')}[]" for name in SNAPSHOT_COLUMNS
    )
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {Invoice._meta.db_table} AS i SET "
            + ", ".join(f"{name} = v.{name}" for name in SNAPSHOT_COLUMNS)
            + ", rated_at = %s, updated_at = %s "
            f"FROM unnest(%s::bigint[], {arrays}) AS v({', '.join(columns)}) "
            "WHERE i.id = v.id AND i.status = 'draft'",
            [
                now,
                now,
                *(
                    list(values)
                    for values in zip(
                        *((pk, *snapshot) for pk, snapshot in drafts), strict=True
                    )
                ),
            ],
        )


def _release_lines(invoice_ids: list[int]) -> None:
    """Delete the lines of drafts about to be re-rated and release the provider
    charges they billed."""
    if connection.vendor != "postgresql":
        ProviderCharge.objects.filter(invoice_id__in=invoice_ids).update(invoice=None)
        InvoiceLine.objects.filter(invoice_id__in=invoice_ids).delete()
        return
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {ProviderCharge._meta.db_table} SET invoice_id = NULL "
            "WHERE invoice_id = ANY(%s::bigint[])",
            [invoice_ids],
        )
        cursor.execute(
            f"DELETE FROM {InvoiceLine._meta.db_table} "
            "WHERE invoice_id = ANY(%s::bigint[])",
            [invoice_ids],
        )


def _link_provider_charges(charge_invoice: dict[int, int]) -> None:
    """Record which invoice bills each provider charge (charge id -> invoice id)."""
    if not charge_invoice:
        return
    if connection.vendor != "postgresql":
        charges = list(ProviderCharge.objects.filter(pk__in=list(charge_invoice)))
        for charge in charges:
            charge.invoice_id = charge_invoice[charge.pk]
        ProviderCharge.objects.bulk_update(charges, ["invoice"])
        return
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {ProviderCharge._meta.db_table} AS c SET invoice_id = v.invoice "
            "FROM unnest(%s::bigint[], %s::bigint[]) AS v(id, invoice) "
            "WHERE c.id = v.id",
            [list(charge_invoice), list(charge_invoice.values())],
        )


class _ChunkWriter:
    """Runs the chunk writes of a generation, one at a time and in order.

    Outside a transaction, on PostgreSQL, a chunk is written by a thread with its
    own connection while the next chunk is rated: the database stores one chunk
    while Python prices the next. Each chunk still commits on its own, and a
    failed write stops the generation before the next chunk is written. Inside a
    transaction (the caller's, or a test's) chunks are written in place, on the
    caller's connection.
    """

    def __init__(self) -> None:
        self.pool = None
        self.pending = None
        if connection.vendor == "postgresql" and not connection.in_atomic_block:
            self.pool = ThreadPoolExecutor(max_workers=1)

    def __enter__(self) -> "_ChunkWriter":
        return self

    def write(self, write_chunk) -> None:
        if self.pool is None:
            write_chunk()
            return
        self._wait()
        self.pending = self.pool.submit(write_chunk)

    def _wait(self) -> None:
        if self.pending is not None:
            pending, self.pending = self.pending, None
            pending.result()  # re-raises the write's error here

    def __exit__(self, *exc_info) -> None:
        if self.pool is None:
            return
        try:
            if exc_info[0] is None:
                self._wait()
            elif self.pending is not None:
                self.pending.exception()  # let it finish before closing
        finally:
            # The thread's connection is its own: close it there.
            self.pool.submit(lambda: connection.close()).result()
            self.pool.shutdown()


@contextmanager
def _without_cycle_collection() -> Iterator[None]:
    """Pause Python's cyclic garbage collector.

    Generating a month allocates millions of small objects (rows, Decimals, rated
    lines) that form no reference cycles; the collector would walk them over and
    over as they accumulate, about a third of the generation's time. It resumes,
    and collects as usual, afterwards.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def invoices_generate(
    *,
    organization: Organization,
    period: Period,
    now: datetime,
    customer_ids: list[int] | None = None,
    chunk_size: int = CHUNK_SIZE,
) -> GenerationResult:
    """Create or refresh the draft invoices of a closed period for the organization.

    Idempotent: one invoice per customer and period (a unique constraint); issued
    invoices are left alone and drafts are re-rated from the usage as it stands.
    Usage is read once for the organization (``selectors.period_usage``: the
    month's counters, or one ``GROUP BY`` over the day's events); writes go in
    chunks of customers, each chunk in one transaction (so no invoice is ever left
    without its lines). Customers with nothing to bill get no invoice.
    """
    with _without_cycle_collection():
        return _generate(
            organization=organization,
            period=period,
            now=now,
            customer_ids=customer_ids,
            chunk_size=chunk_size,
        )


def _generate(
    *,
    organization: Organization,
    period: Period,
    now: datetime,
    customer_ids: list[int] | None,
    chunk_size: int,
) -> GenerationResult:
    if now < period.closes_at:
        raise DomainError(f"The period {period} has not closed yet.", field="period")
    start, end = period.bounds
    terms = selectors.organization_terms(
        organization=organization, period=period, customer_ids=customer_ids
    )
    usage = selectors.period_usage(
        organization=organization, period=period, customer_ids=customer_ids
    )
    per_use = {}
    if period.frequency == DAILY:
        operations = {code for codes in usage.values() for code in codes}
        per_use = selectors.per_use_events_by_customer(
            organization=organization,
            start=start,
            end=end,
            operations=terms.per_use_operations(operations),
            customer_ids=customer_ids,
        )
    existing_drafts = set(
        Invoice.objects.filter(
            organization=organization,
            frequency=period.frequency,
            period_start=period.start,
            status=Invoice.Status.DRAFT,
        ).values_list("id", flat=True)
    )
    adjustments = selectors.late_adjustments(
        organization=organization,
        period=period,
        exclude_invoice_ids=existing_drafts,
        customer_ids=customer_ids,
    )
    candidates = set(usage) | terms.customer_ids() | set(adjustments)
    if period.frequency == DAILY:
        candidates = set(usage) | set(terms.subscriptions)
    if customer_ids is not None:
        candidates &= set(customer_ids)
    customers = {
        pk: (name, external_id)
        for pk, name, external_id in Customer.objects.filter(
            organization=organization,
            pk__in=selectors.customers_in(
                candidates if customer_ids is None else customer_ids
            ),
        ).values_list("id", "name", "external_id")
        if pk in candidates
    }
    result = GenerationResult(period=period)
    out_of_bundle = {}
    ordered = sorted(customers)
    with _ChunkWriter() as writer:
        for offset in range(0, len(ordered), chunk_size):
            chunk = ordered[offset : offset + chunk_size]
            ratings = {}
            for customer_id in chunk:
                rated = ratings[customer_id] = rating.rate(
                    selectors.rating_input(
                        terms=terms,
                        customer_id=customer_id,
                        usage=usage.get(customer_id, {}),
                        per_use_events=per_use.get(customer_id),
                        adjustments=tuple(adjustments.get(customer_id, ())),
                    )
                )
                if rated.out_of_bundle:
                    out_of_bundle[customer_id] = rated.out_of_bundle
            writer.write(
                functools.partial(
                    _write_chunk,
                    organization=organization,
                    period=period,
                    terms=terms,
                    customers=customers,
                    ratings=ratings,
                    now=now,
                    result=result,
                )
            )
    _offer_upgrades(
        organization=organization,
        terms=terms,
        out_of_bundle=out_of_bundle,
        period=period,
        now=now,
        result=result,
    )
    return result


def invoices_generate_fanout(
    *, organization: Organization, period: Period, now: datetime, parts: int
):
    """Generate the period's invoices as ``parts`` Celery tasks over contiguous
    slices of the organization's customers, run by as many workers as are free.

    Each part is ``invoices_generate`` for its customers (same idempotence, same
    per-chunk transactions, each locking only its own customers), so the parts
    rate and write in parallel. Returns the Celery group result.
    """
    from celery import group

    from invoices.tasks import invoices_generate_part

    if now < period.closes_at:
        raise DomainError(f"The period {period} has not closed yet.", field="period")
    return group(
        invoices_generate_part.s(organization.pk, period.label, now.isoformat(), ids)
        for ids in selectors.customer_id_slices(organization=organization, parts=parts)
    ).apply_async()


def _write_chunk(
    *,
    organization: Organization,
    period: Period,
    terms: selectors.OrganizationTerms,
    customers: dict[int, tuple[str, str]],
    ratings: dict[int, rating.Rating],
    now: datetime,
    result: GenerationResult,
) -> None:
    with transaction.atomic():
        # Serializes generators over the same customers, so two runs never race
        # to insert a customer's invoice; runs over other customers (the shares
        # of a fan-out) write at the same time.
        list(
            Customer.objects.select_for_update(no_key=True)
            .filter(
                organization=organization, pk__gte=min(ratings), pk__lte=max(ratings)
            )
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        # The chunk's customers by id range (one parameter pair, not thousands).
        existing = {
            customer_id: (pk, status, digest)
            for pk, customer_id, status, digest in Invoice.objects.select_for_update()
            .filter(
                organization=organization,
                frequency=period.frequency,
                period_start=period.start,
                customer_id__gte=min(ratings),
                customer_id__lte=max(ratings),
                status__in=[
                    Invoice.Status.DRAFT,
                    Invoice.Status.FINALIZED,
                    Invoice.Status.PAID,
                ],
            )
            .values_list("pk", "customer_id", "status", "lines_digest")
        }
        line_texts = _LineTexts()
        # (customer id, snapshot, line texts) of new invoices; (invoice id, ...)
        # of drafts whose lines changed; (invoice id, snapshot) of every draft.
        new, rewritten, refreshed, emptied = [], [], [], []
        for customer_id, rated in ratings.items():
            pk, status, stored_digest = existing.get(customer_id, (None, None, ""))
            if status is not None and status != Invoice.Status.DRAFT:
                result.already_issued += 1
                continue
            if not rated.lines:
                if pk is not None:
                    emptied.append(pk)
                continue
            name, external_id = customers[customer_id]
            subscription = terms.subscriptions.get(customer_id)
            model = (
                terms.models.get(subscription.billing_model_id)
                if subscription
                else None
            )
            texts = line_texts(rated)
            digest = _lines_digest(texts)
            snapshot = (
                organization.currency, rated.subtotal, rated.total, name[:200],
                external_id, model.name if model else "", digest,
            )  # fmt: skip
            if pk is None:
                new.append((customer_id, snapshot, texts))
                continue
            refreshed.append((pk, snapshot))
            # Lines are written once: a draft whose lines rate the same keeps them.
            if digest != stored_digest:
                rewritten.append((pk, customer_id, texts))
        stale = [pk for pk, _, _ in rewritten] + emptied
        if stale:
            _release_lines(stale)
        if emptied:
            Invoice.objects.filter(pk__in=emptied).delete()
            result.removed_empty += len(emptied)
        ids = _insert_invoices(
            organization=organization,
            period=period,
            snapshots=[(customer_id, snapshot) for customer_id, snapshot, _ in new],
            now=now,
        )
        _update_drafts(refreshed, now=now)
        written = [
            *(
                (pk, customer_id, texts)
                for pk, (customer_id, _, texts) in zip(ids, new, strict=True)
            ),
            *rewritten,
        ]
        charge_invoice = {}
        for invoice_id, customer_id, _ in written:
            if customer_id not in terms.provider_charges:
                continue
            for line in ratings[customer_id].lines:
                if line.kind == rating.PROVIDER_CHARGE:
                    charge_invoice[int(line.reference.split(":", 1)[1])] = invoice_id
        _insert_lines(
            [(pk, ratings[customer_id]) for pk, customer_id, _ in written],
            {pk: texts for pk, _, texts in written},
        )
        _link_provider_charges(charge_invoice)
        result.created += len(new)
        result.refreshed += len(refreshed)


def _offer_upgrades(
    *,
    organization: Organization,
    terms: selectors.OrganizationTerms,
    out_of_bundle: dict[int, dict[str, Decimal]],
    period: Period,
    now: datetime,
    result: GenerationResult,
) -> None:
    """Offer a bundle upgrade to customers with bundles who used an operation
    outside them beyond the organization's level (the seed's offerBundleUpgrade).
    ``out_of_bundle`` is what the period's rating charged outside bundles."""
    level = terms.settings.upgrade_offer_units
    if level is None or period.frequency != MONTHLY or not terms.bundles:
        return
    customers = Customer.objects.in_bulk(
        [customer_id for customer_id in terms.bundles if customer_id in out_of_bundle]
    )
    for customer_id in terms.bundles:
        if customer_id not in customers:
            continue
        over = {
            code: units
            for code, units in out_of_bundle[customer_id].items()
            if units > level
        }
        if not over:
            continue
        operation = max(sorted(over), key=lambda code: over[code])
        try:
            bundle_services.bundle_upgrade_offer(
                customer=customers[customer_id],
                operation=operation,
                now=now,
                observed_quantity=over[operation],
            )
        except DomainError as error:
            logger.info("No upgrade offer for customer %s: %s", customer_id, error)
            continue
        result.upgrade_offers.append((customer_id, operation))


# Lifecycle --------------------------------------------------------------------------


def _next_number(*, organization: Organization, kind: str) -> int:
    """The next value of the organization's gap-free sequence (row-locked)."""
    InvoiceNumberSequence.objects.get_or_create(organization=organization, kind=kind)
    sequence = InvoiceNumberSequence.objects.select_for_update().get(
        organization=organization, kind=kind
    )
    sequence.last_value += 1
    sequence.save(update_fields=["last_value"])
    return sequence.last_value


def _locked(invoice: Invoice) -> Invoice:
    return (
        Invoice.objects.select_for_update(of=("self",))
        .select_related("organization")
        .get(pk=invoice.pk)
    )


@transaction.atomic
def invoice_finalize(*, invoice: Invoice, now: datetime) -> Invoice:
    """Issue a draft: number it from the gap-free sequence, date it, freeze it, and
    notify the organization's webhook after commit."""
    invoice = _locked(invoice)
    if invoice.status != Invoice.Status.DRAFT:
        raise InvalidTransition(
            f"invoice {invoice.number or invoice.pk} is {invoice.status}, "
            "cannot finalize",
            field="status",
        )
    settings = selectors.invoicing_settings_for(organization=invoice.organization)
    value = _next_number(
        organization=invoice.organization, kind=InvoiceNumberSequence.Kind.INVOICE
    )
    invoice.number = f"{settings.number_prefix}-{value:06d}"
    invoice.status = Invoice.Status.FINALIZED
    invoice.finalized_at = now
    invoice.issued_on = now.date()
    invoice.due_on = invoice.issued_on + timedelta(days=settings.payment_terms_days)
    invoice.save()
    if settings.webhook_url:
        delivery = WebhookDelivery.objects.create(
            organization=invoice.organization,
            invoice=invoice,
            event="invoice.finalized",
            url=settings.webhook_url,
        )
        transaction.on_commit(lambda: _enqueue_webhook(delivery.pk))
    return invoice


def _enqueue_webhook(delivery_id: int) -> None:
    from invoices.tasks import invoice_webhook_deliver

    invoice_webhook_deliver.delay(delivery_id)


@transaction.atomic
def invoice_mark_paid(*, invoice: Invoice, now: datetime) -> Invoice:
    invoice = _locked(invoice)
    if invoice.status != Invoice.Status.FINALIZED:
        raise InvalidTransition(
            f"invoice {invoice.number or invoice.pk} is {invoice.status}, "
            "cannot mark it paid",
            field="status",
        )
    invoice.status = Invoice.Status.PAID
    invoice.paid_at = now
    invoice.save(update_fields=["status", "paid_at", "updated_at"])
    return invoice


@transaction.atomic
def invoice_void(*, invoice: Invoice, now: datetime, reason: str = "") -> CreditNote:
    """Void a finalized invoice: a credit note for its total cancels it, and the
    provider charges it billed are released to the next invoice."""
    invoice = _locked(invoice)
    if invoice.status != Invoice.Status.FINALIZED:
        raise InvalidTransition(
            f"invoice {invoice.number or invoice.pk} is {invoice.status}, cannot void",
            field="status",
        )
    value = _next_number(
        organization=invoice.organization, kind=InvoiceNumberSequence.Kind.CREDIT_NOTE
    )
    credit_note = CreditNote.objects.create(
        organization=invoice.organization,
        invoice=invoice,
        number=f"CN-{value:06d}",
        amount=invoice.total,
        currency=invoice.currency,
        reason=reason[:300],
        issued_at=now,
    )
    invoice.status = Invoice.Status.VOID
    invoice.voided_at = now
    invoice.save(update_fields=["status", "voided_at", "updated_at"])
    ProviderCharge.objects.filter(invoice=invoice).update(invoice=None)
    return credit_note


@dataclass
class FinalizeOutcome:
    finalized: list[Invoice] = field(default_factory=list)
    failed: list[tuple[Invoice, str]] = field(default_factory=list)


def invoices_finalize(*, invoices: list[Invoice], now: datetime) -> FinalizeOutcome:
    """Finalize each invoice in its own transaction; failures are reported, not
    raised, so one refused invoice does not stop the others."""
    outcome = FinalizeOutcome()
    for invoice in invoices:
        try:
            outcome.finalized.append(invoice_finalize(invoice=invoice, now=now))
        except DomainError as error:
            outcome.failed.append((invoice, error.message))
    return outcome


@dataclass
class CycleResult:
    generated: list[GenerationResult] = field(default_factory=list)
    finalized: FinalizeOutcome = field(default_factory=FinalizeOutcome)


def invoicing_cycle_run(*, organization: Organization, now: datetime) -> CycleResult:
    """What the periodic task does for one organization: (re)generate the last
    closed month and day, then finalize the drafts past their grace window."""
    result = CycleResult()
    for frequency in (MONTHLY, DAILY):
        period = periods.period_containing(now, frequency).previous()
        result.generated.append(
            invoices_generate(organization=organization, period=period, now=now)
        )
    result.finalized = invoices_finalize(
        invoices=selectors.invoices_finalizable(organization=organization, now=now),
        now=now,
    )
    return result


# Subscriptions and provider charges -------------------------------------------------


@transaction.atomic
def subscription_create(
    *,
    organization: Organization,
    customer: Customer,
    billing_model: BillingModel,
    agents: int,
    starts_at: datetime,
) -> Subscription:
    """Assign a billing model from ``starts_at``; ends the customer's open one."""
    if customer.organization_id != organization.pk:
        raise DomainError("Unknown customer.", field="customer_id")
    if billing_model.organization_id != organization.pk:
        raise DomainError("Unknown billing model.", field="billing_model_id")
    if not billing_model.is_active:
        raise DomainError(
            f"Billing model {billing_model.name!r} is not active.",
            field="billing_model_id",
        )
    open_ones = Subscription.objects.select_for_update().filter(
        customer=customer, ends_at__isnull=True
    )
    for current in open_ones:
        if current.starts_at >= starts_at:
            raise DomainError(
                "The customer already has a subscription starting "
                f"{current.starts_at.isoformat()}; start after it.",
                field="starts_at",
            )
        current.ends_at = starts_at
        current.save(update_fields=["ends_at", "updated_at"])
    subscription = Subscription(
        organization=organization,
        customer=customer,
        billing_model=billing_model,
        agents=agents,
        starts_at=starts_at,
    )
    subscription.full_clean()
    subscription.save()
    return subscription


@transaction.atomic
def provider_charge_create(
    *,
    organization: Organization,
    customer: Customer,
    provider: str,
    period_start: date,
    amount: Decimal,
    description: str = "",
    external_ref: str = "",
) -> ProviderCharge:
    """Record a provider's network charge for a month (billed on its invoice)."""
    if customer.organization_id != organization.pk:
        raise DomainError("Unknown customer.", field="customer_id")
    if period_start.day != 1:
        raise DomainError("Give the first day of the month.", field="period")
    if (
        external_ref
        and ProviderCharge.objects.filter(
            organization=organization, provider=provider, external_ref=external_ref
        ).exists()
    ):
        raise DomainError(
            f"Charge {external_ref!r} of {provider!r} is already recorded.",
            field="external_ref",
        )
    charge = ProviderCharge(
        organization=organization,
        customer=customer,
        provider=provider,
        period_start=period_start,
        amount=quantize_money(amount, organization.currency),
        description=description,
        external_ref=external_ref,
    )
    charge.full_clean()
    charge.save()
    return charge


@dataclass
class ImportResult:
    created: int = 0
    skipped: int = 0  # already recorded (same provider and external_ref)
    errors: list[str] = field(default_factory=list)  # "row 3: amount: ..."


CSV_COLUMNS = ("customer_id", "provider", "period", "amount")


def provider_charges_import(*, organization: Organization, text: str) -> ImportResult:
    """Import charges from CSV with columns customer_id (external id), provider,
    period (YYYY-MM), amount, and optional description and external_ref.

    All or nothing: any invalid row aborts the import and every error is reported.
    """
    reader = csv.DictReader(io.StringIO(text))
    missing = [name for name in CSV_COLUMNS if name not in (reader.fieldnames or [])]
    if missing:
        raise DomainError(f"Missing column(s): {', '.join(missing)}.", field="file")
    result = ImportResult()
    customers = {
        customer.external_id: customer
        for customer in Customer.objects.filter(organization=organization)
    }
    rows = []
    for number, row in enumerate(reader, start=2):
        try:
            customer = customers.get((row["customer_id"] or "").strip())
            if customer is None:
                raise DomainError(
                    f"Unknown customer {row['customer_id']!r}.", field="customer_id"
                )
            period = periods.period_parse(row["period"], field="period")
            if period.frequency != MONTHLY:
                raise DomainError("Use YYYY-MM.", field="period")
            try:
                amount = Decimal((row["amount"] or "").strip())
            except InvalidOperation:
                raise DomainError(
                    f"Not a number: {row['amount']!r}.", field="amount"
                ) from None
            if not amount.is_finite():
                raise DomainError("Not a number.", field="amount")
            provider = (row["provider"] or "").strip()
            if not provider:
                raise DomainError("Required.", field="provider")
            rows.append(
                {
                    "customer": customer,
                    "provider": provider,
                    "period_start": period.start,
                    "amount": amount,
                    "description": (row.get("description") or "").strip(),
                    "external_ref": (row.get("external_ref") or "").strip(),
                }
            )
        except DomainError as error:
            result.errors.append(f"row {number}: {error.field}: {error.message}")
    if result.errors:
        return result
    with transaction.atomic():
        for fields in rows:
            if (
                fields["external_ref"]
                and ProviderCharge.objects.filter(
                    organization=organization,
                    provider=fields["provider"],
                    external_ref=fields["external_ref"],
                ).exists()
            ):
                result.skipped += 1
                continue
            provider_charge_create(organization=organization, **fields)
            result.created += 1
    return result


@transaction.atomic
def invoicing_settings_update(
    *, organization: Organization, **changes
) -> InvoicingSettings:
    settings, _ = InvoicingSettings.objects.select_for_update().get_or_create(
        organization=organization
    )
    for name, value in changes.items():
        setattr(settings, name, value)
    settings.full_clean()
    settings.save()
    return settings


# Webhooks ---------------------------------------------------------------------------


def webhook_signature(secret: str, body: bytes) -> str:
    """``sha256=<hex HMAC-SHA256 of the raw body with the organization's secret>``."""
    digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def webhook_payload(invoice: Invoice, event: str) -> bytes:
    return json.dumps(
        {
            "event": event,
            "invoice": {
                "id": invoice.pk,
                "number": invoice.number,
                "customer_id": invoice.customer_external_id,
                "period_start": invoice.period_start.isoformat(),
                "period_end": invoice.period_end.isoformat(),
                "status": invoice.status,
                "currency": invoice.currency,
                "subtotal": str(invoice.subtotal),
                "total": str(invoice.total),
            },
        },
        sort_keys=True,
    ).encode()


def webhook_delivery_attempt(*, delivery: WebhookDelivery, now: datetime) -> None:
    """POST the signed event once. Raises ``WebhookTransientError`` (to be retried)
    when the receiver is unreachable or answers 5xx; a 4xx fails for good."""
    delivery = WebhookDelivery.objects.select_related("invoice").get(pk=delivery.pk)
    if delivery.status == WebhookDelivery.Status.DELIVERED:
        return
    settings = selectors.invoicing_settings_for(organization=delivery.organization)
    body = webhook_payload(delivery.invoice, delivery.event)
    request = urllib.request.Request(
        delivery.url,
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json",
            "X-Billing-Event": delivery.event,
            "X-Billing-Delivery": str(delivery.pk),
            "X-Billing-Signature": webhook_signature(settings.webhook_secret, body),
        },
    )
    delivery.attempts += 1
    try:
        with urllib.request.urlopen(request, timeout=WEBHOOK_TIMEOUT_SECONDS) as reply:
            code = reply.status
        error = ""
    except urllib.error.HTTPError as failure:
        code, error = failure.code, str(failure.reason)[:300]
    except (urllib.error.URLError, OSError) as failure:
        code, error = None, str(failure)[:300]
    delivery.last_status_code = code
    delivery.last_error = error
    if code is not None and 200 <= code < 300:
        delivery.status = WebhookDelivery.Status.DELIVERED
        delivery.delivered_at = now
    elif code is not None and code < 500:
        delivery.status = WebhookDelivery.Status.FAILED
    delivery.save()
    if delivery.status == WebhookDelivery.Status.PENDING:
        raise WebhookTransientError(f"webhook {delivery.pk}: {error or code}")


def webhook_delivery_give_up(*, delivery_id: int) -> None:
    WebhookDelivery.objects.filter(
        pk=delivery_id, status=WebhookDelivery.Status.PENDING
    ).update(status=WebhookDelivery.Status.FAILED)
