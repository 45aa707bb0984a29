"""PostgreSQL triggers that keep issued invoices immutable even for bulk queries.

The model's ``save()`` guards refuse edits through the ORM; these refuse them at
the database too (``QuerySet.update``, raw SQL). SQLite keeps the model guards only.
"""

from django.db import migrations

CREATE = """
CREATE OR REPLACE FUNCTION invoices_invoice_guard() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        IF OLD.status <> 'draft' THEN
            RAISE EXCEPTION 'invoice % is %, it cannot be deleted', OLD.id, OLD.status;
        END IF;
        RETURN OLD;
    END IF;
    IF OLD.status <> 'draft' AND (
        NEW.status = 'draft'
        OR (NEW.organization_id, NEW.customer_id, NEW.frequency, NEW.period_start,
            NEW.period_end, NEW.currency, NEW.number, NEW.subtotal, NEW.total,
            NEW.customer_name, NEW.customer_external_id, NEW.billing_model_name,
            NEW.rated_at, NEW.issued_on, NEW.due_on, NEW.finalized_at)
        IS DISTINCT FROM
           (OLD.organization_id, OLD.customer_id, OLD.frequency, OLD.period_start,
            OLD.period_end, OLD.currency, OLD.number, OLD.subtotal, OLD.total,
            OLD.customer_name, OLD.customer_external_id, OLD.billing_model_name,
            OLD.rated_at, OLD.issued_on, OLD.due_on, OLD.finalized_at)
    ) THEN
        RAISE EXCEPTION 'invoice % is %, it cannot be edited', OLD.id, OLD.status;
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER invoices_invoice_guard
BEFORE UPDATE OR DELETE ON invoices_invoice
FOR EACH ROW EXECUTE FUNCTION invoices_invoice_guard();

CREATE OR REPLACE FUNCTION invoices_invoiceline_guard() RETURNS trigger AS $$
DECLARE
    invoice_status text;
BEGIN
    SELECT status INTO invoice_status FROM invoices_invoice
    WHERE id = CASE WHEN TG_OP = 'DELETE' THEN OLD.invoice_id ELSE NEW.invoice_id END;
    IF invoice_status IS NOT NULL AND invoice_status <> 'draft' THEN
        RAISE EXCEPTION 'invoice is %, its lines cannot change', invoice_status;
    END IF;
    IF TG_OP = 'DELETE' THEN
        RETURN OLD;
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER invoices_invoiceline_guard
BEFORE INSERT OR UPDATE OR DELETE ON invoices_invoiceline
FOR EACH ROW EXECUTE FUNCTION invoices_invoiceline_guard();
"""

DROP = """
DROP TRIGGER IF EXISTS invoices_invoiceline_guard ON invoices_invoiceline;
DROP FUNCTION IF EXISTS invoices_invoiceline_guard();
DROP TRIGGER IF EXISTS invoices_invoice_guard ON invoices_invoice;
DROP FUNCTION IF EXISTS invoices_invoice_guard();
"""


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        # Through a cursor without parameters: the SQL contains RAISE's "%".
        with schema_editor.connection.cursor() as cursor:
            cursor.execute(CREATE)


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        with schema_editor.connection.cursor() as cursor:
            cursor.execute(DROP)


class Migration(migrations.Migration):
    dependencies = [("invoices", "0001_initial")]

    operations = [migrations.RunPython(create, drop)]
