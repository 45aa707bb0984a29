"""Scaling: forecast accuracy on the shared real series, and forecasting throughput
through the Celery fan-out with 2 worker processes.

Accuracy: for each series, forecasts from rolling origins spread over the last weeks
(hourly series), two years (daily) or ten years (monthly) are compared with what
happened; the engine sees only the data before each origin and makes its own
backtest and calibration from that. The 5-minute NAB CPU series and the 30-minute
NYC taxi series are resampled to hourly means first. Reported: MASE of the chosen
model against seasonal naive and Prophet on its own (same origins; the MASE scale is
the in-sample seasonal-naive error of the last ``SCALE_WINDOW`` steps before the
origin, whatever history the engine keeps), and the empirical coverage of the
calibrated 80 % and 95 % bands. The NAB series carry a labelled anomaly (a
misconfigured auto scaling group; an RDS level shift): the headline figures are over
the origins whose test window misses the labelled window, and the notes give the
figures over all origins, and the coverage of those clean origins split into the
ones before the labelled window and the ones after it (whose backtest, and so the
errors that calibrate their bands, holds the anomaly).

Weekly cycles (``weekly``): NYC taxi demand, hourly, 48 hours ahead from origins
every ``stride`` hours (coprime with 24 and 168, so they visit every weekday and
hour of the day) after ten weeks of history, outside the labelled holiday windows.
Reported: the mean absolute error over all forecast hours relative to that of the
same hour last week and of the same hour yesterday, and the coverage of the bands.

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
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from bench.core import Context, Result, stopwatch
from scaling.backtesting import mase_scale
from scaling.candidates import seasonal_naive

ORDER = 60
ROOT = Path(__file__).resolve().parent.parent
SLUG = "bench-scaling"
SERIES = 1_000
POINTS = 365
PROPHET_SAMPLE = 20
DAY = 86_400
HOUR = 3_600
# Steps of history before an origin whose seasonal-naive error is the MASE scale.
SCALE_WINDOW = {"sub_daily": 35 * 24, "daily": 4 * 365 + 1, "monthly": 30 * 12}


@dataclass(frozen=True)
class RealSeries:
    label: str
    file: str
    time_column: str
    value_column: str
    horizon: int  # steps forecast from each origin
    stride: int  # steps between origins
    span: int  # origins lie in the last ``span + horizon`` steps
    # Labelled anomaly windows (ISO start, end) from NAB's combined_windows.json.
    anomalies: tuple = ()
    prophet_origins: int = 12  # Prophet alone is fitted on this many origins at most
    hourly: bool = False  # resampled to hourly means before anything else


REAL_SERIES = [
    RealSeries(
        "Wikipedia views (daily)", "example_wp_log_peyton_manning.csv", "ds", "y",
        horizon=30, stride=61, span=730,
    ),
    RealSeries(
        "US retail sales (monthly)", "example_retail_sales.csv", "ds", "y",
        horizon=12, stride=12, span=120,
    ),
    RealSeries(
        "NAB ASG CPU (5-minute, hourly)", "cpu_utilization_asg_misconfiguration.csv",
        "timestamp", "value", horizon=48, stride=12, span=28 * 24,
        anomalies=(("2014-07-10T12:29", "2014-07-15T17:19"),), prophet_origins=8,
        hourly=True,
    ),
    RealSeries(
        "NAB RDS CPU (5-minute, hourly)", "rds_cpu_utilization_cc0c53.csv",
        "timestamp", "value", horizon=48, stride=3, span=5 * 24,
        anomalies=(("2014-02-24T22:50", "2014-02-25T15:35"),), prophet_origins=8,
        hourly=True,
    ),
]  # fmt: skip
TAXI = "nyc_taxi.csv"
# Labelled windows of nyc_taxi.csv (NAB's combined_windows.json, see SOURCES.md).
TAXI_ANOMALIES = (
    ("2014-10-30T15:30", "2014-11-03T22:30"),
    ("2014-11-25T12:00", "2014-11-29T19:00"),
    ("2014-12-23T11:30", "2014-12-27T18:30"),
    ("2014-12-29T21:30", "2015-01-03T04:30"),
    ("2015-01-24T20:30", "2015-01-29T03:30"),
)
TAXI_HORIZON = 48
TAXI_STRIDE = 31  # hours between origins: coprime with 24 and 168
TAXI_FIRST = 10 * 168  # hours of history before the first origin


def _load(name: str, time_column: str, value_column: str, hourly: bool = False):
    """A shared data file as (epoch seconds, values), from ``SHARED_DATA_DIR``;
    ``hourly``: the mean of each clock hour, labelled with the hour's start."""
    from django.conf import settings

    frame = pd.read_csv(Path(settings.SHARED_DATA_DIR) / name)
    seconds = pd.to_datetime(frame[time_column]).to_numpy().astype("datetime64[s]")
    seconds = seconds.astype(np.int64)
    values = frame[value_column].to_numpy(dtype=float)
    if not hourly:
        return seconds, values
    hours = seconds // HOUR
    first = int(hours[0])
    index = hours - first
    sums = np.bincount(index, weights=values)
    counts = np.bincount(index)
    keep = counts > 0
    return (first + np.flatnonzero(keep)) * HOUR, sums[keep] / counts[keep]


def _scale(frequency, history: np.ndarray, primary: int) -> float:
    return mase_scale(history[-SCALE_WINDOW.get(frequency.kind, 360) :], primary)


def _epoch(iso: str) -> int:
    return int(np.datetime64(iso, "s").astype(np.int64))


def _origins(ctx: Context, series: RealSeries, n: int) -> list[int]:
    """Every ``stride`` steps over the last ``span`` steps that leave a whole test
    window, evenly thinned when BENCH_SCALE shrinks the run."""
    last = n - series.horizon
    origins = list(range(last, max(last - series.span, n // 3), -series.stride))[::-1]
    keep = min(len(origins), max(2, ctx.scaled(len(origins))))
    return [
        origins[i] for i in np.linspace(0, len(origins) - 1, keep).round().astype(int)
    ]


def _one_origin(fc, series: RealSeries, seconds, values, origin: int, with_prophet):
    """The engine's forecast from ``origin`` (it sees only the data before it)
    scored against what followed, with seasonal naive and Prophet alone."""
    history_s, history_y = seconds[:origin], values[:origin]
    actual = values[origin : origin + series.horizon]
    with stopwatch() as timing:
        result = fc.forecast_series(
            history_s, history_y, fc.ForecastOptions(horizon=series.horizon)
        )
    frequency = result.frequency
    grid_s, grid_y = fc.regular_grid(history_s, history_y, frequency)
    periods = fc.usable_periods(frequency, len(grid_y))
    primary = periods[0] if periods else 1
    scale = _scale(frequency, grid_y, primary)
    grid_s = grid_s[-frequency.max_history :]
    grid_y = grid_y[-frequency.max_history :]
    baseline = seasonal_naive(grid_y, series.horizon, primary)
    row = {
        "model": result.model,
        "seconds": timing["seconds"],
        "mase": np.mean(np.abs(actual - result.yhat)) / scale,
        "naive": np.mean(np.abs(actual - baseline)) / scale,
        "prophet": np.nan,
    }
    for level in fc.LEVELS:
        low, up = result.bands[level]
        row[level] = np.mean((actual >= low) & (actual <= up))
    if with_prophet:
        future = fc.future_timestamps(int(grid_s[-1]), series.horizon, frequency)
        alone = fc.prophet_forecast(
            grid_s, grid_y, future, frequency, fc.ForecastOptions()
        )
        row["prophet"] = np.mean(np.abs(actual - alone)) / scale
    window_end = seconds[min(origin + series.horizon, len(seconds)) - 1]
    row["anomaly"] = any(
        seconds[origin] <= _epoch(end) and window_end >= _epoch(start)
        for start, end in series.anomalies
    )
    # The history (and so the backtest that calibrates the bands) holds a labelled
    # anomaly that ended before the origin.
    row["after"] = any(seconds[origin] > _epoch(end) for _, end in series.anomalies)
    return row


def _summary(rows: list[dict]) -> dict:
    if not rows:
        return {}
    with_prophet = [row for row in rows if not np.isnan(row["prophet"])]
    return {
        "count": len(rows),
        "mase": float(np.mean([row["mase"] for row in rows])),
        "naive": float(np.mean([row["naive"] for row in rows])),
        "c80": 100 * float(np.mean([row[0.8] for row in rows])),
        "c95": 100 * float(np.mean([row[0.95] for row in rows])),
        "prophet": float(np.mean([row["prophet"] for row in with_prophet]))
        if with_prophet
        else float("nan"),
        "prophet_chosen": float(np.mean([row["mase"] for row in with_prophet]))
        if with_prophet
        else float("nan"),
        "prophet_count": len(with_prophet),
    }


def accuracy(ctx: Context) -> list[Result]:
    """Rolling-origin evaluation on the shared series; see the module docstring.
    Figures are over the origins whose test window misses the labelled anomaly
    (all origins for the unlabelled series); the note gives all origins too."""
    from scaling import forecasting as fc

    results = []
    wins = wins_all = 0
    for series in REAL_SERIES:
        seconds, values = _load(
            series.file, series.time_column, series.value_column, series.hourly
        )
        origins = _origins(ctx, series, len(values))
        every = max(1, round(len(origins) / series.prophet_origins))
        rows = [
            _one_origin(fc, series, seconds, values, origin, index % every == 0)
            for index, origin in enumerate(origins)
        ]
        clean = _summary([row for row in rows if not row["anomaly"]])
        everything = _summary(rows)
        wins += clean["mase"] < clean["naive"]
        wins_all += everything["mase"] < everything["naive"]
        models = [row["model"] for row in rows]
        picked = ", ".join(f"{m} x{models.count(m)}" for m in sorted(set(models)))
        per_forecast = float(np.mean([row["seconds"] for row in rows]))
        scope = (
            f"{clean['count']} of {len(rows)} origins outside the labelled anomaly"
            if series.anomalies
            else f"{len(rows)} origins"
        )
        overall = (
            f"; all {len(rows)} origins: MASE {everything['mase']:.3f} vs seasonal "
            f"naive {everything['naive']:.3f}, coverage {everything['c80']:.1f} % / "
            f"{everything['c95']:.1f} %"
            if series.anomalies
            else ""
        )
        split = ""
        if series.anomalies:
            parts = []
            for name, after in (
                ("before it", False),
                ("after it (their backtest holds it)", True),
            ):
                part = _summary(
                    [
                        row
                        for row in rows
                        if not row["anomaly"] and row["after"] == after
                    ]
                )
                if part:
                    parts.append(
                        f"{part['count']} origins {name}: {part['c80']:.1f} % / "
                        f"{part['c95']:.1f} %"
                    )
            split = "; 80% / 95% coverage outside the labelled anomaly, " + ", ".join(
                parts
            )
        results += [
            Result(
                f"scaling accuracy {series.label}: MASE",
                clean["mase"],
                "MASE",
                reference=clean["naive"],
                reference_name="seasonal naive",
                better="lower",
                note=(
                    f"{scope}, every {series.stride} steps, horizon {series.horizon}; "
                    f"Prophet alone MASE {everything['prophet']:.3f} vs chosen "
                    f"{everything['prophet_chosen']:.3f} on "
                    f"{everything['prophet_count']} origins; models: {picked}; "
                    f"{per_forecast:.2f} s per forecast{overall}"
                ),
            ),
            Result(
                f"scaling accuracy {series.label}: 80% / 95% coverage",
                clean["c80"],
                "% in 80% band",
                note=f"{scope}; 95% band: {clean['c95']:.1f} %{split}{overall}",
            ),
        ]
    results.append(
        Result(
            "scaling accuracy: series beating seasonal naive",
            wins,
            f"of {len(REAL_SERIES)}",
            note=f"{wins_all} of {len(REAL_SERIES)} counting anomalous windows",
        )
    )
    return results


def _overlaps(start: int, end: int, windows) -> bool:
    return any(start <= _epoch(b) and end >= _epoch(a) for a, b in windows)


def weekly(ctx: Context) -> list[Result]:
    """NYC taxi demand, hourly, 48 hours ahead; see the module docstring."""
    from scaling import forecasting as fc

    seconds, values = _load(TAXI, "timestamp", "value", hourly=True)
    n = len(values)
    origins = [
        origin
        for origin in range(TAXI_FIRST, n - TAXI_HORIZON + 1, TAXI_STRIDE)
        if not _overlaps(
            int(seconds[origin - 168]),
            int(seconds[origin + TAXI_HORIZON - 1]),
            TAXI_ANOMALIES,
        )
    ]
    keep = min(len(origins), max(20, ctx.scaled(len(origins))))
    origins = [
        origins[i] for i in np.linspace(0, len(origins) - 1, keep).round().astype(int)
    ]
    errors = {"engine": [], "weekly": [], "daily": []}
    inside = {level: [] for level in fc.LEVELS}
    models, spent = [], 0.0
    for origin in origins:
        actual = values[origin : origin + TAXI_HORIZON]
        with stopwatch() as timing:
            result = fc.forecast_series(
                seconds[:origin],
                values[:origin],
                fc.ForecastOptions(horizon=TAXI_HORIZON),
            )
        spent += timing["seconds"]
        models.append(result.model)
        steps = np.arange(TAXI_HORIZON)
        errors["engine"].append(np.abs(actual - result.yhat))
        errors["weekly"].append(np.abs(actual - values[origin - 168 + steps]))
        errors["daily"].append(np.abs(actual - values[origin - 24 + steps % 24]))
        for level in fc.LEVELS:
            low, up = result.bands[level]
            inside[level].append((actual >= low) & (actual <= up))
    mae = {name: float(np.mean(rows)) for name, rows in errors.items()}
    coverage = {level: 100 * float(np.mean(rows)) for level, rows in inside.items()}
    weekdays = sorted({int(seconds[o] // DAY + 3) % 7 for o in origins})
    hours = sorted({int(seconds[o] % DAY) // HOUR for o in origins})
    picked = ", ".join(f"{m} x{models.count(m)}" for m in sorted(set(models)))
    ratios = (
        f"MAE / weekly naive {mae['engine'] / mae['weekly']:.3f}, "
        f"MAE / daily naive {mae['engine'] / mae['daily']:.3f}"
    )
    scope = (
        f"NYC taxi hourly, {len(origins)} origins every {TAXI_STRIDE} h outside the "
        f"labelled windows ({len(weekdays)} weekdays, {len(hours)} hours of the day), "
        f"horizon {TAXI_HORIZON} h"
    )
    return [
        Result(
            "scaling weekly: NYC taxi MAE vs same hour last week",
            mae["engine"],
            "MAE",
            reference=mae["weekly"],
            reference_name="weekly naive",
            better="lower",
            note=(
                f"{scope}; {ratios}; models: {picked}; "
                f"{spent / len(origins):.2f} s per forecast"
            ),
        ),
        Result(
            "scaling weekly: NYC taxi MAE vs same hour yesterday",
            mae["engine"],
            "MAE",
            reference=mae["daily"],
            reference_name="daily naive",
            better="lower",
            note=f"{scope}; {ratios}",
        ),
        Result(
            "scaling weekly: NYC taxi 80% / 95% coverage",
            coverage[0.8],
            "% in 80% band",
            note=f"{scope}; 95% band: {coverage[0.95]:.1f} %",
        ),
    ]


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
                "(rolling-origin backtest, conformal bands, stored); "
                f"models: {picked}. Prophet: one fit + predict per series, "
                f"{per_series:.3f} s measured on "
                f"{sample} series and extrapolated to {count:,} "
                f"({per_series * count:.0f} s)."
            ),
        )
    ]


def run(ctx: Context) -> list[Result]:
    return accuracy(ctx) + weekly(ctx) + throughput(ctx)
