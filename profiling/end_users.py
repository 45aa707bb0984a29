"""End users inside customers' accounts: their events, features, predictions, tags.

Pure numpy like ``pipeline``. Events arrive sorted by customer then time, with an
end-user key per event (0 when the event names no end user). A stable sort by
(customer, key) regroups the attributed events per end user keeping their time
order, so the same feature extraction runs with end users in place of customers;
sessions are split by the same inactivity gap, per end user.

Prediction adds a fourth level under the customer stack: global -> segment ->
customer -> end user. The end-user chain is first order with the customer level's
smoothing, so an end user with few events gets (nearly) their customer's
prediction, and an end user never seen gets exactly it.

Tags use the per-user rules only (operation shares, night share, burstiness,
trend); segment membership and outliers are properties of the customer.
"""

from dataclasses import dataclass, field

import numpy as np

from profiling import markov, pipeline
from profiling.features import EventArrays, customer_summaries, extract, sessions

USER_RULE_KINDS = {
    "family_share",
    "operation_share",
    "night_share",
    "burstiness",
    "trend",
}


@dataclass
class EndUserResult:
    customer: np.ndarray  # customer index of each end user
    key: np.ndarray  # end-user key of each end user
    summaries: list[dict]
    next_operations: list[list[dict]]
    recent_operations: list[list[str]]
    tags: list[list[dict]]  # per end user: [{"name", "score", "explanation"}]
    chain: markov.Chain | None
    timings: dict = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.customer)


def regroup(
    events: EventArrays, user_key: np.ndarray
) -> tuple[EventArrays, np.ndarray, np.ndarray]:
    """Attributed events as ``EventArrays`` of end users (sorted by customer, key).

    Returns the arrays, and per end user their customer index and key.
    """
    attributed = np.flatnonzero(user_key != 0)
    order = attributed[np.lexsort((user_key[attributed], events.customer[attributed]))]
    customer = events.customer[order]
    key = user_key[order]
    new = np.ones(len(order), dtype=bool)
    new[1:] = (customer[1:] != customer[:-1]) | (key[1:] != key[:-1])
    first = np.flatnonzero(new)
    arrays = EventArrays(
        customer=np.cumsum(new) - 1,
        operation=events.operation[order],
        timestamp=events.timestamp[order],
        volume=events.volume[order],
        customer_count=len(first),
        operations=events.operations,
    )
    return arrays, customer[first], key[first]


def _empty(events: EventArrays) -> EndUserResult:
    none = np.zeros(0, dtype=np.int64)
    return EndUserResult(none, none, [], [], [], [], None)


def profile(
    events: EventArrays,
    user_key: np.ndarray,
    *,
    window_start: int,
    window_end: int,
    levels: list[markov.Chain],
    labels: np.ndarray,
    rules: list[pipeline.Rule],
    utc_offset_seconds: int = 0,
) -> EndUserResult:
    """Features, next operations and tags of every end user with events.

    ``levels`` are the run's global, segment and customer chains; ``labels`` the
    customers' segment labels.
    """
    if not (user_key != 0).any():
        return _empty(events)
    users, user_customer, keys = regroup(events, user_key)
    count = users.customer_count
    features = extract(
        users,
        window_start=window_start,
        window_end=window_end,
        utc_offset_seconds=utc_offset_seconds,
    )
    seqs, session_user = sessions(users, features.session_starts)
    chain = markov.chain_fit(
        seqs,
        vocab_size=events.vocab_size,
        max_order=pipeline.CUSTOMER_ORDER,
        groups=session_user,
        beta=pipeline.CUSTOMER_BETA,
        min_support=1,
    )
    # Each end user's last session is the context of what comes next.
    last_session = np.zeros(count, dtype=np.int64)
    last_session[session_user] = np.arange(len(session_user))
    starts = seqs.offsets[last_session]
    ends = seqs.offsets[last_session + 1]
    groups = (
        np.zeros(count, dtype=np.int64),
        pipeline.segment_groups(labels)[user_customer],
        user_customer,
        np.arange(count, dtype=np.int64),
    )
    proba = markov.predict_proba(
        [*levels, chain],
        markov.Queries(
            tokens=seqs.tokens, positions=ends, starts=starts, groups=groups
        ),
    )
    depth = pipeline.GLOBAL_ORDER
    back = ends[:, None] - depth + np.arange(depth)
    recent = np.where(back >= starts[:, None], seqs.tokens[np.maximum(back, 0)], -1)
    best, values = markov.top_k(proba, pipeline.NEXT_K)
    operations = events.operations
    next_operations = [
        [
            {"operation": operations[int(c)], "probability": round(float(p), 4)}
            for c, p in zip(row_codes, row_values, strict=True)
        ]
        for row_codes, row_values in zip(best, values, strict=True)
    ]
    per_user_rules = [r for r in rules if r.kind in USER_RULE_KINDS]
    no_labels = np.zeros(count, dtype=np.int64)
    tags: list[list[dict]] = [[] for _ in range(count)]
    for tag in pipeline.apply_rules(
        per_user_rules, features, operations, no_labels, no_labels > 0, {}
    ):
        tags[tag.customer].append(
            {
                "name": tag.name,
                "score": round(tag.score, 3),
                "explanation": tag.explanation,
            }
        )
    for user_tags in tags:
        user_tags.sort(key=lambda t: (-t["score"], t["name"]))
    return EndUserResult(
        customer=user_customer,
        key=keys,
        summaries=customer_summaries(features, operations),
        next_operations=next_operations,
        recent_operations=[
            [operations[c] for c in row if c >= 0] for row in recent.tolist()
        ],
        tags=tags,
        chain=chain,
    )
