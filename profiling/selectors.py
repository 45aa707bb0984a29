"""Reads of profiling: event extraction into numpy, runs, profiles, predictions.

Extraction on PostgreSQL is one ``COPY (SELECT ...) TO STDOUT (FORMAT binary)`` of
fixed-width 8-byte columns parsed by ``numpy.frombuffer``, over the events metering
selects (``metering.selectors.usage_events_sql``) in each customer's time order:
operation codes are positions in the run's operation list, and times travel as
PostgreSQL's own microseconds, from which numpy finds the session openings (no
window function, no conversion per row in the database). Other databases (the
SQLite demo) use the ORM and numpy for the same arrays.
"""

import io
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime, timedelta

import numpy as np
import psycopg
from django.db import connection
from django.db.models import OuterRef, QuerySet, Subquery

from metering.models import Customer, Organization
from metering.selectors import operation_list, usage_event_list, usage_events_sql
from profiling import markov
from profiling.features import SESSION_GAP_SECONDS, session_openings
from profiling.models import (
    UNUSUAL_LABEL,
    BehavioralTag,
    CustomerProfile,
    EndUserProfile,
    ProfilingRun,
    Segment,
)

# customer id, operation code, occurred_at, volume + 1, end-user key
_COLUMNS = 5
# A binary COPY's timestamptz: microseconds since 2000-01-01 00:00 UTC.
_POSTGRES_EPOCH_SECONDS = 946_684_800
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)

# A non-zero 64-bit key of the end user (0 when the event names none), so the COPY
# stays fixed-width; END_USERS_SQL maps the keys back to ``user_id`` strings.
USER_KEY_SQL = (
    "CASE WHEN e.user_id = '' THEN 0 ELSE hashtextextended(e.user_id, 0) | 1 END"
)

# The events' columns the extraction reads, from metering's event selection
# (``metering.selectors.usage_events_sql``), which PostgreSQL flattens into these
# statements.
EVENT_COLUMNS = (
    "id",
    "customer_id",
    "operation",
    "occurred_at",
    "data_volume_bytes",
    "user_id",
)

EXTRACT_SQL = """
COPY (
    SELECT e.customer_id,
           (coalesce(array_position(%s::text[], e.operation::text), 0)
            - 1)::bigint,
           e.occurred_at,
           coalesce(e.data_volume_bytes + 1, 0),
           {user_key}
    FROM ({events}) e
    ORDER BY e.customer_id, e.occurred_at, e.id
) TO STDOUT (FORMAT binary)
"""

END_USERS_SQL = """
SELECT e.customer_id, e.user_id, {user_key}
FROM ({events}) e
WHERE e.user_id <> ''
GROUP BY e.customer_id, e.user_id
ORDER BY e.customer_id, e.user_id
"""


@dataclass(frozen=True)
class RawEvents:
    """Events of some customers, sorted by customer then time."""

    customer_id: np.ndarray  # database ids
    operation: np.ndarray  # codes into the run's operation list
    timestamp: np.ndarray  # epoch seconds
    volume: np.ndarray  # float64 bytes, NaN when not reported
    session_start: np.ndarray  # bool
    user_key: np.ndarray  # int64 end-user key, 0 when the event names none
    # The end users met: (customer id, user key) -> user_id, one row per pair.
    end_user_customer: np.ndarray  # int64 customer ids
    end_user_key: np.ndarray  # int64
    end_user_id: np.ndarray  # str

    def to_npz(self) -> bytes:
        buffer = io.BytesIO()
        # Uncompressed: compressing costs more time than the bytes it saves.
        np.savez(
            buffer,
            customer_id=self.customer_id,
            operation=self.operation,
            timestamp=self.timestamp,
            volume=self.volume,
            session_start=self.session_start,
            user_key=self.user_key,
            end_user_customer=self.end_user_customer,
            end_user_key=self.end_user_key,
            end_user_id=self.end_user_id,
        )
        return buffer.getvalue()

    @classmethod
    def from_npz(cls, payload: bytes) -> "RawEvents":
        with np.load(io.BytesIO(bytes(payload))) as stored:
            return cls(**{key: stored[key] for key in stored.files})

    @classmethod
    def concatenate(cls, parts: list["RawEvents"]) -> "RawEvents":
        if not parts:
            return cls.empty()
        return cls(
            *(np.concatenate([getattr(p, f.name) for p in parts]) for f in fields(cls))
        )

    @classmethod
    def empty(cls) -> "RawEvents":
        ints = np.zeros(0, dtype=np.int64)
        return cls(
            customer_id=ints,
            operation=ints,
            timestamp=ints,
            volume=ints.astype(np.float64),
            session_start=ints.astype(bool),
            user_key=ints,
            end_user_customer=ints,
            end_user_key=ints,
            end_user_id=np.zeros(0, dtype=str),
        )


def operation_catalogue(*, organization: Organization) -> list[str]:
    """The organization's operation codes (ingestion adds each one on first sight)."""
    return list(
        operation_list(organization=organization)
        .order_by("code")
        .values_list("code", flat=True)
    )


def _parse_binary_copy(payload: bytes) -> list[np.ndarray]:
    """The ``_COLUMNS`` int64 columns of a binary COPY of 8-byte values."""
    fields = [("count", ">i2")]
    for index in range(_COLUMNS):
        fields += [(f"len{index}", ">i4"), (f"v{index}", ">i8")]
    row = np.dtype(fields)
    body = payload[19:-2]  # 11-byte signature + flags + extension; trailer -1
    records = np.frombuffer(body, dtype=row)
    return [records[f"v{i}"].astype(np.int64) for i in range(_COLUMNS)]


def events_extract(
    *,
    organization: Organization,
    start: datetime,
    end: datetime,
    operations: list[str],
    customer_ids: list[int],
    gap_seconds: int = SESSION_GAP_SECONDS,
) -> RawEvents:
    """The events of ``customer_ids`` in ``[start, end)`` as arrays.

    On PostgreSQL the chunk is the id range ``min..max`` of ``customer_ids`` (chunks
    are contiguous slices of the sorted ids), which keeps the scan in the order of
    the ``(customer_id, occurred_at)`` index so the window needs no big sort.
    """
    if connection.vendor == "postgresql":
        connection.ensure_connection()
        events, params = usage_events_sql(
            organization=organization,
            start=start,
            end=end,
            columns=EVENT_COLUMNS,
            customer_id_range=(
                min(customer_ids, default=0),
                max(customer_ids, default=-1),
            ),
        )
        extract = EXTRACT_SQL.format(user_key=USER_KEY_SQL, events=events)
        buffer = io.BytesIO()
        with psycopg.ClientCursor(connection.connection) as cursor:
            with cursor.copy(extract, (operations, *params)) as copy:
                for block in copy:
                    buffer.write(block)
            cursor.execute(
                END_USERS_SQL.format(user_key=USER_KEY_SQL, events=events), params
            )
            end_users = cursor.fetchall()
        customer, operation, micros, volume, user_key = _parse_binary_copy(
            buffer.getvalue()
        )
        # Sessions open over every event, then events of operations outside the
        # list (code -1) are dropped.
        starts = session_openings(customer, micros, gap_seconds * 1_000_000)
        known = operation >= 0
        if not known.all():
            customer, operation = customer[known], operation[known]
            micros, volume = micros[known], volume[known]
            user_key, starts = user_key[known], starts[known]
        unreported = volume == 0  # volume + 1, 0 when not reported
        volume = volume.astype(np.float64) - 1
        volume[unreported] = np.nan
        return RawEvents(
            customer_id=customer,
            operation=operation,
            timestamp=micros // 1_000_000 + _POSTGRES_EPOCH_SECONDS,
            volume=volume,
            session_start=starts,
            user_key=user_key,
            **_end_user_arrays(end_users),
        )
    codes = {op: i for i, op in enumerate(operations)}
    rows = list(
        usage_event_list(organization=organization, start=start, end=end)
        .filter(customer_id__in=customer_ids)
        .order_by("customer_id", "occurred_at", "id")
        .values_list(
            "customer_id", "operation", "occurred_at", "data_volume_bytes", "user_id"
        )
    )
    # As on PostgreSQL: sessions open over every event (to the microsecond),
    # then events of operations outside the list are dropped.
    micros = np.array([(r[2] - _EPOCH) // _MICROSECOND for r in rows], dtype=np.int64)
    starts = session_openings(
        np.array([r[0] for r in rows], dtype=np.int64),
        micros,
        gap_seconds * 1_000_000,
    )
    known = np.array([row[1] in codes for row in rows], dtype=bool)
    rows = [row for row, kept in zip(rows, known, strict=True) if kept]
    starts, micros = starts[known], micros[known]
    # Without PostgreSQL's hash, the keys are positions in the sorted end users.
    end_users = sorted({(r[0], r[4]) for r in rows if r[4]})
    keys = {pair: index + 1 for index, pair in enumerate(end_users)}
    customer = np.array([r[0] for r in rows], dtype=np.int64)
    return RawEvents(
        customer_id=customer,
        operation=np.array([codes[r[1]] for r in rows], dtype=np.int64),
        timestamp=np.floor_divide(micros, 1_000_000),
        volume=np.array(
            [np.nan if r[3] is None else float(r[3]) for r in rows], dtype=np.float64
        ),
        session_start=starts,
        user_key=np.array([keys.get((r[0], r[4]), 0) for r in rows], dtype=np.int64),
        **_end_user_arrays([(c, u, keys[(c, u)]) for c, u in end_users]),
    )


def _end_user_arrays(rows: list[tuple[int, str, int]]) -> dict[str, np.ndarray]:
    return {
        "end_user_customer": np.array([r[0] for r in rows], dtype=np.int64),
        "end_user_id": np.array([r[1] for r in rows], dtype=str),
        "end_user_key": np.array([r[2] for r in rows], dtype=np.int64),
    }


# ------------------------------------------------------------------------ reads


def run_list(*, organization: Organization) -> QuerySet[ProfilingRun]:
    return ProfilingRun.objects.filter(organization=organization).defer("chains")


def latest_run(*, organization: Organization) -> ProfilingRun | None:
    return (
        ProfilingRun.objects.filter(
            organization=organization, status=ProfilingRun.Status.SUCCEEDED
        )
        .order_by("-finished_at", "-id")
        .first()
    )


def latest_runs(*, organizations: QuerySet[Organization]) -> QuerySet[ProfilingRun]:
    """The latest successful run of each of ``organizations`` (as ``latest_run``)."""
    latest = (
        ProfilingRun.objects.filter(
            organization=OuterRef("organization"),
            status=ProfilingRun.Status.SUCCEEDED,
        )
        .order_by("-finished_at", "-id")
        .values("pk")[:1]
    )
    return (
        ProfilingRun.objects.filter(organization__in=organizations)
        .filter(pk=Subquery(latest))
        .defer("chains")
    )


def unusual_profiles(
    *, organizations: QuerySet[Organization]
) -> QuerySet[CustomerProfile]:
    """The profiles the latest run of each of ``organizations`` put in the unusual
    group (DBSCAN noise: behaviour unlike any dense group of customers)."""
    return CustomerProfile.objects.filter(
        run__in=latest_runs(organizations=organizations),
        segment__label=UNUSUAL_LABEL,
    )


def segment_list(*, organization: Organization) -> QuerySet[Segment]:
    """Segments of the organization's latest successful run."""
    run = latest_run(organization=organization)
    return Segment.objects.filter(run=run).order_by("label")


def profile_for_customer(*, customer: Customer) -> CustomerProfile | None:
    run = latest_run(organization=customer.organization)
    if run is None:
        return None
    return (
        CustomerProfile.objects.select_related("segment")
        .filter(run=run, customer=customer)
        .first()
    )


def tags_for_customer(*, customer: Customer) -> QuerySet[BehavioralTag]:
    run = latest_run(organization=customer.organization)
    return BehavioralTag.objects.filter(run=run, customer=customer).order_by(
        "-score", "name"
    )


def end_users_for_customer(*, customer: Customer) -> QuerySet[EndUserProfile]:
    """The customer's end users in the latest run, most active first."""
    run = latest_run(organization=customer.organization)
    return EndUserProfile.objects.filter(run=run, customer=customer).order_by(
        "-event_count", "user_id"
    )


@dataclass(frozen=True)
class CustomerBehaviour:
    """What the bundles app needs of a customer's behaviour."""

    segment_id: int | None
    segment_name: str
    tags: list[dict]  # [{"name", "score" (Decimal), "explanation"}]
    next_operations: list[dict]  # [{"operation", "probability"}]
    predicted_counts: dict[str, float]  # operation -> expected events next 30 days
    # [{"user_id", "events", "top_operations", "next_operations", "tags"}], most
    # active end user first.
    end_users: list[dict] = field(default_factory=list)


def customer_profile(customer: Customer) -> CustomerBehaviour:
    """Tags, segment, predicted counts and end users from the latest run (empty
    when none).

    Rates are per day of the customer's own observed span, never of the whole
    run window: predicted counts (and the costs and bundle coverage computed from
    them) are the customer's events divided by the days from their first event to
    the window end (at least one day, at most the window), shrunk toward their
    segment's rate the less those days say (``pipeline.daily_rates``), times 30.
    Trends compare the two halves of that same span. A customer who started 15
    days ago with 60 events a week is predicted at about 257 events in 30 days,
    not at 43.
    """
    profile = profile_for_customer(customer=customer)
    tags = [
        {"name": t.name, "score": t.score, "explanation": t.explanation}
        for t in tags_for_customer(customer=customer)
    ]
    if profile is None:
        return CustomerBehaviour(None, "", tags, [], {})
    users = [
        {
            "user_id": user.user_id,
            "events": user.event_count,
            "top_operations": user.features.get("top_operations", []),
            "next_operations": user.next_operations,
            "tags": user.tags,
        }
        for user in end_users_for_customer(customer=customer)
    ]
    return CustomerBehaviour(
        segment_id=profile.segment_id,
        segment_name=profile.segment.name if profile.segment else "",
        tags=tags,
        next_operations=profile.next_operations,
        predicted_counts=profile.predicted_counts,
        end_users=users,
    )


def _run_chains(run: ProfilingRun) -> tuple[list[markov.Chain], dict]:
    stored = ProfilingRun.objects.filter(pk=run.pk).values_list("chains", flat=True)
    chains, extra = markov.chains_load(stored[0])
    levels = [chains["global"], chains["segment"], chains["customer"]]
    if "end_user" in chains:
        levels.append(chains["end_user"])
    return levels, extra


def predict_next(
    *, customer: Customer, sequence: list[str], k: int, user_id: str = ""
) -> list[dict]:
    """Top-``k`` next operations after ``sequence`` for this customer, or for one
    of its end users when ``user_id`` is given.

    Uses the latest run's chains with the end user -> customer -> segment -> global
    fall-back (an end user or customer the run did not see gets the next level's
    prediction); operations unknown to the run cut the history (only what follows
    them counts). An empty list when the organization was never profiled.
    """
    run = latest_run(organization=customer.organization)
    if run is None or not run.operations:
        return []
    levels, extra = _run_chains(run)
    codes = {op: i for i, op in enumerate(run.operations)}
    history: list[int] = []
    for operation in sequence:
        if operation in codes:
            history.append(codes[operation])
        else:
            history = []
    customer_ids = extra["customer_ids"]
    index = int(np.searchsorted(customer_ids, customer.pk))
    known = index < len(customer_ids) and customer_ids[index] == customer.pk
    # A customer the run did not see gets group ids with no counts: pure fall-back.
    segment_group = (
        int(extra["segment_groups"][index]) if known else levels[1].group_count + 1
    )
    customer_group = index if known else levels[2].group_count + 1
    groups = [[0], [segment_group], [customer_group]]
    if user_id and len(levels) == 4:
        match = np.flatnonzero(
            (extra["end_user_customer_ids"] == customer.pk)
            & (extra["end_user_ids"] == user_id)
        )
        groups.append([int(match[0]) if len(match) else levels[3].group_count + 1])
    else:
        levels = levels[:3]
    queries = markov.queries_for_histories([history], groups)
    proba = markov.predict_proba(levels, queries)
    best, values = markov.top_k(proba, k)
    return [
        {"operation": run.operations[int(c)], "probability": round(float(p), 4)}
        for c, p in zip(best[0], values[0], strict=True)
    ]


def segment_profiles(*, segment: Segment) -> QuerySet[CustomerProfile]:
    return CustomerProfile.objects.filter(segment=segment).select_related("customer")


def run_profiles(*, run: ProfilingRun) -> QuerySet[CustomerProfile]:
    return CustomerProfile.objects.filter(run=run).select_related("customer", "segment")
