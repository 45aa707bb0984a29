"""A whole profiling pass over event arrays: features, segments, chains, predictions,
tags, and the held-out evaluation. Pure: arrays and dataclasses in and out.

Stages and their timings: ``features`` (vectors per customer), ``cluster`` (K-Means
with k by silhouette then split tests, DBSCAN for outliers, PCA for the 2-D view),
``chains`` (global, segment and customer Markov chains), ``predict`` (next
operations, greedy path and expected counts per customer), ``tags`` (thresholds of
the tag rules).

Sub-modules: ``chains`` (sessions and the chain stack), ``segments`` (clustering and
segment descriptions), ``predictions`` (per-customer forecasts), ``tags`` (tag
rules), ``profiles`` (the pass itself) and ``evaluation`` (the held-out scores).
Callers import everything from ``profiling.pipeline``; the names are re-exported here.
"""

from profiling.pipeline.chains import CUSTOMER_BETA as CUSTOMER_BETA
from profiling.pipeline.chains import CUSTOMER_ORDER as CUSTOMER_ORDER
from profiling.pipeline.chains import GLOBAL_ORDER as GLOBAL_ORDER
from profiling.pipeline.chains import SEGMENT_ORDER as SEGMENT_ORDER
from profiling.pipeline.chains import fit_levels as fit_levels
from profiling.pipeline.chains import segment_groups as segment_groups
from profiling.pipeline.evaluation import Evaluation as Evaluation
from profiling.pipeline.evaluation import evaluate as evaluate
from profiling.pipeline.evaluation import time_split as time_split
from profiling.pipeline.predictions import NEXT_K as NEXT_K
from profiling.pipeline.predictions import PATH_HORIZON as PATH_HORIZON
from profiling.pipeline.predictions import PERIOD_DAYS as PERIOD_DAYS
from profiling.pipeline.predictions import daily_rates as daily_rates
from profiling.pipeline.predictions import (
    expected_counts_batch as expected_counts_batch,
)
from profiling.pipeline.profiles import ProfileResult as ProfileResult
from profiling.pipeline.profiles import profile as profile
from profiling.pipeline.segments import SegmentResult as SegmentResult
from profiling.pipeline.segments import cluster as cluster
from profiling.pipeline.tags import Rule as Rule
from profiling.pipeline.tags import Tag as Tag
from profiling.pipeline.tags import apply_rules as apply_rules
