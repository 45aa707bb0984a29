"""Held-out evaluation: train on each customer's first 80% of events in time,
score next-operation predictions on the rest, against a most-frequent baseline."""

from dataclasses import dataclass

import numpy as np
from sklearn.metrics import adjusted_rand_score

from profiling import clustering, markov
from profiling.features import EventArrays, extract
from profiling.pipeline.chains import _sessions, fit_levels
from profiling.pipeline.segments import cluster
from profiling.representation import represent


@dataclass(frozen=True)
class Evaluation:
    transitions: int  # held-out transitions scored
    accuracy: dict[str, dict[int, float]]  # model -> {1: top-1, 3: top-3}
    silhouette: float | None
    adjusted_rand: float | None
    k: int


def time_split(events: EventArrays, train_share: float = 0.8) -> np.ndarray:
    """Per event: True for each customer's first ``train_share`` of events in time."""
    first = np.searchsorted(events.customer, events.customer)
    rank = np.arange(len(events)) - first
    counts = np.bincount(events.customer, minlength=events.customer_count)
    return rank < np.ceil(train_share * counts[events.customer])


def _subset(events: EventArrays, mask: np.ndarray) -> EventArrays:
    return EventArrays(
        customer=events.customer[mask],
        operation=events.operation[mask],
        timestamp=events.timestamp[mask],
        volume=events.volume[mask],
        customer_count=events.customer_count,
        operations=events.operations,
    )


def evaluate(
    events: EventArrays,
    *,
    window_start: int,
    window_end: int,
    truth: np.ndarray | None = None,
    k_range: tuple[int, int] = clustering.DEFAULT_K_RANGE,
    seed: int = 0,
) -> Evaluation:
    """Train on each customer's first 80% of events in time, score the last 20%.

    Segments are found on the training events only. Every held-out event that
    follows another in the same session is a scored transition; its history includes
    the training events before it. The baseline predicts the customer's most
    frequent training operations (the global ones for customers without any).
    """
    train = time_split(events)
    train_events = _subset(events, train)
    features = extract(train_events, window_start=window_start, window_end=window_end)
    representation = represent(
        train_events,
        features.session_starts,
        window_start=window_start,
        window_end=window_end,
        seed=seed,
    )
    labels, _, _, scores = cluster(
        representation, k_range=k_range, seed=seed, algorithm="auto"
    )
    starts = extract(events, window_start=window_start, window_end=window_end)
    seqs, session_customer = _sessions(events, starts.session_starts)
    levels = fit_levels(seqs, session_customer, labels, events.vocab_size, mask=train)
    positions = np.arange(len(events))
    test = positions[~train & ~starts.session_starts]
    customers = events.customer[test]
    targets = events.operation[test]
    queries = markov.queries_for_positions(seqs, test)
    groups = (np.zeros(len(test), dtype=np.int64), labels[customers] + 1, customers)
    accuracy = {}
    for depth, name in ((1, "global"), (2, "segment"), (3, "customer")):
        sub = markov.Queries(
            queries.tokens, queries.positions, queries.starts, groups[:depth]
        )
        accuracy[name] = markov.topk_hits(levels[:depth], sub, targets)
    per_customer = features.operation_counts.toarray()
    overall = per_customer.sum(axis=0)
    ranking = np.argsort(-(per_customer + overall / max(overall.sum(), 1)), axis=1)
    hits = ranking[customers, :3] == targets[:, None]
    total = max(len(test), 1)
    accuracy["most frequent"] = {
        1: float(hits[:, :1].any(axis=1).sum()) / total,
        3: float(hits.any(axis=1).sum()) / total,
    }
    return Evaluation(
        transitions=len(test),
        accuracy=accuracy,
        silhouette=scores["silhouette"],
        adjusted_rand=(
            float(adjusted_rand_score(truth, labels)) if truth is not None else None
        ),
        k=scores["k"],
    )
