"""Paths and forecasts: first-order transition views, expected operation counts
and the most likely continuation of a history."""

from collections.abc import Sequence

import numpy as np

from profiling.markov.chain import Chain, predict_proba, top_k
from profiling.markov.sequences import queries_for_histories


def transition_matrix(levels: Sequence[Chain], groups: Sequence[int]) -> np.ndarray:
    """First-order view ``P[a, b] = P(next = b | last = a)`` for one group per level."""
    vocab = levels[0].vocab_size
    queries = queries_for_histories(
        [[a] for a in range(vocab)], [[g] * vocab for g in groups]
    )
    return predict_proba(levels, queries, max_order=1)


def expected_counts(
    matrix: np.ndarray, start: np.ndarray, steps: int, exact_steps: int = 500
) -> np.ndarray:
    """Expected number of each operation over the next ``steps`` transitions.

    ``start`` is the distribution of the current operation. The first ``exact_steps``
    are propagated exactly; further steps reuse the last distribution, which is by
    then the chain's stationary mix to within rounding for any chain that mixes.
    """
    distribution = np.asarray(start, dtype=np.float64)
    totals = np.zeros(matrix.shape[0])
    for _ in range(min(steps, exact_steps)):
        distribution = distribution @ matrix
        totals += distribution
    if steps > exact_steps:
        totals += distribution * (steps - exact_steps)
    return totals


def most_likely_path(
    levels: Sequence[Chain],
    history: Sequence[int],
    groups: Sequence[int],
    horizon: int,
    beam: int = 8,
) -> tuple[list[int], float]:
    """Beam search for the most probable continuation of ``history``.

    Returns the path and its probability. With ``beam >= V ** horizon`` this is
    exact; the default beam is exact for first-order chains' short horizons in
    practice and a close approximation otherwise.
    """
    candidates: list[tuple[list[int], float]] = [([], 0.0)]
    for _ in range(horizon):
        queries = queries_for_histories(
            [list(history) + path for path, _ in candidates],
            [[g] * len(candidates) for g in groups],
        )
        proba = predict_proba(levels, queries)
        expanded = []
        for (path, logp), row in zip(candidates, proba, strict=True):
            best, values = top_k(row[None, :], beam)
            for token, value in zip(best[0], values[0], strict=True):
                if value > 0:
                    expanded.append((path + [int(token)], logp + float(np.log(value))))
        expanded.sort(key=lambda item: -item[1])
        candidates = expanded[:beam]
    path, logp = candidates[0]
    return path, float(np.exp(logp))
