"""Customer segmentation: K-Means with k chosen by silhouette, DBSCAN, naming, and
the placing of customers left out of the fit.

Choosing k: K-Means is fitted for every k in ``k_range`` and the k with the highest
mean silhouette coefficient wins (ties go to the smaller k). Silhouettes are computed
on a fixed random sample of at most ``SILHOUETTE_SAMPLE`` customers so the choice
costs O(sample^2), not O(n^2); the sample's distances are computed once for all k.
Above ``MINIBATCH_THRESHOLD`` customers K-Means is replaced by MiniBatchKMeans.

The silhouette favours coarse partitions; ``profiling.splits`` tests the chosen
segments for two groups and splits or merges them.

DBSCAN runs on a PCA reduction of the features with ``eps`` at the knee of the sorted
k-distance curve (the point farthest from the chord joining its ends); its noise
points (label -1) form the "unusual" group.
"""

from dataclasses import dataclass

import numpy as np
from sklearn.cluster import DBSCAN, KMeans, MiniBatchKMeans
from sklearn.decomposition import PCA
from sklearn.metrics import pairwise_distances
from sklearn.neighbors import NearestNeighbors

MINIBATCH_THRESHOLD = 5_000
SILHOUETTE_SAMPLE = 3_000
DEFAULT_K_RANGE = (2, 10)
# Principal components segments are found in; a group of customers is tested
# only with at least four customers per component (``profiling.splits``).
SEGMENT_COMPONENTS = 20
UNUSUAL = -1


@dataclass(frozen=True)
class Clustering:
    labels: np.ndarray
    k: int
    silhouette: float | None
    silhouettes_by_k: dict[int, float]
    centroids: np.ndarray
    algorithm: str


class SilhouetteScorer:
    """Mean silhouette coefficient of labelings of one matrix, as scikit-learn's
    ``silhouette_score(matrix, labels, sample_size=SILHOUETTE_SAMPLE,
    random_state=seed)`` computes it (same sample, same formula).

    The sample's pairwise distances are computed once and shared by every k, and
    each labeling costs one matrix product (distances x one-hot labels) instead of
    scikit-learn's row-by-row reduction.
    """

    def __init__(self, matrix: np.ndarray, seed: int):
        n = len(matrix)
        if n > SILHOUETTE_SAMPLE:
            self.indices = np.random.RandomState(seed).permutation(n)[
                :SILHOUETTE_SAMPLE
            ]
        else:
            self.indices = np.arange(n)
        self.distances = pairwise_distances(matrix[self.indices])

    def score(
        self, labels: np.ndarray, weights: np.ndarray | None = None
    ) -> float | None:
        """Mean silhouette of the sample, weighted by ``weights`` when given."""
        sampled = np.asarray(labels)[self.indices]
        distinct, codes = np.unique(sampled, return_inverse=True)
        n = len(sampled)
        if len(distinct) < 2 or len(distinct) >= n:
            return None
        rows = np.arange(n)
        onehot = np.zeros((n, len(distinct)))
        onehot[rows, codes] = 1
        sums = self.distances @ onehot  # distance of each point to each cluster
        sizes = onehot.sum(axis=0)
        others = sizes[codes] - 1
        intra = np.divide(sums[rows, codes], others, out=np.zeros(n), where=others > 0)
        means = sums / sizes
        means[rows, codes] = np.inf
        inter = means.min(axis=1)
        spread = np.maximum(intra, inter)
        values = np.divide(inter - intra, spread, out=np.zeros(n), where=spread > 0)
        values[others == 0] = 0  # a point alone in its cluster scores 0
        if weights is None:
            return float(values.mean())
        return float(np.average(values, weights=np.asarray(weights)[self.indices]))


def density_silhouette(
    matrix: np.ndarray, labels: np.ndarray, seed: int
) -> float | None:
    """Mean silhouette of a DBSCAN labeling, comparable with K-Means': every noise
    point is scored as a member of the cluster with the nearest centroid (K-Means
    places everyone too); None with fewer than two clusters."""
    clustered = labels != UNUSUAL
    names = np.unique(labels[clustered])
    if len(names) < 2:
        return None
    placed = labels.copy()
    if not clustered.all():
        centroids = np.vstack([matrix[labels == name].mean(axis=0) for name in names])
        nearest = pairwise_distances(matrix[~clustered], centroids).argmin(axis=1)
        placed[~clustered] = names[nearest]
    return silhouette(matrix, placed, seed)


def silhouette(matrix: np.ndarray, labels: np.ndarray, seed: int) -> float | None:
    """Mean silhouette of a labeling (sampled as ``SilhouetteScorer``); None for
    fewer than two clusters or one point per cluster."""
    distinct = np.unique(labels)
    if len(distinct) < 2 or len(distinct) >= len(labels):
        return None
    return SilhouetteScorer(matrix, seed).score(labels)


def kmeans_auto(
    matrix: np.ndarray,
    k_range: tuple[int, int] = DEFAULT_K_RANGE,
    seed: int = 0,
    weights: np.ndarray | None = None,
) -> Clustering:
    """K-Means with k (inclusive range) maximising the mean silhouette.

    ``weights`` (per row) weigh the centroids and the mean silhouette: rows known
    from little data move the centroids and the choice of k little, and are
    still each placed in the nearest cluster.
    """
    n = len(matrix)
    low, high = k_range
    high = min(high, n - 1)
    if n < 3 or high < max(low, 2):
        labels = np.zeros(n, dtype=np.int64)
        centroid = matrix.mean(axis=0, keepdims=True) if n else matrix[:0]
        return Clustering(labels, 1 if n else 0, None, {}, centroid, "single")
    minibatch = n > MINIBATCH_THRESHOLD
    scorer = SilhouetteScorer(matrix, seed)
    best = None
    scores: dict[int, float] = {}
    for k in range(max(low, 2), high + 1):
        if minibatch:
            model = MiniBatchKMeans(
                n_clusters=k, random_state=seed, n_init=3, batch_size=2048
            )
        else:
            model = KMeans(n_clusters=k, random_state=seed, n_init=4)
        labels = model.fit_predict(matrix, sample_weight=weights)
        score = scorer.score(labels, weights)
        if score is None:
            continue
        scores[k] = score
        if best is None or score > best[0] + 1e-9:
            best = (score, k, labels, model.cluster_centers_)
    if best is None:
        labels = np.zeros(n, dtype=np.int64)
        return Clustering(
            labels, 1, None, scores, matrix.mean(axis=0, keepdims=True), "single"
        )
    score, k, labels, centroids = best
    return Clustering(
        labels=labels.astype(np.int64),
        k=k,
        silhouette=score,
        silhouettes_by_k=scores,
        centroids=centroids,
        algorithm="minibatch-kmeans" if minibatch else "kmeans",
    )


def place(
    matrix: np.ndarray,
    labels: np.ndarray,
    fitted: np.ndarray,
    columns: np.ndarray,
    weights: np.ndarray,
) -> np.ndarray:
    """Segments of every row of ``matrix`` from ``labels`` of its ``fitted`` rows:
    those keep theirs, every other row joins the segment whose centroid (weighted,
    of its fitted members, ``UNUSUAL`` ones left out) is nearest over ``columns``."""
    placed = np.full(len(matrix), UNUSUAL, dtype=np.int64)
    placed[fitted] = labels
    names = np.unique(labels[labels != UNUSUAL])
    if fitted.all() or not len(names):
        return placed
    known = matrix[fitted][:, columns]
    own = np.asarray(weights)[fitted]
    centroids = np.vstack(
        [
            np.average(
                known[labels == name],
                axis=0,
                weights=np.maximum(own[labels == name], 1e-9),
            )
            for name in names
        ]
    )
    nearest = pairwise_distances(matrix[~fitted][:, columns], centroids).argmin(1)
    placed[~fitted] = names[nearest]
    return placed


def reduce(matrix: np.ndarray, components: int = 10, seed: int = 0) -> np.ndarray:
    """PCA projection to at most ``components`` dimensions."""
    components = max(1, min(components, matrix.shape[1], len(matrix)))
    if len(matrix) < 2:
        return np.zeros((len(matrix), components))
    return PCA(n_components=components, random_state=seed).fit_transform(matrix)


def knee_eps(matrix: np.ndarray, min_samples: int) -> float:
    """``eps`` at the knee of the sorted distances to each point's k-th neighbour."""
    k = min(min_samples, len(matrix) - 1)
    distances, _ = NearestNeighbors(n_neighbors=k + 1).fit(matrix).kneighbors(matrix)
    curve = np.sort(distances[:, -1])
    if len(curve) < 3 or curve[-1] == curve[0]:
        return float(curve[-1]) or 1.0
    x = np.linspace(0, 1, len(curve))
    y = (curve - curve[0]) / (curve[-1] - curve[0])
    knee = int(np.argmax(x - y))  # farthest below the chord of a convex curve
    return max(float(curve[knee]), 1e-9)


def dbscan(matrix: np.ndarray, min_samples: int = 5) -> Clustering:
    """DBSCAN with the knee ``eps``; noise is labelled ``UNUSUAL`` (-1)."""
    if len(matrix) <= min_samples:
        labels = np.zeros(len(matrix), dtype=np.int64)
        return Clustering(
            labels, 1, None, {}, matrix.mean(axis=0, keepdims=True), "dbscan"
        )
    eps = knee_eps(matrix, min_samples)
    labels = DBSCAN(eps=eps, min_samples=min_samples).fit_predict(matrix)
    clusters = sorted(set(labels.tolist()) - {UNUSUAL})
    centroids = (
        np.vstack([matrix[labels == c].mean(axis=0) for c in clusters])
        if clusters
        else matrix[:0]
    )
    return Clustering(
        labels=labels.astype(np.int64),
        k=len(clusters),
        silhouette=silhouette(matrix, labels, 0),
        silhouettes_by_k={},
        centroids=centroids,
        algorithm=f"dbscan(eps={eps:.4g})",
    )


# ------------------------------------------------------------------------ naming


def characteristic_operations(
    counts: np.ndarray, labels: np.ndarray, label: int, top: int = 3
) -> list[tuple[int, float, float]]:
    """``(operation code, share in segment, lift vs everyone)`` best first.

    Ranked by share times lift, so an operation is characteristic when it is both
    common in the segment and more common there than overall.
    """
    segment_totals = counts[labels == label].sum(axis=0)
    overall = counts.sum(axis=0)
    segment_share = segment_totals / max(segment_totals.sum(), 1)
    overall_share = overall / max(overall.sum(), 1)
    lift = np.divide(
        segment_share,
        overall_share,
        out=np.zeros_like(segment_share),
        where=overall_share > 0,
    )
    ranking = np.argsort(-(segment_share * lift), kind="stable")
    return [
        (int(code), float(segment_share[code]), float(lift[code]))
        for code in ranking[:top]
        if segment_share[code] > 0
    ]


def _family(operation: str) -> str:
    head = operation.replace("_", ".").replace("-", ".").split(".")[0] or operation
    if len(head) <= 2:
        return head.upper()  # "ml" -> "ML"
    return head[:1].upper() + head[1:]


def segment_name(
    operations: list[str],
    *,
    mean_session_length: float,
    overall_session_length: float,
    mean_events: float,
    overall_events: float,
    night_share: float,
) -> str:
    """A human name such as "Image-heavy batch users" from a segment's figures."""
    families: list[str] = []
    for operation in operations:
        family = _family(operation)
        if family not in families:
            families.append(family)
    lead = "-".join(families[:2]) + "-heavy" if families else "Mixed"
    styles = []
    if overall_events and mean_events >= 2 * overall_events:
        styles.append("power")
    elif overall_events and mean_events <= 0.5 * overall_events:
        styles.append("light")
    if overall_session_length and mean_session_length >= 1.5 * overall_session_length:
        styles.append("batch")
    elif overall_session_length and mean_session_length <= 0.6 * overall_session_length:
        styles.append("interactive")
    if night_share >= 0.4:
        styles.append("night-time")
    return " ".join([lead, *styles, "users"])


def unique_names(names: list[str]) -> list[str]:
    seen: dict[str, int] = {}
    result = []
    for name in names:
        seen[name] = seen.get(name, 0) + 1
        result.append(name if seen[name] == 1 else f"{name} ({seen[name]})")
    return result
