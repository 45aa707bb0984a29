# Written by hand: a version of each organization's customer keys, raised by a
# trigger, for ingestion's per-process cache of customer ids.

from django.db import migrations, models

from billing_site.migration_sql import postgresql_only

# Statement-level: one UPDATE per statement whatever the number of rows. An
# external id that is deleted or renamed may not keep mapping to its customer id;
# a new customer needs no version (a cache miss finds it).
FORWARD_SQL = [
    """
CREATE FUNCTION metering_customer_keys_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE metering_organization
    SET customer_keys_version = customer_keys_version + 1
    WHERE id IN (SELECT organization_id FROM changed);
    RETURN NULL;
END
$$
""",
    """
CREATE TRIGGER metering_customer_deleted
AFTER DELETE ON metering_customer
REFERENCING OLD TABLE AS changed
FOR EACH STATEMENT EXECUTE FUNCTION metering_customer_keys_changed()
""",
    # A trigger with transition tables cannot name columns (UPDATE OF), so the
    # renamed rows are picked out by comparing old and new rows.
    """
CREATE FUNCTION metering_customer_keys_renamed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE metering_organization
    SET customer_keys_version = customer_keys_version + 1
    WHERE id IN (
        SELECT o.organization_id FROM old_rows o JOIN new_rows n ON n.id = o.id
        WHERE n.external_id <> o.external_id
           OR n.organization_id <> o.organization_id
    );
    RETURN NULL;
END
$$
""",
    """
CREATE TRIGGER metering_customer_renamed
AFTER UPDATE ON metering_customer
REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
FOR EACH STATEMENT EXECUTE FUNCTION metering_customer_keys_renamed()
""",
]
BACKWARD_SQL = [
    "DROP TRIGGER metering_customer_renamed ON metering_customer",
    "DROP FUNCTION metering_customer_keys_renamed()",
    "DROP TRIGGER metering_customer_deleted ON metering_customer",
    "DROP FUNCTION metering_customer_keys_changed()",
]


class Migration(migrations.Migration):

    dependencies = [
        ("metering", "0007_event_primary_key"),
    ]

    operations = [
        migrations.AddField(
            model_name="organization",
            name="customer_keys_version",
            field=models.BigIntegerField(db_default=0, default=0, editable=False),
        ),
        postgresql_only(FORWARD_SQL, BACKWARD_SQL),
    ]
