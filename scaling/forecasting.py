"""Resource forecasting: frequency detection, candidate models chosen per series by a
rolling-origin backtest, and conformal prediction bands.

Pure computation: arrays of epoch seconds and floats in, dataclasses out; no ORM,
settings or clock.

How a series is forecast (``forecast_series``):

1. The step is the median spacing of the timestamps. Sub-daily series use daily and
   weekly seasonal periods, daily series weekly and yearly, monthly series yearly;
   a period is used only when the history holds two full cycles of it. The series is
   laid on a regular grid (gaps interpolated) and cut to a bounded history window.
2. Less than 24 hours (sub-daily), 14 days (daily) or 24 months (monthly) of history,
   or a constant series, gives the state ``not_enough_history`` and no points.
3. Candidates, all with fixed parameters so that a fit is one pass over the data:
   ``seasonal_naive`` (always, also the MASE baseline), ``ets`` (damped additive
   Holt-Winters), ``seasonal_ar`` (autoregression on short and seasonal lags, least
   squares), ``ensemble`` (mean of ``ets`` and ``seasonal_ar``) and ``prophet``.
   Prophet costs 3-30 times more per fit, so in ``auto`` mode it is a candidate only
   where it can use what the others cannot: daily data with two years of history
   (yearly seasonality), campaign windows, a holiday country or business regressors.
4. Each candidate is backtested from ``folds`` rolling origins (non-overlapping test
   windows at the end of the history); the lowest mean MASE wins, ties going to the
   cheaper model. The winner is refitted on the whole history.
5. Bands are split-conformal by horizon step: for step ``j`` the half-width at level
   ``L`` is the ``ceil((N+1) L)``-th smallest absolute backtest error of the chosen
   model among the ``N`` errors at steps ``j-r .. j+r`` of all folds (``r`` about a
   sixth of the backtest horizon), made non-decreasing in ``j``. Past the backtest
   horizon the last width grows with the square root of the step. Reported coverage
   is cross-conformal: each fold is scored against widths computed from the other
   folds only, so it is an out-of-sample estimate.
"""

import logging
import math
import warnings
from dataclasses import dataclass, field

import numpy as np

logger = logging.getLogger(__name__)

DAY = 86_400
LEVELS = (0.8, 0.95)
CHEAP_MODELS = ("seasonal_naive", "ets", "seasonal_ar", "ensemble")
# Order used to break ties in backtest scores: cheaper first.
MODEL_COST_ORDER = {"seasonal_naive": 0, "ets": 1, "seasonal_ar": 2, "ensemble": 3}


@dataclass(frozen=True)
class Frequency:
    step_seconds: int
    kind: str  # "sub_daily", "daily", "weekly" or "monthly"
    candidate_periods: tuple[int, ...]  # seasonal periods in steps, primary first
    default_horizon: int  # steps: 48 hours, 30 days, 8 weeks or 12 months
    min_history: int  # steps needed before anything is forecast
    max_history: int  # steps kept (the most recent ones)


@dataclass(frozen=True)
class CampaignWindow:
    start: int  # epoch seconds, inclusive
    end: int  # epoch seconds, exclusive
    lift: float  # 0.3 = +30 % expected demand inside the window
    name: str = "campaign"


@dataclass(frozen=True)
class ForecastOptions:
    horizon: int | None = None  # steps of the series; None: the frequency's default
    folds: int = 5
    use_prophet: str = "auto"  # "auto", "always" or "never"
    campaigns: tuple[CampaignWindow, ...] = ()
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
        )
    if step < int(2.5 * DAY):
        return Frequency(step, "daily", (7, 365), 30, 14, 4 * 365 + 1)
    if step < 20 * DAY:
        return Frequency(step, "weekly", (52,), 8, 16, 5 * 52)
    return Frequency(step, "monthly", (12,), 12, 24, 30 * 12)


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


# --- candidate models -------------------------------------------------------------


def seasonal_naive(y: np.ndarray, horizon: int, period: int) -> np.ndarray:
    """Repeat the last full season (the last value when there is none)."""
    if period <= 1 or len(y) < period:
        return np.full(horizon, y[-1], dtype=float)
    return y[-period:][np.arange(horizon) % period].astype(float)


def holt_winters(
    y: np.ndarray,
    horizon: int,
    period: int,
    alpha: float = 0.25,
    beta: float = 0.03,
    gamma: float = 0.2,
    phi: float = 0.95,
) -> np.ndarray:
    """Damped additive Holt-Winters with fixed smoothing parameters (one pass)."""
    n = len(y)
    m = period if period > 1 and n >= 2 * period else 1
    if m > 1:
        level = float(np.mean(y[:m]))
        trend = float(np.mean(y[m : 2 * m]) - level) / m
        season = (y[:m] - level).astype(float).tolist()
    else:
        level, trend, season = float(y[0]), 0.0, [0.0]
    for t in range(n):
        s = season[t % m]
        previous = level
        level = alpha * (y[t] - s) + (1 - alpha) * (previous + phi * trend)
        trend = beta * (level - previous) + (1 - beta) * phi * trend
        if m > 1:
            season[t % m] = gamma * (y[t] - level) + (1 - gamma) * s
    damping = np.cumsum(phi ** np.arange(1, horizon + 1))
    seasonal = np.array([season[(n + k) % m] for k in range(horizon)])
    return level + damping * trend + seasonal


def seasonal_ar(
    y: np.ndarray, horizon: int, periods: tuple[int, ...], order: int = 3
) -> np.ndarray:
    """Autoregression on lags 1..order and each period p, p+1, fitted by ridge least
    squares and iterated over the horizon; forecasts stay within the history's range
    widened by that range on each side."""
    n = len(y)
    lags = set(range(1, order + 1))
    for period in periods:
        if n >= 3 * period + 2:
            lags |= {period, period + 1}
    lags = sorted(lag for lag in lags if lag < n - 4)
    if not lags:
        return np.full(horizon, y[-1], dtype=float)
    top = lags[-1]
    rows = n - top
    design = np.empty((rows, len(lags) + 1))
    for column, lag in enumerate(lags):
        design[:, column] = y[top - lag : n - lag]
    design[:, -1] = 1.0
    target = y[top:]
    gram = design.T @ design
    ridge = 1e-6 * (np.trace(gram) / len(gram) + 1.0)
    coefficients = np.linalg.solve(gram + ridge * np.eye(len(gram)), design.T @ target)
    weights, intercept = coefficients[:-1], coefficients[-1]
    low, high = float(np.min(y)), float(np.max(y))
    span = high - low
    buffer = np.concatenate([y.astype(float), np.zeros(horizon)])
    lag_array = np.array(lags)
    for k in range(horizon):
        position = n + k
        value = float(weights @ buffer[position - lag_array]) + intercept
        buffer[position] = min(max(value, low - span), high + span)
    return buffer[n:]


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


# --- scoring ---------------------------------------------------------------------


def mase_scale(y: np.ndarray, period: int) -> float:
    """Mean absolute error of the in-sample seasonal-naive forecast (MASE's divisor)."""
    m = period if period > 1 and len(y) > period else 1
    diffs = np.abs(y[m:] - y[:-m])
    return float(np.mean(diffs)) if len(diffs) else 0.0


def smape(actual: np.ndarray, predicted: np.ndarray) -> float:
    """Symmetric MAPE in percent (0-200); a point where both are 0 counts as 0."""
    denominator = np.abs(actual) + np.abs(predicted)
    ratio = np.divide(
        2 * np.abs(actual - predicted),
        denominator,
        out=np.zeros_like(denominator, dtype=float),
        where=denominator > 0,
    )
    return float(100 * np.mean(ratio))


def conformal_widths(residuals: np.ndarray, level: float, horizon: int) -> np.ndarray:
    """Half-widths per horizon step from backtest errors (folds x steps); see the
    module docstring for the method."""
    scores = np.abs(np.asarray(residuals, dtype=float))
    folds, steps = scores.shape
    radius = max(1, steps // 6)
    widths = np.empty(steps)
    for j in range(steps):
        pool = np.sort(scores[:, max(0, j - radius) : j + radius + 1].ravel())
        rank = math.ceil((len(pool) + 1) * level)
        widths[j] = pool[min(rank, len(pool)) - 1]
    widths = np.maximum.accumulate(widths)
    if horizon <= steps:
        return widths[:horizon]
    beyond = widths[-1] * np.sqrt(np.arange(steps + 1, horizon + 1) / steps)
    return np.concatenate([widths, beyond])


def cross_conformal_coverage(residuals: np.ndarray, level: float) -> float | None:
    """Share of backtest errors inside bands computed from the other folds only."""
    folds, steps = residuals.shape
    if folds < 2:
        return None
    inside = []
    for fold in range(folds):
        others = np.delete(residuals, fold, axis=0)
        widths = conformal_widths(others, level, steps)
        inside.append(np.abs(residuals[fold]) <= widths)
    return float(np.mean(inside))


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
    exogenous = bool(options.campaigns or options.holiday_country or options.regressors)
    yearly = frequency.kind == "daily" and n >= 730
    return exogenous or yearly


def _predict_all(
    names: list[str],
    seconds: np.ndarray,
    y: np.ndarray,
    horizon: int,
    frequency: Frequency,
    options: ForecastOptions,
) -> dict[str, np.ndarray]:
    periods = usable_periods(frequency, len(y))
    primary = periods[0] if periods else 1
    predictions: dict[str, np.ndarray] = {}
    for name in names:
        if name == "seasonal_naive":
            predictions[name] = seasonal_naive(y, horizon, primary)
        elif name == "ets":
            predictions[name] = holt_winters(y, horizon, primary)
        elif name == "seasonal_ar":
            predictions[name] = seasonal_ar(y, horizon, periods)
        elif name == "ensemble":
            predictions[name] = (predictions["ets"] + predictions["seasonal_ar"]) / 2
        elif name == "prophet":
            future = future_timestamps(int(seconds[-1]), horizon, frequency)
            predictions[name] = prophet_forecast(seconds, y, future, frequency, options)
    return predictions


def _apply_campaigns(
    future: np.ndarray, yhat: np.ndarray, campaigns: tuple[CampaignWindow, ...]
) -> np.ndarray:
    adjusted = yhat.copy()
    for campaign in campaigns:
        inside = (future >= campaign.start) & (future < campaign.end)
        adjusted[inside] *= 1 + campaign.lift
    return adjusted


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

    names = list(CHEAP_MODELS)
    if _wants_prophet(frequency, n, options):
        names.append("prophet")
    min_train = max(frequency.min_history // 2, min(primary, n // 2) + 2, 4)
    folds = max(1, options.folds)
    test = max(1, min(horizon, (n - min_train) // folds))
    folds = max(1, min(folds, (n - min_train) // test))
    errors = {name: [] for name in names}
    scores = {name: ([], []) for name in names}
    for fold in range(folds, 0, -1):
        origin = n - fold * test
        train, actual = y[:origin], y[origin : origin + test]
        predictions = _predict_all(
            names, seconds[:origin], train, test, frequency, options
        )
        scale = mase_scale(train, primary) or 1.0
        for name, predicted in predictions.items():
            errors[name].append(actual - predicted)
            scores[name][0].append(float(np.mean(np.abs(actual - predicted))) / scale)
            scores[name][1].append(smape(actual, predicted))
    summary = {
        name: Scores(mase=float(np.mean(m)), smape=float(np.mean(s)))
        for name, (m, s) in scores.items()
    }
    chosen = min(
        names,
        key=lambda name: (round(summary[name].mase, 6), MODEL_COST_ORDER.get(name, 9)),
    )
    residuals = np.array(errors[chosen])
    coverage = {level: cross_conformal_coverage(residuals, level) for level in LEVELS}
    summary[chosen] = Scores(
        mase=summary[chosen].mase,
        smape=summary[chosen].smape,
        coverage_80=coverage[0.8],
        coverage_95=coverage[0.95],
    )
    final_names = [chosen] if chosen != "ensemble" else ["ets", "seasonal_ar", chosen]
    yhat = _predict_all(final_names, seconds, y, horizon, frequency, options)[chosen]
    future = future_timestamps(int(seconds[-1]), horizon, frequency)
    if chosen != "prophet":
        yhat = _apply_campaigns(future, yhat, options.campaigns)
    non_negative = float(np.min(y)) >= 0
    if non_negative:
        yhat = np.maximum(yhat, 0.0)
    bands = {}
    for level in LEVELS:
        width = conformal_widths(residuals, level, horizon)
        lower = yhat - width
        bands[level] = (np.maximum(lower, 0.0) if non_negative else lower, yhat + width)
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
    )
