"""Sequences and queries: the concatenated token layout and the points to predict.

Many sequences are held as one ``tokens`` array with ``offsets``; a query names a
position and the start of its sequence, so its history is a slice of the tokens.
"""

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


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
