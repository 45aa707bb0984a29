"""Frequency and grid: a series' step and what follows from it (seasonal periods,
horizon, history bounds), the step it is forecast at, the regular grid it is laid on
and its future steps.

Sub-daily history is kept up to ``SUB_DAILY_WEEKS`` weeks (the most recent ones), so
that the weekly cycle is seen in at least eight full weeks. Data finer than an hour
(5-minute, 30-minute) is forecast at an hourly step: each clock hour becomes the
mean of its values (the forecast stays in the series' own unit), labelled with the
hour's start; the horizon, given in steps of the series, becomes the hours that
cover it.
"""

from dataclasses import dataclass

import numpy as np

DAY = 86_400
HOUR = 3_600
# The sub-daily windows below are caps on cost, not values tuned to a data set:
# every candidate is evaluated at every backtest origin, so the work of a forecast
# grows with the history kept and the origins spread over it, and a series with
# less history uses what it has. What is tuned on the series itself (the model,
# the bands' conditioning) is chosen on its own backtest within these caps.
# Weeks of sub-daily history kept: eight full weeks for choosing and calibrating,
# plus up to four more for the weekly profiles of the earliest backtest origins.
SUB_DAILY_WEEKS = 12
# Weeks of sub-daily history over which backtest origins are spread: four weeks of
# windows to tell close models apart; the bands come from the origins of the last
# two (every hour of the week twice), the errors most like those to come.
SUB_DAILY_BACKTEST_WEEKS = 4
SUB_DAILY_CALIBRATION_WEEKS = 2


@dataclass(frozen=True)
class Frequency:
    step_seconds: int
    kind: str  # "sub_daily", "daily", "weekly" or "monthly"
    candidate_periods: tuple[int, ...]  # seasonal periods in steps, primary first
    default_horizon: int  # steps: 48 hours, 30 days, 8 weeks or 12 months
    min_history: int  # steps needed before anything is forecast
    max_history: int  # steps kept (the most recent ones)
    backtest_span: int = 0  # steps over which backtest origins are spread
    # Steps before the last window whose origins calibrate the bands; 0: all.
    calibration_span: int = 0


def detect_frequency(timestamps: np.ndarray) -> Frequency:
    """The series' step (median spacing) and what follows from it."""
    diffs = np.diff(np.asarray(timestamps, dtype=np.int64))
    diffs = diffs[diffs > 0]
    step = int(np.median(diffs)) if len(diffs) else DAY
    if step < int(0.9 * DAY):
        per_day = max(1, round(DAY / step))
        return Frequency(
            step_seconds=step,
            kind="sub_daily",
            candidate_periods=(per_day, 7 * per_day),
            default_horizon=max(1, round(48 * 3600 / step)),
            min_history=per_day,
            max_history=SUB_DAILY_WEEKS * 7 * per_day,
            backtest_span=SUB_DAILY_BACKTEST_WEEKS * 7 * per_day,
            calibration_span=SUB_DAILY_CALIBRATION_WEEKS * 7 * per_day,
        )
    if step < int(2.5 * DAY):
        return Frequency(step, "daily", (7, 365), 30, 14, 4 * 365 + 1, 182)
    if step < 20 * DAY:
        return Frequency(step, "weekly", (52,), 8, 16, 5 * 52, 104)
    return Frequency(step, "monthly", (12,), 12, 24, 30 * 12, 60)


def forecast_frequency(frequency: Frequency) -> Frequency:
    """The frequency a series is forecast at: hourly for data finer than an hour,
    its own otherwise."""
    if frequency.kind != "sub_daily" or frequency.step_seconds >= HOUR:
        return frequency
    return detect_frequency(np.array([0, HOUR]))


def forecast_horizon(horizon: int, frequency: Frequency, forecast: Frequency) -> int:
    """``horizon`` steps of ``frequency`` as steps of ``forecast`` (rounded up)."""
    if forecast.step_seconds == frequency.step_seconds:
        return horizon
    return max(1, -(-horizon * frequency.step_seconds // forecast.step_seconds))


def hourly_means(
    timestamps: np.ndarray, values: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The mean of the finite values of each clock hour, labelled with the hour's
    start (epoch seconds), in time order; hours without a value are left out."""
    seconds = np.asarray(timestamps, dtype=np.int64)
    values = np.asarray(values, dtype=float)
    keep = np.isfinite(values)
    seconds, values = seconds[keep], values[keep]
    if len(seconds) == 0:
        return seconds, values
    hours, index = np.unique(seconds // HOUR, return_inverse=True)
    sums = np.bincount(index, weights=values, minlength=len(hours))
    counts = np.bincount(index, minlength=len(hours))
    return hours * HOUR, sums / counts


def regular_grid(
    timestamps: np.ndarray, values: np.ndarray, frequency: Frequency
) -> tuple[np.ndarray, np.ndarray]:
    """Values on a regular grid of the series' step; gaps are linearly interpolated.

    Monthly (and weekly) steps are irregular in seconds, so those series keep their
    own timestamps in order.
    """
    seconds = np.asarray(timestamps, dtype=np.int64)
    values = np.asarray(values, dtype=float)
    keep = np.isfinite(values)
    seconds, values = seconds[keep], values[keep]
    order = np.argsort(seconds, kind="stable")
    seconds, values = seconds[order], values[order]
    if len(seconds) == 0 or frequency.kind in ("monthly", "weekly"):
        return seconds, values
    step = frequency.step_seconds
    grid = np.arange(seconds[0], seconds[-1] + 1, step, dtype=np.int64)
    return grid, np.interp(grid, seconds, values)


def usable_periods(frequency: Frequency, n: int) -> tuple[int, ...]:
    """Seasonal periods with at least two full cycles in ``n`` points."""
    return tuple(p for p in frequency.candidate_periods if p > 1 and n >= 2 * p)


def future_timestamps(last: int, horizon: int, frequency: Frequency) -> np.ndarray:
    if frequency.kind == "monthly":
        start = np.datetime64(int(last), "s").astype("datetime64[M]")
        months = start + np.arange(1, horizon + 1)
        return months.astype("datetime64[s]").astype(np.int64)
    step = frequency.step_seconds
    return last + step * np.arange(1, horizon + 1, dtype=np.int64)
