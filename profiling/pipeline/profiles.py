"""A whole profiling pass (``profile``): features, segments, chains, predictions
and tags, with the timing of each stage."""

import time
from dataclasses import dataclass, field

import numpy as np

from profiling import clustering, markov
from profiling.features import EventArrays, customer_summaries, extract
from profiling.pipeline.chains import _sessions, fit_levels
from profiling.pipeline.predictions import _predictions, daily_rates
from profiling.pipeline.segments import SegmentResult, _segments, cluster
from profiling.pipeline.tags import Rule, Tag, apply_rules
from profiling.representation import represent


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
    daily_events: np.ndarray  # expected events per day (see daily_rates)
    tags: list[Tag]
    chains: dict[str, markov.Chain]
    scores: dict
    timings: dict = field(default_factory=dict)


def profile(
    events: EventArrays,
    *,
    window_start: int,
    window_end: int,
    rules: list[Rule],
    k_range: tuple[int, int] = clustering.DEFAULT_K_RANGE,
    seed: int = 0,
    algorithm: str = "auto",
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
    representation = represent(
        events,
        features.session_starts,
        window_start=window_start,
        window_end=window_end,
        utc_offset_seconds=utc_offset_seconds,
        seed=seed,
    )
    lap("features")
    labels, unusual, projection, scores = cluster(
        representation, k_range=k_range, seed=seed, algorithm=algorithm
    )
    lap("cluster")
    seqs, session_customer = _sessions(events, features.session_starts)
    levels = fit_levels(seqs, session_customer, labels, events.vocab_size)
    lap("chains")
    rates = daily_rates(
        events, labels, window_start=window_start, window_end=window_end
    )
    next_ops, counts, paths, recent = _predictions(
        events, seqs, session_customer, labels, levels, rates
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
        daily_events=rates,
        tags=tags,
        chains=dict(zip(("global", "segment", "customer"), levels, strict=True)),
        scores=scores,
        timings=timings,
    )
