from datetime import UTC, datetime

import numpy as np
import pytest

from profiling import synthetic
from profiling.features import DAY
from profiling.services import profiling_run_execute, synthetic_usage_store

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def small_usage(customers: int = 40, seed: int = 3) -> synthetic.SyntheticUsage:
    window_start = int(NOW.timestamp()) // DAY * DAY - 29 * DAY
    return synthetic.generate(
        customers=customers,
        seed=seed,
        window_start=window_start,
        days=28,
        scale_sessions=0.3,
    )


@pytest.fixture
def stored_usage(organization):
    usage = small_usage()
    synthetic_usage_store(
        organization=organization,
        events=usage.events,
        external_ids=[f"cus_{i:03d}" for i in range(usage.events.customer_count)],
        planted=usage.labels,
        now=NOW,
    )
    return usage


@pytest.fixture
def profiled(organization, stored_usage):
    return profiling_run_execute(organization=organization, now=NOW, k_max=6)


def planted_of(organization) -> np.ndarray:
    from metering.models import Customer

    return np.array(
        Customer.objects.filter(organization=organization)
        .order_by("pk")
        .values_list("metadata__planted_segment", flat=True)
    )
