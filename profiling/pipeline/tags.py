"""Tags: the tag rules' thresholds applied to each customer's measured figures."""

import fnmatch
from dataclasses import dataclass

import numpy as np

from profiling.features import Features


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
