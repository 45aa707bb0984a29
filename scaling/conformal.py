"""Prediction bands calibrated on rolling-origin backtest errors.

Pure computation on arrays of backtest residuals (actual - forecast), one row per
origin in time order, one column per horizon step.

Method (``calibrate``):

- Split-conformal by horizon step: the half-width for step ``j`` at level ``L`` is
  the ``ceil((N+1) L)``-th smallest absolute error among the ``N`` errors of steps
  ``j-r .. j+r`` of the calibration origins (``r`` about a twelfth of the backtest
  horizon, so neighbouring steps share their errors), made non-decreasing in ``j``.
  Past the backtest horizon the last width grows with the square root of the step.
- Online and causal: an origin is scored only against origins whose whole test
  window had been observed at its own origin (``origin' + steps <= origin``), so the
  reported coverage is an out-of-sample estimate, never a fit to the errors scored.
- Adaptive conformal inference (Gibbs and Candes, 2021) against distribution shift:
  the miscoverage target of origin ``i`` is
  ``alpha_i = alpha + gamma * sum_k (alpha - miss_k)`` over the origins ``k`` already
  observed, where ``miss_k`` is the share of origin ``k``'s steps outside its band.
  Misses narrow ``alpha_i`` (wider bands), long runs of hits widen it. The final band
  uses the target after every origin.
"""

import math
from dataclasses import dataclass

import numpy as np

# Step size of the adaptive update, per origin. Small: the update corrects a
# persistent bias in coverage over a dozen origins without chasing every miss.
ACI_GAMMA = 0.02
# Calibration origins needed before an origin is scored for the reported coverage.
MIN_CALIBRATION = 3
# Steps at which the pooled quantile is computed exactly.
ANCHORS = 24


@dataclass(frozen=True)
class Calibration:
    widths: dict  # level -> half-widths per backtest step (np.ndarray)
    coverage: dict  # level -> online empirical coverage (0-1) or None
    alpha: dict  # level -> the adapted miscoverage target used for ``widths``


def step_quantiles(scores: np.ndarray, level: float) -> np.ndarray:
    """Conformal half-widths per step from absolute errors (origins x steps; NaN
    where a step was not observed).

    The pooled quantile is computed at up to ``ANCHORS`` evenly spaced steps and
    interpolated linearly between them (long 5-minute horizons have hundreds of
    steps whose neighbouring quantiles barely differ). A step without any error
    takes the width of the nearest earlier step that has some.
    """
    scores = np.abs(np.asarray(scores, dtype=float))
    steps = scores.shape[1]
    radius = max(1, steps // 12)
    level = min(max(level, 0.0), 1.0)
    anchors = np.unique(np.round(np.linspace(0, steps - 1, min(steps, ANCHORS))))
    anchors = anchors.astype(int)
    values = np.full(len(anchors), np.nan)
    for index, j in enumerate(anchors):
        pool = scores[:, max(0, j - radius) : j + radius + 1].ravel()
        pool = pool[~np.isnan(pool)]
        if len(pool) == 0:
            continue
        rank = min(max(math.ceil((len(pool) + 1) * level), 1), len(pool))
        values[index] = np.partition(pool, rank - 1)[rank - 1]
    known = ~np.isnan(values)
    if not np.any(known):
        return np.zeros(steps)
    widths = np.interp(np.arange(steps), anchors[known], values[known])
    return np.maximum.accumulate(widths)


def extend_widths(widths: np.ndarray, horizon: int) -> np.ndarray:
    """Widths for ``horizon`` steps: the backtest ones, then square-root growth."""
    steps = len(widths)
    if horizon <= steps:
        return widths[:horizon]
    beyond = widths[-1] * np.sqrt(np.arange(steps + 1, horizon + 1) / steps)
    return np.concatenate([widths, beyond])


def calibrate(
    residuals: np.ndarray,
    origins: np.ndarray,
    levels: tuple[float, ...],
    gamma: float = ACI_GAMMA,
) -> Calibration:
    """Bands and their online coverage from backtest residuals (NaN where a step
    lies past the end of the history); see the module docstring. ``origins`` are
    the positions of the rows' forecast origins, in increasing order."""
    residuals = np.asarray(residuals, dtype=float)
    origins = np.asarray(origins, dtype=np.int64)
    count, steps = residuals.shape
    scores = np.abs(residuals)
    # Position of each error's actual value; an origin sees the errors before it.
    seen_at = origins[:, None] + np.arange(steps)[None, :]
    observed = (~np.isnan(scores)).sum(axis=1)
    # An origin's miss rate is known once its last observed step is.
    complete_at = origins + observed
    widths, coverage, alphas = {}, {}, {}
    for level in levels:
        nominal = 1.0 - level
        inside = []
        misses = np.full(count, np.nan)
        for i in range(count):
            visible = np.where(seen_at < origins[i], scores, np.nan)
            if np.sum((~np.isnan(visible)).any(axis=1)) < MIN_CALIBRATION:
                continue
            done = (complete_at <= origins[i]) & ~np.isnan(misses)
            alpha = nominal + gamma * float(np.sum(nominal - misses[done]))
            band = step_quantiles(visible[:i], 1.0 - alpha)
            mine = ~np.isnan(scores[i])
            hits = scores[i][mine] <= band[mine]
            inside.append(float(np.mean(hits)))
            misses[i] = 1.0 - inside[-1]
        done = ~np.isnan(misses)
        alpha = nominal + gamma * float(np.sum(nominal - misses[done]))
        widths[level] = step_quantiles(scores, 1.0 - alpha)
        coverage[level] = float(np.mean(inside)) if inside else None
        alphas[level] = alpha
    return Calibration(widths=widths, coverage=coverage, alpha=alphas)
