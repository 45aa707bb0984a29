"""Writes of profiling: runs (created, extracted in chunks, finished), tag rules and
the nightly schedule.

A run goes PENDING -> RUNNING -> SUCCEEDED or FAILED. ``profiling_run_create`` fixes
the window, the operation list and the customer chunks; each chunk is extracted by
``profiling_chunk_extract`` (one task per chunk, so several workers share a big
organization); ``profiling_run_finish`` joins the chunks and runs the pipeline. The
synchronous path (``profiling_run_execute``) runs the same create, extraction and
finishing code in one process, handing the chunks over in memory instead of through
``ProfilingChunk`` rows.
"""

import gc
import json
import time
from contextlib import contextmanager
from datetime import datetime, timedelta
from decimal import Decimal

import numpy as np
import orjson
from django.db import connection, models, transaction

from billing_site.errors import DomainError, InvalidTransition
from metering.models import Customer, Organization
from metering.services import usage_events_ingest
from profiling import end_users, markov, pipeline
from profiling.features import EventArrays
from profiling.models import (
    BehavioralTag,
    CustomerProfile,
    EndUserProfile,
    ProfilingChunk,
    ProfilingRun,
    Segment,
    TagRule,
)
from profiling.selectors import (
    RawEvents,
    active_customer_ids,
    events_extract,
    operation_catalogue,
    operation_frequencies,
)

DEFAULT_WINDOW_DAYS = 90
DEFAULT_CHUNK_SIZE = 2_000

DEFAULT_RULES = [
    ("heavy:{family}.*", TagRule.Kind.FAMILY_SHARE, "", "0.400"),
    ("export-power-user", TagRule.Kind.OPERATION_SHARE, "export.*", "0.500"),
    ("night-owl", TagRule.Kind.NIGHT_SHARE, "", "0.400"),
    ("bursty", TagRule.Kind.BURSTINESS, "", "0.500"),
    ("growing", TagRule.Kind.TREND, "", "0.200"),
    ("unusual", TagRule.Kind.UNUSUAL, "", "1.000"),
]


def tag_rules_ensure_defaults(*, organization: Organization) -> int:
    """Create the default tag rules an organization lacks (by name); returns count."""
    existing = set(
        TagRule.objects.filter(organization=organization).values_list("name", flat=True)
    )
    missing = [
        TagRule(
            organization=organization,
            name=name,
            kind=kind,
            pattern=pattern,
            threshold=Decimal(threshold),
        )
        for name, kind, pattern, threshold in DEFAULT_RULES
        if name not in existing
    ]
    TagRule.objects.bulk_create(missing)
    return len(missing)


@transaction.atomic
def profiling_run_create(
    *,
    organization: Organization,
    now: datetime,
    window_days: int = DEFAULT_WINDOW_DAYS,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    k_min: int = 2,
    k_max: int = 10,
    algorithm: str = "kmeans",
    seed: int = 0,
) -> tuple[ProfilingRun, list[list[int]]]:
    """A pending run over the ``window_days`` before ``now``, and its chunks."""
    if window_days < 1:
        raise DomainError("The window must be at least one day.", field="window_days")
    if not 2 <= k_min <= k_max:
        raise DomainError("Need 2 <= k_min <= k_max.", field="k_min")
    if algorithm not in ("kmeans", "dbscan"):
        raise DomainError("Use 'kmeans' or 'dbscan'.", field="algorithm")
    start = now - timedelta(days=window_days)
    # The catalogues, not the events: no scan of the event table before extraction.
    # Operations without events in the window are dropped when the run finishes.
    operations = operation_catalogue(organization=organization)
    customers = list(
        Customer.objects.filter(organization=organization)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    chunks = [
        customers[i : i + chunk_size] for i in range(0, len(customers), chunk_size)
    ]
    run = ProfilingRun.objects.create(
        organization=organization,
        window_start=start,
        window_end=now,
        operations=operations,
        customer_count=len(customers),
        chunks_expected=len(chunks),
        parameters={
            "window_days": window_days,
            "chunk_size": chunk_size,
            "k_range": [k_min, k_max],
            "algorithm": algorithm,
            "seed": seed,
            "session_gap_minutes": 30,
            "chain_orders": {
                "global": pipeline.GLOBAL_ORDER,
                "segment": pipeline.SEGMENT_ORDER,
                "customer": pipeline.CUSTOMER_ORDER,
            },
        },
    )
    return run, chunks


def _extract(run: ProfilingRun, customer_ids: list[int]) -> tuple[RawEvents, float]:
    started = time.perf_counter()
    raw = events_extract(
        organization=run.organization,
        start=run.window_start,
        end=run.window_end,
        operations=run.operations,
        customer_ids=customer_ids,
    )
    return raw, time.perf_counter() - started


def profiling_chunk_extract(
    *, run: ProfilingRun, index: int, customer_ids: list[int]
) -> ProfilingChunk:
    """Extract one chunk's events for the finishing step (fan-out across workers).

    A chunk already stored is returned as is, so a retried task does no work twice.
    """
    existing = ProfilingChunk.objects.filter(run=run, index=index).first()
    if existing is not None:
        return existing
    raw, seconds = _extract(run, customer_ids)
    chunk, _ = ProfilingChunk.objects.get_or_create(
        run=run,
        index=index,
        defaults={
            "payload": raw.to_npz(),
            "event_count": len(raw.customer_id),
            "seconds": seconds,
        },
    )
    return chunk


def _rules(organization: Organization) -> list[pipeline.Rule]:
    return [
        pipeline.Rule(r.name, r.kind, r.pattern, float(r.threshold))
        for r in TagRule.objects.filter(organization=organization, is_active=True)
    ]


def profiling_run_finish(
    *,
    run: ProfilingRun,
    now: datetime,
    extracted: list[tuple[RawEvents, float]] | None = None,
) -> ProfilingRun:
    """Join the chunks, run the pipeline and store segments, profiles and tags.

    ``extracted`` (events and seconds per chunk) is given by the synchronous path,
    which keeps the chunks in memory; otherwise the stored chunks are read.
    """
    run = ProfilingRun.objects.defer("chains").get(pk=run.pk)
    if run.status == ProfilingRun.Status.SUCCEEDED:
        raise InvalidTransition(f"profiling run {run.pk} has already succeeded")
    started = time.perf_counter()
    ProfilingRun.objects.filter(pk=run.pk).update(
        status=ProfilingRun.Status.RUNNING, started_at=run.started_at or now
    )
    try:
        with _without_cyclic_gc():
            return _finish(run, started, now, extracted)
    except Exception as error:
        ProfilingRun.objects.filter(pk=run.pk).update(
            status=ProfilingRun.Status.FAILED, error=repr(error)[:2000]
        )
        raise


@contextmanager
def _without_cyclic_gc():
    """Pause Python's cyclic garbage collector while a run finishes.

    A run builds millions of small acyclic objects (profile rows, JSON); each full
    collection would walk all of them again for nothing, which cost a noticeable
    share of a run. Reference counting still frees them as usual.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _finish(
    run: ProfilingRun,
    started: float,
    now: datetime,
    extracted: list[tuple[RawEvents, float]] | None,
) -> ProfilingRun:
    clock = time.perf_counter()
    if extracted is None:
        chunks = list(ProfilingChunk.objects.filter(run=run).order_by("index"))
        extracted = [(RawEvents.from_npz(c.payload), c.seconds) for c in chunks]
    if len(extracted) != run.chunks_expected:
        raise DomainError(
            f"{len(extracted)} of {run.chunks_expected} chunks extracted", field="run"
        )
    raw = RawEvents.concatenate([events for events, _ in extracted])
    if len(raw.customer_id) == 0:
        raise DomainError("No usage events in the window.", field="window_start")
    customer_ids, customer_index = np.unique(raw.customer_id, return_inverse=True)
    used, operation_index = np.unique(raw.operation, return_inverse=True)
    run.operations = [run.operations[int(code)] for code in used]
    ProfilingRun.objects.filter(pk=run.pk).update(operations=run.operations)
    events = EventArrays(
        customer=customer_index.astype(np.int64),
        operation=operation_index.astype(np.int64),
        timestamp=raw.timestamp,
        volume=raw.volume,
        customer_count=len(customer_ids),
        operations=tuple(run.operations),
    )
    timings = {
        "extract": round(sum(seconds for _, seconds in extracted), 4),
        "load": round(time.perf_counter() - clock, 4),
    }
    tag_rules_ensure_defaults(organization=run.organization)
    k_min, k_max = run.parameters.get("k_range", [2, 10])
    result = pipeline.profile(
        events,
        window_start=int(run.window_start.timestamp()),
        window_end=int(run.window_end.timestamp()),
        rules=_rules(run.organization),
        k_range=(k_min, k_max),
        seed=run.parameters.get("seed", 0),
        algorithm=run.parameters.get("algorithm", "kmeans"),
        starts=raw.session_start,
    )
    timings.update(result.timings)
    clock = time.perf_counter()
    users = end_users.profile(
        events,
        raw.user_key,
        window_start=int(run.window_start.timestamp()),
        window_end=int(run.window_end.timestamp()),
        levels=[result.chains[name] for name in ("global", "segment", "customer")],
        labels=result.labels,
        rules=_rules(run.organization),
    )
    user_customer_ids = customer_ids[users.customer]
    user_ids = _end_user_ids(raw, user_customer_ids, users.key)
    timings["end_users"] = round(time.perf_counter() - clock, 4)
    clock = time.perf_counter()
    _store(run, result, customer_ids)
    _store_end_users(run, users, user_customer_ids, user_ids)
    timings["store"] = round(time.perf_counter() - clock, 4)
    timings["total"] = round(time.perf_counter() - started + timings["extract"], 4)
    chains = dict(result.chains)
    if users.chain is not None:
        chains["end_user"] = users.chain
    payload = markov.chains_dump(
        chains,
        {
            "customer_ids": customer_ids,
            "segment_groups": pipeline.segment_groups(result.labels),
            "end_user_customer_ids": user_customer_ids,
            "end_user_ids": user_ids,
        },
    )
    ProfilingRun.objects.filter(pk=run.pk).update(
        status=ProfilingRun.Status.SUCCEEDED,
        chains=payload,
        scores=json.loads(json.dumps(result.scores, default=float)),
        timings=timings,
        event_count=len(events),
        customer_count=events.customer_count,
        finished_at=now,
    )
    ProfilingChunk.objects.filter(run=run).delete()
    run.refresh_from_db()
    return run


@transaction.atomic
def _store(run: ProfilingRun, result: pipeline.ProfileResult, customer_ids) -> None:
    CustomerProfile.objects.filter(run=run).delete()
    BehavioralTag.objects.filter(run=run).delete()
    Segment.objects.filter(run=run).delete()
    segments = Segment.objects.bulk_create(
        [
            Segment(
                run=run,
                label=s.label,
                name=s.name,
                size=s.size,
                top_operations=s.top_operations,
                centroid_summary=s.centroid_summary,
                transitions=s.transitions,
            )
            for s in result.segments
        ]
    )
    by_label = {s.label: s.pk for s in segments}
    _insert_rows(
        CustomerProfile,
        [
            "run_id",
            "customer_id",
            "segment_id",
            "features",
            "next_operations",
            "predicted_counts",
            "predicted_path",
            "recent_operations",
            "projection_x",
            "projection_y",
        ],  # fmt: skip
        (
            (
                run.pk,
                int(customer_id),
                by_label.get(int(result.labels[i])),
                _json(result.summaries[i]),
                _json(result.next_operations[i]),
                _json(result.predicted_counts[i]),
                _json(result.predicted_paths[i]),
                _json(result.recent_operations[i]),
                float(result.projection[i, 0]),
                float(result.projection[i, 1]),
            )
            for i, customer_id in enumerate(customer_ids.tolist())
        ),
    )
    _insert_rows(
        BehavioralTag,
        ["run_id", "customer_id", "name", "score", "explanation"],
        (
            (
                run.pk,
                int(customer_ids[tag.customer]),
                tag.name[:100],
                Decimal(f"{tag.score:.3f}"),
                tag.explanation[:300],
            )
            for tag in result.tags
        ),
    )


def _end_user_ids(
    raw: RawEvents, customer_ids: np.ndarray, keys: np.ndarray
) -> np.ndarray:
    """The ``user_id`` of each (customer id, end-user key) from the extraction."""
    names = dict(
        zip(
            zip(raw.end_user_customer.tolist(), raw.end_user_key.tolist(), strict=True),
            raw.end_user_id.tolist(),
            strict=True,
        )
    )
    return np.array(
        [
            names[pair]
            for pair in zip(customer_ids.tolist(), keys.tolist(), strict=True)
        ],
        dtype=str,
    )


@transaction.atomic
def _store_end_users(
    run: ProfilingRun,
    users: end_users.EndUserResult,
    customer_ids: np.ndarray,
    user_ids: np.ndarray,
) -> None:
    EndUserProfile.objects.filter(run=run).delete()
    _insert_rows(
        EndUserProfile,
        [
            "run_id",
            "customer_id",
            "user_id",
            "event_count",
            "features",
            "next_operations",
            "recent_operations",
            "tags",
        ],  # fmt: skip
        (
            (
                run.pk,
                int(customer_ids[i]),
                str(user_ids[i]),
                users.summaries[i]["events"],
                _json(users.summaries[i]),
                _json(users.next_operations[i]),
                _json(users.recent_operations[i]),
                _json(users.tags[i]),
            )
            for i in range(len(users))
        ),
    )


def _json(value) -> str:
    return orjson.dumps(value).decode()


def _insert_rows(model, columns: list[str], rows) -> None:
    """Many new rows at once: COPY on PostgreSQL, ``bulk_create`` elsewhere.

    JSON columns arrive as JSON text; ids as plain integers.
    """
    if connection.vendor == "postgresql":
        fields = [model._meta.get_field(c).column for c in columns]
        table = model._meta.db_table
        with connection.cursor() as cursor:
            with cursor.cursor.copy(
                f"COPY {table} ({', '.join(fields)}) FROM STDIN"
            ) as copy:
                for row in rows:
                    copy.write_row(row)
        return
    json_fields = {
        c for c in columns if isinstance(model._meta.get_field(c), models.JSONField)
    }
    model.objects.bulk_create(
        [
            model(
                **{
                    c: (json.loads(v) if c in json_fields else v)
                    for c, v in zip(columns, row, strict=True)
                }
            )
            for row in rows
        ],
        batch_size=2_000,
    )


def profiling_run_execute(
    *, organization: Organization, now: datetime, progress=None, **options
) -> ProfilingRun:
    """A whole run, synchronously: create, extract every chunk, finish."""
    run, chunks = profiling_run_create(organization=organization, now=now, **options)
    extracted = [
        _extract(run, customer_ids)
        for customer_ids in (progress(chunks) if progress else chunks)
    ]
    return profiling_run_finish(run=run, now=now, extracted=extracted)


PLANTED_KEY = "planted_segment"


def profiling_evaluate(
    *, organization: Organization, now: datetime, window_days: int = DEFAULT_WINDOW_DAYS
) -> pipeline.Evaluation:
    """Held-out evaluation over the window (see ``pipeline.evaluate``).

    The adjusted Rand index is reported when every customer carries a planted
    segment in ``metadata["planted_segment"]`` (synthetic data).
    """
    start = now - timedelta(days=window_days)
    operations = [
        op
        for op, _ in operation_frequencies(
            organization=organization, start=start, end=now
        )
    ]
    customers = active_customer_ids(organization=organization, start=start, end=now)
    if not customers:
        raise DomainError("No usage events in the window.", field="organization")
    raw = events_extract(
        organization=organization,
        start=start,
        end=now,
        operations=operations,
        customer_ids=customers,
    )
    customer_ids, customer_index = np.unique(raw.customer_id, return_inverse=True)
    events = EventArrays(
        customer=customer_index.astype(np.int64),
        operation=raw.operation,
        timestamp=raw.timestamp,
        volume=raw.volume,
        customer_count=len(customer_ids),
        operations=tuple(operations),
    )
    planted = dict(
        Customer.objects.filter(pk__in=customer_ids.tolist()).values_list(
            "pk", f"metadata__{PLANTED_KEY}"
        )
    )
    truth = None
    if all(planted.get(int(pk)) is not None for pk in customer_ids):
        truth = np.array([planted[int(pk)] for pk in customer_ids])
    return pipeline.evaluate(
        events,
        window_start=int(start.timestamp()),
        window_end=int(now.timestamp()),
        truth=truth,
    )


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
