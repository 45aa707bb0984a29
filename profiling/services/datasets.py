"""Data sets stored as metering usage: generated synthetic usage (with each
customer's planted segment) and the MSNBC clickstream."""

from datetime import datetime

import numpy as np

from metering.models import Customer, Organization
from metering.services import usage_events_ingest
from profiling.features import EventArrays

PLANTED_KEY = "planted_segment"


def synthetic_usage_store(
    *,
    organization: Organization,
    events: EventArrays,
    external_ids: list[str],
    now: datetime,
    planted: np.ndarray | None = None,
    prefix: str = "syn",
    progress=None,
    batch: int = 10_000,
    user_ids: list[str] | None = None,
) -> int:
    """Store generated events through metering's ingestion; returns events accepted.

    Customers are created when missing (with their planted segment in metadata);
    event ids are ``<prefix>-<n>`` so storing the same data twice is idempotent.
    ``user_ids`` gives each event its end user ("" for none).
    """
    existing = set(
        Customer.objects.filter(
            organization=organization, external_id__in=external_ids
        ).values_list("external_id", flat=True)
    )
    Customer.objects.bulk_create(
        [
            Customer(
                organization=organization,
                external_id=external_id,
                name=f"Customer {external_id}",
                metadata=(
                    {PLANTED_KEY: int(planted[i])} if planted is not None else {}
                ),
            )
            for i, external_id in enumerate(external_ids)
            if external_id not in existing
        ],
        batch_size=2_000,
    )
    stamps = (events.timestamp.astype("datetime64[s]")).astype(str)
    customer_keys = np.asarray(external_ids, dtype=object)[events.customer]
    operations = np.asarray(events.operations, dtype=object)[events.operation]
    volumes = events.volume
    accepted = 0
    starts = range(0, len(events), batch)
    for start in progress(starts) if progress else starts:
        stop = min(start + batch, len(events))
        payload = [
            {
                "event_id": f"{prefix}-{i}",
                "customer_id": customer_keys[i],
                "operation": operations[i],
                "quantity": "1",
                "occurred_at": stamps[i] + "Z",
                "data_volume_bytes": None if np.isnan(volumes[i]) else int(volumes[i]),
                "user_id": user_ids[i] if user_ids is not None else "",
            }
            for i in range(start, stop)
        ]
        result = usage_events_ingest(organization=organization, events=payload, now=now)
        accepted += result.accepted
    return accepted


def msnbc_store(*, organization: Organization, clickstream, now: datetime) -> int:
    """Store clickstream users as customers and their page views as events.

    Each user's views get synthesised times: the session starts at a random time in
    the last 20 days (fixed seed) and views are one minute apart, in file order.
    """
    seqs = clickstream.sequences
    rng = np.random.default_rng(0)
    end = int(now.timestamp()) - 3_600
    session_start = end - rng.integers(0, 20 * 86_400, seqs.count)
    customer = seqs.sequence_of_position()
    step = np.arange(len(seqs.tokens)) - seqs.start_of_position()
    events = EventArrays(
        customer=customer,
        operation=seqs.tokens,
        timestamp=session_start[customer] + 60 * step,
        volume=np.full(len(seqs.tokens), np.nan),
        customer_count=seqs.count,
        operations=tuple(clickstream.categories),
    )
    return synthetic_usage_store(
        organization=organization,
        events=events,
        external_ids=[f"msnbc_{i:07d}" for i in range(seqs.count)],
        now=now,
        prefix="msnbc",
    )
