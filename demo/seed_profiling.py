"""Demo behaviour: planted usage patterns for the demo customers, then a profile run.

About 28,000 events over the last 30 days, four planted segments (image batch work,
quick exports, night-time data pipelines, ML in the evening), each session by one
of three end users per customer (the first of them a night owl), stored through
metering's ingestion service; then the profiler runs so the pages have content.
"""

from django.utils import timezone

from metering.models import UsageEventKey
from profiling import selectors, synthetic
from profiling.features import DAY
from profiling.services import profiling_run_execute, synthetic_usage_store

SEED = 20261121
PREFIX = "demo-profiling"


def seed(*, context: dict, progress) -> None:
    organization = context["organization"]
    customers = context["customers"]
    now = timezone.now()
    already = UsageEventKey.objects.filter(
        organization=organization, event_id=f"{PREFIX}-0"
    ).exists()
    if already and selectors.latest_run(organization=organization) is not None:
        return
    today = int(now.timestamp()) // DAY * DAY
    usage = synthetic.generate(
        customers=len(customers),
        seed=SEED,
        window_start=today - 30 * DAY,
        days=29,
        scale_sessions=0.5,
        users_per_customer=3,
    )
    synthetic_usage_store(
        organization=organization,
        events=usage.events,
        external_ids=[c.external_id for c in customers],
        now=now,
        planted=usage.labels,
        prefix=PREFIX,
        user_ids=usage.user_ids(),
        progress=lambda batches: progress(batches, desc="profiling events"),
    )
    context["profiling_run"] = profiling_run_execute(
        organization=organization, now=now, window_days=31
    )
