"""Forecast runs: one chunk of series at a time, the same code for the Celery fan-out
and the ``forecast`` command."""

import math
from collections.abc import Callable
from datetime import UTC, datetime

import numpy as np
from django.db.models import Q

from metering.models import Organization
from scaling import calendars, selectors
from scaling.forecasting import (
    LEVELS,
    CampaignWindow,
    ForecastOptions,
    ForecastResult,
    forecast_series,
)
from scaling.models import BusinessSignal, Campaign, Forecast, ScalingPolicy
from scaling.services.metrics import bandwidth_metrics_derive

DEFAULT_CHUNK_SIZE = 50


def _clean(value: float | None) -> float | None:
    if value is None or not math.isfinite(value):
        return None
    return float(value)


def forecast_points(result: ForecastResult) -> list[dict]:
    """The result's points in the API's shape (ISO timestamps, 6 decimals)."""
    if not result.ok:
        return []
    (low80, up80), (low95, up95) = (result.bands[level] for level in LEVELS)
    stamps = [
        datetime.fromtimestamp(int(second), tz=UTC).isoformat().replace("+00:00", "Z")
        for second in result.timestamps
    ]
    return [
        {
            "timestamp": stamp,
            "yhat": round(float(yhat), 6),
            "lower_80": round(float(a), 6),
            "upper_80": round(float(b), 6),
            "lower_95": round(float(c), 6),
            "upper_95": round(float(d), 6),
        }
        for stamp, yhat, a, b, c, d in zip(
            stamps, result.yhat, low80, up80, low95, up95, strict=True
        )
    ]


def forecast_build(
    *,
    organization: Organization,
    customer_id: int,
    resource: str,
    result: ForecastResult,
    now: datetime,
) -> Forecast:
    """An unsaved ``Forecast`` row for an engine result."""
    scores, baseline = result.scores, result.baseline
    return Forecast(
        organization=organization,
        customer_id=customer_id,
        resource=resource,
        generated_at=now,
        state=result.state,
        message=result.message[:300],
        model=result.model,
        step_seconds=result.frequency.step_seconds if result.frequency else None,
        horizon=result.horizon,
        history_points=result.history_points,
        mase=_clean(scores.mase) if scores else None,
        smape=_clean(scores.smape) if scores else None,
        coverage_80=_clean(scores.coverage_80) if scores else None,
        coverage_95=_clean(scores.coverage_95) if scores else None,
        baseline_mase=_clean(baseline.mase) if baseline else None,
        baseline_smape=_clean(baseline.smape) if baseline else None,
        candidates={
            name: {"mase": _clean(s.mase), "smape": _clean(s.smape)}
            for name, s in result.candidates.items()
        },
        points=forecast_points(result),
    )


def _options_by_key(
    *, organization: Organization, keys: list[tuple[int, str]], horizon: int | None
) -> dict[tuple[int, str], ForecastOptions]:
    """Campaigns, holiday country and business signals of each series' account."""
    customer_ids = sorted({customer_id for customer_id, _ in keys})
    supported = calendars.supported_countries()
    countries = {
        customer_id: country
        for customer_id, country in ScalingPolicy.objects.filter(
            customer_id__in=customer_ids
        )
        .exclude(holiday_country="")
        .values_list("customer_id", "holiday_country")
        if country in supported
    }
    scope = Q(customer_id__in=customer_ids) | Q(customer__isnull=True)
    campaigns: dict[int | None, list[CampaignWindow]] = {}
    for campaign in Campaign.objects.filter(scope, organization=organization):
        campaigns.setdefault(campaign.customer_id, []).append(
            CampaignWindow(
                start=int(campaign.start.timestamp()),
                end=int(campaign.end.timestamp()),
                lift=campaign.expected_lift,
                name=campaign.name,
            )
        )
    signals: dict[int | None, dict[str, tuple[list, list]]] = {}
    rows = (
        BusinessSignal.objects.filter(scope, organization=organization)
        .order_by("timestamp")
        .values_list("customer_id", "kind", "timestamp", "value")
    )
    for customer_id, kind, timestamp, value in rows:
        seconds, values = signals.setdefault(customer_id, {}).setdefault(kind, ([], []))
        seconds.append(int(timestamp.timestamp()))
        values.append(value)
    options = {}
    for customer_id, resource in keys:
        regressors = {
            kind: (np.array(s, dtype=np.int64), np.array(v, dtype=float))
            for kind, (s, v) in {
                **signals.get(None, {}),
                **signals.get(customer_id, {}),
            }.items()
        }
        options[(customer_id, resource)] = ForecastOptions(
            horizon=horizon,
            campaigns=tuple(campaigns.get(None, []) + campaigns.get(customer_id, [])),
            holiday_country=countries.get(customer_id, ""),
            regressors=regressors,
        )
    return options


def forecast_chunk(
    *,
    organization: Organization,
    keys: list[tuple[int, str]],
    horizon: int | None,
    now: datetime,
) -> list[int]:
    """Forecast each (customer id, resource) series; returns the new forecast ids.

    Metrics are loaded with one query and forecasts written with one insert; a
    series without metrics gets a ``not_enough_history`` forecast.
    """
    keys = [(int(customer_id), str(resource)) for customer_id, resource in keys]
    arrays = selectors.metric_arrays(organization=organization, keys=keys)
    options = _options_by_key(organization=organization, keys=keys, horizon=horizon)
    empty = (np.zeros(0, dtype=np.int64), np.zeros(0))
    rows = []
    for key in keys:
        seconds, values = arrays.get(key, empty)
        result = forecast_series(seconds, values, options[key])
        rows.append(
            forecast_build(
                organization=organization,
                customer_id=key[0],
                resource=key[1],
                result=result,
                now=now,
            )
        )
    Forecast.objects.bulk_create(rows)
    return [row.pk for row in rows]


def forecast_chunks(
    *, organization: Organization, chunk_size: int = DEFAULT_CHUNK_SIZE
) -> list[list[tuple[int, str]]]:
    keys = selectors.series_keys(organization=organization)
    return [keys[i : i + chunk_size] for i in range(0, len(keys), chunk_size)]


def forecast_organization(
    *,
    organization: Organization,
    horizon: int | None,
    now: datetime,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    progress: Callable | None = None,
) -> int:
    """Derive bandwidth from metering, then forecast every series of the
    organization in this process, chunk by chunk (what the Celery chunk tasks do in
    parallel); returns the number of series."""
    bandwidth_metrics_derive(organization=organization, now=now)
    chunks = forecast_chunks(organization=organization, chunk_size=chunk_size)
    if progress is not None:
        chunks = progress(chunks)
    done = 0
    for keys in chunks:
        forecast_chunk(organization=organization, keys=keys, horizon=horizon, now=now)
        done += len(keys)
    return done
