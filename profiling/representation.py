"""The vectors customers are segmented in: feature blocks whose columns are weighted
by how reliably they tell customers apart, measured on the data at hand.

Blocks (each column computed per customer):

- ``mix``: the shares of each operation;
- ``sequences``: the shares of the most frequent transitions (operation -> next
  operation inside a session);
- ``hours`` and ``weekdays``: the shares of each hour of the day and weekday;
- ``rates``: log rates per day of the customer's own observed span (events,
  sessions), log session length and duration, log data volume;
- ``rhythm``: the dispersion of the daily event counts (how bursty the days are).

Shares are unbiased whatever the number of events, so a young customer with few
events lands near their group, not in a corner of their own (square roots of
shares, for example, would pull every sparse customer towards zero).

Weights. Each customer's days are dealt into two halves (even and odd days) and
every column is computed on both. The covariance of the halves across customers is
the part of a column's variance that belongs to the customer rather than to
sampling noise (or to what varies from day to day); its share of the variance is
the column's split-half reliability, stepped up to the whole data by the
Spearman-Brown formula. Each column is standardised and multiplied by that
reliability, so a column that separates customers counts fully and one that only
reflects noise (a near-constant session length, transitions that no group does
differently) counts for nothing. Each block is then scaled to a total variance
equal to its share of customer signal (the reliability of its weighted variance):
a block counts by how reliably it tells customers apart, not by its number of
columns, and no block has a fixed weight.

Groups. Reliable is not the same as grouped: customers' rates differ reliably
but continuously, and such a block would carve segments out of a continuum. So
each block is tested for groups among the settled customers with the split test
of ``profiling.splits`` (its best split in two against Gaussian data of the same
covariance, at the one-sided 1% level); blocks in which no two groups are found
count for nothing. When no block shows groups, every block keeps its weight (the
segments are then only as good as the reliable columns make them), and with too
few customers for the test to have power (``group_tests``) every block is kept.
"""

from dataclasses import dataclass

import numpy as np

from profiling import clustering, splits
from profiling.features import DAY, EventArrays

# Transition columns kept: the most frequent ones across the organization.
MAX_TRANSITION_COLUMNS = 200
BLOCKS = ("mix", "sequences", "hours", "weekdays", "rates", "rhythm")
# Principal components a block is tested for groups in.
GROUP_TEST_COMPONENTS = 10
# Days a customer must be seen for their weekday shares and burstiness to be theirs.
WEEK_DAYS = 7


@dataclass(frozen=True)
class Representation:
    matrix: np.ndarray  # customers x weighted columns
    reliability: np.ndarray  # per column, 0..1
    block_of_column: np.ndarray  # index into BLOCKS per column
    # Per customer, 0..1: how much their row is known, their events over the
    # median customer's (capped at 1). Segments are fitted with these weights.
    weights: np.ndarray
    # Per customer: seen for at least a week and with events, so every column is
    # their own. Younger customers' weekday shares cover only the days they were
    # seen and their burstiness is the average (``week_columns``).
    settled: np.ndarray
    # Per column: needs a week of the customer to mean anything (weekday shares,
    # the dispersion of daily counts).
    week_columns: np.ndarray
    # Per block: the split test for groups (None: too few customers to test).
    group_tests: tuple[splits.SplitTest | None, ...] = ()
    # Per block: it counts (groups found, not tested, or no block shows groups).
    kept: tuple[bool, ...] = ()

    def block_report(self) -> list[dict]:
        """Per block: columns, columns that tell customers apart, the block's
        reliability, the test for groups (z against Gaussian data, groups found)
        and its share of the total variance segments are found in."""
        variance = (self.matrix**2).sum(axis=0)
        total = float(variance.sum()) or 1.0
        report = []
        for index, name in enumerate(BLOCKS):
            mine = self.block_of_column == index
            own = self.reliability[mine]
            squares = float((own**2).sum())
            test = self.group_tests[index] if self.group_tests else None
            report.append(
                {
                    "block": name,
                    "columns": int(len(own)),
                    "informative_columns": int((own > 0).sum()),
                    "reliability": round(float((own**3).sum()) / squares, 3)
                    if squares
                    else 0.0,
                    "groups_z": round(test.z, 1) if test is not None else None,
                    "groups": test.two_groups if test is not None else None,
                    "kept": self.kept[index] if self.kept else bool(squares),
                    "weight_share": round(float(variance[mine].sum()) / total, 3),
                }
            )
        return report


def split_halves(events: EventArrays, starts: np.ndarray) -> np.ndarray:
    """Per event: True in the first half, the sessions that start on an
    even-numbered day. Whole days go to one half, so what varies from day to day
    (the hour work starts, a burst of activity) is noise to the other half."""
    session_day = (events.timestamp[starts] // DAY) % 2 == 0
    return np.repeat(
        session_day, np.diff(np.append(np.flatnonzero(starts), len(starts)))
    )


def spans_days(events: EventArrays, window_end: int, window_days: float) -> np.ndarray:
    """Days each customer was observed: first event to the window end, at least one
    day, at most the window (customers without events: the whole window)."""
    first = np.full(events.customer_count, window_end, dtype=np.int64)
    np.minimum.at(first, events.customer, events.timestamp)
    seen = np.where(
        np.bincount(events.customer, minlength=events.customer_count) > 0,
        (window_end - first) / DAY,
        window_days,
    )
    return np.clip(seen, 1.0, max(window_days, 1.0))


def _shares(counts: np.ndarray) -> np.ndarray:
    totals = counts.sum(axis=1, keepdims=True)
    return counts / np.maximum(totals, 1)


def _grid(rows: np.ndarray, cols: np.ndarray, shape, weights=None) -> np.ndarray:
    flat = np.bincount(
        rows * shape[1] + cols, weights=weights, minlength=shape[0] * shape[1]
    )
    return flat.reshape(shape).astype(np.float64)


def _transition_codes(events: EventArrays, starts: np.ndarray):
    follow = ~starts[1:]
    codes = (
        events.operation[:-1][follow] * events.vocab_size + events.operation[1:][follow]
    )
    return events.customer[1:][follow], codes


def _blocks(
    events: EventArrays,
    starts: np.ndarray,
    keep: np.ndarray,
    *,
    columns: np.ndarray,
    spans: np.ndarray,
    window_start: int,
    utc_offset_seconds: int,
) -> list[np.ndarray]:
    """The four blocks computed on the events where ``keep`` is true (whole
    sessions), with the transition columns ``columns``."""
    c, v = events.customer_count, events.vocab_size
    customer, operation = events.customer[keep], events.operation[keep]
    stamps, opened = events.timestamp[keep], starts[keep]
    mix = _shares(_grid(customer, operation, (c, v)))

    transition_customer, codes = _transition_codes(
        EventArrays(
            customer, operation, stamps, events.volume[keep], c, events.operations
        ),
        opened,
    )
    position = np.searchsorted(columns, codes)
    position = np.minimum(position, max(len(columns) - 1, 0))
    known = columns[position] == codes if len(columns) else np.zeros(len(codes), bool)
    transitions = _grid(transition_customer[known], position[known], (c, len(columns)))
    all_transitions = np.bincount(transition_customer, minlength=c)
    sequences = transitions / np.maximum(all_transitions, 1)[:, None]

    local = stamps + utc_offset_seconds
    hours = _shares(_grid(customer, (local // 3600) % 24, (c, 24)))
    weekdays = _shares(_grid(customer, (local // DAY + 3) % 7, (c, 7)))

    counts = np.bincount(customer, minlength=c).astype(np.float64)
    session_count = np.bincount(customer[opened], minlength=c).astype(np.float64)
    session_index = np.cumsum(opened) - 1
    first = stamps[opened]
    last = np.zeros(len(first), dtype=np.int64)
    if len(first):
        np.maximum.at(last, session_index, stamps)
    duration = np.bincount(customer[opened], weights=(last - first) / 60.0, minlength=c)
    volume = events.volume[keep]
    reported = ~np.isnan(volume)
    volume_sum = np.bincount(
        customer, weights=np.where(reported, volume, 0.0), minlength=c
    )
    volume_count = np.bincount(customer, weights=reported.astype(float), minlength=c)
    day = (stamps - window_start) // DAY
    days = int(day.max()) + 1 if len(day) else 1
    per_day = _grid(customer, day, (c, days))
    span_days = np.maximum(np.round(spans), 1)
    daily_mean = counts / span_days
    daily_var = (per_day**2).sum(axis=1) / span_days - daily_mean**2
    # The coefficient of variation of the daily counts: near 0 for steady days,
    # near 1 or more for bursts between quiet days. (The share of active days
    # says the same coarsely: near-constant for daily customers, whose rare
    # missed day then looks like a group of its own.)
    dispersion = np.sqrt(np.maximum(daily_var, 0)) / np.maximum(daily_mean, 1e-9)
    # How bursty the days are needs a week to tell; younger customers take the
    # average of those who had one, which moves them towards no group.
    week = spans >= WEEK_DAYS
    if week.any():
        dispersion = np.where(week, dispersion, dispersion[week].mean())
    safe_sessions = np.maximum(session_count, 1)
    rates = np.column_stack(
        [
            np.log1p(counts / spans),
            np.log1p(session_count / spans),
            np.log1p(counts / safe_sessions),
            np.log1p(duration / safe_sessions),
            np.log1p(volume_sum / np.maximum(volume_count, 1)),
        ]
    )
    rhythm = np.log1p(dispersion)[:, None]
    return [mix, sequences, hours, weekdays, rates, rhythm]


def reliability(first: np.ndarray, second: np.ndarray) -> np.ndarray:
    """Per column: the Spearman-Brown stepped-up split-half reliability, 0..1.

    A half-to-half agreement within two standard errors of zero (``2/sqrt(n)`` for
    ``n`` customers, what chance alone gives a column without any signal) counts
    as none.
    """
    a = first - first.mean(axis=0)
    b = second - second.mean(axis=0)
    shared = (a * b).mean(axis=0)
    total = ((a**2).mean(axis=0) + (b**2).mean(axis=0)) / 2
    half = np.divide(shared, total, out=np.zeros_like(shared), where=total > 1e-12)
    chance = 2 / np.sqrt(max(len(first), 1))
    half = np.where(half > chance, np.minimum(half, 1.0), 0.0)
    return 2 * half / (1 + half)


def represent(
    events: EventArrays,
    starts: np.ndarray,
    *,
    window_start: int,
    window_end: int,
    utc_offset_seconds: int = 0,
    seed: int = 0,
) -> Representation:
    """The weighted feature matrix of every customer (see the module docstring);
    ``seed`` draws the Gaussian data of the tests for groups."""
    customer_of, codes = _transition_codes(events, starts)
    totals = np.bincount(codes, minlength=events.vocab_size**2)
    ranked = np.argsort(-totals, kind="stable")[:MAX_TRANSITION_COLUMNS]
    columns = np.sort(ranked[totals[ranked] > 0])
    options = {
        "columns": columns,
        "spans": spans_days(events, window_end, (window_end - window_start) / DAY),
        "window_start": window_start,
        "utc_offset_seconds": utc_offset_seconds,
    }
    first_half = split_halves(events, starts)
    full = _blocks(events, starts, np.ones(len(events), dtype=bool), **options)
    halves = [
        _blocks(events, starts, first_half, **options),
        _blocks(events, starts, ~first_half, **options),
    ]
    scaled, weights, owners = [], [], []
    for index, block in enumerate(full):
        weight = reliability(halves[0][index], halves[1][index])
        spread = block.std(axis=0)
        scale = np.divide(
            weight, spread, out=np.zeros_like(spread), where=spread > 1e-12
        )
        weighted = (block - block.mean(axis=0)) * scale
        # Each weighted column's variance is its reliability squared, of which the
        # reliability is customer signal: the block's share of signal.
        squares = float((weight**2).sum())
        strength = float((weight**3).sum()) / squares if squares > 0 else 0.0
        total = float((weighted**2).sum()) / max(len(weighted), 1)
        scaled.append(weighted * np.sqrt(strength / total) if total > 0 else weighted)
        weights.append(weight)
        owners.append(np.full(block.shape[1], index))
    counts = np.bincount(events.customer, minlength=events.customer_count)
    typical = max(float(np.median(counts)), 1.0)
    settled = (options["spans"] >= WEEK_DAYS) & (counts > 0)
    tests = group_tests(scaled, weights, settled, seed)
    signal = [bool((weight > 0).any()) for weight in weights]
    kept = [
        has and (test is None or test.two_groups)
        for has, test in zip(signal, tests, strict=True)
    ]
    if not any(test is not None and test.two_groups for test in tests):
        kept = signal
    scaled = [
        block if keep else block * 0.0 for block, keep in zip(scaled, kept, strict=True)
    ]
    # Weekday shares and the rhythm of the days take a week to know.
    week_columns = [np.zeros(block.shape[1], dtype=bool) for block in full]
    week_columns[BLOCKS.index("weekdays")][:] = True
    week_columns[BLOCKS.index("rhythm")][:] = True
    return Representation(
        matrix=np.hstack(scaled),
        reliability=np.concatenate(weights),
        block_of_column=np.concatenate(owners),
        weights=np.minimum(counts / typical, 1.0),
        settled=settled,
        week_columns=np.concatenate(week_columns),
        group_tests=tuple(tests),
        kept=tuple(kept),
    )


def group_tests(
    blocks: list[np.ndarray],
    reliabilities: list[np.ndarray],
    settled: np.ndarray,
    seed: int,
) -> list[splits.SplitTest | None]:
    """Per weighted block: the split test for two groups (``profiling.splits``) on
    its first principal components, among the settled customers (everyone when
    there are too few of them). None for a block without a reliable column or
    with fewer than four customers per component tested, the least the test
    needs to estimate a covariance. No block is tested (all None) with fewer
    customers than segments are tested with (four per component segments are
    found in): at that size the test finds little, and a block it cannot vouch
    for is better kept than dropped."""
    rng = np.random.default_rng(seed)
    enough = 4 * clustering.SEGMENT_COMPONENTS
    rows = settled if settled.sum() >= enough else None
    if rows is None and len(settled) < enough:
        return [None] * len(blocks)
    tests: list[splits.SplitTest | None] = []
    for block, reliability_of_column in zip(blocks, reliabilities, strict=True):
        live = reliability_of_column > 0
        points = block[:, live] if rows is None else block[rows][:, live]
        components = min(GROUP_TEST_COMPONENTS, int(live.sum()))
        if not components or len(points) < 4 * components:
            tests.append(None)
            continue
        reduced = clustering.reduce(points, components=components, seed=seed)
        tests.append(splits.split_test(reduced, np.ones(len(reduced)), rng))
    return tests
