"""Pausing Python's cyclic garbage collector around bulk work.

Ingesting a batch or generating a month allocates hundreds of thousands of small
objects (parsed events, rows, Decimals) that form no reference cycles. The cyclic
collector runs every few hundred allocations and, as they accumulate, walks them
again and again; reference counting frees them all the same. Around such work the
collector is paused, and afterwards it resumes and collects as usual.
"""

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def without_cycle_collection() -> Iterator[None]:
    """Pause the cyclic collector for the block (nested uses are fine)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
