# Written by hand: the increments' primary key is led by the customer alone.

from django.db import migrations

from billing_site.migration_sql import postgresql_only

# Readers ask for one customer's pending increments (a counter total), or for all
# of an organization's, which they read whole: the table holds no more than the
# minute since the last fold. (customer_id, id) serves the first; the second and
# the fold scan the table. Two columns instead of four make the index, which every
# ingested counter enters at a random place, about a third smaller.
FORWARD_SQL = [
    "ALTER TABLE metering_usagecounterincrement DROP CONSTRAINT usage_increment_pkey",
    "ALTER TABLE metering_usagecounterincrement ADD CONSTRAINT "
    "usage_increment_pkey PRIMARY KEY (customer_id, id)",
]
BACKWARD_SQL = [
    "ALTER TABLE metering_usagecounterincrement DROP CONSTRAINT usage_increment_pkey",
    "ALTER TABLE metering_usagecounterincrement ADD CONSTRAINT usage_increment_pkey "
    "PRIMARY KEY (organization_id, period_start, customer_id, id)",
]


class Migration(migrations.Migration):

    dependencies = [
        ("metering", "0008_customer_keys_version"),
    ]

    operations = [postgresql_only(FORWARD_SQL, BACKWARD_SQL)]
