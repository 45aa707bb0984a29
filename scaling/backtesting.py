"""Rolling-origin backtests: where the origins go, how their errors count in the
choice of model, and the accuracy scores (MASE, sMAPE).

Model choice weighs the week evenly. When a backtest window is shorter than the
series' longest cycle in use (48 hours of a 168-hour week), each window sees only
part of the cycle, so an error counts by its position in the cycle (the hour of the
week), each position as much as any other whichever origins happened to cross it,
and recency only breaks ties (``phase_balanced_mean``). When every window spans the
whole cycle (30 days of daily data, 12 months of monthly data), each window already
weighs the positions evenly, and origins are weighed by recency
(``recency_weights``) so that a change of trend counts.

Pure computation on numpy arrays.
"""

import numpy as np

# Backtest origins over which an origin's weight in breaking ties halves.
RECENCY_HALF_LIFE = 3


def backtest_origins(
    n: int,
    horizon: int,
    min_history: int,
    span: int,
    primary: int,
    count: int,
    cycle: int = 0,
) -> tuple[np.ndarray, int]:
    """Forecast origins of the rolling-origin backtest and the steps each scores.

    Every origin keeps at least one full season (plus two points) of training data.
    Up to ``count`` origins with a whole test window before the end of the history
    are spread evenly over the last ``span`` steps that allow that; at half
    that spacing, later origins follow whose windows the end of the history cuts
    short (at least a sixteenth of the window observed), so that a change in the
    last hours or days already counts in the choice of model. With a ``cycle``
    (steps), the origins whole cycles before the end that fall in the span are
    added: their windows cover the same positions of the cycle as the forecast;
    and every origin keeps two whole cycles behind it when the history leaves
    half a cycle of origins after that.
    """
    min_train = max(min_history // 2, min(primary, n // 2) + 2, 4)
    steps = max(1, min(horizon, (n - min_train) // 2))
    if cycle > 1 and n - steps - 2 * cycle >= cycle // 2:
        # Two whole cycles before every origin, when that leaves half a cycle of
        # origins: the models of the cycle are then scored on every window.
        min_train = max(min_train, 2 * cycle)
    last = n - steps
    first = max(min_train, last - max(span, steps))
    if last < first:
        return np.zeros(0, dtype=np.int64), steps
    spread = np.unique(np.round(np.linspace(first, last, max(1, count))).astype(int))
    stride = max(1, round((last - first) / max(1, count - 1)))
    trailing_stride = max(1, stride // 2)
    trailing = np.arange(
        last + trailing_stride, n - max(1, steps // 16) + 1, trailing_stride
    )
    alike = np.zeros(0, dtype=np.int64)
    if cycle > 1:
        alike = n - cycle * np.arange(1, (n - first) // cycle + 1)
        alike = alike[(alike >= first) & (alike <= last)]
    origins = np.unique(np.concatenate([spread, alike]))
    return np.concatenate([origins, trailing]).astype(np.int64), steps


def recency_weights(observed: np.ndarray, steps: int) -> np.ndarray:
    """Weight of each origin (in time order): the square root of its share of
    observed steps (a cut-short window counts less, but a recent change still
    shows), halved every ``RECENCY_HALF_LIFE`` origins back from the latest."""
    age = np.arange(len(observed))[::-1]
    return np.sqrt(np.asarray(observed) / steps) * 0.5 ** (age / RECENCY_HALF_LIFE)


def phase_balanced_mean(values: np.ndarray, phases: np.ndarray, cycle: int) -> float:
    """Mean of ``values`` (NaN: not observed) that weighs each position of the
    cycle evenly: the mean of the per-position means over the positions seen."""
    seen = ~np.isnan(values)
    position = np.asarray(phases)[seen] % max(1, cycle)
    sums = np.bincount(position, weights=values[seen], minlength=cycle)
    counts = np.bincount(position, minlength=cycle)
    present = counts > 0
    if not np.any(present):
        return float("nan")
    return float(np.mean(sums[present] / counts[present]))


def mase_scale(y: np.ndarray, period: int) -> float:
    """Mean absolute error of the in-sample seasonal-naive forecast (MASE's divisor)."""
    m = period if period > 1 and len(y) > period else 1
    diffs = np.abs(y[m:] - y[:-m])
    return float(np.mean(diffs)) if len(diffs) else 0.0


def mase_scales(y: np.ndarray, origins: np.ndarray, period: int) -> np.ndarray:
    """``mase_scale(y[:o], period)`` for each origin ``o``, from one cumulative sum;
    0 becomes 1 so that a flat training window does not divide by zero."""
    m = period if period > 1 and int(np.min(origins)) > period else 1
    cumulative = np.concatenate([[0.0], np.cumsum(np.abs(y[m:] - y[:-m]))])
    counts = np.asarray(origins, dtype=np.int64) - m
    scales = cumulative[counts] / np.maximum(counts, 1)
    return np.where(scales > 0, scales, 1.0)


def smape(actual: np.ndarray, predicted: np.ndarray) -> float:
    """Symmetric MAPE in percent (0-200); a point where both are 0 counts as 0."""
    return float(np.mean(smape_rows(np.atleast_2d(actual), np.atleast_2d(predicted))))


def smape_rows(actual: np.ndarray, predicted: np.ndarray) -> np.ndarray:
    denominator = np.abs(actual) + np.abs(predicted)
    ratio = np.divide(
        2 * np.abs(actual - predicted),
        denominator,
        out=np.zeros_like(denominator, dtype=float),
        where=denominator > 0,
    )
    ratio[np.isnan(actual)] = np.nan
    return 100 * np.nanmean(ratio, axis=1)
