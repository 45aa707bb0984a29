# Written by hand: the usage event table's primary key also serves the event list.

from django.db import migrations

from billing_site.migration_sql import postgresql_only

# Index strategy of metering_usageevent from here on (0002 and 0003 explain the
# earlier ones); each index is declared on the partitioned parent and so exists on
# every monthly partition:
# - primary key (organization_id, occurred_at, id): unique because ids come from a
#   sequence, and it contains the partition key as a partitioned table's unique
#   indexes must. It serves the event list and its cursor pagination (newest
#   first, per organization) and every read of an organization's period, which the
#   (organization_id, occurred_at, id) index served before; dropping the former
#   (id, occurred_at) key saves each ingested event one btree insertion.
# - BRIN (id): finds an event by id alone (its admin page): ids rise with insertion
#   order, so a few block ranges per partition hold it, at next to no insert cost.
# - (customer_id, occurred_at) and BRIN (received_at) as before.
FORWARD_SQL = [
    "ALTER TABLE metering_usageevent DROP CONSTRAINT metering_usageevent_pkey",
    "ALTER TABLE metering_usageevent ADD CONSTRAINT usage_event_pkey "
    "PRIMARY KEY (organization_id, occurred_at, id)",
    "DROP INDEX usage_event_org_time",
    "CREATE INDEX usage_event_id_brin ON metering_usageevent USING brin (id)",
]
BACKWARD_SQL = [
    "DROP INDEX usage_event_id_brin",
    "CREATE INDEX usage_event_org_time ON metering_usageevent "
    "(organization_id, occurred_at, id)",
    "ALTER TABLE metering_usageevent DROP CONSTRAINT usage_event_pkey",
    "ALTER TABLE metering_usageevent ADD CONSTRAINT metering_usageevent_pkey "
    "PRIMARY KEY (id, occurred_at)",
]


class Migration(migrations.Migration):

    dependencies = [
        ("metering", "0006_usage_counter_parts"),
    ]

    operations = [postgresql_only(FORWARD_SQL, BACKWARD_SQL)]
