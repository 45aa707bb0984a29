"""Folding counter increments into the usage counters.

Ingestion on PostgreSQL appends one ``UsageCounterIncrement`` per counter a batch
touches; ``usage_counters_fold`` adds them into their ``UsageCounter`` rows and
deletes them, in one statement per chunk, so ``UsageCounterTotal`` (counters plus
increments) reads the same before, during and after a fold. One fold runs at a
time (an advisory lock; a second one finds it taken and leaves).
"""

from django.db import connection, transaction

FOLD_CHUNK = 100_000
# Serialises folds (beat task and manual runs) without waiting.
_LOCK_KEY = 0x666F6C64  # "fold"

# A chunk is the oldest ids: a range scan of the primary key, which is cheaper
# than locking rows one by one. Only committed rows are deleted; an increment
# committed later with a smaller id (ids are drawn before commit) is still there
# for the next chunk, whose range starts at the smallest id left.
FOLD_SQL = """
WITH moved AS (
    DELETE FROM metering_usagecounterincrement
    WHERE id < (SELECT min(id) FROM metering_usagecounterincrement) + %(chunk)s
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
    """Fold pending increments into the counters until none are left; returns how
    many increments were folded (0 when another fold is running).

    Only PostgreSQL ingestion writes increments; elsewhere (the SQLite demo)
    ingestion updates the counters directly and there is nothing to fold.
    """
    if connection.vendor != "postgresql":
        return 0
    folded = 0
    while True:
        # One transaction per chunk: a long fold never holds counters locked for
        # more than one chunk.
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SELECT pg_try_advisory_xact_lock(%s)", [_LOCK_KEY])
            if not cursor.fetchone()[0]:
                return folded
            cursor.execute(FOLD_SQL, {"chunk": chunk})
            (moved,) = cursor.fetchone()
        if not moved:
            return folded
        folded += moved
