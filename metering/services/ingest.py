"""Storing usage events exactly once, with their counters and operation catalogue.

Exactly-once: the idempotency key ``(organization, event_id)`` is claimed in
``metering_usageeventkey`` by the same SQL statement that inserts the event and
increments its counter, so a key exists if and only if its event was durably
stored. A batch whose insert fails leaves no key behind and is counted once when
retried. A key already present is a duplicate when its payload hash matches and a
conflict otherwise; neither touches the stored event.

On PostgreSQL a batch is one statement fed by ``unnest`` of column arrays; keys and
counters are written in sorted order so concurrent batches never deadlock. Other
databases (the SQLite demo) take a slower ORM path with the same results.
"""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

import orjson
import psycopg
from django.conf import settings
from django.db import connection, transaction

from metering.ingestion import CleanEvent, Limits, clean_event, month_start
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
    outcomes: list[EventOutcome]

    def count(self, status: str) -> int:
        return sum(1 for outcome in self.outcomes if outcome.status == status)

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
        return {
            "accepted": self.accepted,
            "duplicates": self.duplicates,
            "conflicts": self.conflicts,
            "rejected": self.rejected,
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
    limits = ingest_limits()
    open_period = month_start(now)
    outcomes: list[EventOutcome | None] = [None] * len(events)
    # event_id -> (index, clean event) of the first valid occurrence in the batch
    first_seen: dict[str, tuple[int, CleanEvent]] = {}
    for index, raw in enumerate(events):
        event, errors = clean_event(
            raw, now=now, open_period_start=open_period, limits=limits
        )
        if event is None:
            outcomes[index] = EventOutcome(
                index, _event_id_of(raw), Status.REJECTED, errors
            )
            continue
        earlier = first_seen.get(event.event_id)
        if earlier is None:
            first_seen[event.event_id] = (index, event)
        elif earlier[1].payload_hash == event.payload_hash:
            outcomes[index] = EventOutcome(index, event.event_id, Status.DUPLICATE)
        else:
            outcomes[index] = EventOutcome(
                index,
                event.event_id,
                Status.CONFLICT,
                {"event_id": [_conflict_message(event.event_id)]},
            )
    if first_seen:
        with transaction.atomic():
            customer_ids = _customer_ids(
                organization=organization,
                keys={event.customer_key for _, event in first_seen.values()},
            )
            to_store = []
            for index, event in first_seen.values():
                if event.customer_key in customer_ids:
                    to_store.append(event)
                else:
                    outcomes[index] = EventOutcome(
                        index,
                        event.event_id,
                        Status.REJECTED,
                        {"customer_id": [f"Unknown customer {event.customer_key!r}."]},
                    )
            store = (
                _store_postgresql if connection.vendor == "postgresql" else _store_orm
            )
            claimed = (
                store(
                    organization=organization,
                    events=to_store,
                    customer_ids=customer_ids,
                    now=now,
                )
                if to_store
                else set()
            )
            unclaimed = [e.event_id for e in to_store if e.event_id not in claimed]
            stored_hashes = _stored_hashes(
                organization=organization, event_ids=unclaimed
            )
        for index, event in first_seen.values():
            if outcomes[index] is not None:
                continue
            if event.event_id in claimed:
                status, errors = Status.ACCEPTED, {}
            elif stored_hashes.get(event.event_id) == event.payload_hash:
                status, errors = Status.DUPLICATE, {}
            else:
                status = Status.CONFLICT
                errors = {"event_id": [_conflict_message(event.event_id)]}
            outcomes[index] = EventOutcome(index, event.event_id, status, errors)
    return IngestResult(outcomes=outcomes)


def _conflict_message(event_id: str) -> str:
    return (
        f"Event {event_id!r} was already received with a different payload; "
        "use a new event_id for a new event."
    )


def _customer_ids(*, organization: Organization, keys: set[str]) -> dict[str, int]:
    """External id -> primary key; unknown ones are created if the organization
    allows it (concurrent creators agree through the unique constraint)."""
    found = dict(
        Customer.objects.filter(
            organization=organization, external_id__in=keys
        ).values_list("external_id", "id")
    )
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


def _stored_hashes(*, organization: Organization, event_ids: list[str]) -> dict:
    if not event_ids:
        return {}
    return {
        event_id: bytes(digest)
        for event_id, digest in UsageEventKey.objects.filter(
            organization=organization, event_id__in=event_ids
        ).values_list("event_id", "payload_hash")
    }


# One statement: claim keys (sorted, DO NOTHING), insert the events whose keys were
# claimed, add their sums to the month counters (sorted), register new operation
# codes. Data-modifying CTEs share one snapshot and commit or fail together.
INGEST_SQL = """
WITH input AS (
    SELECT * FROM unnest(
        %(event_ids)b::varchar[], %(customer_ids)b::bigint[], %(operations)b::varchar[],
        %(user_ids)b::varchar[], %(quantities)b::numeric[], %(volumes)b::bigint[],
        %(process_ids)b::varchar[], %(contexts)b::varchar[], %(properties)b::jsonb[],
        %(occurred)b::timestamptz[], %(hashes)b::bytea[], %(late)b::boolean[]
    ) AS t(event_id, customer_id, operation, user_id, quantity, data_volume_bytes,
           process_id, context, properties, occurred_at, payload_hash, is_late)
),
claimed AS (
    INSERT INTO metering_usageeventkey
        (organization_id, event_id, payload_hash, occurred_at, received_at)
    SELECT %(organization)s, event_id, payload_hash, occurred_at, %(now)s
    FROM input ORDER BY event_id
    ON CONFLICT (organization_id, event_id) DO NOTHING
    RETURNING event_id
),
stored AS (
    INSERT INTO metering_usageevent
        (organization_id, customer_id, event_id, operation, user_id, quantity,
         data_volume_bytes, process_id, context, properties, occurred_at,
         received_at, is_late)
    SELECT %(organization)s, i.customer_id, i.event_id, i.operation, i.user_id,
           i.quantity, i.data_volume_bytes, i.process_id, i.context, i.properties,
           i.occurred_at, %(now)s, i.is_late
    FROM input i JOIN claimed c ON c.event_id = i.event_id
    RETURNING customer_id, operation, quantity, occurred_at
),
counted AS (
    INSERT INTO metering_usagecounter AS counter
        (organization_id, customer_id, operation, period_start, quantity,
         event_count)
    SELECT %(organization)s, customer_id, operation,
           date_trunc('month', occurred_at AT TIME ZONE 'UTC')::date,
           sum(quantity), count(*)
    FROM stored GROUP BY 2, 3, 4 ORDER BY 2, 3, 4
    ON CONFLICT (organization_id, customer_id, operation, period_start)
    DO UPDATE SET quantity = counter.quantity + EXCLUDED.quantity,
                  event_count = counter.event_count + EXCLUDED.event_count
),
catalogued AS (
    INSERT INTO metering_operation
        (organization_id, code, name, unit, description, activity_type,
         created_at, updated_at)
    SELECT DISTINCT %(organization)s, operation, operation, '', '', '',
           %(now)s, %(now)s
    FROM input ORDER BY 2
    ON CONFLICT (organization_id, code) DO NOTHING
)
SELECT event_id FROM claimed
"""


def _store_postgresql(
    *,
    organization: Organization,
    events: list[CleanEvent],
    customer_ids: dict[str, int],
    now: datetime,
) -> set[str]:
    params = {
        "organization": organization.pk,
        "now": now,
        "event_ids": [e.event_id for e in events],
        "customer_ids": [customer_ids[e.customer_key] for e in events],
        "operations": [e.operation for e in events],
        "user_ids": [e.user_id for e in events],
        "quantities": [e.quantity for e in events],
        "volumes": [e.data_volume_bytes for e in events],
        "process_ids": [e.process_id for e in events],
        "contexts": [e.context for e in events],
        "properties": [e.properties_json for e in events],
        "occurred": [e.occurred_at for e in events],
        "hashes": [e.payload_hash for e in events],
        "late": [e.is_late for e in events],
    }
    connection.ensure_connection()
    # A server-side-binding cursor: arrays travel as parameters instead of being
    # spelled out as SQL literals by Django's client-side-binding cursor.
    # Prepared once per connection; JIT compilation would cost more than it saves
    # on a statement whose row estimates for unnest() are guesses.
    with psycopg.Cursor(connection.connection) as cursor:
        cursor.execute("SET LOCAL jit = off")
        cursor.execute(INGEST_SQL, params, prepare=True)
        return {row[0] for row in cursor.fetchall()}


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
                quantity=e.quantity,
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
        deltas[key][0] += e.quantity
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
    return {e.event_id for e in new}


def _json_loads(text: str):
    return orjson.loads(text)
