"""Storing usage events exactly once, with their counters and operation catalogue.

Exactly-once: the idempotency key ``(organization, event_id)`` is claimed in
``metering_usageeventkey`` in the same transaction that inserts the event and
increments its counter, so a key exists if and only if its event was durably
stored. A batch whose insert fails leaves no key behind and is counted once when
retried. A key already present is a duplicate when its payload hash matches and a
conflict otherwise; neither touches the stored event.

On PostgreSQL a batch is one binary COPY into a temporary stage and two statements
(claim the keys; store events, counters and operation codes); keys and counters
are written in sorted order so concurrent batches never deadlock. Other databases
(the SQLite demo) take a slower ORM path with the same results.
"""

import weakref
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

import orjson
import psycopg
from django.conf import settings
from django.db import connection, transaction
from psycopg import sql

from metering.ingestion import CleanEvent, EventCleaner, Limits, month_start
from metering.models import (
    Customer,
    Operation,
    Organization,
    UsageCounter,
    UsageEvent,
    UsageEventKey,
)

MAX_BATCH_EVENTS = 10_000


class Status:
    ACCEPTED = "accepted"
    DUPLICATE = "duplicate"
    CONFLICT = "conflict"
    REJECTED = "rejected"


@dataclass(slots=True)
class EventOutcome:
    index: int  # position in the submitted list
    event_id: str
    status: str
    errors: dict[str, list[str]] = field(default_factory=dict)

    def as_dict(self) -> dict:
        row = {"index": self.index, "event_id": self.event_id, "status": self.status}
        if self.errors:
            row["errors"] = self.errors
        return row


@dataclass
class IngestResult:
    """The outcome of each submitted event, by position in the submitted list."""

    event_ids: list[str]
    statuses: list[str]
    # Field errors by position, for rejected and conflicting events only.
    errors: dict[int, dict[str, list[str]]]

    @property
    def outcomes(self) -> list[EventOutcome]:
        return [
            EventOutcome(index, event_id, status, self.errors.get(index, {}))
            for index, (event_id, status) in enumerate(
                zip(self.event_ids, self.statuses, strict=True)
            )
        ]

    def count(self, status: str) -> int:
        return self.statuses.count(status)

    @property
    def accepted(self) -> int:
        return self.count(Status.ACCEPTED)

    @property
    def duplicates(self) -> int:
        return self.count(Status.DUPLICATE)

    @property
    def conflicts(self) -> int:
        return self.count(Status.CONFLICT)

    @property
    def rejected(self) -> int:
        return self.count(Status.REJECTED)

    def summary(self) -> dict[str, int]:
        counts = Counter(self.statuses)
        return {key: counts[status] for status, key in _SUMMARY_KEYS.items()}

    def rows(self) -> list[dict]:
        """The outcomes as the API renders them (``EventOutcome.as_dict``)."""
        rows = [
            {"index": index, "event_id": event_id, "status": status}
            for index, (event_id, status) in enumerate(
                zip(self.event_ids, self.statuses, strict=True)
            )
        ]
        for index, errors in self.errors.items():
            rows[index]["errors"] = errors
        return rows


_SUMMARY_KEYS = {
    Status.ACCEPTED: "accepted",
    Status.DUPLICATE: "duplicates",
    Status.CONFLICT: "conflicts",
    Status.REJECTED: "rejected",
}


def ingest_limits() -> Limits:
    return Limits(
        future_window=timedelta(
            seconds=getattr(settings, "METERING_FUTURE_WINDOW_SECONDS", 300)
        ),
        max_properties_bytes=getattr(settings, "METERING_MAX_PROPERTIES_BYTES", 16_384),
    )


def _event_id_of(raw) -> str:
    value = raw.get("event_id") if isinstance(raw, dict) else None
    return value if isinstance(value, str) else ""


def usage_events_ingest(
    *, organization: Organization, events: list, now: datetime
) -> IngestResult:
    """Validate and store a batch of events as sent by a client.

    Returns one outcome per submitted event, in order: accepted (stored now),
    duplicate (stored before with the same payload), conflict (the id was stored
    with a different payload) or rejected (with ``{field: [message]}``). Valid
    events are stored even when others in the batch are rejected. ``now`` is the
    server's receive time; events before the current UTC month are flagged late.
    """
    clean = EventCleaner(
        now=now, open_period_start=month_start(now), limits=ingest_limits()
    ).clean
    count = len(events)
    event_ids = [""] * count
    statuses = [Status.ACCEPTED] * count
    errors: dict[int, dict[str, list[str]]] = {}
    # event_id -> first valid occurrence in the batch; positions[n] is the index
    # of the n-th entry
    first_seen: dict[str, CleanEvent] = {}
    positions: list[int] = []
    for index, raw in enumerate(events):
        event = clean(raw)
        if type(event) is dict:
            event_ids[index] = _event_id_of(raw)
            statuses[index] = Status.REJECTED
            errors[index] = event
            continue
        event_id = event_ids[index] = event.event_id
        earlier = first_seen.get(event_id)
        if earlier is None:
            first_seen[event_id] = event
            positions.append(index)
        elif earlier.payload_hash == event.payload_hash:
            statuses[index] = Status.DUPLICATE
        else:
            statuses[index] = Status.CONFLICT
            errors[index] = {"event_id": [_conflict_message(event_id)]}
    if first_seen:
        valid = list(first_seen.values())
        keys = {event.customer_key for event in valid}
        with transaction.atomic():
            customer_ids = _customer_ids(organization=organization, keys=keys)
            to_store = valid
            if len(customer_ids) < len(keys):
                to_store = []
                for index, event in zip(positions, valid, strict=True):
                    if event.customer_key in customer_ids:
                        to_store.append(event)
                    else:
                        statuses[index] = Status.REJECTED
                        errors[index] = {
                            "customer_id": [f"Unknown customer {event.customer_key!r}."]
                        }
            store = (
                _store_postgresql if connection.vendor == "postgresql" else _store_orm
            )
            unclaimed = (
                store(
                    organization=organization,
                    events=to_store,
                    customer_ids=customer_ids,
                    now=now,
                )
                if to_store
                else set()
            )
            stored_hashes = _stored_hashes(
                organization=organization, event_ids=sorted(unclaimed)
            )
        if unclaimed:
            for index, event in zip(positions, valid, strict=True):
                if event.event_id not in unclaimed:
                    continue
                if stored_hashes.get(event.event_id) == event.payload_hash:
                    statuses[index] = Status.DUPLICATE
                else:
                    statuses[index] = Status.CONFLICT
                    errors[index] = {"event_id": [_conflict_message(event.event_id)]}
    return IngestResult(event_ids=event_ids, statuses=statuses, errors=errors)


def _conflict_message(event_id: str) -> str:
    return (
        f"Event {event_id!r} was already received with a different payload; "
        "use a new event_id for a new event."
    )


def _customer_ids(*, organization: Organization, keys: set[str]) -> dict[str, int]:
    """External id -> primary key; unknown ones are created if the organization
    allows it (concurrent creators agree through the unique constraint)."""
    found = _customers_by_key(organization=organization, keys=keys)
    missing = keys - found.keys()
    if missing and organization.auto_create_customers:
        Customer.objects.bulk_create(
            [
                Customer(organization=organization, external_id=key, name=key)
                for key in sorted(missing)
            ],
            ignore_conflicts=True,
        )
        found.update(
            Customer.objects.filter(
                organization=organization, external_id__in=missing
            ).values_list("external_id", "id")
        )
    return found


def _customers_by_key(*, organization: Organization, keys: set[str]) -> dict:
    if connection.vendor != "postgresql":
        return dict(
            Customer.objects.filter(
                organization=organization, external_id__in=keys
            ).values_list("external_id", "id")
        )
    connection.ensure_connection()
    with psycopg.Cursor(connection.connection) as cursor:
        # The keys as one JSON text: encoded in C, where an array parameter is
        # encoded element by element in Python.
        cursor.execute(
            "SELECT c.external_id, c.id "
            "FROM json_array_elements_text(%s::json) AS k(external_id) "
            "JOIN metering_customer c ON c.external_id = k.external_id "
            "WHERE c.organization_id = %s",
            (orjson.dumps(list(keys)).decode(), organization.pk),
        )
        return dict(cursor.fetchall())


def _stored_hashes(*, organization: Organization, event_ids: list[str]) -> dict:
    if not event_ids:
        return {}
    return {
        event_id: bytes(digest)
        for event_id, digest in UsageEventKey.objects.filter(
            organization=organization, event_id__in=event_ids
        ).values_list("event_id", "payload_hash")
    }


# The batch's valid events are COPYed into a per-connection temporary table (no
# WAL, no index), then two statements read it. Each batch first deletes what the
# previous batch on the connection left there: emptying the table at commit (ON
# COMMIT DELETE ROWS) or by TRUNCATE costs a file truncation or a new file,
# milliseconds per batch. Deleted rows leave empty pages that only a TRUNCATE
# gives back (autovacuum skips temporary tables), so one runs instead once more
# than STAGE_TRUNCATE_ROWS rows were staged on the connection.
# Connections must stay with one client for the transaction (no statement-level
# pooling), which Django's persistent connections give.
STAGE_TRUNCATE_ROWS = 20_000
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
)
"""
STAGE_TYPES = (
    "text", "int8", "text", "text", "text", "int8",
    "text", "text", "text", "timestamptz", "bytea", "bool",
)  # fmt: skip
STAGE_COPY_SQL = "COPY metering_ingest_stage FROM STDIN (FORMAT binary)"

# Two steps in the batch's transaction. The first claims the keys (sorted) and
# finds the event ids whose keys were taken already; those rows leave the stage.
# The second stores every staged event, adds their sums to the month counters
# (sorted) and registers new operation codes. Both commit or fail together, so a
# key exists exactly when its event is stored. Every transaction takes its row
# locks in the same order (keys, operations, counters, each sorted with the "C"
# collation, which is cheap to compare), so concurrent batches wait for each
# other but never deadlock.
#
# Claiming first tries a plain INSERT of all keys inside a savepoint, in one round
# trip: a third cheaper than INSERT ... ON CONFLICT, which probes the index once
# more per key. A key taken already makes it fail; the savepoint is rolled back
# and CLAIM_SQL claims what is free and answers the rest.
CLAIM_ALL_SQL = sql.SQL(
    """
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
    INSERT INTO metering_usagecounter AS counter
        (organization_id, customer_id, operation, period_start, quantity,
         event_count)
    SELECT %(organization)s, customer_id, operation,
           date_trunc('month', occurred_at AT TIME ZONE 'UTC')::date,
           sum(quantity::numeric(20, 6)), count(*)
    FROM metering_ingest_stage
    GROUP BY customer_id, operation, 4
    ORDER BY customer_id, operation COLLATE "C", 4
    ON CONFLICT (organization_id, customer_id, operation, period_start)
    DO UPDATE SET quantity = counter.quantity + EXCLUDED.quantity,
                  event_count = counter.event_count + EXCLUDED.event_count
)
INSERT INTO metering_operation
    (organization_id, code, name, unit, description, activity_type,
     created_at, updated_at)
SELECT %(organization)s, operation, operation, '', '', '', %(now)s, %(now)s
FROM (SELECT DISTINCT operation FROM metering_ingest_stage) AS seen
ORDER BY operation COLLATE "C"
ON CONFLICT (organization_id, code) DO NOTHING
"""


# Rows staged per database connection since its last TRUNCATE of the stage.
_staged_rows: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _store_postgresql(
    *,
    organization: Organization,
    events: list[CleanEvent],
    customer_ids: dict[str, int],
    now: datetime,
) -> set[str]:
    """Store ``events`` (distinct ids); answer the ids that were stored before."""
    connection.ensure_connection()
    params = {"organization": organization.pk, "now": now}
    # A server-side-binding cursor: binary COPY, and parameters travel apart from
    # the statements. JIT compilation would cost more than it saves here.
    with psycopg.Cursor(connection.connection) as cursor:
        raw_connection = connection.connection
        staged = _staged_rows.get(raw_connection, 0) + len(events)
        if staged > STAGE_TRUNCATE_ROWS:
            empty, staged = "TRUNCATE", len(events)
        else:
            empty = "DELETE FROM"
        # Without parameters: one round trip for the three statements.
        cursor.execute(
            f"{STAGE_TABLE_SQL}; {empty} metering_ingest_stage; SET LOCAL jit = off"
        )
        _staged_rows[raw_connection] = staged
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
            cursor.execute(STORE_SQL, params)
    return set(unclaimed)


def _store_orm(
    *,
    organization: Organization,
    events: list[CleanEvent],
    customer_ids: dict[str, int],
    now: datetime,
) -> set[str]:
    """The same effects through the ORM, for databases without the SQL above."""
    event_ids = [e.event_id for e in events]
    taken = set(
        UsageEventKey.objects.filter(
            organization=organization, event_id__in=event_ids
        ).values_list("event_id", flat=True)
    )
    new = [e for e in events if e.event_id not in taken]
    UsageEventKey.objects.bulk_create(
        [
            UsageEventKey(
                organization=organization,
                event_id=e.event_id,
                payload_hash=e.payload_hash,
                occurred_at=e.occurred_at,
                received_at=now,
            )
            for e in new
        ]
    )
    UsageEvent.objects.bulk_create(
        [
            UsageEvent(
                organization=organization,
                customer_id=customer_ids[e.customer_key],
                event_id=e.event_id,
                operation=e.operation,
                user_id=e.user_id,
                quantity=Decimal(e.quantity),
                data_volume_bytes=e.data_volume_bytes,
                process_id=e.process_id,
                context=e.context,
                properties=_json_loads(e.properties_json),
                occurred_at=e.occurred_at,
                received_at=now,
                is_late=e.is_late,
            )
            for e in new
        ],
        batch_size=500,
    )
    deltas: dict[tuple, list] = defaultdict(lambda: [Decimal(0), 0])
    for e in new:
        key = (customer_ids[e.customer_key], e.operation, month_start(e.occurred_at))
        deltas[key][0] += Decimal(e.quantity)
        deltas[key][1] += 1
    existing = {
        (c.customer_id, c.operation, c.period_start): c
        for c in UsageCounter.objects.select_for_update().filter(
            organization=organization,
            customer_id__in={key[0] for key in deltas},
            period_start__in={key[2].date() for key in deltas},
        )
    }
    new_counters, changed = [], []
    for (customer_id, operation, period), (quantity, count) in sorted(deltas.items()):
        counter = existing.get((customer_id, operation, period.date()))
        if counter is None:
            new_counters.append(
                UsageCounter(
                    organization=organization,
                    customer_id=customer_id,
                    operation=operation,
                    period_start=period.date(),
                    quantity=quantity,
                    event_count=count,
                )
            )
        else:
            counter.quantity += quantity
            counter.event_count += count
            changed.append(counter)
    UsageCounter.objects.bulk_create(new_counters, batch_size=500)
    UsageCounter.objects.bulk_update(
        changed, ["quantity", "event_count"], batch_size=500
    )
    Operation.objects.bulk_create(
        [
            Operation(organization=organization, code=code, name=code)
            for code in sorted({e.operation for e in events})
        ],
        ignore_conflicts=True,
    )
    return taken


def _json_loads(text: str):
    return orjson.loads(text)
