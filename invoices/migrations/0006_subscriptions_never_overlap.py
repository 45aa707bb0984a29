"""A customer's subscriptions never overlap in time (so at most one is open): an
exclusion constraint on PostgreSQL, where concurrent requests can race. SQLite (the
local demo) serialises writes and relies on the service's check."""

from django.db import migrations

CREATE = """
CREATE EXTENSION IF NOT EXISTS btree_gist;
ALTER TABLE invoices_subscription
    ADD CONSTRAINT subscription_periods_never_overlap
    EXCLUDE USING gist (
        customer_id WITH =,
        tstzrange(starts_at, ends_at, '[)') WITH &&
    );
"""

DROP = """
ALTER TABLE invoices_subscription
    DROP CONSTRAINT IF EXISTS subscription_periods_never_overlap;
"""


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE)


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP)


class Migration(migrations.Migration):
    dependencies = [("invoices", "0005_line_kind_entitlement")]

    operations = [migrations.RunPython(create, drop)]
