"""Predictions per customer: the next operations, the greedy path, the expected
rate of events and the expected operation counts over the next period."""

import numpy as np

from profiling import markov
from profiling.features import DAY, EventArrays
from profiling.pipeline.chains import GLOBAL_ORDER, segment_groups
from profiling.representation import spans_days

NEXT_K = 5
PATH_HORIZON = 5
PERIOD_DAYS = 30


def expected_counts_batch(
    matrices: np.ndarray, start: np.ndarray, steps: np.ndarray, exact_steps: int = 300
) -> np.ndarray:
    """Row-wise ``markov.expected_counts`` for many customers at once."""
    distribution = start.astype(np.float64)
    totals = np.zeros_like(distribution)
    for step in range(min(int(steps.max(initial=0)), exact_steps)):
        distribution = np.einsum("cv,cvw->cw", distribution, matrices)
        totals += distribution * (steps > step)[:, None]
    remaining = np.maximum(steps - exact_steps, 0)
    return totals + distribution * remaining[:, None]


def daily_rates(
    events: EventArrays, labels: np.ndarray, *, window_start: int, window_end: int
) -> np.ndarray:
    """Expected events per day of every customer, from their own observed span.

    A customer's rate is their events divided by the days from their first event
    to the window end (at least one day, at most the window): a customer who
    started 15 days ago is not diluted over 90. It is shrunk toward their
    segment's pooled rate by how little their span says (empirical Bayes, normal
    approximation): the segment's day-to-day variance of event counts ``s2`` and
    the variance of true rates between its customers ``tau2`` (observed variance
    of the rates minus what sampling explains) give a prior worth ``s2 / tau2``
    days, and the estimate is ``(events + rate * prior) / (span + prior)``. A
    customer with one day of data is mostly their segment; one with ninety is
    mostly themselves; when the segment's customers do not differ beyond noise,
    everyone gets the segment's rate.
    """
    c = events.customer_count
    window_days = (window_end - window_start) / DAY
    spans = spans_days(events, window_end, window_days)
    counts = np.bincount(events.customer, minlength=c).astype(np.float64)
    days = max(int(np.ceil(window_days)), 1)
    day = np.clip((events.timestamp - window_start) // DAY, 0, days - 1)
    per_day = np.bincount(events.customer * days + day, minlength=c * days)
    whole_days = np.maximum(np.round(spans), 1)
    mean = counts / whole_days
    squares = (per_day.reshape(c, days).astype(np.float64) ** 2).sum(axis=1)
    day_variance = np.maximum(squares / whole_days - mean**2, 0)
    rates = counts / spans
    estimate = rates.copy()
    for label in np.unique(labels):
        members = labels == label
        exposure = spans[members]
        pooled = counts[members].sum() / exposure.sum()
        # Day-to-day variance of the segment, weighted by days observed.
        s2 = float((day_variance[members] * whole_days[members]).sum()) / float(
            whole_days[members].sum()
        )
        weights = exposure / exposure.sum()
        tau2 = float((weights * ((rates[members] - pooled) ** 2 - s2 / exposure)).sum())
        if tau2 <= 0:
            estimate[members] = pooled
            continue
        prior_days = s2 / tau2
        estimate[members] = (counts[members] + pooled * prior_days) / (
            exposure + prior_days
        )
    return estimate


def _predictions(
    events: EventArrays,
    seqs: markov.Sequences,
    session_customer: np.ndarray,
    labels: np.ndarray,
    levels: list[markov.Chain],
    rates: np.ndarray,
):
    customers = events.customer_count
    vocab = events.vocab_size
    operations = events.operations
    groups = [np.zeros(customers, dtype=np.int64), segment_groups(labels)]
    groups.append(np.arange(customers, dtype=np.int64))
    # The customer's last session is the context of what comes next.
    last_session = np.full(customers, -1)
    last_session[session_customer] = np.arange(len(session_customer))
    has_events = last_session >= 0
    histories = [
        seqs.tokens[seqs.offsets[s] : seqs.offsets[s + 1]][-GLOBAL_ORDER:].tolist()
        if s >= 0
        else []
        for s in last_session
    ]
    queries = markov.queries_for_histories(histories, groups)
    proba = markov.predict_proba(levels, queries)
    best, values = markov.top_k(proba, NEXT_K)
    next_operations = [
        [
            {"operation": operations[int(c)], "probability": round(float(p), 4)}
            for c, p in zip(row_codes, row_values, strict=True)
        ]
        for row_codes, row_values in zip(best, values, strict=True)
    ]
    paths = [list(h) for h in histories]
    greedy = [[] for _ in range(customers)]
    for _ in range(PATH_HORIZON):
        step = markov.predict_proba(levels, markov.queries_for_histories(paths, groups))
        chosen = np.argmax(step, axis=1)
        for index, code in enumerate(chosen.tolist()):
            paths[index].append(code)
            greedy[index].append(operations[code])
    # First-order matrices per customer: rows "last operation = a".
    rows = np.repeat(np.arange(customers), vocab)
    matrix_queries = markov.queries_for_histories(
        [[a] for a in range(vocab)] * customers, [g[rows] for g in groups]
    )
    matrices = markov.predict_proba(levels, matrix_queries, max_order=1).reshape(
        customers, vocab, vocab
    )
    steps = np.round(rates * PERIOD_DAYS).astype(np.int64)
    start = np.zeros((customers, vocab))
    last_ops = np.array([h[-1] if h else 0 for h in histories])
    start[np.arange(customers), last_ops] = 1
    expected = expected_counts_batch(matrices, start, steps * has_events)
    predicted_counts = [
        {
            operations[c]: round(float(row[c]), 1)
            for c in np.argsort(-row, kind="stable")
            if row[c] >= 0.05
        }
        for row in expected
    ]
    recent = [[operations[c] for c in h] for h in histories]
    return next_operations, predicted_counts, greedy, recent
