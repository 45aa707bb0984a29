"""Event extraction: the arrays a profiling run starts from, by PostgreSQL's binary
COPY and by the ORM path of other databases, event for event the same."""

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from django.db import connection

from metering.tests.factories import CustomerFactory, UsageEventFactory
from profiling.features import SESSION_GAP_SECONDS
from profiling.selectors import events_extract

pytestmark = [pytest.mark.django_db, pytest.mark.clock("2026-11-20T12:00:00+00:00")]

T0 = datetime(2026, 11, 10, 9, 0, 0, 250_000, tzinfo=UTC)
GAP = timedelta(seconds=SESSION_GAP_SECONDS)
SECOND = timedelta(seconds=1)


@pytest.fixture
def customers(organization):
    first, second = CustomerFactory.create_batch(2, organization=organization)
    for customer, operation, when, volume, user in [
        (first, "a", T0, None, "u1"),
        # Exactly the gap after the previous event: the same session.
        (first, "b", T0 + GAP, 0, ""),
        # An operation outside the run's list opens a session and is dropped...
        (first, "other", T0 + 2 * GAP + timedelta(microseconds=1), 5, ""),
        # ...so the event a second after it continues that session.
        (first, "a", T0 + 2 * GAP + SECOND, 10, "u1"),
        (second, "b", T0 - timedelta(days=1), 7, "u2"),
        # Outside the window: not extracted.
        (second, "a", datetime(2026, 10, 31, 23, 59, 59, tzinfo=UTC), 1, ""),
    ]:
        UsageEventFactory(
            customer=customer,
            operation=operation,
            occurred_at=when,
            data_volume_bytes=volume,
            user_id=user,
        )
    return first, second


def _extract(organization, customers):
    return events_extract(
        organization=organization,
        start=datetime(2026, 11, 1, tzinfo=UTC),
        end=datetime(2026, 11, 20, tzinfo=UTC),
        operations=["a", "b"],
        customer_ids=sorted(customer.pk for customer in customers),
    )


def _epoch(when: datetime) -> int:
    return int(when.timestamp() // 1)


def test_extraction_orders_events_opens_sessions_and_keeps_volumes(
    organization, customers
):
    first, second = customers

    raw = _extract(organization, customers)

    assert raw.customer_id.tolist() == [first.pk, first.pk, first.pk, second.pk]
    assert raw.operation.tolist() == [0, 1, 0, 1]
    assert raw.timestamp.tolist() == [
        _epoch(T0),
        _epoch(T0 + GAP),
        _epoch(T0 + 2 * GAP + SECOND),
        _epoch(T0 - timedelta(days=1)),
    ]
    assert raw.session_start.tolist() == [True, False, False, True]
    assert np.array_equal(raw.volume, [np.nan, 0.0, 10.0, 7.0], equal_nan=True)
    keys = raw.user_key.tolist()
    assert keys[0] == keys[2] != 0 and keys[1] == 0 and keys[3] not in (0, keys[0])


def test_other_databases_extract_the_same_arrays(organization, customers, monkeypatch):
    on_postgres = _extract(organization, customers)
    monkeypatch.setattr(connection, "vendor", "sqlite")

    elsewhere = _extract(organization, customers)

    for name in ("customer_id", "operation", "timestamp", "session_start"):
        assert getattr(elsewhere, name).tolist() == getattr(on_postgres, name).tolist()
    assert np.array_equal(elsewhere.volume, on_postgres.volume, equal_nan=True)
    # End users are keyed by position instead of a hash, the same ones alike.
    assert elsewhere.user_key.tolist() == [1, 0, 1, 2]
    assert elsewhere.end_user_id.tolist() == ["u1", "u2"]
