"""A whole profiling pass over event arrays: features, segments, chains, predictions,
tags, and the held-out evaluation. Pure: arrays and dataclasses in and out.

Stages and their timings: ``features`` (vectors per customer), ``cluster`` (K-Means
with k by silhouette, DBSCAN for outliers, PCA for the 2-D view), ``chains`` (global,
segment and customer Markov chains), ``predict`` (next operations, greedy path and
expected counts per customer), ``tags`` (thresholds of the tag rules).
"""

import fnmatch
import time
from dataclasses import dataclass, field

import numpy as np
from sklearn.metrics import adjusted_rand_score
from threadpoolctl import threadpool_limits

from profiling import clustering, markov
from profiling.features import (
    DAY,
    EventArrays,
    Features,
    customer_summaries,
    extract,
)

GLOBAL_ORDER = 3
SEGMENT_ORDER = 3
CUSTOMER_ORDER = 1
CUSTOMER_BETA = 20.0
NEXT_K = 5
PATH_HORIZON = 5
PERIOD_DAYS = 30


@dataclass(frozen=True)
class Rule:
    name: str
    kind: str  # see TagRule.Kind
    pattern: str
    threshold: float


@dataclass(frozen=True)
class Tag:
    customer: int  # customer index
    name: str
    score: float
    explanation: str


@dataclass
class SegmentResult:
    label: int
    name: str
    size: int
    top_operations: list[dict]
    centroid_summary: dict
    transitions: list[list[float]]


@dataclass
class ProfileResult:
    labels: np.ndarray  # segment label per customer (-1 = unusual)
    unusual: np.ndarray  # bool per customer, DBSCAN noise
    projection: np.ndarray  # customers x 2
    segments: list[SegmentResult]
    summaries: list[dict]
    next_operations: list[list[dict]]
    predicted_counts: list[dict]
    predicted_paths: list[list[str]]
    recent_operations: list[list[str]]
    tags: list[Tag]
    chains: dict[str, markov.Chain]
    scores: dict
    timings: dict = field(default_factory=dict)


def segment_groups(labels: np.ndarray) -> np.ndarray:
    """Chain group ids of segment labels (the unusual group -1 becomes 0)."""
    return labels + 1


def fit_levels(
    seqs: markov.Sequences,
    session_customer: np.ndarray,
    labels: np.ndarray,
    vocab: int,
    mask: np.ndarray | None = None,
) -> list[markov.Chain]:
    """Global, segment and customer chains (the fall-back stack)."""
    return [
        markov.chain_fit(seqs, vocab_size=vocab, max_order=GLOBAL_ORDER, mask=mask),
        markov.chain_fit(
            seqs,
            vocab_size=vocab,
            max_order=SEGMENT_ORDER,
            mask=mask,
            groups=segment_groups(labels)[session_customer],
        ),
        markov.chain_fit(
            seqs,
            vocab_size=vocab,
            max_order=CUSTOMER_ORDER,
            mask=mask,
            groups=session_customer,
            beta=CUSTOMER_BETA,
            min_support=1,
        ),
    ]


def _sessions(events: EventArrays, starts: np.ndarray):
    first = np.flatnonzero(starts)
    offsets = np.append(first, len(events)).astype(np.int64)
    return markov.Sequences(tokens=events.operation, offsets=offsets), events.customer[
        first
    ]


def cluster(
    features: Features, *, k_range: tuple[int, int], seed: int, algorithm: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray, dict]:
    """Segments on PCA-reduced features (20 components for K-Means, 10 for DBSCAN;
    silhouettes are measured in the space that was clustered).

    BLAS/OpenMP run single-threaded here: on a busy worker host, oversubscribed
    thread pools made K-Means an order of magnitude slower; parallelism comes from
    running several workers instead.
    """
    matrix = features.clustering_matrix()
    with threadpool_limits(limits=1):
        reduced = clustering.reduce(matrix, components=20, seed=seed)
        density = clustering.dbscan(reduced[:, :10])
        unusual = density.labels == clustering.UNUSUAL
        if algorithm == "dbscan":
            chosen = density
        else:
            chosen = clustering.kmeans_auto(reduced, k_range=k_range, seed=seed)
    projection = np.zeros((len(matrix), 2))
    projection[:, : min(2, reduced.shape[1])] = reduced[:, :2]
    scores = {
        "algorithm": chosen.algorithm,
        "k": chosen.k,
        "silhouette": chosen.silhouette,
        "silhouettes_by_k": {str(k): v for k, v in chosen.silhouettes_by_k.items()},
        "dbscan": density.algorithm,
        "unusual_customers": int(unusual.sum()),
    }
    return chosen.labels, unusual, projection, scores


def _segments(
    features: Features,
    labels: np.ndarray,
    operations: tuple[str, ...],
    levels: list[markov.Chain],
) -> list[SegmentResult]:
    counts = features.operation_counts.toarray()
    a = features.activity
    overall_length = float(np.mean(a.mean_session_length)) if len(labels) else 0.0
    overall_events = float(np.mean(a.events)) if len(labels) else 0.0
    results = []
    for label in sorted(set(labels.tolist())):
        members = labels == label
        top = clustering.characteristic_operations(counts, labels, label)
        summary = {
            "mean_events": round(float(a.events[members].mean()), 1),
            "mean_session_length": round(
                float(a.mean_session_length[members].mean()), 2
            ),
            "night_share": round(float(a.night_share[members].mean()), 3),
            "trend": round(float(a.trend[members].mean()), 3),
            "volume_mean_bytes": round(float(a.volume_mean[members].mean())),
        }
        if label == clustering.UNUSUAL:
            name = "Unusual customers"
        else:
            name = clustering.segment_name(
                [operations[code] for code, _, _ in top],
                mean_session_length=summary["mean_session_length"],
                overall_session_length=overall_length,
                mean_events=summary["mean_events"],
                overall_events=overall_events,
                night_share=summary["night_share"],
            )
        matrix = markov.transition_matrix(levels[:2], [0, label + 1])
        results.append(
            SegmentResult(
                label=label,
                name=name,
                size=int(members.sum()),
                top_operations=[
                    {
                        "operation": operations[code],
                        "share": round(share, 3),
                        "lift": round(lift, 2),
                    }
                    for code, share, lift in top
                ],
                centroid_summary=summary,
                transitions=np.round(matrix, 4).tolist(),
            )
        )
    for segment, name in zip(
        results, clustering.unique_names([s.name for s in results]), strict=True
    ):
        segment.name = name
    return results


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


def _predictions(
    events: EventArrays,
    seqs: markov.Sequences,
    session_customer: np.ndarray,
    labels: np.ndarray,
    levels: list[markov.Chain],
    window_days: float,
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
    counts = np.bincount(events.customer, minlength=customers)
    steps = np.round(counts * PERIOD_DAYS / max(window_days, 1)).astype(np.int64)
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


def apply_rules(
    rules: list[Rule],
    features: Features,
    operations: tuple[str, ...],
    labels: np.ndarray,
    unusual: np.ndarray,
    segment_names: dict[int, str],
) -> list[Tag]:
    """Tags for every customer whose measured figure reaches a rule's threshold."""
    counts = features.operation_counts.toarray()
    totals = np.maximum(counts.sum(axis=1), 1)
    a = features.activity
    has_events = a.events > 0
    tags: list[Tag] = []

    def add(values, rule_name, threshold, explain):
        hits = np.flatnonzero(has_events & (values >= threshold))
        # Plain floats: formatting numpy scalars is an order of magnitude slower.
        for index, value in zip(hits.tolist(), values[hits].tolist(), strict=True):
            tags.append(Tag(index, rule_name, value, explain(value)))

    families = sorted({op.split(".")[0] for op in operations})
    for rule in rules:
        if rule.kind == "family_share":
            for family in families:
                columns = [
                    i for i, op in enumerate(operations) if op.split(".")[0] == family
                ]
                share = counts[:, columns].sum(axis=1) / totals
                add(
                    share,
                    rule.name.replace("{family}", family),
                    rule.threshold,
                    lambda v, f=family: f"{v:.0%} of events are {f}.* operations",
                )
        elif rule.kind == "operation_share":
            columns = [
                i
                for i, op in enumerate(operations)
                if fnmatch.fnmatch(op, rule.pattern)
            ]
            share = counts[:, columns].sum(axis=1) / totals
            add(
                share,
                rule.name,
                rule.threshold,
                lambda v, p=rule.pattern: f"{v:.0%} of events match {p}",
            )
        elif rule.kind == "night_share":
            add(
                a.night_share,
                rule.name,
                rule.threshold,
                lambda v: f"{v:.0%} of events between 22:00 and 06:00",
            )
        elif rule.kind == "burstiness":
            add(
                a.burstiness,
                rule.name,
                rule.threshold,
                lambda v: f"burstiness {v:.2f} of gaps between events",
            )
        elif rule.kind == "trend":
            add(
                a.trend,
                rule.name,
                rule.threshold,
                lambda v: f"second half of the window has {v:+.0%} of events vs first",
            )
        elif rule.kind == "segment":
            member = np.array(
                [
                    rule.pattern.lower() in segment_names.get(x, "").lower()
                    for x in labels
                ],
                dtype=np.float64,
            )
            add(
                member,
                rule.name,
                1.0,
                lambda v, p=rule.pattern: f"in a segment named like {p!r}",
            )
        elif rule.kind == "unusual":
            add(
                unusual.astype(np.float64),
                rule.name,
                1.0,
                lambda v: (
                    "behaviour unlike any dense group of customers (DBSCAN noise)"
                ),
            )
    return tags


def profile(
    events: EventArrays,
    *,
    window_start: int,
    window_end: int,
    rules: list[Rule],
    k_range: tuple[int, int] = clustering.DEFAULT_K_RANGE,
    seed: int = 0,
    algorithm: str = "kmeans",
    starts: np.ndarray | None = None,
    utc_offset_seconds: int = 0,
) -> ProfileResult:
    timings: dict[str, float] = {}
    clock = time.perf_counter()

    def lap(name):
        nonlocal clock
        now = time.perf_counter()
        timings[name] = round(now - clock, 4)
        clock = now

    features = extract(
        events,
        window_start=window_start,
        window_end=window_end,
        starts=starts,
        utc_offset_seconds=utc_offset_seconds,
    )
    lap("features")
    labels, unusual, projection, scores = cluster(
        features, k_range=k_range, seed=seed, algorithm=algorithm
    )
    lap("cluster")
    seqs, session_customer = _sessions(events, features.session_starts)
    levels = fit_levels(seqs, session_customer, labels, events.vocab_size)
    lap("chains")
    window_days = (window_end - window_start) / DAY
    next_ops, counts, paths, recent = _predictions(
        events, seqs, session_customer, labels, levels, window_days
    )
    segments = _segments(features, labels, events.operations, levels)
    summaries = customer_summaries(features, events.operations)
    lap("predict")
    tags = apply_rules(
        rules,
        features,
        events.operations,
        labels,
        unusual,
        {s.label: s.name for s in segments},
    )
    lap("tags")
    return ProfileResult(
        labels=labels,
        unusual=unusual,
        projection=projection,
        segments=segments,
        summaries=summaries,
        next_operations=next_ops,
        predicted_counts=counts,
        predicted_paths=paths,
        recent_operations=recent,
        tags=tags,
        chains=dict(zip(("global", "segment", "customer"), levels, strict=True)),
        scores=scores,
        timings=timings,
    )


# -------------------------------------------------------------------- evaluation


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
    labels, _, _, scores = cluster(
        features, k_range=k_range, seed=seed, algorithm="kmeans"
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
