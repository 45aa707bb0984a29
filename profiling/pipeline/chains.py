"""The chain stack of a pass: sessions as sequences, and the global, segment and
customer Markov chains fitted on them (the fall-back stack)."""

import numpy as np

from profiling import markov
from profiling.features import EventArrays

GLOBAL_ORDER = 3
SEGMENT_ORDER = 3
CUSTOMER_ORDER = 1
CUSTOMER_BETA = 20.0


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
