"""Markov chains over operation sequences: counting, smoothing and prediction.

Pure numpy/scipy, no ORM. Operations are integer codes ``0..V-1``; many sequences are
held as one concatenated ``tokens`` array with ``offsets`` (``len == n_sequences + 1``),
so counting never loops over events in Python.

Model. A chain of maximum order ``n`` keeps, for every order ``m = 0..n``, the counts of
``(group, context of the last m operations) -> next operation``. Contexts that reach
before the start of a sequence are padded with a START symbol, so "first operation of a
session" is a context of its own. Probabilities are built bottom-up by interpolation:

    P_0(x)       = (c(x) + alpha) / (c + alpha * V)   (a level with a parent: the
                                                       parent's full prediction)
    P_m(x | ctx) = (c_m(ctx, x) + beta * P_{m-1}(x)) / (c_m(ctx) + beta)

and an order whose context was seen fewer than ``min_support`` times is skipped, which
is the "longest context with enough support" back-off. ``beta`` small with a support
threshold behaves like hard back-off; ``beta`` larger like interpolated smoothing.

Levels. ``groups`` split the counts (one chain holds every customer's or every
segment's counts, keyed by group id). A stack of levels ``[global, segment, customer]``
uses each level's prediction as the prior (``P_0``) of the next one, so a customer
with no data gets exactly their segment's prediction, and a segment with no data the
global one: the customer -> segment -> global fall-back, smoothly.
"""

import io
import zipfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy import sparse

DEFAULT_ALPHA = 0.5
DEFAULT_BETA = 8.0
DEFAULT_MIN_SUPPORT = 10
_KEY_LIMIT = 2**62


# --------------------------------------------------------------------------- data


@dataclass(frozen=True)
class Sequences:
    """Concatenated integer sequences: ``tokens[offsets[i]:offsets[i + 1]]``."""

    tokens: np.ndarray
    offsets: np.ndarray

    @classmethod
    def from_lists(cls, sequences: Sequence[Sequence[int]]) -> "Sequences":
        lengths = np.fromiter((len(s) for s in sequences), dtype=np.int64)
        offsets = np.zeros(len(lengths) + 1, dtype=np.int64)
        np.cumsum(lengths, out=offsets[1:])
        tokens = (
            np.concatenate([np.asarray(s, dtype=np.int64) for s in sequences])
            if len(sequences)
            else np.zeros(0, dtype=np.int64)
        )
        return cls(tokens=tokens.astype(np.int64), offsets=offsets)

    @property
    def lengths(self) -> np.ndarray:
        return np.diff(self.offsets)

    @property
    def count(self) -> int:
        return len(self.offsets) - 1

    def sequence_of_position(self) -> np.ndarray:
        """For each token, the index of its sequence."""
        return np.repeat(np.arange(self.count), self.lengths)

    def start_of_position(self) -> np.ndarray:
        """For each token, the offset where its sequence starts."""
        return np.repeat(self.offsets[:-1], self.lengths)

    def to_lists(self) -> list[list[int]]:
        return [
            self.tokens[a:b].tolist()
            for a, b in zip(self.offsets[:-1], self.offsets[1:], strict=True)
        ]


def collapse_repeats(seqs: Sequences) -> Sequences:
    """Drop each token equal to the one before it in the same sequence."""
    tokens = seqs.tokens
    keep = np.ones(len(tokens), dtype=bool)
    if len(tokens) > 1:
        keep[1:] = tokens[1:] != tokens[:-1]
    keep[seqs.offsets[:-1][seqs.lengths > 0]] = True
    kept_per_seq = np.add.reduceat(keep, seqs.offsets[:-1]) if len(tokens) else None
    lengths = np.zeros(seqs.count, dtype=np.int64)
    if kept_per_seq is not None:
        nonempty = seqs.lengths > 0
        lengths[nonempty] = kept_per_seq[nonempty]
    offsets = np.zeros(seqs.count + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    return Sequences(tokens=tokens[keep], offsets=offsets)


@dataclass(frozen=True)
class Queries:
    """Points to predict: query ``i`` has history ``tokens[starts[i]:positions[i]]``.

    ``groups[level][i]`` is the group id of query ``i`` at each level of a stack.
    ``positions`` may equal the end of the tokens (predicting past the last one).
    """

    tokens: np.ndarray
    positions: np.ndarray
    starts: np.ndarray
    groups: tuple[np.ndarray, ...] = ()

    def __len__(self) -> int:
        return len(self.positions)

    def take(self, index) -> "Queries":
        return Queries(
            tokens=self.tokens,
            positions=self.positions[index],
            starts=self.starts[index],
            groups=tuple(g[index] for g in self.groups),
        )


def queries_for_positions(
    seqs: Sequences,
    positions: np.ndarray,
    groups_per_sequence: Sequence[np.ndarray] = (),
) -> Queries:
    """Queries predicting the tokens at ``positions`` from what precedes them."""
    positions = np.asarray(positions, dtype=np.int64)
    seq_index = np.searchsorted(seqs.offsets, positions, side="right") - 1
    return Queries(
        tokens=seqs.tokens,
        positions=positions,
        starts=seqs.offsets[seq_index],
        groups=tuple(np.asarray(g)[seq_index] for g in groups_per_sequence),
    )


def queries_for_histories(
    histories: Sequence[Sequence[int]], groups: Sequence[Sequence[int]] = ()
) -> Queries:
    """Queries predicting what follows each history (e.g. an API's current sequence)."""
    seqs = Sequences.from_lists(histories)
    return Queries(
        tokens=seqs.tokens,
        positions=seqs.offsets[1:].copy(),
        starts=seqs.offsets[:-1].copy(),
        groups=tuple(np.asarray(g, dtype=np.int64) for g in groups),
    )


def context_lags(queries: Queries, order: int) -> np.ndarray:
    """``(n, order)`` matrix; column ``j`` is the token ``j + 1`` steps back, plus one.

    Zero stands for START (before the beginning of the sequence).
    """
    lags = np.zeros((len(queries), order), dtype=np.int64)
    for j in range(1, order + 1):
        back = queries.positions - j
        valid = back >= queries.starts
        lags[valid, j - 1] = queries.tokens[back[valid]] + 1
    return lags


# -------------------------------------------------------------------------- chain


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


# -------------------------------------------------------------------- evaluation


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


# ----------------------------------------------------------- paths and forecasts


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


# ------------------------------------------------------------------- persistence


def chains_dump(chains: dict[str, Chain], extra: dict[str, np.ndarray]) -> bytes:
    """Serialise named chains and extra arrays to compressed ``.npz`` bytes (counts
    stored as small unsigned integers)."""
    arrays: dict[str, np.ndarray] = {f"extra.{k}": v for k, v in extra.items()}
    for name, chain in chains.items():
        arrays[f"{name}.meta"] = np.array(
            [
                chain.vocab_size,
                chain.max_order,
                chain.alpha,
                chain.beta,
                chain.min_support,
                chain.group_count,
            ],
            dtype=np.float64,
        )
        for order, table in enumerate(chain.tables):
            prefix = f"{name}.{order}"
            arrays[f"{prefix}.keys"] = table.keys
            arrays[f"{prefix}.data"] = _compact(table.counts.data)
            arrays[f"{prefix}.indices"] = _compact(table.counts.indices)
            arrays[f"{prefix}.indptr"] = table.counts.indptr
            arrays[f"{prefix}.totals"] = _compact(table.totals)
    buffer = io.BytesIO()
    # Fast deflate: the arrays are already small integers; a higher level costs
    # several times the time for a few percent of bytes.
    with zipfile.ZipFile(
        buffer, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1
    ) as archive:
        for key, array in arrays.items():
            with archive.open(f"{key}.npy", "w", force_zip64=True) as member:
                np.lib.format.write_array(member, np.asarray(array), allow_pickle=False)
    return buffer.getvalue()


def _compact(array: np.ndarray) -> np.ndarray:
    """Counts (whole numbers in floats) and column indices in the smallest unsigned
    integer type that holds them exactly; ``chains_load`` widens them back."""
    if len(array) == 0 or array.min() < 0:
        return array
    if array.dtype.kind == "f" and not np.array_equal(array, np.floor(array)):
        return array
    top = array.max()
    for kind in (np.uint8, np.uint16, np.uint32):
        if top <= np.iinfo(kind).max:
            return array.astype(kind)
    return array


def chains_load(payload: bytes) -> tuple[dict[str, Chain], dict[str, np.ndarray]]:
    with np.load(io.BytesIO(bytes(payload))) as stored:
        arrays = {key: stored[key] for key in stored.files}
    extra = {k[len("extra.") :]: v for k, v in arrays.items() if k.startswith("extra.")}
    chains = {}
    for key in arrays:
        if not key.endswith(".meta") or key.startswith("extra."):
            continue
        name = key[: -len(".meta")]
        vocab, max_order, alpha, beta, support, groups = arrays[key]
        vocab, max_order = int(vocab), int(max_order)
        tables = []
        for order in range(max_order + 1):
            prefix = f"{name}.{order}"
            keys = arrays[f"{prefix}.keys"]
            tables.append(
                OrderTable(
                    keys=keys,
                    counts=sparse.csr_matrix(
                        (
                            arrays[f"{prefix}.data"].astype(np.float64),
                            arrays[f"{prefix}.indices"].astype(np.int32),
                            arrays[f"{prefix}.indptr"],
                        ),
                        shape=(len(keys) + 1, vocab),
                    ),
                    totals=arrays[f"{prefix}.totals"].astype(np.float64),
                )
            )
        chains[name] = Chain(
            vocab_size=vocab,
            max_order=max_order,
            tables=tables,
            alpha=float(alpha),
            beta=float(beta),
            min_support=int(support),
            group_count=int(groups),
        )
    return chains, extra
