"""Bands whose conditioning is chosen on the series' own backtest: planted noise
that depends on the hour of the week, on the hour of the day or on nothing, the
choice the interval score makes, and the coverage of the chosen bands on windows
held out from the choice."""

import numpy as np
import pytest

from scaling.conformal import (
    calibrate,
    choose_conditioning,
    conditionings,
    extend_widths,
    weighted_interval_score,
)

pytestmark = pytest.mark.clockless  # a pure engine: no clock, no database

DAY, WEEK = 24, 168
LEVELS = (0.8, 0.95)
CYCLES = ((DAY, "hour of the day"), (WEEK, "hour of the week"))
HORIZON = 48


def _weekly_sigma(t: np.ndarray) -> np.ndarray:
    """Loud weekday afternoons, quiet nights and a quiet weekend."""
    hour, day = t % DAY, (t // DAY) % 7
    return np.where(day < 5, np.where((hour >= 9) & (hour < 18), 6.0, 1.0), 0.5)


def _daily_sigma(t: np.ndarray) -> np.ndarray:
    """Loud daytime, quiet nights, the same every day of the week."""
    hour = t % DAY
    return np.where((hour >= 8) & (hour < 20), 5.0, 1.0)


SIGMAS = {
    "hour of the week": _weekly_sigma,
    "hour of the day": _daily_sigma,
    "nothing": lambda t: np.full(len(t), 2.0),
}


def _planted(sigma, seed: int, weeks: int = 10):
    """A series whose perfect forecast is 0: noise of the planted size at each
    hour. The backtest errors are the noise itself at every 7 hours over the last
    five weeks before ``n``, and the held-out window is the ``HORIZON`` hours after
    ``n``."""
    rng = np.random.default_rng(seed)
    t = np.arange(weeks * WEEK + HORIZON)
    y = sigma(t) * rng.standard_normal(len(t))
    n = weeks * WEEK
    origins = np.arange(n - 5 * WEEK, n - HORIZON + 1, 7)
    positions = origins[:, None] + np.arange(HORIZON)[None, :]
    return y[:n], origins, y[positions], y[n:]


def _choose(history, origins, residuals):
    options = conditionings(history, origins, HORIZON, HORIZON, CYCLES)
    phases = (origins[:, None] + np.arange(HORIZON)[None, :]) % WEEK
    return options, choose_conditioning(residuals, origins, options, LEVELS, phases)


def test_conditionings_go_from_coarse_to_fine():
    history, origins, _, _ = _planted(SIGMAS["nothing"], seed=0)
    options = conditionings(history, origins, HORIZON, HORIZON, CYCLES, regime=WEEK)
    assert [option.name for option in options] == [
        "step and the last cycle's change",
        "step, hour of the day and the last cycle's change",
        "step, hour of the week and the last cycle's change",
    ]
    assert options[0].backtest.shape == (len(origins), HORIZON)
    assert options[0].forecast.shape == (HORIZON,)


def test_a_position_needs_a_whole_cycle_of_changes_before_the_first_origin():
    y = np.arange(400, dtype=float) % 7
    names = [
        option.name for option in conditionings(y, np.array([300, 320]), 24, 24, CYCLES)
    ]
    assert names == ["step", "step, hour of the day"]


@pytest.mark.parametrize(
    ("planted", "expected"),
    [
        ("hour of the week", "step, hour of the week"),
        ("hour of the day", "step, hour of the day"),
        ("nothing", "step"),
    ],
)
def test_the_interval_score_finds_the_planted_conditioning(planted, expected):
    picks = []
    for seed in range(5):
        history, origins, residuals, _ = _planted(SIGMAS[planted], seed)
        _, (chosen, scores) = _choose(history, origins, residuals)
        picks.append(chosen.name)
        assert set(scores) == {
            "step",
            "step, hour of the day",
            "step, hour of the week",
        }
    assert picks.count(expected) >= 4, picks


@pytest.mark.parametrize("planted", sorted(SIGMAS))
def test_chosen_bands_cover_held_out_windows_near_nominal(planted):
    inside = {level: [] for level in LEVELS}
    for seed in range(30):
        history, origins, residuals, held_out = _planted(SIGMAS[planted], seed)
        _, (chosen, _) = _choose(history, origins, residuals)
        calibration = calibrate(residuals, origins, LEVELS, scales=chosen.backtest)
        for level in LEVELS:
            half = extend_widths(calibration.widths[level], HORIZON) * chosen.forecast
            inside[level].append(np.abs(held_out) <= half)
    for level in LEVELS:
        assert abs(float(np.mean(inside[level])) - level) <= 0.05, (planted, level)


def test_weighted_interval_score_charges_width_and_misses():
    alphas = np.array([0.2, 0.05])
    widths = np.array([[1.0, 1.0], [2.0, 2.0]])
    scores = weighted_interval_score(np.array([0.5, 3.0]), widths, alphas)
    # Inside both bands: 0.2 * 1 + 0.05 * 2; outside both: the same plus the
    # excess over each band (2 and 1).
    assert scores == pytest.approx([0.3, 3.3])
