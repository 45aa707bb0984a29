"""Split tests of segments: whether a segment holds two groups (then it is split)
and whether two neighbouring segments hold only one (then they are merged).

The silhouette favours coarse partitions: two groups that differ from each other
less than from the rest score higher merged. So the segments it chooses are
tested for two groups: the best split in two (2-means) of the customers tested
must leave less of their spread within the halves than the same split leaves in
Gaussian data with their own covariance, the spread of a single group without
sub-groups. Two groups are found when it is below the Gaussian draws' mean by
more than ``SPLIT_Z`` of their standard deviations (the one-sided 1% level).
"""

from dataclasses import dataclass, replace

import numpy as np
from sklearn.cluster import KMeans
from sklearn.metrics import pairwise_distances

from profiling.clustering import DEFAULT_K_RANGE, Clustering, SilhouetteScorer

# Split tests: members a segment is tested on (a random sample of larger ones),
# Gaussian draws it is compared with, and the one-sided 1% level of a normal.
SPLIT_SAMPLE = 500
SPLIT_DRAWS = 10
SPLIT_STARTS = 3  # 2-means started from the first principal components
SPLIT_Z = 2.326


@dataclass(frozen=True)
class SplitTest:
    """One test for two groups: in a segment (split if found) or in the union of
    two neighbouring segments (merged if not found)."""

    neighbours: bool  # the union of a segment and its nearest neighbour
    size: int  # customers tested
    spread_left: float  # within / total sum of squares after its best 2-split
    gaussian_spread_left: float  # the same, mean over Gaussian draws
    z: float  # how many of the draws' standard deviations lower
    two_groups: bool  # z above SPLIT_Z


def _spread_left(points: np.ndarray, weights: np.ndarray) -> float:
    """Share of the weighted sum of squares left within the best 2-means split.

    Lloyd's iterations started from the split by the sign of each of the first
    ``SPLIT_STARTS`` principal components, the best kept: the same search for the
    points and for their Gaussian draws, in numpy (each costs far less than a
    scikit-learn fit on a few hundred points).
    """
    mass = float(weights.sum())
    centre = weights @ points / mass
    centred = points - centre
    squares = (centred**2).sum(axis=1)
    total = float(weights @ squares) / mass
    if total <= 0:
        return 1.0
    _, _, axes = np.linalg.svd(centred * np.sqrt(weights)[:, None], full_matrices=False)
    best = total
    for axis in axes[:SPLIT_STARTS]:
        side = centred @ axis > 0
        for _ in range(100):
            share = weights @ side
            if share <= 0 or share >= mass:
                break
            # Both centroids, relative to the centre; distances up to a constant.
            near = weights * side @ centred / share
            far = -near * share / (mass - share)  # the centre is their balance
            moved = centred @ (near - far) > ((near**2).sum() - (far**2).sum()) / 2
            if np.array_equal(moved, side):
                within = squares - np.where(
                    side,
                    2 * centred @ near - (near**2).sum(),
                    2 * centred @ far - (far**2).sum(),
                )
                best = min(best, float(weights @ within) / mass)
                break
            side = moved
    return best / total


def split_test(
    points: np.ndarray,
    weights: np.ndarray,
    rng: np.random.Generator,
    *,
    neighbours: bool = False,
) -> SplitTest:
    """Whether ``points`` hold two groups: their best 2-means split against the
    same split of Gaussian draws of the same size, weights and covariance (k-means
    is blind to rotation, so independent draws scaled by the covariance's
    eigenvalues stand for them)."""
    size = len(points)
    if size > SPLIT_SAMPLE:
        chosen = rng.choice(size, SPLIT_SAMPLE, replace=False)
        points, weights = points[chosen], weights[chosen]
    real = _spread_left(points, weights)
    covariance = np.atleast_2d(np.cov(points.T, aweights=weights))
    scale = np.sqrt(np.clip(np.linalg.eigvalsh(covariance), 0, None))
    draws = np.array(
        [
            _spread_left(rng.standard_normal(points.shape) * scale, weights)
            for _ in range(SPLIT_DRAWS)
        ]
    )
    z = float((draws.mean() - real) / max(draws.std(ddof=1), 1e-12))
    return SplitTest(neighbours, size, real, float(draws.mean()), z, z > SPLIT_Z)


def _weighted_centroids(matrix, labels, weights, k) -> np.ndarray:
    return np.vstack(
        [
            np.average(matrix[labels == j], axis=0, weights=weights[labels == j])
            for j in range(k)
        ]
    )


def _moved(matrix, labels, weights, k) -> np.ndarray:
    """Every row to the nearest centroid: K-Means started from the segments'."""
    model = KMeans(
        n_clusters=k, init=_weighted_centroids(matrix, labels, weights, k), n_init=1
    )
    return model.fit_predict(matrix, sample_weight=weights)


def refine(
    matrix: np.ndarray,
    partition: Clustering,
    *,
    k_range: tuple[int, int] = DEFAULT_K_RANGE,
    seed: int = 0,
    weights: np.ndarray | None = None,
) -> tuple[Clustering, list[SplitTest]]:
    """``partition`` with its segments split and merged by split tests (see the
    module docstring), keeping k inside ``k_range``, and every test made.

    Splits first: each segment in which the test finds two groups is split by
    2-means, every customer then moves to the nearest segment (K-Means started
    from the centroids) and the segments that changed are tested again. Merges
    next, down to no fewer segments than ``partition`` had: while the union of
    some segment and its nearest neighbour (centroids) holds no two groups by the
    same test, the closest such pair is merged and customers move again.
    Splitting a segment cut out of a group by its neighbours can leave two halves
    of one group; the merges join them.

    A segment or union is tested when it has at least four customers per
    dimension, enough to estimate its covariance. The silhouette of the result
    is reported.
    """
    n, dimensions = matrix.shape
    low, high = k_range
    if partition.k < 1:
        return partition, []
    weights = np.ones(n) if weights is None else np.maximum(weights, 1e-9)
    rng = np.random.default_rng(seed)
    labels = partition.labels.copy()
    k = partition.k
    pending = list(range(k))
    tests: list[SplitTest] = []
    while pending and k < high:
        segment = pending.pop(0)
        members = np.flatnonzero(labels == segment)
        if len(members) < 4 * dimensions:
            continue
        test = split_test(matrix[members], weights[members], rng)
        tests.append(test)
        if not test.two_groups:
            continue
        halves = KMeans(n_clusters=2, random_state=seed, n_init=4).fit_predict(
            matrix[members], sample_weight=weights[members]
        )
        labels[members[halves == 1]] = k
        k += 1
        moved = _moved(matrix, labels, weights, k)
        changed = {j for j in range(k) if not np.array_equal(moved == j, labels == j)}
        labels = moved
        pending = sorted(set(pending) | changed | {segment, k - 1})
    separate: set[frozenset] = set()  # unions found to hold two groups
    # Merges only undo splits: not finding two groups in a union is no evidence
    # that it holds one, and in small segments the test finds little; the
    # silhouette's k stands unless a split added segments.
    while k > max(low, partition.k):
        gaps = pairwise_distances(_weighted_centroids(matrix, labels, weights, k))
        np.fill_diagonal(gaps, np.inf)
        pairs = sorted(
            {(min(a, b), max(a, b)) for a, b in enumerate(gaps.argmin(axis=1))},
            key=lambda pair: gaps[pair],
        )
        merged = False
        for a, b in pairs:
            members = np.flatnonzero((labels == a) | (labels == b))
            key = frozenset(members.tolist())
            if len(members) < 4 * dimensions or key in separate:
                continue
            test = split_test(matrix[members], weights[members], rng, neighbours=True)
            tests.append(test)
            if test.two_groups:
                separate.add(key)
                continue
            labels = np.where(labels == b, a, labels)
            labels = np.where(labels > b, labels - 1, labels)
            k -= 1
            labels = _moved(matrix, labels, weights, k)
            merged = True
            break
        if not merged:
            break
    if np.array_equal(labels, partition.labels):
        return partition, tests
    refined = replace(
        partition,
        labels=labels.astype(np.int64),
        k=k,
        silhouette=SilhouetteScorer(matrix, seed).score(labels, weights),
        centroids=_weighted_centroids(matrix, labels, weights, k),
    )
    return refined, tests
