"""Resource forecasting: frequency detection, candidate models chosen per series by a
rolling-origin backtest, conformal prediction bands and holiday effects.

Pure computation: arrays of epoch seconds and floats in, dataclasses out; no ORM,
settings or clock.

How a series is forecast (``forecast_series``):

1. The step is the median spacing of the timestamps. Sub-daily series use daily and
   weekly seasonal periods, daily series weekly and yearly, monthly series yearly;
   a period is used only when the history holds two full cycles of it. The series is
   laid on a regular grid (gaps interpolated) and cut to a bounded history window.
2. Less than 24 hours (sub-daily), 14 days (daily) or 24 months (monthly) of history,
   or a constant series, gives the state ``not_enough_history`` and no points.
3. Candidates (``scaling.candidates``), all with fixed parameters so that one pass
   over the data serves every origin: ``seasonal_naive`` (always, also the MASE
   baseline), ``seasonal_mean`` and ``seasonal_median`` (the same phase over the
   last few seasons), ``weekly_mean`` (sub-daily data with two weeks: the same hour
   of the last weeks), ``relevel`` (the median daily profile moved to the level of
   the last hours, for level shifts), ``ets`` (damped additive Holt-Winters) and
   ``ets_log`` (the same on log1p of a non-negative series), ``seasonal_ar``
   (autoregression on short and seasonal lags) and ``ensemble`` (mean of ``ets`` and
   ``seasonal_ar``). ``prophet`` costs 3-30 times more per fit, so in ``auto`` mode
   it is a candidate only where it can use what the others cannot: daily data with
   two years of history (yearly seasonality), campaign windows or business
   regressors.
4. Rolling-origin backtest: up to ``origins`` forecast origins spread evenly over the
   last ``backtest_span`` steps of the history (two weeks of sub-daily data, half a
   year of daily data), each forecasting the next ``min(horizon, ...)`` steps from
   the data before it only, then origins whose windows the end of the history cuts
   short (``scaling.backtesting``). The lowest weighted mean MASE wins, recent
   origins weighing more, ties going to the cheaper model. Prophet
   is backtested on at most four non-overlapping whole-window origins (the last
   ones) and wins only if it beats the best cheap model on those.
5. Bands are conformal (``scaling.conformal``): per horizon step, from the chosen
   model's backtest errors, with adaptive conformal inference against drift; the
   reported coverage is online (each origin scored against earlier origins only).
6. Holidays (``holiday_country``): a public holiday is expected to behave like a
   Sunday. History steps on holidays are moved to their own weekday's level before
   the cheap models see them, and forecast steps on holidays are moved to Sunday's
   level (``scaling.calendars``); Prophet gets the country's holidays instead.
7. Campaign windows multiply the cheap models' forecasts by ``1 + lift`` inside the
   window (Prophet learns them as holidays).
"""

import logging
import warnings
from dataclasses import dataclass, field

import numpy as np

from scaling import backtesting, calendars, candidates, conformal
from scaling.calendars import CampaignWindow

logger = logging.getLogger(__name__)

DAY = 86_400
LEVELS = (0.8, 0.95)
# Order used to break ties in backtest scores: cheaper first.
MODEL_COST_ORDER = {
    "seasonal_naive": 0,
    "seasonal_mean": 1,
    "seasonal_median": 2,
    "weekly_mean": 3,
    "relevel": 4,
    "blend": 5,
    "ets": 6,
    "ets_log": 7,
    "seasonal_ar": 8,
    "ensemble": 9,
    "prophet": 10,
}
# Seasons averaged by the seasonal mean/median models and the relevel profile.
PROFILE_SEASONS = 5
WEEKLY_SEASONS = 3
PROPHET_ORIGINS = 4


@dataclass(frozen=True)
class Frequency:
    step_seconds: int
    kind: str  # "sub_daily", "daily", "weekly" or "monthly"
    candidate_periods: tuple[int, ...]  # seasonal periods in steps, primary first
    default_horizon: int  # steps: 48 hours, 30 days, 8 weeks or 12 months
    min_history: int  # steps needed before anything is forecast
    max_history: int  # steps kept (the most recent ones)
    backtest_span: int = 0  # steps over which backtest origins are spread


@dataclass(frozen=True)
class ForecastOptions:
    horizon: int | None = None  # steps of the series; None: the frequency's default
    origins: int = 24  # rolling origins of the backtest, at most
    use_prophet: str = "auto"  # "auto", "always" or "never"
    campaigns: tuple[CampaignWindow, ...] = ()
    # ISO 3166 country whose public holidays behave like Sundays; "" for none.
    holiday_country: str = ""
    # Business signals: name -> (epoch seconds, values); used by Prophet when they
    # cover the forecast horizon.
    regressors: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Scores:
    mase: float
    smape: float  # percent, 0-200
    coverage_80: float | None = None
    coverage_95: float | None = None


@dataclass
class ForecastResult:
    state: str  # "ok" or "not_enough_history"
    message: str = ""
    model: str = ""
    frequency: Frequency | None = None
    history_points: int = 0
    horizon: int = 0
    timestamps: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    yhat: np.ndarray = field(default_factory=lambda: np.zeros(0))
    # level -> (lower, upper)
    bands: dict = field(default_factory=dict)
    scores: Scores | None = None
    baseline: Scores | None = None
    candidates: dict = field(default_factory=dict)  # name -> Scores
    backtest_origins: int = 0

    @property
    def ok(self) -> bool:
        return self.state == "ok"


# --- frequency and grid ---------------------------------------------------------


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
            max_history=35 * per_day,
            backtest_span=14 * per_day,
        )
    if step < int(2.5 * DAY):
        return Frequency(step, "daily", (7, 365), 30, 14, 4 * 365 + 1, 182)
    if step < 20 * DAY:
        return Frequency(step, "weekly", (52,), 8, 16, 5 * 52, 104)
    return Frequency(step, "monthly", (12,), 12, 24, 30 * 12, 60)


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


# --- Prophet ---------------------------------------------------------------------


def prophet_forecast(
    seconds: np.ndarray,
    y: np.ndarray,
    future: np.ndarray,
    frequency: Frequency,
    options: ForecastOptions,
) -> np.ndarray:
    """Prophet with the seasonalities the history supports, campaign windows as
    holidays, country holidays and business signals that cover the horizon as extra
    regressors. Its own intervals are not used (see the module's conformal bands)."""
    import pandas as pd
    from prophet import Prophet

    for name in ("cmdstanpy", "prophet"):
        logging.getLogger(name).setLevel(logging.WARNING)
    span_days = (seconds[-1] - seconds[0]) / DAY
    holidays = None
    if options.campaigns:
        rows = []
        for campaign in options.campaigns:
            days = pd.date_range(
                pd.to_datetime(campaign.start, unit="s").normalize(),
                pd.to_datetime(campaign.end - 1, unit="s").normalize(),
                freq="D",
            )
            rows += [{"holiday": campaign.name, "ds": day} for day in days]
        holidays = pd.DataFrame(rows) if rows else None
    model = Prophet(
        daily_seasonality=frequency.kind == "sub_daily" and span_days >= 2,
        weekly_seasonality=frequency.kind in ("sub_daily", "daily") and span_days >= 14,
        yearly_seasonality=span_days >= 730,
        holidays=holidays,
        uncertainty_samples=0,
    )
    if options.holiday_country:
        model.add_country_holidays(country_name=options.holiday_country)
    history = pd.DataFrame({"ds": pd.to_datetime(seconds, unit="s"), "y": y})
    upcoming = pd.DataFrame({"ds": pd.to_datetime(future, unit="s")})
    for name, (signal_seconds, signal_values) in options.regressors.items():
        signal_seconds = np.asarray(signal_seconds, dtype=np.int64)
        if len(signal_seconds) < 2 or signal_seconds[-1] < future[-1]:
            continue
        history[name] = np.interp(seconds, signal_seconds, signal_values)
        upcoming[name] = np.interp(future, signal_seconds, signal_values)
        model.add_regressor(name)
    with warnings.catch_warnings():
        # Prophet's own use of deprecated pandas arguments.
        warnings.simplefilter("ignore", category=FutureWarning)
        warnings.simplefilter("ignore", category=DeprecationWarning)
        model.fit(history)
        return model.predict(upcoming)["yhat"].to_numpy(dtype=float)


# --- the pipeline ------------------------------------------------------------------


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
    return exogenous or yearly


def candidate_names(periods: tuple[int, ...], y: np.ndarray, frequency: Frequency):
    names = ["seasonal_naive", "seasonal_mean", "seasonal_median", "relevel", "blend"]
    if frequency.kind == "sub_daily" and len(periods) > 1:
        names.append("weekly_mean")
    names.append("ets")
    if float(np.min(y)) >= 0:
        names.append("ets_log")
    return names + ["seasonal_ar", "ensemble"]


def predict_many(
    names: list[str],
    y: np.ndarray,
    origins: np.ndarray,
    steps: int,
    periods: tuple[int, ...],
    frequency: Frequency,
) -> dict[str, np.ndarray]:
    """Each cheap candidate's forecasts from each origin: name -> (origins, steps)."""
    primary = periods[0] if periods else 1
    window = max(1, primary // 8) if frequency.kind == "sub_daily" else primary
    out: dict[str, np.ndarray] = {}
    for name in names:
        if name == "seasonal_naive":
            out[name] = candidates.seasonal_naive_many(y, origins, steps, primary)
        elif name in ("seasonal_mean", "seasonal_median"):
            out[name] = candidates.seasonal_profile_many(
                y, origins, steps, primary, PROFILE_SEASONS, name == "seasonal_median"
            )
        elif name == "weekly_mean":
            out[name] = candidates.seasonal_profile_many(
                y, origins, steps, periods[1], WEEKLY_SEASONS, robust=False
            )
        elif name == "relevel":
            out[name] = candidates.relevel_many(
                y, origins, steps, primary, PROFILE_SEASONS, window
            )
        elif name == "blend":
            parts = ("seasonal_naive", "seasonal_median", "relevel")
            out[name] = sum(out[part] for part in parts) / len(parts)
        elif name == "ets":
            out[name] = candidates.holt_winters_many(y, origins, steps, primary)
        elif name == "ets_log":
            logged = candidates.holt_winters_many(np.log1p(y), origins, steps, primary)
            out[name] = np.expm1(np.clip(logged, -50, np.log1p(10 * np.max(y))))
        elif name == "seasonal_ar":
            out[name] = candidates.seasonal_ar_many(y, origins, steps, periods)
        elif name == "ensemble":
            out[name] = (out["ets"] + out["seasonal_ar"]) / 2
    return out


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
    frequency = detect_frequency(timestamps)
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
    horizon = options.horizon or frequency.default_horizon
    periods = usable_periods(frequency, n)
    primary = periods[0] if periods else 1
    origins, steps = backtesting.backtest_origins(
        n,
        horizon,
        frequency.min_history,
        frequency.backtest_span,
        primary,
        max(1, options.origins),
    )
    if len(origins) == 0:
        return _not_enough(f"{n} points are too few to backtest.", frequency, n)
    future = future_timestamps(int(seconds[-1]), horizon, frequency)
    stamps = np.concatenate([seconds, future])
    # The holiday profile of the backtest comes from the data before its first
    # origin, that of the final forecast from the whole history.
    adjust = _adjustments(seconds, y, future, frequency, options, int(origins[0]))
    adjust_final = _adjustments(seconds, y, future, frequency, options, n)
    names = candidate_names(periods, y, frequency)
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
    weights = backtesting.selection_weights(origins, inside.sum(axis=1), steps)
    scale = backtesting.mase_scales(y, origins, primary)[:, None]
    mase_rows, smape_rows, errors = {}, {}, {}
    final = {}
    for name, predicted in raw_backtest.items():
        backtest = adjust.apply(stamps[positions], predicted, campaigns=True)
        errors[name] = actual - backtest
        mase_rows[name] = np.nanmean(np.abs(errors[name]) / scale, axis=1)
        smape_rows[name] = backtesting.smape_rows(actual, backtest)
        final[name] = adjust_final.apply(future, raw_final[name], campaigns=True)
    chosen = min(
        names,
        key=lambda name: (
            round(float(np.average(mase_rows[name], weights=weights)), 6),
            MODEL_COST_ORDER[name],
        ),
    )
    calibration_rows = np.arange(len(origins))

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
        mase_rows["prophet"] = np.full(len(origins), np.nan)
        smape_rows["prophet"] = np.full(len(origins), np.nan)
        mase_rows["prophet"][rows] = np.mean(
            np.abs(errors["prophet"][rows]) / scale[rows], axis=1
        )
        smape_rows["prophet"][rows] = backtesting.smape_rows(actual[rows], predicted)
        if np.average(mase_rows["prophet"][rows], weights=weights[rows]) < np.average(
            mase_rows[chosen][rows], weights=weights[rows]
        ):
            chosen = "prophet"
            calibration_rows = rows
            final["prophet"] = adjust_final.apply(
                future,
                prophet_forecast(seconds, y, future, frequency, options),
                campaigns=False,
            )

    calibration = conformal.calibrate(
        errors[chosen][calibration_rows], origins[calibration_rows], LEVELS
    )
    summary = {
        name: Scores(
            mase=float(np.nanmean(mase_rows[name])),
            smape=float(np.nanmean(smape_rows[name])),
        )
        for name in mase_rows
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
        lower = yhat - half
        bands[level] = (
            np.maximum(lower, 0.0) if adjust.non_negative else lower,
            yhat + half,
        )
    return ForecastResult(
        state="ok",
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
    )
