"""Folding counter increments into the usage counters.

Ingestion on PostgreSQL appends one ``UsageCounterIncrement`` per counter a batch
touches; ``usage_counters_fold`` adds them into their ``UsageCounter`` rows and
deletes them, in one statement per chunk, so ``UsageCounterTotal`` (counters plus
increments) reads the same before, during and after a fold. Concurrent folds skip
each other's locked increments and write counters in sorted order, so they split
the work and never deadlock.
"""

from django.db import connection

FOLD_CHUNK = 100_000

FOLD_SQL = """
WITH moved AS (
    DELETE FROM metering_usagecounterincrement
    WHERE id IN (
        SELECT id FROM metering_usagecounterincrement
        ORDER BY id
        LIMIT %(chunk)s
        FOR UPDATE SKIP LOCKED
    )
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


def usage_counters_fold(*, chunk: int = FOLD_CHUNK) -> int:
    """Fold pending increments into the counters until none are left (or only
    those another fold holds); returns how many increments were folded.

    Only PostgreSQL ingestion writes increments; elsewhere (the SQLite demo)
    ingestion updates the counters directly and there is nothing to fold.
    """
    if connection.vendor != "postgresql":
        return 0
    folded = 0
    while True:
        # Each chunk commits on its own (autocommit): a long fold never holds
        # counters locked for more than one chunk.
        with connection.cursor() as cursor:
            cursor.execute(FOLD_SQL, {"chunk": chunk})
            (moved,) = cursor.fetchone()
        folded += moved
        if moved < chunk:
            return folded
