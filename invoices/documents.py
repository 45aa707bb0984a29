"""What an invoice document holds, declared once.

- ``InvoiceSnapshot``: what a rating stores on its invoice, one field per invoice
  column of the same name. The bulk writer's column list, the update of re-rated
  drafts and the ORM fallbacks all come from its fields, so a new snapshot column is
  a field here and on the model.
- ``rating.RatedLine``: what a rating stores on each invoice line, likewise
  (``LINE_COLUMNS``).
- ``LIFECYCLE_FIELDS``: the only columns an issued invoice may still change. The
  model's ``save()`` and the PostgreSQL guard (``invoice_guard_sql``, installed by
  migration 0008, with the current list by 0011) refuse a change of any other
  column, whichever it is, so the guard needs no edit when a column is added.

Plain values only: no ORM, no settings.
"""

from collections.abc import Callable
from dataclasses import dataclass, fields
from datetime import datetime
from decimal import Decimal
from operator import attrgetter

from invoices.rating import RatedLine


@dataclass(frozen=True, slots=True)
class InvoiceSnapshot:
    """What (re)rating a customer's period writes onto its draft invoice."""

    currency: str
    subtotal: Decimal  # charges (lines before adjustments) net of included tax
    discount_total: Decimal  # positive
    tax_total: Decimal  # inclusive and exclusive taxes
    total: Decimal
    amount_due: Decimal  # what the customer owes (``Rating.amount_due``)
    customer_name: str  # cut to the column's 200 characters
    customer_external_id: str
    customer_tax_id: str  # from the customer's tax profile, empty without one
    customer_country: str
    billing_model_name: str  # empty without a subscription
    lines_digest: str  # see ``Invoice.lines_digest``
    rated_at: datetime

    def values(self) -> tuple:
        """The field values, in ``SNAPSHOT_COLUMNS`` order."""
        return _snapshot_values(self)

    def as_columns(self) -> dict:
        """The field values by column name (for the ORM's ``Invoice(**...)``)."""
        return dict(zip(SNAPSHOT_COLUMNS, _snapshot_values(self), strict=True))


SNAPSHOT_COLUMNS = tuple(field.name for field in fields(InvoiceSnapshot))
_snapshot_values = attrgetter(*SNAPSHOT_COLUMNS)

# The columns of an invoice line: its invoice, its place on the document, what the
# rating produced (``RatedLine``'s fields, in order) and, for a late-usage
# adjustment, the invoice it corrects (read from the line's reference).
LINE_COLUMNS: tuple[str, ...] = (
    "invoice_id",
    "position",
    *RatedLine._fields,
    "adjusts_invoice_id",
)

# Once issued, only these columns change, and only through the lifecycle services;
# ``status`` never back to draft.
LIFECYCLE_FIELDS = frozenset(
    {
        "status",
        "paid_at",
        "voided_at",
        "overdue_at",
        "amount_due",
        "credits_applied",
        "amount_paid",
        "amount_credited",
        "updated_at",
    }
)


def guard_installer(sql_of: Callable[[], str]) -> Callable:
    """A ``RunPython`` function installing the guard ``sql_of()`` returns, on
    PostgreSQL only (other databases have no trigger), through a cursor without
    parameters: the SQL contains RAISE's "%"."""

    def install(apps, schema_editor) -> None:
        if schema_editor.connection.vendor != "postgresql":
            return
        with schema_editor.connection.cursor() as cursor:
            cursor.execute(sql_of())

    return install


def invoice_guard_sql(lifecycle_fields=LIFECYCLE_FIELDS) -> str:
    """The PostgreSQL function behind the ``invoices_invoice_guard`` trigger: an
    issued invoice is never deleted and none of its columns but
    ``lifecycle_fields`` changes (its row is compared as JSON without them).

    Drafts return at once, so re-rating a period's drafts costs the guard nothing.
    Each migration that changes ``LIFECYCLE_FIELDS`` installs the guard with its
    own copy of the list (a test compares the latest with the declaration).
    """
    mutable = ",".join(sorted(lifecycle_fields))
    return f"""
CREATE OR REPLACE FUNCTION invoices_invoice_guard() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        IF OLD.status <> 'draft' THEN
            RAISE EXCEPTION 'invoice % is %, it cannot be deleted', OLD.id, OLD.status;
        END IF;
        RETURN OLD;
    END IF;
    IF OLD.status = 'draft' THEN
        RETURN NEW;
    END IF;
    IF NEW.status = 'draft'
       OR to_jsonb(NEW) - '{{{mutable}}}'::text[]
          IS DISTINCT FROM to_jsonb(OLD) - '{{{mutable}}}'::text[] THEN
        RAISE EXCEPTION 'invoice % is %, it cannot be edited', OLD.id, OLD.status;
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;
"""
