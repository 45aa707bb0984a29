"""ORM storage of an ingested batch, for databases without the PostgreSQL path
(the SQLite demo): the same keys, events, month counters and operation codes.
"""

from collections import defaultdict
from datetime import datetime
from decimal import Decimal

import orjson

from metering.ingestion import CleanEvent, month_start
from metering.models import (
    Operation,
    Organization,
    UsageCounter,
    UsageEvent,
    UsageEventKey,
)


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
