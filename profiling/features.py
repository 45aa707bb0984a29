"""Behavioural features of customers, computed from event arrays with numpy/scipy.

Input is ``EventArrays``: one row per usage event, sorted by customer then time, with
the operation as an integer code. Everything here is vectorised (bincount, sparse
matrices); no Python loop runs over events. Times are epoch seconds (UTC) shifted by
the organization's UTC offset for hour-of-day and weekday.
"""

from dataclasses import dataclass

import numpy as np
from scipy import sparse

from profiling import markov

SESSION_GAP_SECONDS = 30 * 60
NIGHT_HOURS = (22, 23, 0, 1, 2, 3, 4, 5)
DAY = 86_400


@dataclass(frozen=True)
class EventArrays:
    customer: np.ndarray  # int64 customer index 0..C-1, non-decreasing
    operation: np.ndarray  # int64 operation code 0..V-1
    timestamp: np.ndarray  # int64 epoch seconds, non-decreasing per customer
    volume: np.ndarray  # float64 data volume in bytes, NaN when not reported
    customer_count: int
    operations: tuple[str, ...]  # operation code -> operation name

    def __len__(self) -> int:
        return len(self.customer)

    @property
    def vocab_size(self) -> int:
        return len(self.operations)


def session_starts(events: EventArrays, gap_seconds: int = SESSION_GAP_SECONDS):
    """True where an event opens a session: a new customer, or a gap over the limit."""
    return session_openings(events.customer, events.timestamp, gap_seconds)


def session_openings(customer: np.ndarray, times: np.ndarray, gap) -> np.ndarray:
    """True where a customer's event opens a session: their first event, or one
    more than ``gap`` (in the unit of ``times``) after their previous one. Rows
    are sorted by customer then time."""
    starts = np.ones(len(customer), dtype=bool)
    if len(customer) > 1:
        starts[1:] = (customer[1:] != customer[:-1]) | (np.diff(times) > gap)
    return starts


def sessions(
    events: EventArrays, starts: np.ndarray
) -> tuple[markov.Sequences, np.ndarray]:
    """Sessions as Markov sequences, and the customer index of each session."""
    first = np.flatnonzero(starts)
    offsets = np.append(first, len(events)).astype(np.int64)
    return (
        markov.Sequences(tokens=events.operation, offsets=offsets),
        events.customer[first],
    )


def operation_counts(events: EventArrays) -> sparse.csr_matrix:
    """Customers x operations event counts."""
    ones = np.ones(len(events))
    return sparse.csr_matrix(
        (ones, (events.customer, events.operation)),
        shape=(events.customer_count, events.vocab_size),
    )


def _per_customer(events: EventArrays, values: np.ndarray) -> np.ndarray:
    return np.bincount(events.customer, weights=values, minlength=events.customer_count)


def time_histograms(
    events: EventArrays, utc_offset_seconds: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Shares of each customer's events by hour of day (C x 24) and weekday (C x 7).

    Weekday 0 is Monday (1970-01-01 was a Thursday).
    """
    local = events.timestamp + utc_offset_seconds
    hours = (local // 3600) % 24
    weekdays = (local // DAY + 3) % 7
    c = events.customer_count
    by_hour = np.bincount(events.customer * 24 + hours, minlength=c * 24)
    by_hour = by_hour.reshape(c, 24).astype(np.float64)
    by_day = np.bincount(events.customer * 7 + weekdays, minlength=c * 7)
    by_day = by_day.reshape(c, 7).astype(np.float64)
    totals = np.maximum(by_hour.sum(axis=1, keepdims=True), 1)
    return by_hour / totals, by_day / totals


@dataclass(frozen=True)
class ActivityStats:
    events: np.ndarray  # per customer
    sessions: np.ndarray
    mean_session_length: np.ndarray  # events per session
    mean_session_seconds: np.ndarray
    volume_mean: np.ndarray  # bytes, 0 when never reported
    volume_peak: np.ndarray
    recency_days: np.ndarray  # days from the last event to the window end
    # (late - early) / (late + early) halves of the customer's own span (first event
    # to the window end), -1..1: a customer who started last week is not "growing".
    trend: np.ndarray
    night_share: np.ndarray
    # Goh-Barabasi burstiness of gaps between events, (sd - mean) / (sd + mean):
    # -1 regular, 0 random (Poisson), towards 1 bursty; 0 with fewer than 2 gaps.
    burstiness: np.ndarray


def activity_stats(
    events: EventArrays,
    starts: np.ndarray,
    *,
    window_start: int,
    window_end: int,
    by_hour: np.ndarray,
) -> ActivityStats:
    c = events.customer_count
    counts = np.bincount(events.customer, minlength=c).astype(np.float64)
    session_count = _per_customer(events, starts.astype(np.float64))
    session_index = np.cumsum(starts) - 1
    first_time = events.timestamp[starts]
    last_time = np.zeros(len(first_time), dtype=np.int64)
    np.maximum.at(last_time, session_index, events.timestamp)
    durations = (last_time - first_time).astype(np.float64)
    session_customer = events.customer[starts]
    total_duration = np.bincount(session_customer, weights=durations, minlength=c)
    safe_sessions = np.maximum(session_count, 1)

    reported = ~np.isnan(events.volume)
    volume = np.where(reported, events.volume, 0.0)
    reported_count = np.bincount(
        events.customer, weights=reported.astype(np.float64), minlength=c
    )
    volume_mean = _per_customer(events, volume) / np.maximum(reported_count, 1)
    volume_peak = np.zeros(c)
    np.maximum.at(volume_peak, events.customer, volume)

    last_event = np.full(c, window_start, dtype=np.int64)
    np.maximum.at(last_event, events.customer, events.timestamp)
    recency = (window_end - last_event) / DAY
    first_event = np.full(c, window_end, dtype=np.int64)
    np.minimum.at(first_event, events.customer, events.timestamp)
    middle = first_event + (window_end - first_event) / 2
    late = _per_customer(
        events, (events.timestamp >= middle[events.customer]).astype(np.float64)
    )
    early = counts - late
    trend = np.where(counts > 0, (late - early) / np.maximum(counts, 1), 0.0)
    same = np.zeros(len(events), dtype=bool)
    same[1:] = events.customer[1:] == events.customer[:-1]
    gaps = np.zeros(len(events))
    gaps[1:] = np.diff(events.timestamp)
    gap_count = _per_customer(events, same.astype(np.float64))
    gap_sum = _per_customer(events, np.where(same, gaps, 0.0))
    gap_squares = _per_customer(events, np.where(same, gaps**2, 0.0))
    safe_gaps = np.maximum(gap_count, 1)
    gap_mean = gap_sum / safe_gaps
    gap_sd = np.sqrt(np.maximum(gap_squares / safe_gaps - gap_mean**2, 0))
    spread = gap_sd + gap_mean
    burstiness = np.where(
        (gap_count >= 2) & (spread > 0),
        (gap_sd - gap_mean) / np.where(spread > 0, spread, 1),
        0.0,
    )
    return ActivityStats(
        events=counts,
        sessions=session_count,
        mean_session_length=counts / safe_sessions,
        mean_session_seconds=total_duration / safe_sessions,
        volume_mean=volume_mean,
        volume_peak=volume_peak,
        recency_days=recency,
        trend=trend,
        night_share=by_hour[:, list(NIGHT_HOURS)].sum(axis=1),
        burstiness=burstiness,
    )


@dataclass(frozen=True)
class Features:
    operation_counts: sparse.csr_matrix
    by_hour: np.ndarray
    by_weekday: np.ndarray
    activity: ActivityStats
    session_starts: np.ndarray  # per event


def extract(
    events: EventArrays,
    *,
    window_start: int,
    window_end: int,
    gap_seconds: int = SESSION_GAP_SECONDS,
    utc_offset_seconds: int = 0,
    starts: np.ndarray | None = None,
) -> Features:
    """All features; ``starts`` (session openings) may come precomputed from SQL."""
    if starts is None:
        starts = session_starts(events, gap_seconds)
    counts = operation_counts(events)
    by_hour, by_weekday = time_histograms(events, utc_offset_seconds)
    return Features(
        operation_counts=counts,
        by_hour=by_hour,
        by_weekday=by_weekday,
        activity=activity_stats(
            events,
            starts,
            window_start=window_start,
            window_end=window_end,
            by_hour=by_hour,
        ),
        session_starts=starts,
    )


TOP_OPERATIONS = 5


def customer_summaries(features: Features, operations: tuple[str, ...]) -> list[dict]:
    """Readable figures of every customer (row) for storage on their profile.

    Vectorised over customers; the figures are rounded with Python's ``round`` on
    plain floats so they read the same as when computed one customer at a time.
    Top operations are the most frequent, ties to the lower operation code.
    """
    a = features.activity
    counts = features.operation_counts.toarray()
    totals = np.maximum(counts.sum(axis=1), 1)
    top = np.argsort(-counts, axis=1, kind="stable")[:, :TOP_OPERATIONS]
    top_counts = np.take_along_axis(counts, top, axis=1)
    top_shares = top_counts / totals[:, None]

    def floats(values: np.ndarray, digits: int | None) -> list:
        return [round(v, digits) for v in values.astype(np.float64).tolist()]

    columns = {
        "events": a.events.astype(np.int64).tolist(),
        "sessions": a.sessions.astype(np.int64).tolist(),
        "mean_session_length": floats(a.mean_session_length, 2),
        "mean_session_minutes": floats(a.mean_session_seconds / 60, 1),
        "volume_mean_bytes": floats(a.volume_mean, None),
        "volume_peak_bytes": floats(a.volume_peak, None),
        "recency_days": floats(a.recency_days, 1),
        "trend": floats(a.trend, 3),
        "night_share": floats(a.night_share, 3),
        "burstiness": floats(a.burstiness, 3),
        "peak_hour": np.argmax(features.by_hour, axis=1).tolist(),
    }
    names = list(columns)
    rows = zip(*columns.values(), strict=True)
    tops = zip(top.tolist(), top_counts.tolist(), top_shares.tolist(), strict=True)
    return [
        {
            **dict(zip(names, row, strict=True)),
            "top_operations": [
                {"operation": operations[code], "share": round(share, 3)}
                for code, count, share in zip(codes, kept, shares, strict=True)
                if count > 0
            ],
        }
        for row, (codes, kept, shares) in zip(rows, tops, strict=True)
    ]
