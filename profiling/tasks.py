"""Celery tasks of profiling: one run per organization, fanned out in chunks."""

from datetime import datetime

from celery import chord, shared_task
from django.utils import timezone

from metering.models import Organization
from profiling import services
from profiling.models import ProfilingRun


@shared_task(autoretry_for=(ConnectionError,), retry_backoff=True, max_retries=3)
def extract_chunk(run_id: int, index: int, customer_ids: list[int]) -> int:
    run = ProfilingRun.objects.defer("chains").get(pk=run_id)
    return services.profiling_chunk_extract(
        run=run, index=index, customer_ids=customer_ids
    ).event_count


@shared_task
def finish_run(_chunk_events: list, run_id: int, now_iso: str) -> int:
    run = ProfilingRun.objects.defer("chains").get(pk=run_id)
    services.profiling_run_finish(run=run, now=datetime.fromisoformat(now_iso))
    return run_id


@shared_task
def profile_organization(organization_id: int, now_iso: str | None = None) -> int:
    """Create a run, extract its chunks in parallel (a chord), then finish it."""
    organization = Organization.objects.get(pk=organization_id)
    now = datetime.fromisoformat(now_iso) if now_iso else timezone.now()
    run, chunks = services.profiling_run_create(organization=organization, now=now)
    header = [extract_chunk.si(run.pk, index, ids) for index, ids in enumerate(chunks)]
    if not header:
        finish_run.delay([], run.pk, now.isoformat())
    else:
        chord(header)(finish_run.s(run.pk, now.isoformat()))
    return run.pk


@shared_task
def profile_all_organizations() -> int:
    ids = list(Organization.objects.values_list("pk", flat=True))
    for organization_id in ids:
        profile_organization.delay(organization_id)
    return len(ids)
