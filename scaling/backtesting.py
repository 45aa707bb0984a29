"""Rolling-origin backtests: where the origins go, how much each counts in the choice
of model, and the accuracy scores (MASE, sMAPE).

Pure computation on numpy arrays.
"""

import numpy as np

# Backtest origins over which an origin's weight in model selection halves.
RECENCY_HALF_LIFE = 3


def backtest_origins(
    n: int, horizon: int, min_history: int, span: int, primary: int, count: int
) -> tuple[np.ndarray, int]:
    """Forecast origins of the rolling-origin backtest and the steps each scores.

    Every origin keeps at least one full season (plus two points) of training data.
    Up to ``count`` origins with a whole test window before the end of the history
    are spread evenly over the last ``span`` steps that allow that; at half
    that spacing, later origins follow whose windows the end of the history cuts
    short (at least a sixteenth of the window observed), so that a change in the
    last hours or days already counts in the choice of model.
    """
    min_train = max(min_history // 2, min(primary, n // 2) + 2, 4)
    steps = max(1, min(horizon, (n - min_train) // 2))
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
    return np.concatenate([spread, trailing]).astype(np.int64), steps


def selection_weights(origins: np.ndarray, observed: np.ndarray, steps: int):
    """Weight of each backtest origin in the choice of model: the square root of its
    share of observed steps (a cut-short window counts less, but a recent change
    still shows), halved every ``RECENCY_HALF_LIFE`` origins back from the latest."""
    age = np.arange(len(origins))[::-1]
    return np.sqrt(observed / steps) * 0.5 ** (age / RECENCY_HALF_LIFE)


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
