import pytest

from demo import seed_profiling
from metering.models import UsageEvent
from metering.tests.factories import CustomerFactory
from profiling.models import EndUserProfile, ProfilingRun

pytestmark = pytest.mark.django_db


def test_demo_seed_stores_events_and_profiles_once(organization):
    customers = CustomerFactory.create_batch(24, organization=organization)
    context = {"organization": organization, "customers": customers}

    def progress(iterable, desc, total=None):
        return iterable

    seed_profiling.seed(context=context, progress=progress)
    events = UsageEvent.objects.filter(organization=organization).count()
    assert events > 1_000
    assert (
        ProfilingRun.objects.filter(
            organization=organization, status=ProfilingRun.Status.SUCCEEDED
        ).count()
        == 1
    )
    end_users = (
        UsageEvent.objects.filter(organization=organization)
        .exclude(user_id="")
        .values("customer_id", "user_id")
        .distinct()
        .count()
    )
    assert end_users > len(customers)
    assert EndUserProfile.objects.filter(run__organization=organization).count() == (
        end_users
    )
    seed_profiling.seed(context=context, progress=progress)
    assert UsageEvent.objects.filter(organization=organization).count() == events
    assert ProfilingRun.objects.filter(organization=organization).count() == 1
