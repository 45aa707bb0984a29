"""Markov chains over operation sequences: counting, smoothing and prediction.

Pure numpy/scipy, no ORM. Operations are integer codes ``0..V-1``; many sequences are
held as one concatenated ``tokens`` array with ``offsets`` (``len == n_sequences + 1``),
so counting never loops over events in Python.

Model. A chain of maximum order ``n`` keeps, for every order ``m = 0..n``, the counts of
``(group, context of the last m operations) -> next operation``. Contexts that reach
before the start of a sequence are padded with a START symbol, so "first operation of a
session" is a context of its own. Probabilities are built bottom-up by interpolation:

    P_0(x)       = (c(x) + alpha) / (c + alpha * V)   (a level with a parent: the
                                                       parent's full prediction)
    P_m(x | ctx) = (c_m(ctx, x) + beta * P_{m-1}(x)) / (c_m(ctx) + beta)

and an order whose context was seen fewer than ``min_support`` times is skipped, which
is the "longest context with enough support" back-off. ``beta`` small with a support
threshold behaves like hard back-off; ``beta`` larger like interpolated smoothing.

Levels. ``groups`` split the counts (one chain holds every customer's or every
segment's counts, keyed by group id). A stack of levels ``[global, segment, customer]``
uses each level's prediction as the prior (``P_0``) of the next one, so a customer
with no data gets exactly their segment's prediction, and a segment with no data the
global one: the customer -> segment -> global fall-back, smoothly.

Sub-modules: ``sequences`` (token layout and queries), ``chain`` (fitting and
prediction), ``evaluation`` (hit rates and baselines), ``paths`` (transition views,
expected counts, likeliest paths) and ``persistence`` (``.npz`` storage). Every public
name is re-exported here, so callers use ``markov.<name>``.
"""

from profiling.markov.chain import DEFAULT_ALPHA as DEFAULT_ALPHA
from profiling.markov.chain import DEFAULT_BETA as DEFAULT_BETA
from profiling.markov.chain import DEFAULT_MIN_SUPPORT as DEFAULT_MIN_SUPPORT
from profiling.markov.chain import Chain as Chain
from profiling.markov.chain import OrderTable as OrderTable
from profiling.markov.chain import chain_fit as chain_fit
from profiling.markov.chain import iter_proba as iter_proba
from profiling.markov.chain import predict_proba as predict_proba
from profiling.markov.chain import top_k as top_k
from profiling.markov.evaluation import popular_hits as popular_hits
from profiling.markov.evaluation import repeat_last_hits as repeat_last_hits
from profiling.markov.evaluation import topk_hits as topk_hits
from profiling.markov.paths import expected_counts as expected_counts
from profiling.markov.paths import most_likely_path as most_likely_path
from profiling.markov.paths import transition_matrix as transition_matrix
from profiling.markov.persistence import chains_dump as chains_dump
from profiling.markov.persistence import chains_load as chains_load
from profiling.markov.sequences import Queries as Queries
from profiling.markov.sequences import Sequences as Sequences
from profiling.markov.sequences import collapse_repeats as collapse_repeats
from profiling.markov.sequences import context_lags as context_lags
from profiling.markov.sequences import queries_for_histories as queries_for_histories
from profiling.markov.sequences import queries_for_positions as queries_for_positions
