"""Forecasting one series (``forecast_series``): the rolling-origin backtest that
chooses a model, Prophet's turn, holiday and campaign adjustments and the
conformal bands."""

import numpy as np

from scaling import backtesting, calendars, conformal
from scaling.forecasting.cheap_models import (
    MODEL_COST_ORDER,
    candidate_names,
    cycle_name,
    model_cycles,
    predict_many,
    weekly_period,
)
from scaling.forecasting.grid import (
    Frequency,
    detect_frequency,
    forecast_frequency,
    forecast_horizon,
    future_timestamps,
    hourly_means,
    regular_grid,
    usable_periods,
)
from scaling.forecasting.prophet_model import prophet_forecast
from scaling.forecasting.values import LEVELS, ForecastOptions, ForecastResult, Scores

PROPHET_ORIGINS = 4


def _not_enough(message: str, frequency=None, n: int = 0) -> ForecastResult:
    return ForecastResult(
        state="not_enough_history", message=message, frequency=frequency,
        history_points=n,
    )  # fmt: skip


def _wants_prophet(frequency: Frequency, n: int, options: ForecastOptions) -> bool:
    if options.use_prophet == "always":
        return True
    if options.use_prophet == "never":
        return False
    exogenous = bool(options.campaigns or options.regressors)
    yearly = frequency.kind == "daily" and n >= 730
    weekly = weekly_period(usable_periods(frequency, n), frequency) is not None
    return exogenous or yearly or weekly


def _prophet_cycles(frequency: Frequency, n: int) -> tuple[int, ...]:
    """The periods (steps) of the seasonalities ``prophet_forecast`` fits."""
    days = n * frequency.step_seconds / 86_400
    per_day = 86_400 / frequency.step_seconds
    cycles = []
    if frequency.kind == "sub_daily" and days >= 2:
        cycles.append(round(per_day))
    if frequency.kind in ("sub_daily", "daily") and days >= 14:
        cycles.append(round(7 * per_day))
    if days >= 730:
        cycles.append(round(365.25 * per_day) if frequency.kind != "monthly" else 12)
    return tuple(cycles)


def explanation(
    model: str,
    cycles: tuple[int, ...],
    frequency: Frequency,
    origins: int,
    weighing: str,
    bands: str = "",
) -> str:
    """What the chosen model follows and how it was chosen, in words."""
    names = [cycle_name(period, frequency) for period in cycles]
    unit = {"monthly": "months", "weekly": "weeks"}.get(frequency.kind) or {
        3_600: "hours",
        86_400: "days",
    }.get(frequency.step_seconds, "steps")
    if names:
        follows = " and ".join(dict.fromkeys(names)) + " cycles"
        sizes = " and ".join(str(period) for period in cycles)
        follows += f" ({sizes} {unit})"
    else:
        follows = "no seasonal cycle"
    text = (
        f"{model} follows the {follows}; chosen on {origins} backtest origins, "
        f"{weighing}."
    )
    if bands:
        text += f" Bands by {bands}, chosen by interval score on the backtest."
    return text


def _adjustments(
    seconds: np.ndarray,
    y: np.ndarray,
    future: np.ndarray,
    frequency: Frequency,
    options: ForecastOptions,
    profile_end: int,
) -> calendars.Adjustments:
    shift, days = None, np.zeros(0, dtype=np.int64)
    if options.holiday_country and frequency.kind in ("sub_daily", "daily"):
        end = int(future[-1]) if len(future) else int(seconds[-1])
        days = calendars.holiday_days(options.holiday_country, int(seconds[0]), end)
        if len(days):
            shift = calendars.sunday_shift(
                seconds[:profile_end], y[:profile_end], frequency.step_seconds, days
            )
    return calendars.Adjustments(
        shift=shift,
        days=days,
        campaigns=options.campaigns,
        non_negative=float(np.min(y)) >= 0,
    )


def selection_cycle(periods: tuple[int, ...], frequency: Frequency):
    """The cycle whose positions model choice weighs evenly, and their name."""
    if not periods:
        return 1, "step"
    week = weekly_period(periods, frequency)
    if week:
        return week, "hour of the week"
    if frequency.kind == "sub_daily":
        return periods[0], "hour of the day"
    if frequency.kind == "daily":
        return periods[0], "day of the week"
    return periods[0], "position in the year"


def band_conditioning(
    y: np.ndarray,
    origins: np.ndarray,
    steps: int,
    horizon: int,
    periods: tuple[int, ...],
    frequency: Frequency,
    residuals: np.ndarray,
) -> tuple[conformal.Conditioning, dict]:
    """What the bands of a series follow, chosen on its own backtest
    (``conformal.choose_conditioning``): the step from the origin alone, or also
    the hour of the day or the hour of the week (sub-daily data; when the windows
    see only part of the week, each of them also follows the change of the week
    before the origin). Other series' bands follow the step."""
    cycles: tuple[tuple[int, str], ...] = ()
    regime = 0
    if frequency.kind == "sub_daily" and periods:
        cycles = ((periods[0], "hour of the day"),)
        week = weekly_period(periods, frequency)
        if week:
            cycles += ((week, "hour of the week"),)
            regime = week if steps < week else 0
    options = conformal.conditionings(
        y, origins, steps, horizon, cycles, regime, "week"
    )
    longest = max((period for period, _ in cycles), default=1)
    phases = None
    if steps < longest:
        phases = (origins[:, None] + np.arange(steps)[None, :]) % longest
    return conformal.choose_conditioning(residuals, origins, options, LEVELS, phases)


def _prophet_rows(origins: np.ndarray, steps: int) -> np.ndarray:
    """Up to ``PROPHET_ORIGINS`` origins with non-overlapping windows, latest first."""
    rows: list[int] = []
    for row in range(len(origins) - 1, -1, -1):
        if not rows or origins[rows[-1]] - origins[row] >= steps:
            rows.append(row)
        if len(rows) == PROPHET_ORIGINS:
            break
    return np.array(sorted(rows), dtype=np.int64)


def forecast_series(
    timestamps: np.ndarray, values: np.ndarray, options: ForecastOptions | None = None
) -> ForecastResult:
    """Forecast one series (epoch seconds, values); see the module docstring."""
    options = options or ForecastOptions()
    timestamps = np.asarray(timestamps, dtype=np.int64)
    if len(timestamps) < 3:
        return _not_enough(f"{len(timestamps)} points; at least 3 are needed.")
    native = detect_frequency(timestamps)
    frequency = forecast_frequency(native)
    if frequency != native:
        timestamps, values = hourly_means(timestamps, values)
    seconds, y = regular_grid(timestamps, values, frequency)
    seconds, y = seconds[-frequency.max_history :], y[-frequency.max_history :]
    n = len(y)
    if n < frequency.min_history:
        return _not_enough(
            f"{n} points of {frequency.kind.replace('_', '-')} data; at least "
            f"{frequency.min_history} are needed.",
            frequency,
            n,
        )
    if float(np.ptp(y)) <= 1e-9 * max(1.0, abs(float(y[0]))):
        return _not_enough("The series is constant.", frequency, n)
    horizon = (
        forecast_horizon(options.horizon, native, frequency)
        if options.horizon
        else frequency.default_horizon
    )
    periods = usable_periods(frequency, n)
    primary = periods[0] if periods else 1
    cycle, position = selection_cycle(periods, frequency)
    origins, steps = backtesting.backtest_origins(
        n,
        horizon,
        frequency.min_history,
        frequency.backtest_span,
        primary,
        max(1, options.origins),
        cycle if frequency.kind == "sub_daily" else 0,
    )
    if len(origins) == 0:
        return _not_enough(f"{n} points are too few to backtest.", frequency, n)
    future = future_timestamps(int(seconds[-1]), horizon, frequency)
    stamps = np.concatenate([seconds, future])
    # The holiday profile of the backtest comes from the data before its first
    # origin, that of the final forecast from the whole history.
    adjust = _adjustments(seconds, y, future, frequency, options, int(origins[0]))
    adjust_final = _adjustments(seconds, y, future, frequency, options, n)
    names = candidate_names(periods, y, frequency, int(origins[0]))
    width = max(steps, horizon)
    if adjust.shift is None and adjust_final.shift is None:
        # One evaluation from the backtest origins and the final origin together.
        raw = predict_many(names, y, np.append(origins, n), width, periods, frequency)
        raw_backtest = {name: rows[:-1, :steps] for name, rows in raw.items()}
        raw_final = {name: rows[-1, :horizon] for name, rows in raw.items()}
    else:
        raw = predict_many(
            names, adjust.clean(seconds, y), origins, steps, periods, frequency
        )
        raw_backtest = raw
        raw = predict_many(
            names,
            adjust_final.clean(seconds, y),
            np.array([n]),
            horizon,
            periods,
            frequency,
        )
        raw_final = {name: rows[0] for name, rows in raw.items()}
    positions = origins[:, None] + np.arange(steps)[None, :]
    inside = positions < n
    actual = np.where(inside, y[np.minimum(positions, n - 1)], np.nan)
    recency = backtesting.recency_weights(inside.sum(axis=1), steps)
    # A window shorter than the cycle sees part of it: errors then count by their
    # position in the cycle, each position evenly (``scaling.backtesting``).
    balanced = steps < cycle
    scale = backtesting.mase_scales(y, origins, primary)[:, None]
    scaled, smape_rows, errors = {}, {}, {}
    final = {}
    for name, predicted in raw_backtest.items():
        backtest = adjust.apply(stamps[positions], predicted, campaigns=True)
        errors[name] = actual - backtest
        scaled[name] = np.abs(errors[name]) / scale
        smape_rows[name] = backtesting.smape_rows(actual, backtest)
        final[name] = adjust_final.apply(future, raw_final[name], campaigns=True)

    def mase(name: str, rows: np.ndarray) -> float:
        part = scaled[name][rows]
        if balanced:
            return backtesting.phase_balanced_mean(part, positions[rows], cycle)
        return float(np.mean(np.nanmean(part, axis=1)))

    def score(name: str, rows: np.ndarray) -> tuple[float, float]:
        """The choice's key: the cycle-balanced MASE over ``rows`` then the
        recency-weighted one, or only the latter when windows span the cycle."""
        recent = np.average(
            np.nanmean(scaled[name][rows], axis=1), weights=recency[rows]
        )
        main = mase(name, rows) if balanced else recent
        return round(main, 6), round(float(recent), 6)

    every = np.arange(len(origins))
    # A candidate that cannot forecast every step (or any backtest window) is
    # never chosen, whatever the data.
    eligible = [
        name
        for name in names
        if np.isfinite(final[name]).all() and np.isfinite(errors[name][inside]).all()
    ]
    if not eligible:
        return _not_enough("No model gives a finite forecast.", frequency, n)
    chosen = min(
        eligible, key=lambda name: (*score(name, every), MODEL_COST_ORDER[name])
    )
    calibration_rows = every
    if frequency.kind == "sub_daily" and frequency.calibration_span:
        # Bands from the most recent origins only (see ``Frequency``).
        calibration_rows = every[origins >= n - steps - frequency.calibration_span]
    cycles = model_cycles(chosen, periods, int(origins[0]), frequency)
    best_cheap = chosen

    if _wants_prophet(frequency, n, options):
        rows = _prophet_rows(origins[inside.all(axis=1)], steps)
        predicted = np.array([
            prophet_forecast(
                seconds[:o], y[:o], stamps[o : o + steps], frequency, options
            )
            for o in origins[rows]
        ])  # fmt: skip
        predicted = adjust.apply(stamps[positions[rows]], predicted, campaigns=False)
        errors["prophet"] = np.full_like(actual, np.nan)
        errors["prophet"][rows] = actual[rows] - predicted
        scaled["prophet"] = np.abs(errors["prophet"]) / scale
        smape_rows["prophet"] = np.full(len(origins), np.nan)
        smape_rows["prophet"][rows] = backtesting.smape_rows(actual[rows], predicted)
        if score("prophet", rows) < score(chosen, rows):
            chosen = "prophet"
            calibration_rows = rows
            cycles = _prophet_cycles(frequency, n)
            final["prophet"] = adjust_final.apply(
                future,
                prophet_forecast(seconds, y, future, frequency, options),
                campaigns=False,
            )

    # The bands' conditioning is chosen on the best cheap model's whole backtest
    # (Prophet's few origins could not tell the options apart).
    conditioning, conditioning_scores = band_conditioning(
        y, origins, steps, horizon, periods, frequency, errors[best_cheap]
    )
    rows_positions = positions[calibration_rows]
    ahead = np.arange(n, n + horizon)
    calibration = conformal.calibrate(
        errors[chosen][calibration_rows],
        origins[calibration_rows],
        LEVELS,
        phases=rows_positions % cycle if balanced else None,
        target=np.unique(ahead % cycle) if balanced else None,
        scales=conditioning.backtest[calibration_rows],
    )
    summary = {
        name: Scores(
            mase=mase(name, np.nonzero(~np.isnan(scaled[name]).all(axis=1))[0]),
            smape=float(np.nanmean(smape_rows[name])),
        )
        for name in scaled
    }
    summary[chosen] = Scores(
        mase=summary[chosen].mase,
        smape=summary[chosen].smape,
        coverage_80=calibration.coverage[0.8],
        coverage_95=calibration.coverage[0.95],
    )
    yhat = final[chosen]
    bands = {}
    for level in LEVELS:
        half = conformal.extend_widths(calibration.widths[level], horizon)
        half = half * conditioning.forecast
        lower = yhat - half
        bands[level] = (
            np.maximum(lower, 0.0) if adjust.non_negative else lower,
            yhat + half,
        )
    return ForecastResult(
        state="ok",
        message=explanation(
            chosen,
            cycles,
            frequency,
            len(origins),
            f"each {position} weighed evenly" if balanced else "recent ones first",
            conditioning.name if conditioning_scores else "",
        ),
        model=chosen,
        frequency=frequency,
        history_points=n,
        horizon=horizon,
        timestamps=future,
        yhat=yhat,
        bands=bands,
        scores=summary[chosen],
        baseline=summary["seasonal_naive"],
        candidates=summary,
        backtest_origins=len(calibration_rows),
        cycles=cycles,
        band_conditioning=conditioning.name,
        band_scores=conditioning_scores,
    )
