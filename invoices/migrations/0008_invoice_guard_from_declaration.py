# Written by hand: the invoice guard of 0002 and 0004 listed the columns it froze,
# so each new invoice column needed its own edit of the trigger. It now freezes
# every column but the lifecycle ones declared in ``invoices.documents``.

import importlib

from django.db import migrations

from invoices.documents import guard_installer, invoice_guard_sql

# The lifecycle columns of this migration's time (0011 adds more).
LIFECYCLE_FIELDS = frozenset({"status", "paid_at", "voided_at", "updated_at"})


def _listed_guard_sql() -> str:
    """0004's guard, which lists the frozen columns."""
    previous = importlib.import_module("invoices.migrations.0004_invoice_lines_digest")
    return previous.GUARD.format(
        extra_new=",\n            NEW.lines_digest",
        extra_old=",\n            OLD.lines_digest",
    )


class Migration(migrations.Migration):
    dependencies = [
        ("invoices", "0007_custom_permissions"),
    ]

    operations = [
        migrations.RunPython(
            guard_installer(lambda: invoice_guard_sql(LIFECYCLE_FIELDS)),
            guard_installer(_listed_guard_sql),
        )
    ]
