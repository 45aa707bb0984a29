from decimal import Decimal

import pytest

from billing_site.errors import DomainError, InvalidTransition
from metering.models import Customer, UsageEvent
from profiling.models import (
    BehavioralTag,
    CustomerProfile,
    ProfilingRun,
    Segment,
    TagRule,
)
from profiling.services import (
    profiling_evaluate,
    profiling_run_finish,
    tag_rules_ensure_defaults,
)
from profiling.tests.conftest import NOW

pytestmark = pytest.mark.django_db


def test_run_stores_segments_profiles_and_tags(organization, stored_usage, profiled):
    run = profiled
    assert run.status == ProfilingRun.Status.SUCCEEDED
    assert run.event_count == len(stored_usage.events)
    assert run.customer_count == 40
    assert run.scores["k"] == 4
    assert set(run.timings) >= {"extract", "features", "cluster", "chains", "total"}
    assert Segment.objects.filter(run=run).count() == 4
    assert sum(Segment.objects.filter(run=run).values_list("size", flat=True)) == 40
    assert CustomerProfile.objects.filter(run=run).count() == 40
    names = set(Segment.objects.filter(run=run).values_list("name", flat=True))
    assert any(name.startswith("Image-heavy") for name in names)
    assert BehavioralTag.objects.filter(run=run, name="heavy:image.*").count() == 10


def test_run_profiles_predict_from_planted_chain(organization, profiled):
    profile = CustomerProfile.objects.filter(run=profiled).first()
    probabilities = [item["probability"] for item in profile.next_operations]
    assert len(probabilities) == 5
    assert probabilities == sorted(probabilities, reverse=True)
    assert abs(sum(probabilities) - 1) < 0.5
    assert len(profile.predicted_path) == 5
    assert profile.predicted_counts


def test_finish_rejects_succeeded_run(profiled):
    with pytest.raises(InvalidTransition) as error:
        profiling_run_finish(run=profiled, now=NOW)
    assert str(error.value) == f"profiling run {profiled.pk} has already succeeded"


def test_evaluate_recovers_planted_segments(organization, stored_usage):
    result = profiling_evaluate(organization=organization, now=NOW)
    assert result.adjusted_rand == pytest.approx(1.0)
    assert result.accuracy["segment"][1] > result.accuracy["most frequent"][1]


def test_default_tag_rules_are_created_once(organization):
    assert tag_rules_ensure_defaults(organization=organization) == 6
    assert tag_rules_ensure_defaults(organization=organization) == 0
    rule = TagRule.objects.get(organization=organization, name="night-owl")
    assert rule.threshold == Decimal("0.400")


def test_synthetic_store_is_idempotent(organization, stored_usage):
    from profiling.services import synthetic_usage_store

    before = UsageEvent.objects.filter(organization=organization).count()
    accepted = synthetic_usage_store(
        organization=organization,
        events=stored_usage.events,
        external_ids=[f"cus_{i:03d}" for i in range(40)],
        now=NOW,
    )
    assert accepted == 0
    assert UsageEvent.objects.filter(organization=organization).count() == before
    assert Customer.objects.filter(organization=organization).count() == 40


def test_run_without_events_fails_with_reason(organization):
    from metering.tests.factories import CustomerFactory
    from profiling.services import profiling_run_execute

    CustomerFactory(organization=organization)
    with pytest.raises(DomainError) as error:
        profiling_run_execute(organization=organization, now=NOW)
    assert error.value.message == "No usage events in the window."
    run = ProfilingRun.objects.get(organization=organization)
    assert run.status == ProfilingRun.Status.FAILED
