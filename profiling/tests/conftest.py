from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from metering.services import usage_events_ingest
from metering.tests.factories import UserFactory
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
        scale_sessions=0.6,
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


def end_user_events() -> list[dict]:
    """Two end users of customer ``cus_000``: alice alternates data.query and
    ml.train at night, bob alternates two exports one morning."""
    alice_start = datetime(2026, 11, 17, 23, 0, tzinfo=UTC)
    bob_start = datetime(2026, 11, 18, 10, 0, tzinfo=UTC)
    alice = [
        {
            "event_id": f"alice-{i}",
            "customer_id": "cus_000",
            "operation": ("data.query", "ml.train")[i % 2],
            "occurred_at": (alice_start + timedelta(minutes=i)).isoformat(),
            "user_id": "alice",
        }
        for i in range(40)
    ]
    bob = [
        {
            "event_id": f"bob-{i}",
            "customer_id": "cus_000",
            "operation": ("export.csv", "export.pdf")[i % 2],
            "occurred_at": (bob_start + timedelta(minutes=i)).isoformat(),
            "user_id": "bob",
        }
        for i in range(4)
    ]
    return alice + bob


@pytest.fixture
def profiled_with_end_users(organization, stored_usage):
    result = usage_events_ingest(
        organization=organization, events=end_user_events(), now=NOW
    )
    assert result.accepted == 44
    return profiling_run_execute(organization=organization, now=NOW, k_max=6)


@pytest.fixture
def staff_client(client):
    client.force_login(UserFactory(staff=True))
    return client
