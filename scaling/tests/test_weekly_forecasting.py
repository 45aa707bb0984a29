"""Sub-daily forecasts that know the week: planted daily and weekly cycles, the
hourly step of finer data, the history cap, the week-balanced choice, the bands
conditioned on the hour of the week and the explanation."""

import numpy as np
import pytest

from scaling.backtesting import backtest_origins, phase_balanced_mean
from scaling.candidates import (
    seasonal_ar_periods,
    seasonal_naive_many,
    week_profile_many,
)
from scaling.conformal import calibrate, phase_scales, recent_scales
from scaling.forecasting import ForecastOptions, detect_frequency, forecast_series
from scaling.forecasting.arima_model import arma_forecast_many
from scaling.forecasting.cheap_models import WEEKLY_MODELS
from scaling.forecasting.grid import forecast_frequency, hourly_means

pytestmark = pytest.mark.clockless  # a pure engine: no clock, no database

HOUR = 3_600
WEEK = 168
MONDAY = 1_767_571_200  # 2026-01-05T00:00:00Z, a Monday


def planted_week(hours: int) -> np.ndarray:
    """Noise-free hourly demand: weekday morning and evening peaks, quiet nights,
    weekends at 60 % with one midday peak. Hour 0 is a Monday midnight."""
    t = np.arange(hours)
    hour, day = t % 24, (t // 24) % 7
    weekday = 60 * np.exp(-((hour - 8) ** 2) / 8) + 50 * np.exp(-((hour - 18) ** 2) / 8)
    weekend = 45 * np.exp(-((hour - 13) ** 2) / 18)
    return np.where(day < 5, 100 + weekday, 60 + weekend)


SCENARIOS = {
    "additive noise": (1, lambda truth, rng: truth + rng.normal(0, 4, len(truth))),
    "noise grows with demand": (
        2,
        lambda truth, rng: truth * (1 + rng.normal(0, 0.05, len(truth))),
    ),
    "slow growth": (
        3,
        lambda truth, rng: (
            truth * (1 + np.arange(len(truth)) / 20_000) + rng.normal(0, 3, len(truth))
        ),
    ),
}


def scenario(name: str, hours: int) -> tuple[np.ndarray, np.ndarray]:
    seed, make = SCENARIOS[name]
    truth = planted_week(hours)
    if name == "slow growth":
        truth = truth * (1 + np.arange(hours) / 20_000)
    return truth, make(planted_week(hours), np.random.default_rng(seed))


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_weekend_forecast_from_saturday_follows_both_cycles(name):
    # Ten weeks and five days of history, then 48 hours from Saturday 00:00.
    origin = 10 * WEEK + 5 * 24
    truth, observed = scenario(name, origin + 48)

    result = forecast_series(
        MONDAY + HOUR * np.arange(origin),
        observed[:origin],
        ForecastOptions(horizon=48, use_prophet="never"),
    )

    assert result.model in WEEKLY_MODELS
    assert result.cycles == (24, 168)
    assert result.message.startswith(
        f"{result.model} follows the daily and weekly cycles (24 and 168 hours); "
        "chosen on "
    )
    assert "origins, each hour of the week weighed evenly. Bands by " in (
        result.message
    )
    assert result.message.endswith(
        f"Bands by {result.band_conditioning}, chosen by interval score on the "
        "backtest."
    )
    assert set(result.band_scores) == {
        "step and the last week's change",
        "step, hour of the day and the last week's change",
        "step, hour of the week and the last week's change",
    }
    ahead = truth[origin:]
    last_week = observed[origin - WEEK : origin - WEEK + 48]
    yesterday = np.tile(observed[origin - 24 : origin], 2)
    error = np.mean(np.abs(result.yhat - ahead))
    assert error < np.mean(np.abs(last_week - ahead))
    assert error < 0.2 * np.mean(np.abs(yesterday - ahead))


def test_bands_cover_held_out_windows_near_nominal_at_every_part_of_the_week():
    rng = np.random.default_rng(7)
    hours = 12 * WEEK
    truth = planted_week(hours)
    observed = truth * (1 + rng.normal(0, 0.05, hours))
    inside = {0.8: [], 0.95: []}
    # Twelve origins 14 hours apart: every day of the week, day and night.
    for origin in range(10 * WEEK, 10 * WEEK + 12 * 14, 14):
        result = forecast_series(
            MONDAY + HOUR * np.arange(origin),
            observed[:origin],
            ForecastOptions(horizon=48, use_prophet="never"),
        )
        actual = observed[origin : origin + 48]
        for level in inside:
            low, up = result.bands[level]
            inside[level].append((actual >= low) & (actual <= up))
    assert 0.75 <= np.mean(inside[0.8]) <= 0.85
    assert 0.90 <= np.mean(inside[0.95]) <= 1.0


def _noise(name: str, rng, hours: int) -> np.ndarray:
    """Planted noise around ``planted_week``: its size is known at every hour."""
    t = np.arange(hours)
    if name == "gaussian":
        return rng.normal(0, 4, hours)
    if name == "heavy tails":
        return 3 * rng.standard_t(5, hours)
    # Loud weekday working hours, quiet nights and weekends.
    loud = ((t // 24) % 7 < 5) & (t % 24 >= 9) & (t % 24 < 18)
    return np.where(loud, 8.0, 2.0) * rng.standard_normal(hours)


@pytest.mark.parametrize("name", ["gaussian", "heavy tails", "weekday working hours"])
def test_bands_cover_planted_noise_within_five_points_of_nominal(name):
    # Twelve seeds, each forecasting 48 hours from an origin 31 hours later
    # than the one before (every day of the week, day and night), after ten
    # weeks of history; the held-out hours are the noise's own future.
    inside = {0.8: [], 0.95: []}
    for seed in range(12):
        origin = 10 * WEEK + 31 * seed
        observed = planted_week(origin + 48) + _noise(
            name, np.random.default_rng(seed), origin + 48
        )
        result = forecast_series(
            MONDAY + HOUR * np.arange(origin),
            observed[:origin],
            ForecastOptions(horizon=48, use_prophet="never"),
        )
        for level in inside:
            low, up = result.bands[level]
            actual = observed[origin:]
            inside[level].append((actual >= low) & (actual <= up))
    for level, hits in inside.items():
        assert abs(float(np.mean(hits)) - level) <= 0.05, (name, level)


def test_five_minute_data_is_forecast_hourly_from_hourly_means():
    steps = 14 * 288
    values = np.repeat(planted_week(14 * 24), 12) + np.tile(np.arange(12.0), 14 * 24)

    result = forecast_series(
        MONDAY + 300 * np.arange(steps),
        values,
        ForecastOptions(horizon=576, use_prophet="never"),
    )

    assert result.frequency.step_seconds == HOUR
    assert (result.horizon, result.history_points) == (48, 14 * 24)
    assert result.timestamps[0] == MONDAY + 14 * 24 * HOUR
    assert np.all(np.diff(result.timestamps) == HOUR)
    assert forecast_frequency(detect_frequency(MONDAY + 1800 * np.arange(9))) == (
        detect_frequency(MONDAY + HOUR * np.arange(9))
    )


def test_hourly_means_label_each_clock_hour_with_its_start():
    seconds, values = hourly_means(
        np.array([0, 1800, 3600, 9000, 9300]), np.array([1.0, 3, 5, 7, np.nan])
    )
    assert (seconds.tolist(), values.tolist()) == ([0, 3600, 7200], [2.0, 5.0, 7.0])


def test_sub_daily_history_is_capped_at_twelve_weeks():
    hours = 20 * WEEK
    result = forecast_series(
        MONDAY + HOUR * np.arange(hours),
        planted_week(hours) + np.random.default_rng(1).normal(0, 1, hours),
        ForecastOptions(horizon=24, use_prophet="never"),
    )
    assert result.history_points == 12 * WEEK


def test_weekly_candidates_need_two_weeks_before_the_first_origin():
    def names(weeks: int) -> set[str]:
        hours = weeks * WEEK
        values = planted_week(hours) + np.random.default_rng(2).normal(0, 1, hours)
        result = forecast_series(
            MONDAY + HOUR * np.arange(hours),
            values,
            ForecastOptions(horizon=48, use_prophet="never"),
        )
        return set(result.candidates)

    assert set(WEEKLY_MODELS) <= names(4)
    assert not set(WEEKLY_MODELS) & names(2)


def test_backtest_origins_include_whole_weeks_before_the_end():
    origins, steps = backtest_origins(1000, 48, 24, 336, 24, 5, cycle=168)
    assert steps == 48
    # Five origins spread over 616 .. 952, then 832 and 664 (a week and two
    # before the end, 1000), then the cut-short ones every 42 steps.
    assert origins.tolist() == [616, 664, 700, 784, 832, 868, 952, 994]


def test_phase_balanced_mean_weighs_each_position_once():
    values = np.array([[1.0, 1.0, 1.0], [3.0, np.nan, 5.0]])
    phases = np.array([[0, 0, 0], [1, 1, 2]])
    # Position 0: mean 1 (three errors), position 1: 3, position 2: 5.
    assert phase_balanced_mean(values, phases, 3) == 3.0


def test_week_profile_forecast_repeats_a_noise_free_week_exactly():
    y = planted_week(6 * WEEK)
    origins = np.array([4 * WEEK, 5 * WEEK + 7])
    predicted = week_profile_many(y, origins, 48, WEEK, 8)
    expected = y[origins[:, None] + np.arange(48)]
    np.testing.assert_allclose(predicted, expected, atol=1e-9)
    np.testing.assert_array_equal(seasonal_naive_many(y, origins, 48, WEEK), expected)


def test_seasonal_ar_uses_the_weekly_lags_once_two_weeks_exist():
    assert seasonal_ar_periods(2 * WEEK + 2, (24, WEEK)) == (24, WEEK)
    assert seasonal_ar_periods(2 * WEEK + 1, (24, WEEK)) == (24,)


def test_arma_forecast_follows_the_recursion():
    # AR(1) around 2 with coefficient 0.5 and MA 0.25, innovations from zero.
    remainders = np.array([[2.0, 4.0, 3.0]])
    predicted = arma_forecast_many(
        remainders, 3, 2.0, np.array([0.5]), np.array([0.25])
    )
    # x = 0, 2, 1; shocks = 0, 2, 1 - 0.5 * 2 - 0.25 * 2 = -0.5.
    # x4 = 0.5 * 1 + 0.25 * -0.5 = 0.375; x5 = 0.1875; x6 = 0.09375.
    assert predicted.tolist() == [[2.375, 2.1875, 2.09375]]


def test_phase_scales_pool_neighbouring_positions():
    y = np.concatenate([np.zeros(10), np.array([0.0, 0, 0, 0, 0, 0, 0, 0, 0, 10])])
    scales = phase_scales(y, 20, 10)
    # Only position 9 changed (by 10): positions 7 .. 1 (around the cycle)
    # pool it with four quiet neighbours; the rest get the floor, 0.1 x 1.
    assert scales.tolist() == [2.0, 2.0, 0.1, 0.1, 0.1, 0.1, 0.1, 2.0, 2.0, 2.0]


def test_coverage_counts_only_the_positions_the_forecast_crosses():
    residuals = np.array([[1.0, 1], [1, 1], [1, 1], [1, 9], [1, 9]])
    origins = np.array([0, 2, 4, 6, 8])
    phases = np.array([[0, 1]] * 5)
    everywhere = calibrate(residuals, origins, (0.5,), gamma=0.0)
    at_one = calibrate(
        residuals, origins, (0.5,), gamma=0.0, phases=phases, target=np.array([1])
    )
    # Origins 6 and 8 are scored: step 0 always inside, step 1 (position 1) never.
    assert everywhere.coverage[0.5] == 0.5
    assert at_one.coverage[0.5] == 0.0


def test_recent_scales_measure_the_last_cycle_before_each_origin():
    # Cycle 2: changes y[t] - y[t - 2] are 0, 0, 0, 0, 8, 8 (t = 2 .. 7).
    y = np.array([1.0, 1, 1, 1, 1, 1, 9, 9])
    scales = recent_scales(y, np.array([4, 6, 8]), 2)
    # Origin 4: changes at t = 2, 3 (0: floored at 0.1 x mean 8/3); origin 6:
    # t = 4, 5 (0, floored); origin 8: t = 6, 7 (8).
    np.testing.assert_allclose(scales, [0.8 / 3, 0.8 / 3, 8.0])


def test_scaled_calibration_gives_widths_of_the_scaled_errors():
    residuals = np.array([[1.0], [1.0], [1.0], [3.0]])
    origins = np.array([0, 1, 2, 3])
    doubled = calibrate(
        residuals, origins, (0.5,), gamma=0.0, scales=np.full((4, 1), 2.0)
    )
    # Scaled errors 0.5, 0.5, 0.5, 1.5: rank ceil(5 x 0.5) = 3 -> 0.5. Origin 3
    # is scored against the first three (0.5) and misses.
    assert doubled.widths[0.5].tolist() == [0.5]
    assert doubled.coverage[0.5] == 0.0
