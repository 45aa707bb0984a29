"""Segments of a pass: clustering the feature vectors (K-Means with k by
silhouette then split tests, DBSCAN for outliers, PCA for the 2-D view) and
describing each segment (name, characteristic operations, summary, first-order
transitions)."""

from dataclasses import dataclass

import numpy as np
from threadpoolctl import threadpool_limits

from profiling import clustering, markov, splits
from profiling.features import Features
from profiling.representation import Representation


@dataclass
class SegmentResult:
    label: int
    name: str
    size: int
    top_operations: list[dict]
    centroid_summary: dict
    transitions: list[list[float]]


def cluster(
    representation: Representation,
    *,
    k_range: tuple[int, int],
    seed: int,
    algorithm: str,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, dict]:
    """Segments on the PCA-reduced representation (20 components for K-Means, the
    first 10 for DBSCAN; silhouettes are measured in the 20-component space).

    Segments are found among the settled customers (seen for a week, with
    events; everyone when there are no more of them than the largest k tried):
    a customer seen for a day has weekday shares of one day and no burstiness of
    their own, and such customers would form segments of their own. The others
    then join the nearest segment by the columns they have (all but the week's,
    ``clustering.place``), with the weight of their few events.

    K-Means' k is the best by silhouette, then segments in which a test finds
    two groups are split and neighbours whose union holds one are merged
    (``splits.refine``).
    ``algorithm`` "auto" keeps DBSCAN only when its mean silhouette (noise scored
    in the nearest cluster) beats K-Means' at its best k by silhouette (before the
    split tests); "kmeans" or "dbscan" force one. DBSCAN's noise marks the
    unusual customers either way.

    BLAS/OpenMP run single-threaded here: on a busy worker host, oversubscribed
    thread pools made K-Means an order of magnitude slower; parallelism comes from
    running several workers instead.
    """
    matrix = representation.matrix
    settled = representation.settled
    if settled.sum() <= k_range[1]:
        settled = np.ones(len(matrix), dtype=bool)  # too few to try every k alone
    weights = representation.weights[settled]
    with threadpool_limits(limits=1):
        reduced = clustering.reduce(
            matrix, components=clustering.SEGMENT_COMPONENTS, seed=seed
        )
        fit = reduced[settled]
        density = clustering.dbscan(fit[:, :10])
        best_k = partition = None
        tests: list[splits.SplitTest] = []
        if algorithm != "dbscan":
            best_k = clustering.kmeans_auto(
                fit, k_range=k_range, seed=seed, weights=weights
            )
            partition, tests = splits.refine(
                fit, best_k, k_range=k_range, seed=seed, weights=weights
            )
        density_score = clustering.density_silhouette(fit, density.labels, seed)
    unusual = np.zeros(len(matrix), dtype=bool)
    unusual[settled] = density.labels == clustering.UNUSUAL
    candidates = {"kmeans": partition, "dbscan": density}
    if algorithm == "auto":
        # Like for like: each algorithm's partition as chosen by silhouette. The
        # split tests then correct the silhouette's bias towards coarse segments,
        # which lowers it by design, so they are not held against K-Means here.
        kmeans_score = best_k.silhouette if best_k is not None else None
        better = density_score is not None and (
            kmeans_score is None or density_score > kmeans_score
        )
        choice = "dbscan" if better else "kmeans"
    else:
        choice = algorithm
    chosen = candidates[choice]
    labels = clustering.place(
        matrix,
        chosen.labels,
        settled,
        ~representation.week_columns,
        representation.weights,
    )
    projection = np.zeros((len(matrix), 2))
    projection[:, : min(2, reduced.shape[1])] = reduced[:, :2]
    scores = {
        "algorithm": chosen.algorithm,
        "asked": algorithm,
        "k": chosen.k,
        "silhouette": partition.silhouette if partition is not None else None,
        "silhouettes_by_k": (
            {str(k): v for k, v in partition.silhouettes_by_k.items()}
            if partition is not None
            else {}
        ),
        "kmeans_k": partition.k if partition is not None else None,
        "splits": (
            [
                {
                    "neighbours": test.neighbours,
                    "size": test.size,
                    "spread_left": round(test.spread_left, 3),
                    "gaussian_spread_left": round(test.gaussian_spread_left, 3),
                    "z": round(test.z, 1),
                    "two_groups": test.two_groups,
                }
                for test in tests
            ]
        ),
        "dbscan": density.algorithm,
        "dbscan_clusters": density.k,
        "dbscan_silhouette": density_score,
        "unusual_customers": int(unusual.sum()),
        "fitted_customers": int(settled.sum()),
        "placed_customers": int((~settled).sum()),
        "blocks": representation.block_report(),
    }
    if choice == "dbscan":
        scores["silhouette"] = density_score
    return labels, unusual, projection, scores


def _segments(
    features: Features,
    labels: np.ndarray,
    operations: tuple[str, ...],
    levels: list[markov.Chain],
) -> list[SegmentResult]:
    counts = features.operation_counts.toarray()
    a = features.activity
    overall_length = float(np.mean(a.mean_session_length)) if len(labels) else 0.0
    overall_events = float(np.mean(a.events)) if len(labels) else 0.0
    results = []
    for label in sorted(set(labels.tolist())):
        members = labels == label
        top = clustering.characteristic_operations(counts, labels, label)
        summary = {
            "mean_events": round(float(a.events[members].mean()), 1),
            "mean_session_length": round(
                float(a.mean_session_length[members].mean()), 2
            ),
            "night_share": round(float(a.night_share[members].mean()), 3),
            "trend": round(float(a.trend[members].mean()), 3),
            "volume_mean_bytes": round(float(a.volume_mean[members].mean())),
        }
        if label == clustering.UNUSUAL:
            name = "Unusual customers"
        else:
            name = clustering.segment_name(
                [operations[code] for code, _, _ in top],
                mean_session_length=summary["mean_session_length"],
                overall_session_length=overall_length,
                mean_events=summary["mean_events"],
                overall_events=overall_events,
                night_share=summary["night_share"],
            )
        matrix = markov.transition_matrix(levels[:2], [0, label + 1])
        results.append(
            SegmentResult(
                label=label,
                name=name,
                size=int(members.sum()),
                top_operations=[
                    {
                        "operation": operations[code],
                        "share": round(share, 3),
                        "lift": round(lift, 2),
                    }
                    for code, share, lift in top
                ],
                centroid_summary=summary,
                transitions=np.round(matrix, 4).tolist(),
            )
        )
    for segment, name in zip(
        results, clustering.unique_names([s.name for s in results]), strict=True
    ):
        segment.name = name
    return results
