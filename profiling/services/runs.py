"""Profiling runs: created, extracted in chunks, finished.

A run goes PENDING -> RUNNING -> SUCCEEDED or FAILED. ``profiling_run_create`` fixes
the window, the operation list and the customer chunks; each chunk is extracted by
``profiling_chunk_extract`` (one task per chunk, so several workers share a big
organization); ``profiling_run_finish`` joins the chunks and runs the pipeline. The
synchronous path (``profiling_run_execute``) runs the same create, extraction and
finishing code in one process, handing the chunks over in memory instead of through
``ProfilingChunk`` rows. Storing the finished run's rows is ``results.py``.
"""

import gc
import json
import time
from contextlib import contextmanager
from datetime import datetime, timedelta

import numpy as np
from django.db import transaction

from billing_site.errors import DomainError, InvalidTransition
from metering.models import Customer, Organization
from profiling import end_users, markov, pipeline
from profiling.features import EventArrays
from profiling.models import ProfilingChunk, ProfilingRun, TagRule
from profiling.selectors import RawEvents, events_extract, operation_catalogue
from profiling.services.results import _end_user_ids, _store, _store_end_users
from profiling.services.tag_rules import tag_rules_ensure_defaults

DEFAULT_WINDOW_DAYS = 90
DEFAULT_CHUNK_SIZE = 2_000


@transaction.atomic
def profiling_run_create(
    *,
    organization: Organization,
    now: datetime,
    window_days: int = DEFAULT_WINDOW_DAYS,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    k_min: int = 2,
    k_max: int = 10,
    algorithm: str = "auto",
    seed: int = 0,
) -> tuple[ProfilingRun, list[list[int]]]:
    """A pending run over the ``window_days`` before ``now``, and its chunks."""
    if window_days < 1:
        raise DomainError("The window must be at least one day.", field="window_days")
    if not 2 <= k_min <= k_max:
        raise DomainError("Need 2 <= k_min <= k_max.", field="k_min")
    if algorithm not in ("auto", "kmeans", "dbscan"):
        raise DomainError("Use 'auto', 'kmeans' or 'dbscan'.", field="algorithm")
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
        algorithm=run.parameters.get("algorithm", "auto"),
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
