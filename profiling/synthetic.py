"""Synthetic usage with planted segments and planted transition matrices.

Used by the demo data, the tests and the benchmark: each customer belongs to a
planted segment; a segment has its own operation mix, first-order transition matrix,
preferred hours, session length and data volume. The generator is deterministic for
a given seed and vectorised (one numpy step per position in a session, across all
sessions at once), so millions of events take seconds.
"""

from dataclasses import dataclass

import numpy as np

from profiling.features import DAY, EventArrays

OPERATIONS = (
    "image.resize",
    "image.crop",
    "image.convert",
    "export.csv",
    "export.pdf",
    "export.xlsx",
    "data.query",
    "data.ingest",
    "data.transform",
    "ml.predict",
    "ml.train",
    "ml.embed",
)
FAMILY_SIZE = 3


@dataclass(frozen=True)
class SegmentPlan:
    family: int  # index of the operation family the segment leans on
    mean_sessions: float  # per customer over the window
    mean_session_length: float  # events per session
    hour_centre: int  # local hour around which sessions start
    volume_mean_bytes: float


DEFAULT_PLANS = (
    SegmentPlan(0, 24, 18.0, 14, 4e6),  # image batch work in the afternoon
    SegmentPlan(1, 40, 3.0, 10, 2e5),  # quick exports in the morning
    SegmentPlan(2, 16, 8.0, 2, 5e7),  # data pipelines at night
    SegmentPlan(3, 10, 6.0, 17, 1e6),  # ML, evenings
)


@dataclass(frozen=True)
class SyntheticUsage:
    events: EventArrays
    labels: np.ndarray  # planted segment per customer
    matrices: np.ndarray  # segments x V x V planted transition probabilities
    initial: np.ndarray  # segments x V first operation of a session
    window_start: int
    window_end: int
    # End user of each event: 1..users_per_customer inside the customer, 0 = none.
    users: np.ndarray | None = None

    def user_ids(self) -> list[str]:
        """The end users as ``user_id`` strings ("" where the event has none)."""
        if self.users is None:
            return [""] * len(self.events)
        names = np.array([""] + [f"user-{n}" for n in range(1, self.users.max() + 1)])
        return names[self.users].tolist()


def planted_chains(
    segments: int, rng: np.random.Generator, vocab: int = len(OPERATIONS)
) -> tuple[np.ndarray, np.ndarray]:
    """Transition matrices leaning on each segment's family, with a clear favourite.

    Each operation has one favourite successor (probability about 0.55), a second
    choice (about 0.2) inside the segment's family, and the rest spread at random.
    """
    families = vocab // FAMILY_SIZE
    matrices = np.zeros((segments, vocab, vocab))
    initial = np.zeros((segments, vocab))
    for s in range(segments):
        family = s % families
        members = np.arange(family * FAMILY_SIZE, (family + 1) * FAMILY_SIZE)
        for a in range(vocab):
            rest = rng.dirichlet(np.full(vocab, 0.5)) * 0.25
            favourite = rng.choice(members)
            second = rng.choice(members[members != favourite])
            row = rest
            row[favourite] += 0.55
            row[second] += 0.2
            matrices[s, a] = row / row.sum()
        start = rng.dirichlet(np.full(vocab, 0.5)) * 0.2
        start[members] += 0.8 / FAMILY_SIZE
        initial[s] = start / start.sum()
    return matrices, initial


def generate(
    *,
    customers: int,
    seed: int = 0,
    plans: tuple[SegmentPlan, ...] = DEFAULT_PLANS,
    window_start: int = 1_790_000_000 // DAY * DAY,
    days: int = 30,
    scale_sessions: float = 1.0,
    max_session_length: int = 80,
    users_per_customer: int = 0,
) -> SyntheticUsage:
    """Events of ``customers`` customers over ``days`` days from ``window_start``.

    ``scale_sessions`` multiplies every segment's mean number of sessions (to reach
    a target number of events). With ``users_per_customer`` each session belongs to
    one of that many end users of its customer, drawn from a separate random
    stream so the events themselves do not change; the first end user of every
    customer works only at night (their sessions move to 23:00-01:00).
    """
    rng = np.random.default_rng(seed)
    segments = len(plans)
    vocab = len(OPERATIONS)
    matrices, initial = planted_chains(segments, rng, vocab)
    labels = rng.permutation(np.arange(customers) % segments)
    mean_sessions = np.array([p.mean_sessions for p in plans]) * scale_sessions
    session_counts = 1 + rng.poisson(mean_sessions[labels])
    session_customer = np.repeat(np.arange(customers), session_counts)
    session_segment = labels[session_customer]
    n_sessions = len(session_customer)
    mean_length = np.array([p.mean_session_length for p in plans])
    lengths = np.minimum(
        rng.geometric(1 / mean_length[session_segment]), max_session_length
    )
    centre = np.array([p.hour_centre for p in plans])[session_segment]
    hours = (centre + np.round(rng.normal(0, 1.5, n_sessions)).astype(int)) % 24
    starts = (
        window_start
        + rng.integers(0, days, n_sessions) * DAY
        + hours * 3600
        + rng.integers(0, 3600, n_sessions)
    )
    order = np.lexsort((starts, session_customer))
    session_customer, session_segment = session_customer[order], session_segment[order]
    lengths, starts = lengths[order], starts[order]

    total = int(lengths.sum())
    offsets = np.zeros(n_sessions + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    tokens = np.zeros(total, dtype=np.int64)
    stamps = np.zeros(total, dtype=np.int64)
    cumulative_initial = np.cumsum(initial, axis=1)
    cumulative = np.cumsum(matrices, axis=2)
    current = (
        rng.random(n_sessions)[:, None] > cumulative_initial[session_segment]
    ).sum(axis=1)
    current = np.minimum(current, vocab - 1)
    clock = starts.copy()
    for step in range(int(lengths.max()) if n_sessions else 0):
        active = np.flatnonzero(lengths > step)
        where = offsets[active] + step
        if step > 0:
            cdf = cumulative[session_segment[active], current[active]]
            drawn = (rng.random(len(active))[:, None] > cdf).sum(axis=1)
            current[active] = np.minimum(drawn, vocab - 1)
            clock[active] += rng.integers(5, 240, len(active))
        tokens[where] = current[active]
        stamps[where] = clock[active]
    session_user = None
    if users_per_customer > 0 and n_sessions:
        user_rng = np.random.default_rng([seed, 1])
        session_user = 1 + user_rng.integers(0, users_per_customer, n_sessions)
        night = session_user == 1
        # Shift the night user's sessions to start between 23:00 and 01:00.
        day_start = starts // DAY * DAY
        moved = day_start + 23 * 3600 + user_rng.integers(0, 7200, n_sessions)
        stamps += np.repeat(np.where(night, moved - starts, 0), lengths)
    event_customer = np.repeat(session_customer, lengths)
    event_segment = np.repeat(session_segment, lengths)
    volume_mean = np.array([p.volume_mean_bytes for p in plans])[event_segment]
    volume = np.round(volume_mean * rng.lognormal(0, 0.5, total))
    order = np.lexsort((stamps, event_customer))
    users = None if session_user is None else np.repeat(session_user, lengths)[order]
    events = EventArrays(
        customer=event_customer[order],
        operation=tokens[order],
        timestamp=stamps[order],
        volume=volume[order].astype(np.float64),
        customer_count=customers,
        operations=OPERATIONS,
    )
    return SyntheticUsage(
        events=events,
        labels=labels,
        matrices=matrices,
        initial=initial,
        window_start=window_start,
        window_end=window_start + (days + 1) * DAY,
        users=users,
    )


def bayes_top1(
    usage: SyntheticUsage, previous: np.ndarray, targets: np.ndarray, customers
) -> float:
    """Accuracy of predicting ``argmax`` of the planted chain (the best possible)."""
    best = np.argmax(usage.matrices, axis=2)
    predicted = best[usage.labels[customers], previous]
    return float((predicted == targets).mean()) if len(targets) else 0.0
