"""Folding counter increments into the usage counters.

Ingestion on PostgreSQL appends one ``UsageCounterIncrement`` per counter a batch
touches; ``usage_counters_fold`` adds them into their ``UsageCounter`` rows and
deletes them, in one statement, so ``UsageCounterTotal`` (counters plus
increments) reads the same before, during and after a fold. One fold runs at a
time (an advisory lock; a second one finds it taken and leaves).
"""

from django.db import connection, transaction

# Serialises folds (beat task and manual runs) without waiting.
_LOCK_KEY = 0x666F6C64  # "fold"

# Every committed increment, in one statement and one pass over the table (which
# has no index to spare for the fold); an increment committed meanwhile is left for
# the next fold. Only folds write counters on PostgreSQL, so a long fold holds
# locks nobody else waits for.
FOLD_SQL = """
WITH moved AS (
    DELETE FROM metering_usagecounterincrement
    RETURNING organization_id, customer_id, operation, period_start, quantity,
              event_count
),
folded AS (
    INSERT INTO metering_usagecounter AS counter
        (organization_id, customer_id, operation, period_start, quantity,
         event_count)
    SELECT organization_id, customer_id, operation, period_start, sum(quantity),
           sum(event_count)
    FROM moved
    GROUP BY organization_id, customer_id, operation, period_start
    ORDER BY organization_id, customer_id, operation, period_start
    ON CONFLICT (organization_id, customer_id, operation, period_start)
    DO UPDATE SET quantity = counter.quantity + EXCLUDED.quantity,
                  event_count = counter.event_count + EXCLUDED.event_count
)
SELECT count(*) FROM moved
"""


def usage_counters_fold() -> int:
    """Fold the pending increments into the counters; returns how many were
    folded (0 when another fold is running).

    Only PostgreSQL ingestion writes increments; elsewhere (the SQLite demo)
    ingestion updates the counters directly and there is nothing to fold.
    """
    if connection.vendor != "postgresql":
        return 0
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_xact_lock(%s)", [_LOCK_KEY])
        if not cursor.fetchone()[0]:
            return 0
        cursor.execute(FOLD_SQL)
        return cursor.fetchone()[0]
