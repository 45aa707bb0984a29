"""Features, clustering, the synthetic generator and the pipeline (no database)."""

import numpy as np
import pytest
from sklearn.metrics import adjusted_rand_score, silhouette_score

from profiling import clustering, features, markov, pipeline, splits, synthetic
from profiling.features import DAY, EventArrays
from profiling.representation import represent

pytestmark = pytest.mark.clockless  # a pure engine: no clock, no database


def _events(customers, operations, stamps, volumes=None):
    n = len(customers)
    return EventArrays(
        customer=np.array(customers),
        operation=np.array(operations),
        timestamp=np.array(stamps),
        volume=np.array(volumes if volumes else [np.nan] * n, dtype=float),
        customer_count=max(customers) + 1,
        operations=("a.x", "a.y", "b.z"),
    )


def test_sessions_split_on_customer_change_and_30_minute_gaps():
    events = _events([0, 0, 0, 1], [0, 1, 2, 0], [0, 1800, 3601, 3602])
    starts = features.session_starts(events)
    assert starts.tolist() == [True, False, True, True]
    seqs, owners = features.sessions(events, starts)
    assert seqs.to_lists() == [[0, 1], [2], [0]]
    assert owners.tolist() == [0, 0, 1]


def test_activity_stats_volumes_sessions_and_trend():
    events = _events([0, 0, 0], [0, 0, 1], [0, 60, 10 * DAY], [100.0, np.nan, 300.0])
    f = features.extract(events, window_start=0, window_end=12 * DAY)
    a = f.activity
    assert a.events.tolist() == [3.0]
    assert a.sessions.tolist() == [2.0]
    assert a.mean_session_length.tolist() == [1.5]
    assert a.volume_mean.tolist() == [200.0]
    assert a.volume_peak.tolist() == [300.0]
    assert a.recency_days.tolist() == [2.0]
    assert a.trend.tolist() == pytest.approx([-1 / 3])


def test_time_histograms_use_hour_and_monday_based_weekday():
    # 1970-01-05 was a Monday; 23:00 that day.
    events = _events([0], [0], [4 * DAY + 23 * 3600])
    by_hour, by_day = features.time_histograms(events)
    assert np.argmax(by_hour[0]) == 23
    assert np.argmax(by_day[0]) == 0


def test_segment_name_from_operations_and_style():
    name = clustering.segment_name(
        ["image.resize", "image.crop"],
        mean_session_length=20,
        overall_session_length=8,
        mean_events=100,
        overall_events=100,
        night_share=0.1,
    )
    assert name == "Image-heavy batch users"
    assert clustering.unique_names(["A", "A", "B"]) == ["A", "A (2)", "B"]


def test_knee_eps_sits_between_dense_and_sparse_distances():
    rng = np.random.default_rng(0)
    dense = rng.normal(0, 0.1, (200, 2))
    far = rng.uniform(5, 50, (10, 2))
    eps = clustering.knee_eps(np.vstack([dense, far]), min_samples=5)
    assert 0.01 < eps < 5
    result = clustering.dbscan(np.vstack([dense, far]))
    assert (result.labels[200:] == clustering.UNUSUAL).sum() >= 8


@pytest.fixture(scope="module")
def usage():
    return synthetic.generate(customers=200, seed=11, scale_sessions=0.6)


def test_generator_is_deterministic():
    one = synthetic.generate(customers=20, seed=5)
    two = synthetic.generate(customers=20, seed=5)
    assert np.array_equal(one.events.operation, two.events.operation)
    assert np.array_equal(one.events.timestamp, two.events.timestamp)
    assert np.allclose(one.matrices.sum(axis=2), 1)


def test_planted_segments_are_recovered(usage):
    f = features.extract(
        usage.events, window_start=usage.window_start, window_end=usage.window_end
    )
    matrix = represent(
        usage.events,
        f.session_starts,
        window_start=usage.window_start,
        window_end=usage.window_end,
    ).matrix
    result = clustering.kmeans_auto(clustering.reduce(matrix, 20), k_range=(2, 8))
    assert result.k == 4
    assert adjusted_rand_score(usage.labels, result.labels) >= 0.9


def test_top1_within_two_points_of_bayes_optimal(usage):
    events = usage.events
    evaluation = pipeline.evaluate(
        events,
        window_start=usage.window_start,
        window_end=usage.window_end,
        truth=usage.labels,
    )
    train = pipeline.time_split(events)
    starts = features.session_starts(events)
    test = np.flatnonzero(~train & ~starts)
    bayes = synthetic.bayes_top1(
        usage, events.operation[test - 1], events.operation[test], events.customer[test]
    )
    assert evaluation.transitions == len(test)
    assert evaluation.adjusted_rand >= 0.9
    assert evaluation.accuracy["segment"][1] >= bayes - 0.02
    assert evaluation.accuracy["customer"][1] >= bayes - 0.02
    assert evaluation.accuracy["segment"][1] > evaluation.accuracy["most frequent"][1]


def test_pipeline_tags_follow_rules(usage):
    rules = [
        pipeline.Rule("heavy:{family}.*", "family_share", "", 0.4),
        pipeline.Rule("export-power-user", "operation_share", "export.*", 0.5),
    ]
    result = pipeline.profile(
        usage.events,
        window_start=usage.window_start,
        window_end=usage.window_end,
        rules=rules,
        k_range=(2, 6),
    )
    image_customers = {t.customer for t in result.tags if t.name == "heavy:image.*"}
    assert image_customers == set(np.flatnonzero(usage.labels == 0).tolist())
    tag = next(t for t in result.tags if t.name == "export-power-user")
    assert tag.explanation.endswith("of events match export.*")
    assert len(result.segments) == 4
    assert sum(s.size for s in result.segments) == 200
    assert len(result.next_operations) == 200


def test_expected_counts_batch_matches_single():
    matrix = np.array([[0.5, 0.5], [0.2, 0.8]])
    start = np.array([[1.0, 0.0], [0.0, 1.0]])
    batch = pipeline.expected_counts_batch(
        np.stack([matrix, matrix]), start, np.array([3, 7])
    )
    assert batch[0].tolist() == pytest.approx(
        markov.expected_counts(matrix, start[0], 3).tolist()
    )
    assert batch[1].tolist() == pytest.approx(
        markov.expected_counts(matrix, start[1], 7).tolist()
    )


@pytest.mark.parametrize("n", [60, clustering.SILHOUETTE_SAMPLE + 200])
def test_silhouette_scorer_equals_scikit_learn_on_the_same_sample(n):
    rng = np.random.default_rng(5)
    matrix = rng.normal(size=(n, 4))
    scorer = clustering.SilhouetteScorer(matrix, seed=3)
    for k in (2, 5):
        labels = rng.integers(0, k, n)
        labels[scorer.indices[0]] = k + 1  # a point alone in its cluster scores 0
        expected = silhouette_score(
            matrix,
            labels,
            sample_size=min(n, clustering.SILHOUETTE_SAMPLE),
            random_state=3,
        )
        assert scorer.score(labels) == pytest.approx(expected, abs=1e-12)
    assert scorer.score(np.zeros(n, dtype=np.int64)) is None


def _daily(customer: int, first_day: int, per_day: list[int], end_day: int = 90):
    """Events of one customer: ``per_day[i]`` events on day ``first_day + i``."""
    stamps = [
        (first_day + day) * DAY + 60 * n
        for day, count in enumerate(per_day)
        for n in range(count)
    ]
    return [customer] * len(stamps), stamps


def _rates(customers_days, labels=None):
    customers, stamps = [], []
    for customer, (first_day, per_day) in enumerate(customers_days):
        c, s = _daily(customer, first_day, per_day)
        customers += c
        stamps += s
    events = _events(customers, [0] * len(customers), stamps)
    labels = np.zeros(len(customers_days), dtype=np.int64) if labels is None else labels
    return pipeline.daily_rates(events, labels, window_start=0, window_end=90 * DAY)


def test_rates_divide_by_each_customers_own_span():
    # Ten events a day for 90, 15 and 1 day(s): the same rate, not a sixth of it
    # for the customer who started 15 days ago.
    rates = _rates([(0, [10] * 90), (75, [10] * 15), (89, [10])])
    assert rates.tolist() == pytest.approx([10.0, 10.0, 10.0])


def test_a_young_customers_rate_leans_on_the_segment_an_old_ones_on_itself():
    # Four established customers at 20, 30, 40 and 50 a day, 15 more or less from
    # one day to the next, and a customer seen for one day with 100 events. A
    # day's count varies by 15 and the customers' rates by about 11: one day is
    # worth less than two days of the segment's prior.
    established = [
        (0, [rate - 15, rate + 15] * 45) for rate in (20, 30, 40, 50)
    ]  # fmt: skip
    rates = _rates([*established, (89, [100])])
    assert rates[:4].tolist() == pytest.approx([20, 30, 40, 50], rel=0.02)
    assert 36 < rates[4] < 60


def _blobs(centres: np.ndarray, size: int, seed: int):
    """``size`` Gaussian points around each centre, spreads falling from 1 to 0.3
    across the dimensions."""
    rng = np.random.default_rng(seed)
    dims = centres.shape[1]
    truth = np.repeat(np.arange(len(centres)), size)
    points = centres[truth] + rng.normal(size=(len(truth), dims)) * np.linspace(
        1.0, 0.3, dims
    )
    return points, truth


def test_split_tests_find_two_close_groups_the_silhouette_merges():
    centres = np.zeros((3, 20))
    centres[1, 0] = 5.0  # near the first group
    centres[2, 1] = 20.0  # far from both
    points, truth = _blobs(centres, 200, seed=3)
    coarse = clustering.kmeans_auto(points, k_range=(2, 8))
    assert coarse.k == 2

    refined, tests = splits.refine(points, coarse, k_range=(2, 8))

    assert refined.k == 3
    assert adjusted_rand_score(truth, refined.labels) >= 0.9
    first = tests[0]
    assert (first.neighbours, first.size, first.two_groups) == (False, 400, True)
    assert first.spread_left < first.gaussian_spread_left
    # The three groups stay apart: each pair of neighbours holds two groups.
    assert all(test.two_groups for test in tests if test.neighbours)


def test_split_tests_leave_single_gaussian_groups_whole():
    centres = np.zeros((2, 20))
    centres[1, 1] = 20.0
    points, truth = _blobs(centres, 200, seed=4)
    coarse = clustering.kmeans_auto(points, k_range=(2, 8))

    refined, tests = splits.refine(points, coarse, k_range=(2, 8))

    assert refined.k == 2
    assert np.array_equal(refined.labels, coarse.labels)
    assert [(t.size, t.two_groups) for t in tests] == [
        (200, False),
        (200, False),
    ]


def test_split_tests_need_four_customers_per_dimension():
    centres = np.zeros((3, 20))
    centres[1, 0] = 5.0
    centres[2, 1] = 20.0
    points, _ = _blobs(centres, 30, seed=3)  # the merged pair: 60 < 4 x 20
    coarse = clustering.kmeans_auto(points, k_range=(2, 8))

    refined, tests = splits.refine(points, coarse, k_range=(2, 8))

    assert refined.k == coarse.k
    assert tests == []


def test_place_puts_unfitted_rows_in_the_nearest_segment_by_the_given_columns():
    matrix = np.array(
        [[0.0, 0.0], [0.2, 0.0], [5.0, 0.0], [5.2, 0.0], [4.9, -9.0], [0.1, 9.0]]
    )
    fitted = np.array([True, True, True, True, False, False])
    labels = np.array([0, 0, 1, clustering.UNUSUAL])
    columns = np.array([True, False])  # the second column is not theirs

    placed = clustering.place(matrix, labels, fitted, columns, np.ones(6))

    assert placed.tolist() == [0, 0, 1, clustering.UNUSUAL, 1, 0]
