"""Celery tasks: the per-organization forecast fan-out, its chunks, the dynamic
adjustment and applying recommendations."""

from datetime import datetime

from celery import group, shared_task
from celery.result import GroupResult
from django.utils import timezone

from metering.models import Organization
from scaling.services import forecasts, metrics, recommendations


@shared_task(name="scaling.forecast_chunk")
def forecast_chunk_task(
    organization_id: int, keys: list, horizon: int | None, now_iso: str
) -> int:
    organization = Organization.objects.get(pk=organization_id)
    ids = forecasts.forecast_chunk(
        organization=organization,
        keys=[tuple(key) for key in keys],
        horizon=horizon,
        now=datetime.fromisoformat(now_iso),
    )
    return len(ids)


def forecast_dispatch(
    *,
    organization: Organization,
    horizon: int | None = None,
    chunk_size: int = forecasts.DEFAULT_CHUNK_SIZE,
    now: datetime,
) -> GroupResult:
    """Derive bandwidth from metering (so that it is forecast too), then send one
    chunk task per ``chunk_size`` series; workers run them in parallel."""
    metrics.bandwidth_metrics_derive(organization=organization, now=now)
    chunks = forecasts.forecast_chunks(organization=organization, chunk_size=chunk_size)
    job = group(
        forecast_chunk_task.s(
            organization.pk, [list(key) for key in keys], horizon, now.isoformat()
        )
        for keys in chunks
    )
    return job.apply_async()


@shared_task(name="scaling.forecast_organization")
def forecast_organization_task(organization_id: int, horizon: int | None = None) -> int:
    """Beat entry point: fan the organization's series out to chunk tasks."""
    organization = Organization.objects.get(pk=organization_id)
    result = forecast_dispatch(
        organization=organization, horizon=horizon, now=timezone.now()
    )
    return len(result.results)


@shared_task(name="scaling.adjust_organization")
def adjust_organization_task(organization_id: int) -> int:
    organization = Organization.objects.get(pk=organization_id)
    return recommendations.recommendations_generate_for_organization(
        organization=organization, now=timezone.now()
    )


@shared_task(
    name="scaling.recommendation_apply",
    autoretry_for=(OSError,),
    retry_backoff=5,
    retry_backoff_max=600,
    max_retries=8,
)
def recommendation_apply_task(recommendation_id: int) -> str:
    recommendation = recommendations.recommendation_apply(
        recommendation_id=recommendation_id, now=timezone.now()
    )
    return recommendation.status
