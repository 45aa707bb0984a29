"""A task runs through a real worker process, the way it runs in production."""

import pytest
from celery.result import AsyncResult, EagerResult

from metering.tasks import organization_customer_count
from metering.tests.factories import CustomerFactory

pytestmark = pytest.mark.worker


def test_task_runs_in_a_separate_worker_process(celery_worker_process, organization):
    CustomerFactory.create_batch(3, organization=organization)
    CustomerFactory()  # another organization's customer is not counted

    result = organization_customer_count.delay(organization.pk)

    assert isinstance(result, AsyncResult)
    assert not isinstance(result, EagerResult)
    assert result.get(timeout=60) == 3
