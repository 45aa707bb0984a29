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
- Conditioned on the position in the week (sub-daily data): errors are divided by
  the series' usual change at their hour of the week (``phase_scales``: the mean
  absolute change from the same hour a cycle earlier, over the neighbouring hours,
  measured before the first origin) and the step quantiles of those ratios are
  multiplied back by the forecast hours' scales, so quiet nights get narrow bands
  and busy weekday peaks wide ones, from the same pooled errors. They are also
  divided by the size of the changes in the cycle before their origin
  (``recent_scales``), and the forecast's band multiplied by that of the last
  cycle: the errors after a holiday week or an outage are large and so is that
  week's change, so they do not widen the bands after a quiet week, and the other
  way round. This second conditioning applies when the cycle is a week that the
  backtest windows see only part of: a week of changes measures the regime (a
  holiday week, an outage), one day of them mostly noise.
- Which of these conditionings a series' bands use is chosen on its own backtest
  (``choose_conditioning``): the step alone, or also the hour of the day, the
  hour of the week (and, where it applies, the change of the cycle before the
  origin), each scored by the online weighted interval score of its bands on the
  origins after those that calibrated them. Noise that is the same at every hour
  keeps the coarser conditioning; noise that follows the week gets the week's.
- The reported coverage is measured on windows like the forecast window: each
  scored error counts by its position in the cycle, each position the forecast
  window crosses as much as any other (``target`` positions).
"""

import functools
from dataclasses import dataclass

import numpy as np

from scaling.backtesting import phase_balanced_mean

# Step size of the adaptive update, per origin. Small: the update corrects a
# persistent bias in coverage over a dozen origins without chasing every miss.
ACI_GAMMA = 0.02
# Calibration origins needed before an origin is scored for the reported coverage.
MIN_CALIBRATION = 3
# Steps at which the pooled quantile is computed exactly.
ANCHORS = 24


# Neighbouring positions on each side pooled into a position's scale.
SCALE_RADIUS = 2


@dataclass(frozen=True)
class Calibration:
    widths: dict  # level -> half-widths per backtest step (np.ndarray)
    coverage: dict  # level -> online empirical coverage (0-1) or None
    alpha: dict  # level -> the adapted miscoverage target used for ``widths``
    # Online weighted interval score of the bands (series units; lower is better),
    # None when no origin was scored.
    interval_score: float | None = None
    # level x origin x step: 1 where the online band held the error, 0 where it
    # missed, NaN where the origin was not scored or the step not observed.
    hits: np.ndarray | None = None
    # origin x step: the weighted interval score of each scored error, else NaN.
    penalties: np.ndarray | None = None


def step_quantiles(scores: np.ndarray, level: float) -> np.ndarray:
    """Conformal half-widths per step from absolute errors (origins x steps; NaN
    where a step was not observed); see ``step_quantiles_many``."""
    return step_quantiles_many(scores, (level,))[0]


@functools.lru_cache(maxsize=64)
def _pooling(steps: int) -> tuple[int, np.ndarray, np.ndarray]:
    """For ``steps`` steps: the pooling radius, the anchor steps and the padded
    columns each anchor pools."""
    radius = max(1, steps // 12)
    anchors = np.unique(np.round(np.linspace(0, steps - 1, min(steps, ANCHORS))))
    anchors = anchors.astype(int)
    columns = anchors[:, None] + np.arange(2 * radius + 1)[None, :]
    return radius, anchors, columns


def step_quantiles_many(scores: np.ndarray, levels) -> np.ndarray:
    """Half-widths per level and step (levels x steps).

    The pooled quantile is computed at up to ``ANCHORS`` evenly spaced steps and
    interpolated linearly between them (long 5-minute horizons have hundreds of
    steps whose neighbouring quantiles barely differ). Steps without any error take
    the width of the nearest step that has some.
    """
    scores = np.abs(np.asarray(scores, dtype=float))
    count, steps = scores.shape
    radius, anchors, columns = _pooling(steps)
    levels = np.clip(np.asarray(levels, dtype=float), 0.0, 1.0)
    # pools[a]: the errors of steps anchors[a] - radius .. + radius of every origin,
    # sorted with the missing ones (NaN) last.
    padded = np.full((count, steps + 2 * radius), np.nan)
    padded[:, radius : radius + steps] = scores
    pools = padded[:, columns].transpose(1, 0, 2).reshape(len(anchors), -1)
    pools.sort(axis=1)
    sizes = np.sum(~np.isnan(pools), axis=1)
    known = sizes > 0
    if not np.any(known):
        return np.zeros((len(levels), steps))
    ranks = np.ceil((sizes[None, :] + 1) * levels[:, None]).astype(int)
    ranks = np.clip(ranks, 1, np.maximum(sizes, 1)[None, :])
    values = pools[np.arange(len(anchors))[None, :], ranks - 1]
    positions = np.arange(steps)
    widths = np.array(
        [np.interp(positions, anchors[known], row[known]) for row in values]
    )
    return np.maximum.accumulate(widths, axis=1)


def extend_widths(widths: np.ndarray, horizon: int) -> np.ndarray:
    """Widths for ``horizon`` steps: the backtest ones, then square-root growth."""
    steps = len(widths)
    if horizon <= steps:
        return widths[:horizon]
    beyond = widths[-1] * np.sqrt(np.arange(steps + 1, horizon + 1) / steps)
    return np.concatenate([widths, beyond])


def phase_scales(y: np.ndarray, end: int, cycle: int) -> np.ndarray:
    """The usual size of a change at each position of the cycle (positions are
    indices of ``y`` modulo ``cycle``): the mean of ``|y[t] - y[t - cycle]|`` over
    ``t < end`` at that position and the ``SCALE_RADIUS`` neighbouring ones on each
    side (around the cycle), floored at a tenth of the overall mean so that a flat
    stretch does not get a zero-width band. Ones when there is no full cycle."""
    changes = np.abs(y[cycle:end] - y[: max(0, end - cycle)])
    if len(changes) == 0 or not np.any(changes > 0):
        return np.ones(cycle)
    position = np.arange(cycle, cycle + len(changes)) % cycle
    sums = np.bincount(position, weights=changes, minlength=cycle)
    counts = np.bincount(position, minlength=cycle).astype(float)
    shifts = range(-SCALE_RADIUS, SCALE_RADIUS + 1)
    pooled_sums = sum(np.roll(sums, shift) for shift in shifts)
    pooled_counts = sum(np.roll(counts, shift) for shift in shifts)
    overall = float(np.mean(changes))
    scales = np.divide(
        pooled_sums,
        pooled_counts,
        out=np.full(cycle, overall),
        where=pooled_counts > 0,
    )
    return np.maximum(scales, 0.1 * overall)


def recent_scales(y: np.ndarray, origins: np.ndarray, cycle: int) -> np.ndarray:
    """The size of the series' recent changes at each origin: the mean of
    ``|y[t] - y[t - cycle]|`` over the last cycle before it (what is there when
    less), floored at a tenth of the mean over the whole series. A week that
    changed much from the one before (a holiday, an outage) widens the bands that
    follow it; a quiet one narrows them."""
    origins = np.asarray(origins, dtype=np.int64)
    changes = np.abs(y[cycle:] - y[:-cycle]) if len(y) > cycle else np.zeros(0)
    if len(changes) == 0 or not np.any(changes > 0):
        return np.ones(len(origins))
    cumulative = np.concatenate([[0.0], np.cumsum(changes)])
    end = np.clip(origins - cycle, 0, len(changes))
    start = np.maximum(end - cycle, 0)
    counts = np.maximum(end - start, 1)
    means = (cumulative[end] - cumulative[start]) / counts
    overall = float(np.mean(changes))
    return np.maximum(np.where(end > start, means, overall), 0.1 * overall)


def calibrate(
    residuals: np.ndarray,
    origins: np.ndarray,
    levels: tuple[float, ...],
    gamma: float = ACI_GAMMA,
    phases: np.ndarray | None = None,
    target: np.ndarray | None = None,
    scales: np.ndarray | None = None,
) -> Calibration:
    """Bands and their online coverage from backtest residuals (NaN where a step
    lies past the end of the history); see the module docstring. ``origins`` are
    the positions of the rows' forecast origins, in increasing order. With
    ``phases`` (each residual's position in the cycle, same shape) and ``target``
    (the positions the forecast window crosses), the coverage counts only the
    errors at target positions, each position evenly. With ``scales`` (same
    shape, positive) the widths are of ``residuals / scales``."""
    residuals = np.asarray(residuals, dtype=float)
    origins = np.asarray(origins, dtype=np.int64)
    count, steps = residuals.shape
    scores = np.abs(residuals)
    if scales is not None:
        scores = scores / scales
    # Position of each error's actual value; an origin sees the errors before it.
    seen_at = origins[:, None] + np.arange(steps)[None, :]
    observed = (~np.isnan(scores)).sum(axis=1)
    # An origin's miss rate is known once its last observed step is.
    complete_at = origins + observed
    nominal = 1.0 - np.asarray(levels, dtype=float)
    inside = [[] for _ in levels]
    hits_at = np.full((len(levels), count, steps), np.nan)
    penalties = np.full((count, steps), np.nan)
    unit = np.ones((count, steps)) if scales is None else np.asarray(scales, float)
    misses = np.full((len(levels), count), np.nan)
    for i in range(count):
        visible = np.where(seen_at < origins[i], scores, np.nan)
        if np.sum((~np.isnan(visible)).any(axis=1)) < MIN_CALIBRATION:
            continue
        done = (complete_at <= origins[i]) & ~np.isnan(misses[0])
        alpha = nominal + gamma * np.sum(nominal[:, None] - misses[:, done], axis=1)
        bands = step_quantiles_many(visible[:i], 1.0 - alpha)
        mine = ~np.isnan(scores[i])
        hits = scores[i][mine][None, :] <= bands[:, mine]
        hits_at[:, i, mine] = hits
        penalties[i, mine] = unit[i, mine] * weighted_interval_score(
            scores[i][mine], bands[:, mine], nominal
        )
        shares = hits.mean(axis=1)
        for index in range(len(levels)):
            inside[index].append(float(shares[index]))
        misses[:, i] = 1.0 - shares
    done = ~np.isnan(misses[0])
    alpha = nominal + gamma * np.sum(nominal[:, None] - misses[:, done], axis=1)
    final = step_quantiles_many(scores, 1.0 - alpha)
    widths = {level: final[index] for index, level in enumerate(levels)}
    coverage = {
        level: float(np.mean(inside[index])) if inside[index] else None
        for index, level in enumerate(levels)
    }
    if phases is not None and target is not None and inside[0]:
        cycle = int(max(np.max(phases), np.max(target))) + 1
        wanted = np.isin(phases, target)
        for index, level in enumerate(levels):
            at_target = np.where(wanted, hits_at[index], np.nan)
            if np.any(~np.isnan(at_target)):
                coverage[level] = phase_balanced_mean(at_target, phases, cycle)
    alphas = {level: float(alpha[index]) for index, level in enumerate(levels)}
    interval_score = None
    if np.any(~np.isnan(penalties)):
        interval_score = (
            phase_balanced_mean(penalties, phases, int(np.max(phases)) + 1)
            if phases is not None
            else float(np.nanmean(penalties))
        )
    return Calibration(
        widths=widths,
        coverage=coverage,
        alpha=alphas,
        interval_score=interval_score,
        hits=hits_at,
        penalties=penalties,
    )


def weighted_interval_score(
    errors: np.ndarray, widths: np.ndarray, alphas: np.ndarray
) -> np.ndarray:
    """The weighted interval score (Bracher et al., 2021) of symmetric bands, per
    error: ``sum_k alpha_k / 2 * (2 w_k + 2 / alpha_k * max(|e| - w_k, 0))`` over
    the levels ``k`` (miscoverage ``alpha_k``, half-widths ``w_k``, rows of
    ``widths``). A proper score: in expectation lowest for bands at the true
    quantiles, so it rewards both coverage and narrowness."""
    alphas = np.asarray(alphas, dtype=float)[:, None]
    excess = np.maximum(np.abs(errors)[None, :] - widths, 0.0)
    return np.sum(alphas * widths + excess, axis=0)


@dataclass(frozen=True)
class Conditioning:
    """What the bands' widths follow besides the step from the origin: the scale
    of each backtest error (errors are divided by it before the step quantiles)
    and of each forecast step (the widths are multiplied by it)."""

    name: str  # in words, for the explanation
    backtest: np.ndarray  # origins x steps, positive
    forecast: np.ndarray  # forecast steps, positive


def conditionings(
    y: np.ndarray,
    origins: np.ndarray,
    steps: int,
    horizon: int,
    cycles: tuple[tuple[int, str], ...],
    regime: int = 0,
    regime_name: str = "cycle",
) -> list[Conditioning]:
    """The conditionings a series' bands may use, coarsest first: the step alone,
    then for each ``(period, position name)`` of ``cycles`` the step and the usual
    change at that position (``phase_scales``, measured before the first origin).
    With a ``regime`` period, every option also follows the size of the changes
    in that cycle before the origin (``recent_scales``). A position's usual
    change needs a whole cycle of changes before the first origin (each position
    then pools the changes of ``2 * SCALE_RADIUS + 1`` neighbouring positions);
    with less history the coarser conditionings remain."""
    origins = np.asarray(origins, dtype=np.int64)
    n = len(y)
    positions = origins[:, None] + np.arange(steps)[None, :]
    ahead = np.arange(n, n + horizon)
    recent_back, recent_ahead = np.ones((len(origins), 1)), 1.0
    suffix = ""
    if regime:
        recent = recent_scales(y, np.append(origins, n), regime)
        recent_back, recent_ahead = recent[:-1, None], recent[-1]
        suffix = f" and the last {regime_name}'s change"
    options = [
        Conditioning(
            "step" + suffix,
            np.ones(positions.shape) * recent_back,
            np.ones(horizon) * recent_ahead,
        )
    ]
    first = int(origins[0])
    for period, position in cycles:
        if period <= 1 or first < 2 * period:
            continue
        local = phase_scales(y, first, period)
        options.append(
            Conditioning(
                f"step, {position}{suffix}",
                local[positions % period] * recent_back,
                local[ahead % period] * recent_ahead,
            )
        )
    return options


def choose_conditioning(
    residuals: np.ndarray,
    origins: np.ndarray,
    options: list[Conditioning],
    levels: tuple[float, ...],
    phases: np.ndarray | None = None,
) -> tuple[Conditioning, dict]:
    """The conditioning whose bands score best on the backtest.

    Each origin's bands are calibrated on the origins before it only
    (``calibrate``, online) and scored by the weighted interval score on its own
    errors, each position of ``phases`` weighing evenly when given. The finest
    option (the last) is kept unless another scores lower by more than one
    standard error of the paired per-origin differences: a backtest of a few
    dozen origins tells options apart only that well, and the finest follows what
    the series' history shows before any origin. Returns the choice and each
    option's score (name -> score or None).
    """
    scores, per_origin = {}, {}
    for option in options if len(options) > 1 else ():
        calibration = calibrate(
            residuals, origins, levels, phases=phases, scales=option.backtest
        )
        scores[option.name] = calibration.interval_score
        penalties = calibration.penalties
        seen = ~np.isnan(penalties)
        per_origin[option.name] = np.divide(
            np.nansum(penalties, axis=1),
            seen.sum(axis=1),
            out=np.full(len(penalties), np.nan),
            where=seen.any(axis=1),
        )
    finest = options[-1]
    scored = [option for option in options if scores.get(option.name) is not None]
    if finest not in scored:
        return finest, scores
    best = min(scored, key=lambda option: scores[option.name])
    differences = per_origin[best.name] - per_origin[finest.name]
    differences = differences[~np.isnan(differences)]
    if best is finest or len(differences) < 2:
        return finest, scores
    error = float(np.std(differences, ddof=1)) / np.sqrt(len(differences))
    return (best if float(np.mean(differences)) + error < 0 else finest), scores
