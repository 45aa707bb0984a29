"""Candidate forecasting models, each evaluated from many origins at once.

Every function takes the whole series ``y`` and an array of forecast origins (the
number of points a forecast may see: origin ``o`` uses ``y[:o]`` only) and returns
an array of shape ``(len(origins), steps)``. The rolling-origin backtest and the
final forecast (origin ``len(y)``) run the same code, and fixed-parameter models are
fitted in one pass over the series whatever the number of origins.

Pure computation: numpy arrays in and out.
"""

import numpy as np


def _seasonal_positions(origins: np.ndarray, steps: int, period: int) -> np.ndarray:
    """Positions of the last season's values repeated over the horizon."""
    h = np.arange(steps)
    return origins[:, None] - period + (h % period)[None, :]


def seasonal_naive_many(
    y: np.ndarray, origins: np.ndarray, steps: int, period: int
) -> np.ndarray:
    """Repeat the last full season (the last value when there is none)."""
    origins = np.asarray(origins, dtype=np.int64)
    if period <= 1 or np.min(origins) < period:
        return np.repeat(y[origins - 1][:, None], steps, axis=1).astype(float)
    return y[_seasonal_positions(origins, steps, period)].astype(float)


def seasonal_naive(y: np.ndarray, horizon: int, period: int) -> np.ndarray:
    """Seasonal naive forecast from the end of ``y``."""
    return seasonal_naive_many(y, np.array([len(y)]), horizon, period)[0]


def _past_seasons(
    y: np.ndarray, origins: np.ndarray, steps: int, period: int, seasons: int
) -> np.ndarray:
    """The values at the same phase in each of the last ``seasons`` seasons, shape
    (seasons, origins, steps); NaN where the history is shorter."""
    positions = _seasonal_positions(origins, steps, period)
    stacked = np.full((seasons, *positions.shape), np.nan)
    for back in range(seasons):
        shifted = positions - back * period
        valid = shifted >= 0
        stacked[back][valid] = y[shifted[valid]]
    return stacked


def seasonal_profile_many(
    y: np.ndarray,
    origins: np.ndarray,
    steps: int,
    period: int,
    seasons: int,
    robust: bool,
) -> np.ndarray:
    """Mean (or median when ``robust``) of the last ``seasons`` seasons at each phase:
    a smoother seasonal naive that is not thrown by one odd day or one spike."""
    if period <= 1 or np.min(origins) < period:
        return seasonal_naive_many(y, origins, steps, period)
    stacked = _past_seasons(y, origins, steps, period, seasons)
    if not np.isnan(stacked).any():
        return np.median(stacked, axis=0) if robust else np.mean(stacked, axis=0)
    return np.nanmedian(stacked, axis=0) if robust else np.nanmean(stacked, axis=0)


def relevel_many(
    y: np.ndarray,
    origins: np.ndarray,
    steps: int,
    period: int,
    seasons: int,
    window: int,
) -> np.ndarray:
    """Last seasons' median profile plus the recent level offset: the median of the
    last ``window`` points minus the median of the same phase in the previous
    seasons. Follows a level shift within ``window`` steps instead of a season."""
    profile = seasonal_profile_many(y, origins, steps, period, seasons, robust=True)
    if period <= 1 or np.min(origins) < period + window:
        return profile
    recent = np.array([np.median(y[o - window : o]) for o in origins])
    # The same phase one to ``seasons`` seasons earlier.
    stacked = _past_seasons(y, origins - window, window, period, seasons)
    offsets = recent - np.nanmedian(np.nanmedian(stacked, axis=0), axis=1)
    return profile + offsets[:, None]


def holt_winters_many(
    y: np.ndarray,
    origins: np.ndarray,
    steps: int,
    period: int,
    alpha: float = 0.25,
    beta: float = 0.03,
    gamma: float = 0.2,
    phi: float = 0.95,
) -> np.ndarray:
    """Damped additive Holt-Winters with fixed smoothing parameters, one pass over
    the series; the state reached at each origin gives that origin's forecast.
    Initialised from the first two seasons (which every origin has seen)."""
    origins = np.asarray(origins, dtype=np.int64)
    n = int(np.max(origins))
    m = period if period > 1 and np.min(origins) >= 2 * period else 1
    values = y[:n].astype(float).tolist()
    if m > 1:
        level = float(np.mean(values[:m]))
        trend = float(np.mean(values[m : 2 * m]) - level) / m
        season = [value - level for value in values[:m]]
    else:
        level, trend, season = values[0], 0.0, [0.0]
    wanted = {int(o) for o in origins}
    states = {}
    for t, value in enumerate(values):
        if t in wanted:
            states[t] = (level, trend, season.copy())
        s = season[t % m]
        previous = level
        level = alpha * (value - s) + (1 - alpha) * (previous + phi * trend)
        trend = beta * (level - previous) + (1 - beta) * phi * trend
        if m > 1:
            season[t % m] = gamma * (value - level) + (1 - gamma) * s
    states[n] = (level, trend, season)
    damping = np.cumsum(phi ** np.arange(1, steps + 1))
    out = np.empty((len(origins), steps))
    for row, origin in enumerate(origins):
        level, trend, season = states[int(origin)]
        phase = (int(origin) + np.arange(steps)) % m
        out[row] = level + damping * trend + np.asarray(season)[phase]
    return out


def seasonal_ar_periods(first: int, periods: tuple[int, ...]) -> tuple[int, ...]:
    """The periods whose lags the seasonal AR uses when its first origin is
    ``first``: each one with two full seasons (plus two points) behind it."""
    return tuple(period for period in periods if first >= 2 * period + 2)


def seasonal_ar_many(
    y: np.ndarray,
    origins: np.ndarray,
    steps: int,
    periods: tuple[int, ...],
    order: int = 3,
) -> np.ndarray:
    """Autoregression on lags 1..order and each period p, p+1, refitted at each origin
    by ridge least squares (cumulative normal equations, so every origin costs one
    small solve) and iterated over the horizon; forecasts stay within the range seen
    so far widened by that range on each side."""
    origins = np.asarray(origins, dtype=np.int64)
    first = int(np.min(origins))
    lags = set(range(1, order + 1))
    for period in seasonal_ar_periods(first, periods):
        lags |= {period, period + 1}
    lags = np.array(sorted(lag for lag in lags if lag < first - 4))
    if len(lags) == 0:
        return np.repeat(y[origins - 1][:, None], steps, axis=1).astype(float)
    top = int(lags[-1])
    n = int(np.max(origins))
    values = y.astype(float)
    rows = np.arange(top, n)
    design = np.empty((len(rows), len(lags) + 1))
    design[:, :-1] = values[rows[:, None] - lags[None, :]]
    design[:, -1] = 1.0
    products = np.einsum("ti,tj->tij", design, design)
    grams = np.cumsum(products, axis=0)
    moments = np.cumsum(design * values[rows][:, None], axis=0)
    running_low = np.minimum.accumulate(values)
    running_high = np.maximum.accumulate(values)
    size = len(lags) + 1
    weights = np.empty((len(origins), size))
    for row, origin in enumerate(origins):
        index = int(origin) - top - 1
        gram = grams[index]
        ridge = 1e-6 * (np.trace(gram) / size + 1.0)
        weights[row] = np.linalg.solve(gram + ridge * np.eye(size), moments[index])
    low = running_low[origins - 1]
    high = running_high[origins - 1]
    span = high - low
    buffer = np.zeros((len(origins), top + steps))
    buffer[:, :top] = values[origins[:, None] - top + np.arange(top)[None, :]]
    for k in range(steps):
        position = top + k
        value = np.einsum("ij,ij->i", weights[:, :-1], buffer[:, position - lags])
        value = value + weights[:, -1]
        buffer[:, position] = np.clip(value, low - span, high + span)
    return buffer[:, top:]


def trailing_means(y: np.ndarray, window: int) -> np.ndarray:
    """``out[t]`` = mean of ``y[t - window : t]`` (NaN for ``t < window``), for
    ``t`` in ``0 .. len(y)``."""
    cumulative = np.concatenate([[0.0], np.cumsum(y, dtype=float)])
    out = np.full(len(y) + 1, np.nan)
    out[window:] = (cumulative[window:] - cumulative[:-window]) / window
    return out


def week_decomposition_many(
    y: np.ndarray, origins: np.ndarray, week: int, weeks: int, length: int = 0
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Level, weekly profile and the last ``length`` remainders (a week when 0)
    at each origin.

    The level at ``t`` is the mean of the week before ``t``; the profile is the
    median of ``y - level`` at the same position of the week over the last
    ``weeks`` weeks (fewer when the history is shorter; the median, so that one
    holiday week in the history does not move it), so it holds the daily
    cycle of every day of the week (weekends included) and the difference between
    the days; the remainder is ``y - level - profile`` over the last week.
    Returns (levels per origin, profiles (origins, week), remainders (origins,
    week)); position ``j`` of a profile or remainder is ``origin - week + j``
    modulo the week. Needs every origin to have two weeks behind it.
    """
    origins = np.asarray(origins, dtype=np.int64)
    means = trailing_means(y, week)
    deviation = y - means[:-1]
    usable = np.minimum(weeks, origins // week - 1)
    phase = np.arange(week)
    stacked = np.full((int(np.max(usable)), len(origins), week), np.nan)
    for back in range(1, int(np.max(usable)) + 1):
        counted = usable >= back
        positions = origins[:, None] - back * week + phase[None, :]
        stacked[back - 1][counted] = deviation[positions[counted]]
    if np.all(usable == usable[0]):
        profiles = np.median(stacked, axis=0)
    else:
        profiles = np.nanmedian(stacked, axis=0)
    length = length or week
    back = np.arange(-length, 0)
    recent = origins[:, None] + back[None, :]
    remainders = deviation[recent] - profiles[:, back % week]
    return means[origins], profiles, remainders


def week_profile_many(
    y: np.ndarray,
    origins: np.ndarray,
    steps: int,
    week: int,
    weeks: int,
    alpha: float = 0.1,
    phi: float = 0.95,
) -> np.ndarray:
    """Multi-seasonal decomposition forecast: the last week's level plus the weekly
    profile (``week_decomposition_many``), plus an exponentially smoothed level of
    the remainder (smoothing ``alpha``) that fades by ``phi`` per step, so a day
    running above or below its usual shape carries into the next hours but not
    into next week."""
    origins = np.asarray(origins, dtype=np.int64)
    levels, profiles, remainders = week_decomposition_many(y, origins, week, weeks)
    ages = np.arange(remainders.shape[1])[::-1]
    smoothing = alpha * (1 - alpha) ** ages
    offsets = remainders @ smoothing / np.sum(smoothing)
    h = np.arange(steps)
    fade = phi ** (h + 1)
    return levels[:, None] + profiles[:, h % week] + offsets[:, None] * fade[None, :]
