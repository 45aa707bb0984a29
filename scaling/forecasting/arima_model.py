"""The ARIMA-class candidate: a weekly decomposition (``scaling.candidates``) with an
ARMA model of its remainder.

The ARMA parameters are estimated once per series by statsmodels (Hannan-Rissanen,
checked stationary and invertible, else an AR part by Burg's method) on the
remainder before the first origin, then held fixed: every origin, the final one
included, forecasts with the same parameters from its own last remainders, so the
backtest scores exactly the model that forecasts. The cost is bounded by
construction: one fit (two least squares regressions, no iterative optimiser) on
at most ``FIT_WEEKS`` weeks of remainders, then a numpy recursion per origin.
"""

import warnings

import numpy as np

from scaling.candidates import week_decomposition_many

ORDER = (2, 0, 1)
# Weeks of remainders the parameters are estimated on, at most.
FIT_WEEKS = 4


def arma_parameters(remainder: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
    """(mean, AR coefficients, MA coefficients) of an ARMA ``ORDER`` fitted to
    ``remainder`` by the Hannan-Rissanen regressions; when those give a
    non-stationary or non-invertible model, the AR part alone by Burg's method
    (always stationary) and no MA part. Zero coefficients for a constant
    remainder, NaN when no fit is possible."""
    from statsmodels.tsa.arima.model import ARIMA

    p, _, q = ORDER
    mean = float(np.mean(remainder))
    centred = remainder - mean
    if float(np.std(centred)) <= 1e-9 * max(1.0, abs(mean)):
        # Nothing left to model: the remainder is its mean.
        return mean, np.zeros(p), np.zeros(q)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            fitted = ARIMA(centred, order=ORDER, trend="n").fit(
                method="hannan_rissanen"
            )
            params = np.asarray(fitted.params, dtype=float)
            return mean, params[:p], params[p : p + q]
        except (ValueError, ZeroDivisionError, np.linalg.LinAlgError):
            pass
        try:
            fitted = ARIMA(centred, order=(p, 0, 0), trend="n").fit(method="burg")
        except (ValueError, ZeroDivisionError, np.linalg.LinAlgError):
            return float("nan"), np.full(p, np.nan), np.full(q, np.nan)
    return mean, np.asarray(fitted.params, dtype=float)[:p], np.zeros(q)


def arma_forecast_many(
    remainders: np.ndarray,
    steps: int,
    mean: float,
    ar: np.ndarray,
    ma: np.ndarray,
) -> np.ndarray:
    """ARMA forecasts (rows, steps) from each row of past remainders (oldest
    first), innovations from the conditional recursion started at zero."""
    x = remainders - mean
    rows, length = x.shape
    p, q = len(ar), len(ma)
    shocks = np.zeros((rows, length))
    for t in range(length):
        value = x[:, t].copy()
        for i in range(min(p, t)):
            value -= ar[i] * x[:, t - 1 - i]
        for j in range(min(q, t)):
            value -= ma[j] * shocks[:, t - 1 - j]
        shocks[:, t] = value
    past = np.concatenate([x, np.zeros((rows, steps))], axis=1)
    noise = np.concatenate([shocks, np.zeros((rows, steps))], axis=1)
    for h in range(steps):
        t = length + h
        value = np.zeros(rows)
        for i in range(p):
            value += ar[i] * past[:, t - 1 - i]
        for j in range(q):
            value += ma[j] * noise[:, t - 1 - j]
        past[:, t] = value
    return past[:, length:] + mean


def decomposition_arima_many(
    y: np.ndarray, origins: np.ndarray, steps: int, week: int, weeks: int
) -> np.ndarray:
    """Level plus weekly profile plus the ARMA forecast of the remainder, from
    each origin (shape (origins, steps)); NaN when the ARMA fit fails."""
    origins = np.asarray(origins, dtype=np.int64)
    first = int(np.min(origins))
    length = min(FIT_WEEKS * week, first - week)
    _, _, fit_on = week_decomposition_many(y, np.array([first]), week, weeks, length)
    mean, ar, ma = arma_parameters(fit_on[0])
    if not (np.isfinite(mean) and np.isfinite(ar).all() and np.isfinite(ma).all()):
        return np.full((len(origins), steps), np.nan)
    levels, profiles, remainders = week_decomposition_many(y, origins, week, weeks)
    h = np.arange(steps)
    remainder = arma_forecast_many(remainders, steps, mean, ar, ma)
    return levels[:, None] + profiles[:, h % week] + remainder
