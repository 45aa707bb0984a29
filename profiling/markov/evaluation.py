"""Evaluation: top-k hit rates of a chain stack and of the simple baselines."""

from collections.abc import Sequence

import numpy as np

from profiling.markov.chain import Chain, iter_proba, top_k
from profiling.markov.sequences import Queries, context_lags


def topk_hits(
    levels: Sequence[Chain],
    queries: Queries,
    targets: np.ndarray,
    ks: Sequence[int] = (1, 3),
) -> dict[int, float]:
    """Share of queries whose true next token is among the top ``k`` predictions."""
    hits = dict.fromkeys(ks, 0)
    kmax = max(ks)
    for part, proba in iter_proba(levels, queries):
        best, _ = top_k(proba, kmax)
        match = best == targets[part][:, None]
        for k in ks:
            hits[k] += int(match[:, :k].any(axis=1).sum())
    total = max(len(queries), 1)
    return {k: hits[k] / total for k in ks}


def repeat_last_hits(
    queries: Queries, targets: np.ndarray, ks: Sequence[int] = (1, 3), depth: int = 12
) -> dict[int, float]:
    """Baseline: predict the most recent distinct operations of the history."""
    kmax = max(ks)
    chosen = np.full((len(queries), kmax), -1, dtype=np.int64)
    filled = np.zeros(len(queries), dtype=np.int64)
    lags = context_lags(queries, depth) - 1  # -1 marks START
    rows = np.arange(len(queries))
    for j in range(depth):
        candidate = lags[:, j]
        fresh = (candidate >= 0) & (filled < kmax)
        fresh &= ~(chosen == candidate[:, None]).any(axis=1)
        chosen[rows[fresh], filled[fresh]] = candidate[fresh]
        filled += fresh
    match = chosen == targets[:, None]
    total = max(len(queries), 1)
    return {k: float(match[:, :k].any(axis=1).sum()) / total for k in ks}


def popular_hits(
    train_targets: np.ndarray,
    targets: np.ndarray,
    vocab_size: int,
    ks: Sequence[int] = (1, 3),
) -> dict[int, float]:
    """Baseline: always predict the operations most frequent in training."""
    ranking = np.argsort(
        -np.bincount(train_targets, minlength=vocab_size), kind="stable"
    )
    total = max(len(targets), 1)
    return {k: float(np.isin(targets, ranking[:k]).sum()) / total for k in ks}
