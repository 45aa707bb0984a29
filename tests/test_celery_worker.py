"""A task runs through a real worker process, the way it runs in production."""

from datetime import UTC, datetime

import pytest
from celery.result import AsyncResult, EagerResult
from django.db import connection

from metering.tasks import ensure_usage_partitions
from metering.tests.factories import CustomerFactory, UsageEventFactory

pytestmark = pytest.mark.worker


def _partition_of(event_pk: int) -> str:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT tableoid::regclass::text FROM metering_usageevent WHERE id = %s",
            [event_pk],
        )
        return cursor.fetchone()[0]


def test_partition_task_runs_in_a_separate_worker_process(celery_worker_process):
    # A backfilled event from a month with no partition lands in the DEFAULT one...
    event = UsageEventFactory(
        customer=CustomerFactory(),
        occurred_at=datetime(2019, 3, 14, 12, 0, tzinfo=UTC),
    )
    assert _partition_of(event.pk) == "metering_usageevent_default"

    result = ensure_usage_partitions.delay(0)

    assert isinstance(result, AsyncResult)
    assert not isinstance(result, EagerResult)
    created = result.get(timeout=60)
    # ...and the worker gives that month its own partition and moves the row there.
    assert "metering_usageevent_p2019_03" in created
    assert _partition_of(event.pk) == "metering_usageevent_p2019_03"
