"""Scaling: forecast accuracy on the shared real series, and forecasting throughput
through the Celery fan-out with 2 worker processes.

Accuracy: for each series, forecasts from several rolling origins at the end of the
history (the engine sees only the data before each origin) are compared with what
happened: MASE of the chosen model against seasonal naive and Prophet on its own
(same origins, same MASE scale), and the empirical coverage of the calibrated 80 %
and 95 % bands.

Throughput: 1,000 accounts x 365 daily points are COPYed in, a real ``celery worker
--concurrency 2`` is started against the Redis of ``CELERY_BROKER_URL``, and the
organization is forecast end to end (chunk tasks load metrics, forecast with the
backtest and conformal bands, and store the forecasts). The reference is Prophet
fitted once per series, serially, with no backtest: measured on a sample and
extrapolated to the whole set.
"""

import io
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from bench.core import Context, Result, stopwatch

ORDER = 60
ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT.parent / "shared" / "data"
SLUG = "bench-scaling"
SERIES = 1_000
POINTS = 365
PROPHET_SAMPLE = 20
DAY = 86_400

# (label, file, time column, value column, horizon, origin stride)
REAL_SERIES = [
    ("Wikipedia views (daily)", "example_wp_log_peyton_manning.csv", "ds", "y", 30, 30),
    ("US retail sales (monthly)", "example_retail_sales.csv", "ds", "y", 12, 12),
    (
        "NAB ASG CPU (5-minute)",
        "cpu_utilization_asg_misconfiguration.csv",
        "timestamp",
        "value",
        576,
        144,
    ),
    (
        "NAB RDS CPU (5-minute)",
        "rds_cpu_utilization_cc0c53.csv",
        "timestamp",
        "value",
        576,
        144,
    ),
]


def _load(name: str, time_column: str, value_column: str):
    frame = pd.read_csv(DATA / name)
    seconds = pd.to_datetime(frame[time_column]).to_numpy().astype("datetime64[s]")
    return seconds.astype(np.int64), frame[value_column].to_numpy(dtype=float)


def accuracy(ctx: Context) -> list[Result]:
    from scaling import forecasting as fc

    results = []
    wins = 0
    for label, name, time_column, value_column, horizon, stride in REAL_SERIES:
        seconds, values = _load(name, time_column, value_column)
        origins = max(2, ctx.scaled(8))
        starts = [len(values) - horizon - k * stride for k in range(origins)]
        starts = sorted(s for s in starts if s >= len(values) // 2)
        chosen, naive, prophet, inside_80, inside_95, models = [], [], [], [], [], []
        seconds_spent = 0.0
        for origin in starts:
            history_s, history_y = seconds[:origin], values[:origin]
            actual = values[origin : origin + horizon]
            with stopwatch() as timing:
                result = fc.forecast_series(
                    history_s, history_y, fc.ForecastOptions(horizon=horizon)
                )
            seconds_spent += timing["seconds"]
            frequency = result.frequency
            grid_s, grid_y = fc.regular_grid(history_s, history_y, frequency)
            grid_s = grid_s[-frequency.max_history :]
            grid_y = grid_y[-frequency.max_history :]
            periods = fc.usable_periods(frequency, len(grid_y))
            primary = periods[0] if periods else 1
            scale = fc.mase_scale(grid_y, primary)
            baseline = fc.seasonal_naive(grid_y, horizon, primary)
            future = fc.future_timestamps(int(grid_s[-1]), horizon, frequency)
            alone = fc.prophet_forecast(
                grid_s, grid_y, future, frequency, fc.ForecastOptions()
            )
            chosen.append(np.mean(np.abs(actual - result.yhat)) / scale)
            naive.append(np.mean(np.abs(actual - baseline)) / scale)
            prophet.append(np.mean(np.abs(actual - alone)) / scale)
            low80, up80 = result.bands[0.8]
            low95, up95 = result.bands[0.95]
            inside_80.append(np.mean((actual >= low80) & (actual <= up80)))
            inside_95.append(np.mean((actual >= low95) & (actual <= up95)))
            models.append(result.model)
        mase, mase_naive, mase_prophet = (
            float(np.mean(chosen)), float(np.mean(naive)), float(np.mean(prophet))
        )  # fmt: skip
        wins += mase < mase_naive
        picked = ", ".join(f"{m} x{models.count(m)}" for m in sorted(set(models)))
        results += [
            Result(
                f"scaling accuracy {label}: MASE",
                mase,
                "MASE",
                reference=mase_naive,
                reference_name="seasonal naive",
                better="lower",
                note=(
                    f"{len(starts)} origins, horizon {horizon}; Prophet alone MASE "
                    f"{mase_prophet:.3f}; models: {picked}; "
                    f"{seconds_spent / len(starts):.2f} s per forecast"
                ),
            ),
            Result(
                f"scaling accuracy {label}: 80% / 95% coverage",
                100 * float(np.mean(inside_80)),
                "% in 80% band",
                note=f"95% band: {100 * float(np.mean(inside_95)):.1f} %",
            ),
        ]
    results.append(
        Result(
            "scaling accuracy: series beating seasonal naive",
            wins,
            f"of {len(REAL_SERIES)}",
        )
    )
    return results


def _synthetic(count: int, points: int, seed: int = 11) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(points)
    level = rng.uniform(20, 500, (count, 1))
    weekly = rng.uniform(0.05, 0.4, (count, 1)) * np.sin(
        2 * np.pi * (t + rng.integers(0, 7, (count, 1))) / 7
    )
    trend = rng.uniform(-0.3, 0.8, (count, 1)) * t / points
    noise = rng.normal(0, 1, (count, points)) * rng.uniform(0.02, 0.15, (count, 1))
    return np.maximum(0.0, level * (1 + weekly + trend + noise))


def _prepare(count: int):
    import psycopg

    from metering.models import Customer, Organization

    Organization.objects.filter(slug=SLUG).delete()
    organization = Organization.objects.create(slug=SLUG, name="Bench scaling")
    Customer.objects.bulk_create(
        Customer(organization=organization, external_id=f"acc-{i:05d}", name=f"A{i}")
        for i in range(count)
    )
    ids = list(
        Customer.objects.filter(organization=organization)
        .order_by("external_id")
        .values_list("id", flat=True)
    )
    values = _synthetic(count, POINTS)
    start = np.datetime64("2025-01-01T00:00:00")
    stamps = [str(start + np.timedelta64(d, "D")) + "+00" for d in range(POINTS)]
    buffer = io.StringIO()
    for customer_id, row in zip(ids, values, strict=True):
        for stamp, value in zip(stamps, row, strict=True):
            buffer.write(
                f"{organization.pk}\t{customer_id}\tcompute_hours\t{stamp}\t{value:.4f}\n"
            )
    with psycopg.connect(os.environ["DATABASE_URL"], autocommit=True) as conn:
        with conn.cursor().copy(
            "COPY scaling_resourcemetric (organization_id, customer_id, resource, "
            "timestamp, value) FROM STDIN"
        ) as copy:
            copy.write(buffer.getvalue())
        conn.execute("ANALYZE scaling_resourcemetric")
    return organization, values


def _start_worker():
    env = {**os.environ, "CELERY_TASK_ALWAYS_EAGER": "false"}
    worker = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "billing_site",
            "worker",
            "--concurrency",
            "2",
            "--pool",
            "prefork",
            "--loglevel",
            "warning",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
        ],  # fmt: skip
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    from billing_site.celery import app

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if app.control.ping(timeout=1.0):
            return worker
        if worker.poll() is not None:
            raise RuntimeError("the Celery worker exited at start")
    worker.terminate()
    raise RuntimeError("the Celery worker did not answer within 60 s")


def throughput(ctx: Context) -> list[Result]:
    from django.db.models import Count
    from django.utils import timezone

    from scaling import forecasting as fc
    from scaling.models import Forecast
    from scaling.tasks import forecast_dispatch

    count = ctx.scaled(SERIES)
    organization, values = _prepare(count)
    worker = _start_worker()
    try:
        with stopwatch() as timing:
            outcome = forecast_dispatch(organization=organization, now=timezone.now())
            outcome.get(timeout=3_600)
    finally:
        worker.terminate()
        worker.wait(timeout=30)
    rate = count / timing["seconds"]
    stored = Forecast.objects.filter(organization=organization)
    models = dict(
        stored.values_list("model").annotate(n=Count("id")).values_list("model", "n")
    )
    assert stored.count() == count, f"{stored.count()} forecasts for {count} series"

    sample = min(count, max(2, ctx.scaled(PROPHET_SAMPLE)))
    seconds = 1_735_689_600 + DAY * np.arange(POINTS, dtype=np.int64)
    frequency = fc.detect_frequency(seconds)
    future = fc.future_timestamps(int(seconds[-1]), 30, frequency)
    fc.prophet_forecast(seconds, values[0], future, frequency, fc.ForecastOptions())
    with stopwatch() as prophet_timing:
        for row in values[:sample]:
            fc.prophet_forecast(seconds, row, future, frequency, fc.ForecastOptions())
    per_series = prophet_timing["seconds"] / sample
    picked = ", ".join(f"{m} {n}" for m, n in sorted(models.items()))
    return [
        Result(
            f"scaling: forecast {count:,} daily series via Celery (2 workers)",
            rate,
            "series/s",
            reference=1 / per_series,
            reference_name="Prophet serial",
            note=(
                f"{timing['seconds']:.1f} s end to end for {count:,} x {POINTS} points "
                f"(5-fold backtest, conformal bands, stored); models: {picked}. "
                f"Prophet: one fit + predict per series, {per_series:.3f} s measured "
                f"on "
                f"{sample} series and extrapolated to {count:,} "
                f"({per_series * count:.0f} s)."
            ),
        )
    ]


def run(ctx: Context) -> list[Result]:
    return accuracy(ctx) + throughput(ctx)
