"""Planted truth for judging the profiler: scenarios of customers whose behaviour
comes from known groups, each with its own transition matrix, operation mix, hours,
burstiness and rate, observed for different spans and followed by a week that the
profiler does not see.

Pure numpy, deterministic for a seed. The four scenarios separate what segmentation
must find from what it must ignore:

(a) ``sequences``: every group uses every operation equally often at the same hours
    and rate; only the order differs (each group has its own favourite successor of
    every operation, a doubly stochastic matrix, so the mix is uniform for all).
(b) ``mixes``: each group leans on its own family of operations.
(c) ``timing``: one shared chain; groups differ by working hour (09:00 or 20:00) and
    by burstiness (every day, or half of the days at twice the rate).
(d) ``mixed``: two groups of (a), one of (b), one of (c), plus customers with no
    group (uniform operations, random hours and rates) and customers first seen 1,
    15 or 30 days before the window ends.

Sessions of a customer never overlap (they are spaced 45 minutes apart and last at
most 10 minutes), so the sessions the profiler finds are the planted ones.
"""

from dataclasses import dataclass

import numpy as np
from sklearn.metrics import adjusted_rand_score

from profiling import features, pipeline
from profiling.features import DAY, EventArrays
from profiling.synthetic import OPERATIONS

NOISE = -1
FUTURE_DAYS = 7
SESSION_SPACING_SECONDS = 45 * 60
MAX_SESSION_LENGTH = 40
# Per-customer rate multiplier: gamma with mean 1 and this coefficient of variation.
RATE_CV = 0.25
USAGE_GOAL = "7-day usage error <= 15%"


@dataclass(frozen=True)
class Behaviour:
    matrix: np.ndarray  # V x V transition probabilities
    initial: np.ndarray  # V, first operation of a session
    sessions_per_day: float
    mean_session_length: float  # events per session (geometric)
    hour_centre: int  # local hour around which a day's sessions are centred
    hour_spread: float = 1.5  # standard deviation of that centre, hours
    active_day_share: float = 1.0  # share of days with sessions (rate kept)


@dataclass(frozen=True)
class Scenario:
    name: str
    title: str
    behaviours: tuple[Behaviour, ...]
    ages_days: tuple[int, ...] = ()  # first seen this many days before the end
    noise_share: float = 0.0
    window_days: int = 30


@dataclass(frozen=True)
class PlantedUsage:
    scenario: Scenario
    events: EventArrays  # inside the window
    labels: np.ndarray  # planted group per customer, NOISE for none
    matrices: np.ndarray  # per customer: the true V x V chain
    future_events: np.ndarray  # per customer: events in the week after the window
    expected_daily_events: np.ndarray  # per customer: the planted mean rate
    # Per customer: what a forecast knowing the planted groups but not the
    # individual can say from the window (see ``group_informed_rates``).
    group_daily_events: np.ndarray  # the group's mean rate (noise: their own)
    group_sessions_per_day: np.ndarray  # the group's mean sessions a day
    window_sessions: np.ndarray  # sessions started inside the window
    active_days: np.ndarray  # days of the window since the customer started
    first_seen: np.ndarray  # per customer: epoch seconds of the first event
    window_start: int
    window_end: int


def _favourite_chain(successor: np.ndarray, strength: float) -> np.ndarray:
    """Each operation ``a`` is followed by ``successor[a]`` with ``strength``, by
    every other operation evenly otherwise."""
    vocab = len(successor)
    matrix = np.full((vocab, vocab), (1 - strength) / (vocab - 1))
    matrix[np.arange(vocab), successor] = strength
    return matrix


def _derangements(count: int, vocab: int, rng: np.random.Generator) -> list:
    """``count`` permutations without fixed points, no two sharing a successor."""
    chosen: list[np.ndarray] = []
    while len(chosen) < count:
        candidate = rng.permutation(vocab)
        if np.any(candidate == np.arange(vocab)):
            continue
        if any(np.any(candidate == other) for other in chosen):
            continue
        chosen.append(candidate)
    return chosen


def _family_chain(family: int, rng: np.random.Generator, vocab: int) -> tuple:
    """A chain and first operations leaning on one family of three operations."""
    members = np.arange(family * 3, family * 3 + 3)
    matrix = np.zeros((vocab, vocab))
    for a in range(vocab):
        row = rng.dirichlet(np.full(vocab, 0.5)) * 0.2
        row[members] += rng.dirichlet(np.full(3, 2.0)) * 0.8
        matrix[a] = row / row.sum()
    initial = np.full(vocab, 0.2 / vocab)
    initial[members] += 0.8 / 3
    return matrix, initial / initial.sum()


def scenarios(seed: int = 0) -> tuple[Scenario, ...]:
    """The four scenarios; their chains are drawn from ``seed``."""
    rng = np.random.default_rng([seed, 42])
    vocab = len(OPERATIONS)
    uniform = np.full(vocab, 1 / vocab)
    order_chains = [
        _favourite_chain(p, 0.55) for p in _derangements(4, vocab, rng)
    ]  # fmt: skip
    family_chains = [_family_chain(f, rng, vocab) for f in range(4)]
    shared = _favourite_chain(_derangements(1, vocab, rng)[0], 0.5)
    rate, length = 10.0, 5.0
    sequences = tuple(
        Behaviour(m, uniform, rate, length, hour_centre=14) for m in order_chains
    )
    mixes = tuple(
        Behaviour(m, first, rate, length, hour_centre=14) for m, first in family_chains
    )
    timing = tuple(
        Behaviour(shared, uniform, 8.0, 8.0, hour_centre=hour, active_day_share=share)
        for hour in (9, 20)
        for share in (1.0, 0.5)
    )
    return (
        Scenario("sequences", "(a) same mix, different transitions", sequences),
        Scenario("mixes", "(b) different operation mixes", mixes),
        Scenario("timing", "(c) different hours and burstiness only", timing),
        Scenario(
            "mixed",
            "(d) (a)-(c) together, 10% noise customers, ages 1/15/30 days",
            (sequences[0], sequences[1], mixes[2], timing[3]),
            ages_days=(1, 15, 30),
            noise_share=0.1,
        ),
    )


def generate(
    scenario: Scenario,
    *,
    customers: int,
    seed: int = 0,
    window_end: int = 1_790_006_400,
) -> PlantedUsage:
    """Events of ``customers`` customers: the window's, and the count of the
    following week's. Groups are assigned round-robin then shuffled."""
    rng = np.random.default_rng(seed)
    vocab = len(OPERATIONS)
    behaviours = scenario.behaviours
    groups = len(behaviours)
    window_days = scenario.window_days
    window_start = window_end - window_days * DAY
    noise = rng.random(customers) < scenario.noise_share
    labels = np.where(noise, NOISE, rng.permutation(np.arange(customers) % groups))
    ages = (
        rng.choice(np.array(scenario.ages_days), customers)
        if scenario.ages_days
        else np.full(customers, window_days)
    )
    uniform = np.full((vocab, vocab), 1 / vocab)
    planted = np.stack([b.matrix for b in behaviours])
    matrices = np.where(
        noise[:, None, None], uniform[None], planted[np.maximum(labels, 0)]
    )
    initials = np.stack([b.initial for b in behaviours])[np.maximum(labels, 0)]
    initials[noise] = 1 / vocab

    def per_customer(attribute, noise_values):
        values = np.array([getattr(b, attribute) for b in behaviours], dtype=float)
        return np.where(noise, noise_values, values[np.maximum(labels, 0)])

    multiplier = rng.gamma(1 / RATE_CV**2, RATE_CV**2, customers)
    base_rate = per_customer("sessions_per_day", rng.uniform(1, 8, customers))
    rate = base_rate * multiplier
    mean_length = per_customer("mean_session_length", rng.uniform(5, 25, customers))
    centre = per_customer("hour_centre", rng.integers(0, 24, customers))
    spread = per_customer("hour_spread", np.full(customers, 6.0))
    active_share = per_customer("active_day_share", np.ones(customers))

    # One row per customer and day from first sight to the end of the future week.
    first_day = window_days - ages
    days = window_days + FUTURE_DAYS - first_day
    day_customer = np.repeat(np.arange(customers), days)
    day_index = np.arange(len(day_customer)) - np.repeat(np.cumsum(days) - days, days)
    day_number = first_day[day_customer] + day_index
    active = rng.random(len(day_customer)) < active_share[day_customer]
    daily_rate = rate[day_customer] / active_share[day_customer]
    session_counts = np.where(active, rng.poisson(daily_rate), 0)

    session_customer = np.repeat(day_customer, session_counts)
    session_day = np.repeat(day_number, session_counts)
    first_of_day = np.repeat(np.cumsum(session_counts) - session_counts, session_counts)
    slot = np.arange(len(session_customer)) - first_of_day
    per_day = np.repeat(session_counts, session_counts)
    day_centre = (
        centre[day_customer]
        + rng.normal(0, 1, len(day_customer)) * spread[day_customer]
    )
    first_start = (
        np.repeat(day_centre, session_counts) * 3600
        - (per_day - 1) * SESSION_SPACING_SECONDS / 2
    )
    starts = (
        window_start
        + session_day * DAY
        + np.round(first_start + slot * SESSION_SPACING_SECONDS).astype(np.int64)
        + rng.integers(0, 600, len(session_customer))
    )
    lengths = np.minimum(
        rng.geometric(1 / mean_length[session_customer]), MAX_SESSION_LENGTH
    )
    tokens, stamps = _walk(
        matrices, initials, session_customer, starts, lengths, rng, vocab
    )
    event_customer = np.repeat(session_customer, lengths)
    order = np.lexsort((stamps, event_customer))
    event_customer, tokens, stamps = event_customer[order], tokens[order], stamps[order]
    inside = (stamps >= window_start) & (stamps < window_end)
    future = (stamps >= window_end) & (stamps < window_end + FUTURE_DAYS * DAY)
    volume = np.round(2e5 * rng.lognormal(0, 0.5, int(inside.sum())))
    events = EventArrays(
        customer=event_customer[inside],
        operation=tokens[inside],
        timestamp=stamps[inside],
        volume=volume.astype(np.float64),
        customer_count=customers,
        operations=OPERATIONS,
    )
    first_seen = np.full(customers, window_end, dtype=np.int64)
    np.minimum.at(first_seen, events.customer, events.timestamp)
    mean_events = _capped_geometric_mean(mean_length)
    session_inside = (starts >= window_start) & (starts < window_end)
    return PlantedUsage(
        scenario=scenario,
        events=events,
        labels=labels.astype(np.int64),
        matrices=matrices,
        future_events=np.bincount(event_customer[future], minlength=customers),
        expected_daily_events=rate * mean_events,
        group_daily_events=np.where(noise, rate, base_rate) * mean_events,
        group_sessions_per_day=np.where(noise, rate, base_rate),
        window_sessions=np.bincount(
            session_customer[session_inside], minlength=customers
        ),
        active_days=ages.astype(np.float64),
        first_seen=first_seen,
        window_start=window_start,
        window_end=window_end,
    )


def _capped_geometric_mean(mean: np.ndarray) -> np.ndarray:
    """Mean of ``min(Geometric(1 / mean), MAX_SESSION_LENGTH)``."""
    p = 1 / mean
    return (1 - (1 - p) ** MAX_SESSION_LENGTH) / p


def group_informed_rates(usage: PlantedUsage) -> np.ndarray:
    """Expected events per day from what a profiler that segmented perfectly could
    know: the customer's group (its mean rate, and the gamma spread of individual
    rates around it, ``RATE_CV``) and the sessions the customer started in the
    window over the days since they started. The posterior mean of their rate
    multiplier, gamma prior with Poisson sessions, is ``(a + sessions) / (a +
    group sessions a day * days)`` with ``a = 1 / RATE_CV**2``: a customer seen
    for a day is mostly their group, one seen for a month mostly themselves.
    Noise customers, who have no group, get their own planted rate."""
    shape = 1 / RATE_CV**2
    multiplier = (shape + usage.window_sessions) / (
        shape + usage.group_sessions_per_day * usage.active_days
    )
    return usage.group_daily_events * multiplier


def _walk(matrices, initials, session_customer, starts, lengths, rng, vocab):
    """Operation codes and times of every session's events, one numpy step per
    position in a session across all sessions at once."""
    sessions = len(session_customer)
    offsets = np.zeros(sessions + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    tokens = np.zeros(int(offsets[-1]), dtype=np.int64)
    stamps = np.zeros(int(offsets[-1]), dtype=np.int64)
    draws = (
        rng.random(sessions)[:, None] > np.cumsum(initials, axis=1)[session_customer]
    )
    current = np.minimum(draws.sum(axis=1), vocab - 1)
    clock = starts.copy()
    cumulative = np.cumsum(matrices, axis=2)
    for step in range(int(lengths.max()) if sessions else 0):
        active = np.flatnonzero(lengths > step)
        if step > 0:
            cdf = cumulative[session_customer[active], current[active]]
            drawn = (rng.random(len(active))[:, None] > cdf).sum(axis=1)
            current[active] = np.minimum(drawn, vocab - 1)
            clock[active] += rng.integers(5, 15, len(active))
        tokens[offsets[active] + step] = current[active]
        stamps[offsets[active] + step] = clock[active]
    return tokens, stamps


@dataclass(frozen=True)
class PlantedScores:
    scenario: str
    title: str
    customers: int
    events: int
    # Segments vs planted groups, over the customers with a group and at least one
    # event in the window (``unseen`` are left out: see ``score``).
    adjusted_rand: float
    unseen: int
    planted_groups: int
    k: int
    algorithm: str
    top1: float  # next operation, held-out last 20% of each customer's events
    bayes_top1: float  # the true chains' own top-1 on the same transitions
    # Median |predicted - actual| / actual over the next 7 days, over the customers
    # with events both in the window and in that week (a customer the window never
    # saw is unknown to any profiler built on it, as for ARI).
    usage_error: float
    # The same median for a forecast that knows each customer's planted group and
    # counts their sessions (``group_informed_rates``): what perfect segments could
    # reach without the individual's rate, which the window only estimates.
    informed_usage_error: float
    # The same median for a forecast that knows each customer's planted rate: the
    # error no profiler can go below, from the week's own randomness.
    oracle_usage_error: float
    # Both medians again over the customers first seen at least a week before the
    # window ends: a customer seen for a day shows one day of their rate, which no
    # profiler can tell from their group's, while the oracle knows it.
    settled_usage_error: float
    settled_oracle_usage_error: float

    def meets_goals(self) -> dict[str, bool]:
        return {
            "ARI >= 0.9": self.adjusted_rand >= 0.9,
            "top-1 within 2 points of Bayes": self.top1 >= self.bayes_top1 - 0.02,
            USAGE_GOAL: self.usage_error <= 0.15,
        }


def score(usage: PlantedUsage, *, seed: int = 0) -> PlantedScores:
    """Run the profiler on a planted usage and compare with the truth."""
    events = usage.events
    window = {"window_start": usage.window_start, "window_end": usage.window_end}
    result = pipeline.profile(events, rules=[], seed=seed, **window)
    # A customer without a single event in the window (a one-day customer of a
    # group active on half of the days, whose day was a quiet one) is a row of
    # nothing: all such customers look alike, so the segment they land in says
    # nothing about how the segments were found, only whether the default fell on
    # their group. They are left out of ARI and counted in ``unseen``; customers
    # with any events count, however few (one-day customers included).
    observed = np.bincount(events.customer, minlength=events.customer_count) > 0
    grouped = (usage.labels != NOISE) & observed
    held_out = pipeline.evaluate(events, seed=seed, **window)
    train = pipeline.time_split(events)
    test = np.flatnonzero(~train & ~features.session_starts(events))
    best = np.argmax(usage.matrices, axis=2)
    bayes = best[events.customer[test], events.operation[test - 1]]
    bayes_top1 = float((bayes == events.operation[test]).mean()) if len(test) else 0.0
    actual = usage.future_events
    settled = observed & (usage.window_end - usage.first_seen >= FUTURE_DAYS * DAY)
    truth = usage.expected_daily_events
    return PlantedScores(
        scenario=usage.scenario.name,
        title=usage.scenario.title,
        customers=events.customer_count,
        events=len(events),
        adjusted_rand=float(
            adjusted_rand_score(usage.labels[grouped], result.labels[grouped])
        ),
        unseen=int(((usage.labels != NOISE) & ~observed).sum()),
        planted_groups=len(usage.scenario.behaviours),
        k=int(result.scores["k"]),
        algorithm=str(result.scores["algorithm"]),
        top1=float(held_out.accuracy["customer"][1]),
        bayes_top1=bayes_top1,
        usage_error=_usage_error(result.daily_events, actual, observed),
        informed_usage_error=_usage_error(
            group_informed_rates(usage), actual, observed
        ),
        oracle_usage_error=_usage_error(truth, actual, observed),
        settled_usage_error=_usage_error(result.daily_events, actual, settled),
        settled_oracle_usage_error=_usage_error(truth, actual, settled),
    )


def _usage_error(
    daily_rates: np.ndarray, actual: np.ndarray, customers: np.ndarray
) -> float:
    """Median over ``customers`` with events in the following week of
    |rate * 7 - actual| / actual (0 when there are none)."""
    scored = customers & (actual > 0)
    if not scored.any():
        return 0.0
    predicted = daily_rates[scored] * FUTURE_DAYS
    return float(np.median(np.abs(predicted - actual[scored]) / actual[scored]))


def score_all(*, customers: int, seed: int = 1) -> list[PlantedScores]:
    """Every scenario, generated from ``seed`` with ``customers`` customers."""
    return [
        score(generate(scenario, customers=customers, seed=seed))
        for scenario in scenarios()
    ]


def table(scores: list[PlantedScores]) -> list[str]:
    """The scores as text lines, each figure beside its goal ("unseen": grouped
    customers without events in the window, left out of ARI and of the usage
    errors; "groups": the usage error of a forecast knowing the planted groups;
    "oracle": one knowing every planted rate; "week+": the usage errors over
    customers first seen at least a week before the window ends)."""
    lines = [
        f"{'scenario':<58} {'ARI':>5} {'unseen':>6} {'k':>5} {'top-1':>6} "
        f"{'Bayes':>6} {'7-day err':>9} {'groups':>6} {'oracle':>6} "
        f"{'week+ err':>9} {'oracle':>6}  "
        "goals (ARI>=0.9, top-1>=Bayes-0.02, err<=15%)"
    ]
    for s in scores:
        met = " ".join("yes" if ok else "NO" for ok in s.meets_goals().values())
        lines.append(
            f"{s.title:<58} {s.adjusted_rand:5.3f} {s.unseen:>6} "
            f"{s.k:>2}/{s.planted_groups:<2} "
            f"{s.top1:6.3f} {s.bayes_top1:6.3f} {s.usage_error:9.1%} "
            f"{s.informed_usage_error:6.1%} {s.oracle_usage_error:6.1%} "
            f"{s.settled_usage_error:9.1%} {s.settled_oracle_usage_error:6.1%}  {met}"
        )
    return lines
