"""Storage of generated drafts: the bulk SQL writes of invoices and their lines.

COPY on PostgreSQL (``bulk_create`` / ``bulk_update`` elsewhere) of new drafts, re-rated
snapshots, invoice lines and provider-charge links, the line digest that lets an
unchanged draft keep its lines, and the writer that stores one chunk while the
next is rated.
"""

import hashlib
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from operator import itemgetter

from django.db import connection

from invoices import rating
from invoices.documents import LINE_COLUMNS, SNAPSHOT_COLUMNS, InvoiceSnapshot
from invoices.models import Invoice, InvoiceLine, ProviderCharge
from invoices.periods import Period
from metering.models import Organization

# A new draft's columns: its identity and state, then its snapshot.
INVOICE_COLUMNS = (
    "id", "created_at", "updated_at", "organization_id", "customer_id", "frequency",
    "period_start", "period_end", "status", "number", *SNAPSHOT_COLUMNS,
)  # fmt: skip
# A line's free text is cut to fit its column rather than refused.
_DESCRIPTION_LENGTH = InvoiceLine._meta.get_field("description").max_length


def _adjusted_invoice(line: rating.RatedLine) -> int | None:
    if line.kind == rating.ADJUSTMENT and line.reference.startswith("invoice:"):
        return int(line.reference.split(":", 1)[1])
    return None


def _line_rows(invoice_id: int, result: rating.Rating) -> list[tuple]:
    """Rows (LINE_COLUMNS) of a rating's lines."""
    return [
        (
            invoice_id,
            position,
            *line._replace(description=line.description[:_DESCRIPTION_LENGTH]),
            _adjusted_invoice(line),
        )
        for position, line in enumerate(result.lines, start=1)
    ]


# COPY's text format: tab-separated, \N for NULL, these characters escaped.
_COPY_NULL = "\\N"
_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})

# RatedLine's text fields and its other fields (amounts, quantities: written by
# str(), empty as NULL), by position. COPY names its columns in any order: a line's
# text is its numbers, then its texts.
_TEXT_FIELDS = tuple(
    name for name, kind in rating.RatedLine.__annotations__.items() if kind is str
)
_VALUE_FIELDS = tuple(
    name for name in rating.RatedLine._fields if name not in _TEXT_FIELDS
)
_COPY_LINE_COLUMNS = (
    "invoice_id", "position", *_VALUE_FIELDS, *_TEXT_FIELDS, "adjusts_invoice_id",
)  # fmt: skip
_texts_of = itemgetter(*(rating.RatedLine._fields.index(n) for n in _TEXT_FIELDS))
_values_of = itemgetter(*(rating.RatedLine._fields.index(n) for n in _VALUE_FIELDS))
_TEXT_CUTS = tuple(
    _DESCRIPTION_LENGTH if name == "description" else None for name in _TEXT_FIELDS
)


class _LineTexts:
    """COPY text (_COPY_LINE_COLUMNS) of ratings' lines, each line without its
    leading invoice id, so that a draft's text, and its digest, exist before its id.

    Formatted here rather than row by row by the driver: a month has ~30 lines per
    invoice, and the texts (kinds, operation codes, tier and bundle names) repeat,
    so each distinct combination of a line's texts is escaped once.
    """

    def __init__(self) -> None:
        # A line's texts -> their escaped, tab-separated text.
        self.texts: dict[tuple[str, ...], str] = {}

    def __call__(self, result: rating.Rating) -> list[str]:
        escaped = self.texts
        lines = []
        for position, line in enumerate(result.lines, start=1):
            texts = _texts_of(line)
            text = escaped.get(texts)
            if text is None:
                text = escaped[texts] = "\t".join(
                    value[:cut].translate(_COPY_ESCAPES)
                    for value, cut in zip(texts, _TEXT_CUTS, strict=True)
                )
            values = "\t".join(
                [_COPY_NULL if v is None else str(v) for v in _values_of(line)]
            )
            adjusts = (
                _adjusted_invoice(line) if line.kind == rating.ADJUSTMENT else None
            )
            lines.append(
                f"\t{position!s}\t{values}\t{text}\t"
                f"{_COPY_NULL if adjusts is None else adjusts!s}\n"
            )
        return lines


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
            f"COPY {InvoiceLine._meta.db_table} ({', '.join(_COPY_LINE_COLUMNS)}) "
            "FROM STDIN"
        ) as copy:
            for offset in range(0, len(payload), 1 << 20):
                copy.write(payload[offset : offset + (1 << 20)])


def _insert_invoices(
    *,
    organization: Organization,
    period: Period,
    snapshots: list[tuple[int, InvoiceSnapshot]],
    now: datetime,
) -> list[int]:
    """Create draft invoices from (customer id, snapshot) pairs; returns their ids
    in order. On PostgreSQL the ids are drawn from the table's sequence first and
    the rows (INVOICE_COLUMNS) written by one COPY; elsewhere ``bulk_create``."""
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
                **snapshot.as_columns(),
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
    state = (period.frequency, period.start, period.end, Invoice.Status.DRAFT.value, "")
    _copy(
        table,
        INVOICE_COLUMNS,
        [
            (pk, now, now, organization.pk, customer_id, *state, *snapshot.values())
            for pk, (customer_id, snapshot) in zip(ids, snapshots, strict=True)
        ],
    )
    return ids


def _update_drafts(drafts: list[tuple[int, InvoiceSnapshot]], *, now: datetime) -> None:
    """Store re-rated snapshots of drafts from (invoice id, snapshot) pairs: one
    UPDATE ... FROM unnest(arrays) on PostgreSQL, ``bulk_update`` elsewhere."""
    if not drafts:
        return
    if connection.vendor != "postgresql":
        invoices = [
            Invoice(pk=pk, **snapshot.as_columns(), updated_at=now)
            for pk, snapshot in drafts
        ]
        Invoice.objects.bulk_update(invoices, [*SNAPSHOT_COLUMNS, "updated_at"])
        return
    # One array per snapshot column, of the column's own type.
    arrays = ", ".join(
        f"%s::{Invoice._meta.get_field(name).db_type(connection)}[]"
        for name in SNAPSHOT_COLUMNS
    )
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {Invoice._meta.db_table} AS i SET "
            + ", ".join(f"{name} = v.{name}" for name in SNAPSHOT_COLUMNS)
            + ", updated_at = %s "
            f"FROM unnest(%s::bigint[], {arrays}) "
            f"AS v(id, {', '.join(SNAPSHOT_COLUMNS)}) "
            "WHERE i.id = v.id AND i.status = 'draft'",
            [
                now,
                [pk for pk, _ in drafts],
                *(
                    list(values)
                    for values in zip(
                        *(snapshot.values() for _, snapshot in drafts), strict=True
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
