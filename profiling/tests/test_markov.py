import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from profiling import markov

pytestmark = pytest.mark.clockless  # a pure engine: no clock, no database


def _chain(sequences, **options):
    seqs = markov.Sequences.from_lists(sequences)
    return seqs, markov.chain_fit(seqs, vocab_size=3, **options)


def test_first_order_counts_transitions_inside_sequences_only():
    _, chain = _chain([[0, 1, 1], [2, 0]], max_order=1)
    # Order 1 contexts: START->0, 0->1, 1->1, START->2, 2->0.
    table = chain.tables[1]
    assert table.counts.sum() == 5
    row_of_zero = table.rows(np.array([0 * 4 + 1]))[0]  # group 0, last token 0
    assert table.counts[row_of_zero].toarray().tolist() == [[0, 1, 0]]


def test_unigram_uses_additive_smoothing():
    seqs, chain = _chain([[0, 0, 1]], max_order=0, alpha=1.0)
    proba = markov.predict_proba([chain], markov.queries_for_histories([[]]))
    assert proba[0].tolist() == pytest.approx([3 / 6, 2 / 6, 1 / 6])


def test_interpolation_blends_context_with_lower_order():
    # After 0 comes 1 twice; beta = 2 mixes 2 parts context with 2 parts unigram.
    _, chain = _chain([[0, 1], [0, 1]], max_order=1, alpha=0.0, beta=2.0, min_support=1)
    proba = markov.predict_proba([chain], markov.queries_for_histories([[0]]))
    unigram = np.array([2, 2, 0]) / 4
    expected = (np.array([0, 2, 0]) + 2 * unigram) / (2 + 2)
    assert proba[0].tolist() == pytest.approx(expected.tolist())


def test_contexts_below_support_fall_back_to_lower_order():
    _, chain = _chain([[0, 1], [0, 1]], max_order=1, alpha=0.0, min_support=3)
    proba = markov.predict_proba([chain], markov.queries_for_histories([[0]]))
    assert proba[0].tolist() == pytest.approx([0.5, 0.5, 0.0])


def test_group_without_data_gets_parent_prediction_exactly():
    seqs = markov.Sequences.from_lists([[0, 1, 2], [2, 2, 2]])
    parent = markov.chain_fit(seqs, vocab_size=3, max_order=1)
    child = markov.chain_fit(
        seqs, vocab_size=3, max_order=1, groups=np.array([0, 1]), min_support=1
    )
    queries = markov.queries_for_histories([[1]], [[0], [7]])
    alone = markov.predict_proba([parent], markov.queries_for_histories([[1]]))
    stacked = markov.predict_proba([parent, child], queries)
    assert stacked[0].tolist() == pytest.approx(alone[0].tolist())


def test_group_with_data_moves_towards_its_own_transitions():
    seqs = markov.Sequences.from_lists([[0, 1] * 20, [0, 2] * 20])
    parent = markov.chain_fit(seqs, vocab_size=3, max_order=1)
    child = markov.chain_fit(
        seqs, vocab_size=3, max_order=1, groups=np.array([0, 1]), min_support=1
    )
    queries = markov.queries_for_histories([[0], [0]], [[0, 0], [0, 1]])
    proba = markov.predict_proba([parent, child], queries)
    assert np.argmax(proba[0]) == 1
    assert np.argmax(proba[1]) == 2


def test_top_k_is_sorted_and_ties_go_to_lower_code():
    best, values = markov.top_k(np.array([[0.2, 0.4, 0.4]]), 2)
    assert best.tolist() == [[1, 2]]
    assert values.tolist() == [[0.4, 0.4]]


def test_collapse_repeats_keeps_sequence_boundaries():
    seqs = markov.Sequences.from_lists([[1, 1, 2, 2, 1], [1, 1], [3]])
    assert markov.collapse_repeats(seqs).to_lists() == [[1, 2, 1], [1], [3]]


def test_repeat_last_and_popular_baselines():
    seqs = markov.Sequences.from_lists([[0, 1, 1, 2]])
    queries = markov.queries_for_positions(seqs, np.array([2, 3]))
    targets = seqs.tokens[[2, 3]]
    assert markov.repeat_last_hits(queries, targets) == {1: 0.5, 3: 0.5}
    assert markov.popular_hits(np.array([1, 1, 2]), targets, 3) == {1: 0.5, 3: 1.0}


def test_expected_counts_of_a_deterministic_cycle():
    matrix = np.array([[0.0, 1.0], [1.0, 0.0]])
    counts = markov.expected_counts(matrix, np.array([1.0, 0.0]), steps=5)
    assert counts.tolist() == [2.0, 3.0]


def test_most_likely_path_follows_the_strongest_chain():
    _, chain = _chain([[0, 1, 2, 0, 1, 2, 0, 1, 2]], max_order=1, min_support=1)
    path, probability = markov.most_likely_path([chain], [0], [0], horizon=3)
    assert path == [1, 2, 0]
    assert 0 < probability < 1


def test_chains_round_trip_through_bytes():
    seqs, chain = _chain([[0, 1, 2, 1]], max_order=2)
    payload = markov.chains_dump({"global": chain}, {"ids": np.array([5, 7])})
    loaded, extra = markov.chains_load(payload)
    queries = markov.queries_for_histories([[0, 1], [2]])
    assert markov.predict_proba([loaded["global"]], queries).tolist() == (
        markov.predict_proba([chain], queries).tolist()
    )
    assert extra["ids"].tolist() == [5, 7]


sequences = st.lists(
    st.lists(st.integers(min_value=0, max_value=4), min_size=0, max_size=12),
    min_size=1,
    max_size=8,
)


@settings(max_examples=60, deadline=None)
@given(sequences, st.integers(min_value=1, max_value=3), sequences)
def test_predictions_are_probability_distributions(train, order, histories):
    seqs = markov.Sequences.from_lists(train)
    chain = markov.chain_fit(seqs, vocab_size=5, max_order=order)
    proba = markov.predict_proba([chain], markov.queries_for_histories(histories))
    assert proba.shape == (len(histories), 5)
    assert (proba >= 0).all()
    assert np.allclose(proba.sum(axis=1), 1)


@settings(max_examples=40, deadline=None)
@given(sequences)
def test_counts_per_order_equal_number_of_tokens(train):
    seqs = markov.Sequences.from_lists(train)
    chain = markov.chain_fit(seqs, vocab_size=5, max_order=3)
    for table in chain.tables:
        assert table.counts.sum() == len(seqs.tokens)
        assert table.totals.sum() == len(seqs.tokens)
