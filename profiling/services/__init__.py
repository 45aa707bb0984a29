"""Writes of profiling, split by sub-domain: runs (``runs.py``) and the storing of
their results (``results.py``), tag rules (``tag_rules.py``), evaluation
(``evaluation.py``) and data sets stored as usage (``datasets.py``).

Callers import everything from ``profiling.services``; the names are re-exported here.
"""

from profiling.services.datasets import PLANTED_KEY as PLANTED_KEY
from profiling.services.datasets import msnbc_store as msnbc_store
from profiling.services.datasets import synthetic_usage_store as synthetic_usage_store
from profiling.services.evaluation import profiling_evaluate as profiling_evaluate
from profiling.services.runs import DEFAULT_CHUNK_SIZE as DEFAULT_CHUNK_SIZE
from profiling.services.runs import DEFAULT_WINDOW_DAYS as DEFAULT_WINDOW_DAYS
from profiling.services.runs import profiling_chunk_extract as profiling_chunk_extract
from profiling.services.runs import profiling_run_create as profiling_run_create
from profiling.services.runs import profiling_run_execute as profiling_run_execute
from profiling.services.runs import profiling_run_finish as profiling_run_finish
from profiling.services.tag_rules import DEFAULT_RULES as DEFAULT_RULES
from profiling.services.tag_rules import (
    tag_rules_ensure_defaults as tag_rules_ensure_defaults,
)
