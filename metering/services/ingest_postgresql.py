"""PostgreSQL storage of an ingested batch: one binary COPY into a per-connection
temporary stage, then two statements that claim the idempotency keys and store
events, counter increments and operation codes. Keys and operation codes are
written in sorted order so concurrent batches never deadlock; counter increments
are appended rows, which nobody else locks.
"""

import weakref
from datetime import datetime

import psycopg
from django.conf import settings
from django.db import connection, transaction
from psycopg import sql
from psycopg.adapt import PyFormat

from billing_site.transactions import in_outermost_atomic
from metering.ingestion import CleanEvent
from metering.models import Organization

# The batch's valid events are COPYed into a per-connection temporary table (no
# WAL, no index), then two statements read it. PostgreSQL empties it when the
# transaction commits (ON COMMIT DELETE ROWS: a truncation of its file, cheaper
# than deleting the rows, and skipped by transactions that did not touch it). It
# is created by the first batch on a connection and remembered once that batch
# commits, so later batches spend no round trip on it. Connections must stay with
# one client for the transaction (no statement-level pooling), which Django's
# persistent connections give.
# Binary COPY: values travel in their binary forms, except quantity and properties,
# which the statement reads from text (numeric_in, jsonb_in) more cheaply than
# client-side binary numeric and JSON encoders produce them.
STAGE_TABLE_SQL = """
CREATE TEMPORARY TABLE IF NOT EXISTS metering_ingest_stage (
    event_id text NOT NULL,
    customer_id bigint NOT NULL,
    operation text NOT NULL,
    user_id text NOT NULL,
    quantity text NOT NULL,
    data_volume_bytes bigint,
    process_id text NOT NULL,
    context text NOT NULL,
    properties text NOT NULL,
    occurred_at timestamptz NOT NULL,
    payload_hash bytea NOT NULL,
    is_late boolean NOT NULL
) ON COMMIT DELETE ROWS
"""
STAGE_TYPES = (
    "text", "int8", "text", "text", "text", "int8",
    "text", "text", "text", "timestamptz", "bytea", "bool",
)  # fmt: skip
STAGE_COPY_SQL = "COPY metering_ingest_stage FROM STDIN (FORMAT binary)"
# set_types() takes each column's dumper by type oid. For bytea that is the dumper
# of psycopg's DB-API Binary wrapper, written in Python; the cursor registers the
# C dumper of bytes in its place.
_BYTES_DUMPER = psycopg.adapters.get_dumper(bytes, PyFormat.BINARY)

# Two steps in the batch's transaction. The first claims the keys (sorted) and
# finds the event ids whose keys were taken already; those rows leave the stage.
# The second stores every staged event, appends their sums per counter as
# increments (see UsageCounterIncrement) and registers new operation codes. Both
# commit or fail together, so a key exists exactly when its event is stored and
# counted. Every transaction takes its row locks in the same order (keys, then
# operations, each sorted with the "C" collation), so concurrent batches wait for
# each other but never deadlock.
#
# Claiming first tries a plain INSERT of all keys inside a savepoint, in one round
# trip: a third cheaper than INSERT ... ON CONFLICT, which probes the index once
# more per key. A key taken already makes it fail; the savepoint is rolled back
# and CLAIM_SQL claims what is free and answers the rest. JIT compilation would
# cost more than it saves on statements of this size.
CLAIM_ALL_SQL = sql.SQL(
    """
SET LOCAL jit = off;
SAVEPOINT metering_claim;
INSERT INTO metering_usageeventkey
    (organization_id, event_id, payload_hash, occurred_at, received_at)
SELECT {organization}, event_id, payload_hash, occurred_at, {now}
FROM metering_ingest_stage ORDER BY event_id COLLATE "C";
RELEASE SAVEPOINT metering_claim
"""
)
CLAIM_UNDO_SQL = (
    "ROLLBACK TO SAVEPOINT metering_claim; RELEASE SAVEPOINT metering_claim"
)
CLAIM_SQL = """
WITH claimed AS (
    INSERT INTO metering_usageeventkey
        (organization_id, event_id, payload_hash, occurred_at, received_at)
    SELECT %(organization)s, event_id, payload_hash, occurred_at, %(now)s
    FROM metering_ingest_stage ORDER BY event_id COLLATE "C"
    ON CONFLICT (organization_id, event_id) DO NOTHING
    RETURNING event_id
)
SELECT s.event_id FROM metering_ingest_stage s
WHERE NOT EXISTS (SELECT FROM claimed c WHERE c.event_id = s.event_id)
"""
UNSTAGE_SQL = "DELETE FROM metering_ingest_stage WHERE event_id = ANY(%s)"
STORE_SQL = """
WITH stored AS (
    INSERT INTO metering_usageevent
        (organization_id, customer_id, event_id, operation, user_id, quantity,
         data_volume_bytes, process_id, context, properties, occurred_at,
         received_at, is_late)
    SELECT %(organization)s, customer_id, event_id, operation, user_id,
           quantity::numeric(20, 6), data_volume_bytes, process_id, context,
           properties::jsonb, occurred_at, %(now)s, is_late
    FROM metering_ingest_stage
),
counted AS (
    INSERT INTO metering_usagecounterincrement
        (organization_id, customer_id, operation, period_start, quantity,
         event_count)
    SELECT %(organization)s, customer_id, operation,
           date_trunc('month', occurred_at AT TIME ZONE 'UTC')::date,
           sum(quantity::numeric(20, 6)), count(*)
    FROM metering_ingest_stage
    GROUP BY customer_id, operation, 4
)
INSERT INTO metering_operation
    (organization_id, code, name, unit, description, activity_type,
     created_at, updated_at)
SELECT %(organization)s, operation, operation, '', '', '', %(now)s, %(now)s
FROM (SELECT DISTINCT operation FROM metering_ingest_stage) AS seen
ORDER BY operation COLLATE "C"
ON CONFLICT (organization_id, code) DO NOTHING
"""


# The database connections known to hold the stage table (see STAGE_TABLE_SQL).
_staged_connections: weakref.WeakSet = weakref.WeakSet()


def _store_postgresql(
    *,
    organization: Organization,
    events: list[CleanEvent],
    customer_ids: dict[str, int],
    now: datetime,
) -> set[str]:
    """Store ``events`` (distinct ids); answer the ids that were stored before."""
    connection.ensure_connection()
    raw_connection = connection.connection
    params = {"organization": organization.pk, "now": now}
    # A server-side-binding cursor: binary COPY, and parameters travel apart from
    # the statements.
    with psycopg.Cursor(raw_connection) as cursor:
        if (
            raw_connection not in _staged_connections
            or settings.DATABASE_TRANSACTION_POOLING
        ):
            cursor.execute(STAGE_TABLE_SQL)
            # Created in this transaction: it exists for later ones only if
            # this one commits.
            transaction.on_commit(lambda: _staged_connections.add(raw_connection))
        if not in_outermost_atomic():
            # An enclosing transaction may have staged an earlier batch, which
            # only its commit would clear.
            cursor.execute("DELETE FROM metering_ingest_stage")
        cursor.adapters.register_dumper(bytes, _BYTES_DUMPER)
        with cursor.copy(STAGE_COPY_SQL) as copy:
            copy.set_types(STAGE_TYPES)
            write_row = copy.write_row
            for e in events:
                write_row(
                    (
                        e.event_id,
                        customer_ids[e.customer_key],
                        e.operation,
                        e.user_id,
                        e.quantity,
                        e.data_volume_bytes,
                        e.process_id,
                        e.context,
                        e.properties_json,
                        e.occurred_at,
                        e.payload_hash,
                        e.is_late,
                    )
                )
        try:
            # Parameters inlined as literals: without parameters the three
            # statements travel in one round trip.
            cursor.execute(
                CLAIM_ALL_SQL.format(
                    organization=sql.Literal(organization.pk), now=sql.Literal(now)
                )
            )
            unclaimed = []
        except psycopg.errors.UniqueViolation:
            cursor.execute(CLAIM_UNDO_SQL)
            cursor.execute(CLAIM_SQL, params)
            unclaimed = [row[0] for row in cursor.fetchall()]
        if len(unclaimed) < len(events):
            if unclaimed:
                cursor.execute(UNSTAGE_SQL, (unclaimed,))
            # Prepared: parsing and planning it cost about as much as running it
            # for a small batch.
            cursor.execute(STORE_SQL, params, prepare=True)
    return set(unclaimed)
