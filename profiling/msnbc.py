"""The msnbc.com clickstream (UCI) as operation sequences, and its evaluation.

The file has a 7-line header (the category names on line 3) then one sequence per
line of category numbers ``1..17``. Each line is one user's visits on 1999-09-28,
i.e. one session. Parsing is vectorised over the raw bytes.

Evaluation protocol (``evaluate``): sessions are split 80/20 at random with a fixed
seed (a *session split*: whole sessions are held out, as in the reference figures
quoted in the profiler's issue); every transition of a held-out session (each token
after the first, predicted from the tokens before it in the same session) is scored
top-1 and top-3. "Collapsed" repeats the protocol after removing consecutive
repeats, where predicting "the same page again" is no longer possible.
"""

import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from profiling import markov

HEADER_LINES = 7
MEMBER = "msnbc990928.seq"
ARCHIVE = "msnbc990928.zip"


@dataclass(frozen=True)
class Clickstream:
    categories: list[str]
    sequences: markov.Sequences  # tokens are category numbers minus one (0..16)


def parse(raw: bytes, limit: int | None = None) -> Clickstream:
    lines = raw.split(b"\n", HEADER_LINES)
    categories = lines[2].decode().split()
    body = np.frombuffer(lines[HEADER_LINES], dtype=np.uint8)
    is_digit = (body >= ord("0")) & (body <= ord("9"))
    newline = body == ord("\n")
    starts = is_digit & ~np.concatenate([[False], is_digit[:-1]])
    ends = is_digit & ~np.concatenate([is_digit[1:], [False]])
    number_of_digit = np.cumsum(starts)[is_digit] - 1
    end_positions = np.flatnonzero(ends)
    digit_positions = np.flatnonzero(is_digit)
    place = end_positions[number_of_digit] - digit_positions
    values = np.bincount(
        number_of_digit,
        weights=(body[is_digit] - ord("0")) * 10.0**place,
    ).astype(np.int64)
    line_of_number = np.cumsum(newline)[starts]
    line_count = int(newline.sum()) + 1
    lengths = np.bincount(line_of_number, minlength=line_count)
    lengths = lengths[lengths > 0]
    if limit is not None:
        lengths = lengths[:limit]
        values = values[: int(lengths.sum())]
    offsets = np.zeros(len(lengths) + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    return Clickstream(
        categories=categories,
        sequences=markov.Sequences(tokens=values - 1, offsets=offsets),
    )


def load(path: Path | str, limit: int | None = None) -> Clickstream:
    with zipfile.ZipFile(path) as archive:
        return parse(archive.read(MEMBER), limit=limit)


def session_split(
    seqs: markov.Sequences, test_share: float = 0.2, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Per-token masks (train, test) holding out whole sessions at random."""
    rng = np.random.default_rng(seed)
    test_sessions = rng.random(seqs.count) < test_share
    test_tokens = np.repeat(test_sessions, seqs.lengths)
    return ~test_tokens, test_tokens


@dataclass(frozen=True)
class Score:
    name: str
    top1: float
    top3: float


def evaluate_sequences(
    seqs: markov.Sequences,
    vocab_size: int,
    *,
    orders: tuple[int, ...] = (1, 2, 3),
    variable_order: int = 5,
    seed: int = 0,
    beta: float = markov.DEFAULT_BETA,
    min_support: int = markov.DEFAULT_MIN_SUPPORT,
) -> list[Score]:
    """Top-1/top-3 next-token accuracy of chains and baselines on a session split."""
    train, test = session_split(seqs, seed=seed)
    starts = seqs.start_of_position()
    positions = np.arange(len(seqs.tokens))
    test_positions = positions[test & (positions > starts)]
    queries = markov.queries_for_positions(seqs, test_positions)
    targets = seqs.tokens[test_positions]
    train_targets = seqs.tokens[train & (positions > starts)]
    scores = [
        Score(
            "most popular",
            *_pair(markov.popular_hits(train_targets, targets, vocab_size)),
        ),
        Score("repeat last", *_pair(markov.repeat_last_hits(queries, targets))),
    ]
    for order in orders:
        chain = markov.chain_fit(
            seqs,
            vocab_size=vocab_size,
            max_order=order,
            mask=train,
            beta=0.01,
            min_support=1,
        )
        scores.append(
            Score(f"order {order}", *_pair(markov.topk_hits([chain], queries, targets)))
        )
    chain = markov.chain_fit(
        seqs,
        vocab_size=vocab_size,
        max_order=variable_order,
        mask=train,
        beta=beta,
        min_support=min_support,
    )
    scores.append(
        Score(
            f"variable order 1..{variable_order}",
            *_pair(markov.topk_hits([chain], queries, targets)),
        )
    )
    return scores


def _pair(hits: dict[int, float]) -> tuple[float, float]:
    return hits[1], hits[3]


def evaluate(clickstream: Clickstream, **options) -> dict[str, list[Score]]:
    """Scores for raw sequences and with consecutive repeats collapsed."""
    vocab = len(clickstream.categories)
    return {
        "raw": evaluate_sequences(clickstream.sequences, vocab, **options),
        "collapsed": evaluate_sequences(
            markov.collapse_repeats(clickstream.sequences), vocab, **options
        ),
    }
