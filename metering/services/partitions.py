"""Monthly partitions of the usage event table (PostgreSQL only).

``metering_usageevent`` is range-partitioned on ``occurred_at`` by calendar month
(UTC), plus a DEFAULT partition that accepts any date without a monthly partition
(old backfills, far-future test data). ``usage_partitions_ensure`` creates the
months around ``now`` ahead of time and gives every month found in the DEFAULT
partition its own partition, moving those rows over, so the DEFAULT partition
stays small.
"""

from datetime import UTC, datetime

from django.db import connection, transaction

from metering.ingestion import add_months, month_start

PARENT = "metering_usageevent"
DEFAULT_PARTITION = "metering_usageevent_default"
# Serialises concurrent runs (beat task and a manual command).
_LOCK_KEY = 0x6D657465  # "mete"


def partition_name(month: datetime) -> str:
    return f"{PARENT}_p{month.year:04d}_{month.month:02d}"


def usage_partitions_ensure(
    *, now: datetime, months_ahead: int = 3, months_back: int = 1
) -> list[str]:
    """Create missing monthly partitions; returns the names created, in order."""
    if connection.vendor != "postgresql":
        return []
    current = month_start(now)
    wanted = {
        add_months(current, offset) for offset in range(-months_back, months_ahead + 1)
    }
    created = []
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_LOCK_KEY])
        cursor.execute(
            f"SELECT DISTINCT date_trunc('month', occurred_at AT TIME ZONE 'UTC') "
            f"FROM {DEFAULT_PARTITION}"
        )
        wanted |= {month_start(row[0].replace(tzinfo=UTC)) for row in cursor}
        cursor.execute(
            "SELECT c.relname FROM pg_inherits i "
            "JOIN pg_class c ON c.oid = i.inhrelid "
            "WHERE i.inhparent = %s::regclass",
            [PARENT],
        )
        existing = {row[0] for row in cursor}
        for month in sorted(wanted):
            name = partition_name(month)
            if name in existing:
                continue
            _create_partition(cursor, name, month, add_months(month, 1))
            created.append(name)
    return created


def _create_partition(cursor, name: str, start: datetime, end: datetime) -> None:
    # Created detached, filled with the month's rows from the DEFAULT partition,
    # then attached: attaching validates the DEFAULT partition no longer holds them.
    cursor.execute(
        f"CREATE TABLE {name} (LIKE {PARENT} INCLUDING DEFAULTS INCLUDING CONSTRAINTS)"
    )
    cursor.execute(
        f"WITH moved AS (DELETE FROM {DEFAULT_PARTITION} "
        f"WHERE occurred_at >= %s AND occurred_at < %s RETURNING *) "
        f"INSERT INTO {name} SELECT * FROM moved",
        [start, end],
    )
    cursor.execute(
        f"ALTER TABLE {PARENT} ATTACH PARTITION {name} FOR VALUES FROM (%s) TO (%s)",
        [start, end],
    )


def usage_partition_list() -> list[tuple[str, str]]:
    """(partition name, bounds) of the event table, for the admin and tests."""
    if connection.vendor != "postgresql":
        return []
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname, pg_get_expr(c.relpartbound, c.oid) FROM pg_inherits i "
            "JOIN pg_class c ON c.oid = i.inhrelid "
            "WHERE i.inhparent = %s::regclass ORDER BY c.relname",
            [PARENT],
        )
        return [(name, bounds) for name, bounds in cursor]
