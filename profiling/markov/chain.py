"""Chains: counting transitions of every order and interpolated prediction.

Fits a ``Chain`` (one ``OrderTable`` of counts per order) and turns a stack of
levels into next-operation probabilities, falling back from a context without
enough support to a shorter one and from a level without data to its parent.
"""

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy import sparse

from profiling.markov.sequences import (
    Queries,
    Sequences,
    context_lags,
    queries_for_positions,
)

DEFAULT_ALPHA = 0.5
DEFAULT_BETA = 8.0
DEFAULT_MIN_SUPPORT = 10
_KEY_LIMIT = 2**62


@dataclass
class OrderTable:
    """Counts for one order: rows are sorted ``(group, context)`` keys."""

    keys: np.ndarray
    # (len(keys) + 1) x V; the extra last row is all zeros, for unseen contexts.
    counts: sparse.csr_matrix
    totals: np.ndarray

    def rows(self, keys: np.ndarray) -> np.ndarray:
        index = np.searchsorted(self.keys, keys)
        index = np.minimum(index, len(self.keys))
        found = np.zeros(len(keys), dtype=bool)
        inside = index < len(self.keys)
        found[inside] = self.keys[index[inside]] == keys[inside]
        return np.where(found, index, len(self.keys))


@dataclass
class Chain:
    vocab_size: int
    max_order: int
    tables: list[OrderTable]
    alpha: float = DEFAULT_ALPHA
    beta: float = DEFAULT_BETA
    min_support: int = DEFAULT_MIN_SUPPORT
    group_count: int = 1
    meta: dict = field(default_factory=dict)

    @property
    def base(self) -> int:
        return self.vocab_size + 1


def _context_keys(
    groups: np.ndarray, lags: np.ndarray, order: int, base: int
) -> np.ndarray:
    keys = groups.astype(np.int64) * (base**order)
    for j in range(order):
        keys = keys + lags[:, j] * (base**j)
    return keys


def chain_fit(
    seqs: Sequences,
    *,
    vocab_size: int,
    max_order: int = 1,
    groups: np.ndarray | None = None,
    mask: np.ndarray | None = None,
    alpha: float = DEFAULT_ALPHA,
    beta: float = DEFAULT_BETA,
    min_support: int = DEFAULT_MIN_SUPPORT,
) -> Chain:
    """Count transitions of every order ``0..max_order``.

    ``groups`` gives each sequence a group id (all zero for one global chain);
    ``mask`` (per token) selects which tokens are counted as targets, so a held-out
    tail can stay in the sequences as history without being learnt from.
    """
    if vocab_size < 1:
        raise ValueError("vocab_size must be at least 1")
    groups = (
        np.zeros(seqs.count, dtype=np.int64)
        if groups is None
        else np.asarray(groups, dtype=np.int64)
    )
    group_count = int(groups.max()) + 1 if len(groups) else 1
    base = vocab_size + 1
    if group_count * base**max_order * vocab_size >= _KEY_LIMIT:
        raise ValueError("too many groups and operations for the chain's key space")
    positions = np.arange(len(seqs.tokens), dtype=np.int64)
    if mask is not None:
        positions = positions[np.asarray(mask, dtype=bool)]
    queries = queries_for_positions(seqs, positions, [groups])
    lags = context_lags(queries, max_order)
    targets = seqs.tokens[positions]
    tables = []
    for order in range(max_order + 1):
        keys = _context_keys(queries.groups[0], lags, order, base)
        combined, counts = np.unique(keys * vocab_size + targets, return_counts=True)
        context_keys, columns = np.divmod(combined, vocab_size)
        row_keys, rows = np.unique(context_keys, return_inverse=True)
        matrix = sparse.csr_matrix(
            (counts.astype(np.float64), (rows, columns)),
            shape=(len(row_keys) + 1, vocab_size),
        )
        totals = np.append(
            np.bincount(rows, weights=counts, minlength=len(row_keys)), 0.0
        )
        tables.append(OrderTable(keys=row_keys, counts=matrix, totals=totals))
    return Chain(
        vocab_size=vocab_size,
        max_order=max_order,
        tables=tables,
        alpha=alpha,
        beta=beta,
        min_support=min_support,
        group_count=group_count,
    )


def _level_proba(
    chain: Chain,
    queries: Queries,
    groups: np.ndarray,
    lags: np.ndarray,
    prior: np.ndarray | None,
    max_order: int,
) -> np.ndarray:
    base = chain.base
    if prior is None:
        table = chain.tables[0]
        rows = table.rows(_context_keys(groups, lags, 0, base))
        counts = table.counts[rows].toarray()
        totals = table.totals[rows][:, None]
        proba = (counts + chain.alpha) / (totals + chain.alpha * chain.vocab_size)
    else:
        # The parent's prediction already knows the context; the group's own
        # context-free mix would only blur it, so order 0 is skipped here.
        proba = prior.copy()
    for order in range(1, min(max_order, chain.max_order) + 1):
        table = chain.tables[order]
        rows = table.rows(_context_keys(groups, lags, order, base))
        totals = table.totals[rows]
        supported = totals >= max(chain.min_support, 1)
        if not supported.any():
            continue
        counts = table.counts[rows[supported]].toarray()
        proba[supported] = (counts + chain.beta * proba[supported]) / (
            totals[supported][:, None] + chain.beta
        )
    return proba


def iter_proba(
    levels: Sequence[Chain],
    queries: Queries,
    *,
    max_order: int | None = None,
    chunk: int = 20_000,
) -> Iterator[tuple[slice, np.ndarray]]:
    """Yield ``(slice of queries, probabilities n x V)`` in chunks.

    ``levels`` is a stack (global first); ``queries.groups[i]`` are level ``i``'s
    group ids. ``max_order`` caps the context length (1 = first-order view).
    """
    if not levels:
        raise ValueError("at least one level is needed")
    deepest = max(chain.max_order for chain in levels)
    order_cap = deepest if max_order is None else min(max_order, deepest)
    for start in range(0, len(queries), chunk):
        part = slice(start, min(start + chunk, len(queries)))
        sub = queries.take(part)
        lags = context_lags(sub, order_cap)
        proba = None
        for level, chain in enumerate(levels):
            groups = (
                sub.groups[level]
                if level < len(sub.groups)
                else np.zeros(len(sub), dtype=np.int64)
            )
            proba = _level_proba(chain, sub, groups, lags, proba, order_cap)
        yield part, proba


def predict_proba(
    levels: Sequence[Chain], queries: Queries, *, max_order: int | None = None
) -> np.ndarray:
    vocab = levels[0].vocab_size
    out = np.zeros((len(queries), vocab))
    for part, proba in iter_proba(levels, queries, max_order=max_order):
        out[part] = proba
    return out


def top_k(proba: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices and probabilities of the ``k`` most likely tokens, best first.

    Ties go to the lower operation code, so results are deterministic.
    """
    k = min(k, proba.shape[1])
    order = np.argsort(-proba, axis=1, kind="stable")[:, :k]
    return order, np.take_along_axis(proba, order, axis=1)
