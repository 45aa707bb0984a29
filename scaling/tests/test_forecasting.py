from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scaling.backtesting import backtest_origins
from scaling.calendars import Adjustments, SundayShift, holiday_days
from scaling.candidates import seasonal_naive
from scaling.conformal import calibrate, step_quantiles
from scaling.forecasting import (
    CampaignWindow,
    ForecastOptions,
    detect_frequency,
    forecast_series,
)

pytestmark = pytest.mark.clockless  # a pure engine: no clock, no database

DAY = 86_400
START = 1_767_225_600  # 2026-01-01T00:00:00Z


def weekly_daily_series(days: int, seed: int = 3) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    t = np.arange(days)
    values = 100 + 0.2 * t + 20 * np.sin(2 * np.pi * t / 7) + rng.normal(0, 3, days)
    return START + DAY * t, values


def test_detect_frequency_of_common_steps():
    hourly = detect_frequency(START + 3600 * np.arange(50))
    assert (hourly.kind, hourly.candidate_periods, hourly.default_horizon) == (
        "sub_daily", (24, 168), 48,
    )  # fmt: skip
    five_minute = detect_frequency(START + 300 * np.arange(50))
    assert (five_minute.candidate_periods, five_minute.default_horizon) == (
        (288, 2016), 576,
    )  # fmt: skip
    daily = detect_frequency(START + DAY * np.arange(50))
    assert (daily.kind, daily.default_horizon, daily.min_history) == ("daily", 30, 14)
    months = np.arange("2020-01", "2023-01", dtype="datetime64[M]")
    monthly = detect_frequency(months.astype("datetime64[s]").astype(np.int64))
    assert (monthly.kind, monthly.candidate_periods) == ("monthly", (12,))


def test_short_sub_daily_series_has_not_enough_history():
    result = forecast_series(START + 3600 * np.arange(20), np.arange(20.0))
    assert result.state == "not_enough_history"
    assert result.message == "20 points of sub-daily data; at least 24 are needed."
    assert len(result.yhat) == 0


def test_short_daily_series_has_not_enough_history():
    result = forecast_series(START + DAY * np.arange(13), np.arange(13.0))
    assert result.message == "13 points of daily data; at least 14 are needed."


def test_constant_series_has_not_enough_history():
    result = forecast_series(START + DAY * np.arange(40), np.full(40, 5.0))
    assert (result.state, result.message) == (
        "not_enough_history", "The series is constant.",
    )  # fmt: skip


def test_empty_series_has_not_enough_history():
    result = forecast_series(np.zeros(0), np.zeros(0))
    assert result.state == "not_enough_history"


def test_daily_seasonal_series_beats_seasonal_naive_with_nested_bands():
    seconds, values = weekly_daily_series(140)
    result = forecast_series(seconds, values, ForecastOptions(origins=6))
    assert result.ok
    assert result.horizon == 30
    assert len(result.yhat) == 30
    assert result.timestamps[0] == seconds[-1] + DAY
    assert result.scores.mase <= result.baseline.mase
    low80, up80 = result.bands[0.8]
    low95, up95 = result.bands[0.95]
    assert np.all(low95 <= low80) and np.all(low80 <= result.yhat)
    assert np.all(result.yhat <= up80) and np.all(up80 <= up95)
    assert 0.5 <= result.scores.coverage_80 <= 1.0


def test_horizon_counts_steps_of_the_series():
    seconds = START + 3600 * np.arange(24 * 10)
    values = 10 + np.sin(2 * np.pi * np.arange(240) / 24)
    result = forecast_series(seconds, values, ForecastOptions(horizon=6, origins=4))
    assert len(result.yhat) == 6
    assert result.timestamps[-1] - seconds[-1] == 6 * 3600


def test_campaign_lift_scales_points_inside_the_window():
    seconds, values = weekly_daily_series(60)
    plain = forecast_series(
        seconds, values, ForecastOptions(horizon=10, origins=4, use_prophet="never")
    )
    window = CampaignWindow(
        start=int(seconds[-1]) + 3 * DAY, end=int(seconds[-1]) + 5 * DAY, lift=0.5
    )
    lifted = forecast_series(
        seconds,
        values,
        ForecastOptions(
            horizon=10, origins=4, use_prophet="never", campaigns=(window,)
        ),
    )
    assert plain.model == lifted.model
    np.testing.assert_allclose(lifted.yhat[2:4], plain.yhat[2:4] * 1.5)
    np.testing.assert_allclose(lifted.yhat[:2], plain.yhat[:2])


def test_seasonal_naive_repeats_the_last_season():
    assert seasonal_naive(np.array([1.0, 2, 3, 4, 5]), 4, 2).tolist() == [4, 5, 4, 5]


def test_prophet_is_a_candidate_when_asked():
    seconds, values = weekly_daily_series(60)
    result = forecast_series(
        seconds, values, ForecastOptions(horizon=7, origins=4, use_prophet="always")
    )
    assert "prophet" in result.candidates
    assert result.ok and len(result.yhat) == 7


@settings(max_examples=30, deadline=None)
@given(
    st.lists(
        st.floats(min_value=0, max_value=1e6, allow_nan=False), min_size=3, max_size=60
    )
)
def test_any_non_negative_daily_series_gives_nested_non_negative_bands(values):
    seconds = START + DAY * np.arange(len(values))
    result = forecast_series(
        seconds, np.array(values), ForecastOptions(origins=4, use_prophet="never")
    )
    if not result.ok:
        assert result.state == "not_enough_history"
        return
    low80, up80 = result.bands[0.8]
    low95, up95 = result.bands[0.95]
    assert np.all(np.isfinite(result.yhat))
    assert np.all(low95 >= 0) and np.all(result.yhat >= 0)
    assert np.all(low95 <= low80 + 1e-9) and np.all(up80 <= up95 + 1e-9)


def test_backtest_origins_spread_over_the_span_then_cut_windows_short():
    frequency = detect_frequency(START + DAY * np.arange(60))
    origins, steps = backtest_origins(
        60, 16, frequency.min_history, frequency.backtest_span, 7, 5
    )
    assert steps == 16
    # Whole windows from 9 (a week plus two points) to 44 = 60 - 16, then every
    # four steps (half the spacing) origins whose windows the end cuts short.
    assert origins.tolist() == [9, 18, 26, 35, 44, 48, 52, 56]


def test_calibration_scores_each_origin_against_earlier_windows_only():
    residuals = np.array([[1.0, 1.0], [2.0, 2.0], [3.0, 3.0], [4.0, 4.0], [9, 9]])
    origins = np.array([0, 2, 4, 6, 8])
    result = calibrate(residuals, origins, (0.5,), gamma=0.0)
    # Origin 6 sees origins 0, 2, 4 (median 2: miss); origin 8 sees 0..6 (miss).
    assert result.coverage[0.5] == 0.0
    assert result.widths[0.5].tolist() == [3.0, 3.0]


def test_step_quantiles_use_the_finite_sample_rank():
    scores = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    # radius 1: step 0 pools 1, 2, 4, 5; rank ceil(5 * 0.5) = 3 -> 4; non-decreasing.
    assert step_quantiles(scores, 0.5).tolist() == [4.0, 4.0, 5.0]


def test_relevel_follows_a_level_shift_that_seasonal_naive_misses():
    hours = 24 * 20
    t = np.arange(hours)
    values = 10 + 3 * np.sin(2 * np.pi * t / 24)
    # The level jumped a day ago: the whole backtest windows of the last day see
    # it, so it counts in a choice that weighs every hour of the week evenly.
    values[-24:] += 20
    result = forecast_series(
        START + 3600 * t, values, ForecastOptions(horizon=24, use_prophet="never")
    )
    assert result.ok
    expected = 30 + 3 * np.sin(2 * np.pi * np.arange(hours, hours + 24) / 24)
    assert np.max(np.abs(result.yhat - expected)) < 1.0


def test_sub_daily_bands_cover_a_noisy_daily_cycle_near_nominal():
    rng = np.random.default_rng(5)
    steps = 24 * 28
    t = np.arange(steps + 48)
    values = 50 + 10 * np.sin(2 * np.pi * t / 24) + rng.normal(0, 2, len(t))
    result = forecast_series(
        START + 3600 * t[:steps], values[:steps], ForecastOptions(horizon=48)
    )
    assert 0.7 <= result.scores.coverage_80 <= 0.9
    assert 0.88 <= result.scores.coverage_95 <= 1.0
    low80, up80 = result.bands[0.8]
    actual = values[steps:]
    assert 0.6 <= np.mean((actual >= low80) & (actual <= up80)) <= 1.0


def weekday_series(start: str, days: int) -> tuple[np.ndarray, np.ndarray]:
    """Daily values: 100 on weekdays, 60 on Saturdays, 40 on Sundays and on US
    public holidays."""
    first = np.datetime64(start, "D").astype(np.int64)
    day_numbers = first + np.arange(days)
    values = np.array([100.0, 100, 100, 100, 100, 60, 40])[(day_numbers + 3) % 7]
    holidays = holiday_days("US", int(day_numbers[0]) * DAY, int(day_numbers[-1]) * DAY)
    values[np.isin(day_numbers, holidays)] = 40.0
    return day_numbers * DAY, values


def test_holidays_are_forecast_at_sunday_level_and_cleaned_from_history():
    # 2025-09-01 .. 2026-01-08: Labor Day, Thanksgiving, Christmas and New Year's
    # Day in the history; Martin Luther King Jr. Day (Monday 2026-01-19) ahead.
    seconds, values = weekday_series("2025-09-01", 130)
    options = ForecastOptions(horizon=21, use_prophet="never", holiday_country="US")
    result = forecast_series(seconds, values, options)
    by_day = dict(zip(result.timestamps // DAY, result.yhat, strict=True))
    day = np.datetime64("2026-01-19", "D").astype(np.int64)
    assert by_day[day] == pytest.approx(40.0, abs=1.0)
    # The Thursday a week after New Year's Day is an ordinary Thursday.
    thursday = np.datetime64("2026-01-15", "D").astype(np.int64)
    assert by_day[thursday] == pytest.approx(100.0, abs=1.0)
    plain = forecast_series(
        seconds, values, ForecastOptions(horizon=21, use_prophet="never")
    )
    assert dict(zip(plain.timestamps // DAY, plain.yhat, strict=True))[day] > 80


def test_holiday_days_of_a_country_between_two_instants():
    start = int(np.datetime64("2025-12-20T00:00:00", "s").astype(np.int64))
    end = int(np.datetime64("2026-01-02T00:00:00", "s").astype(np.int64))
    days = holiday_days("DE", start, end).astype("datetime64[D]").astype(str)
    assert days.tolist() == ["2025-12-25", "2025-12-26", "2026-01-01"]
    assert holiday_days("", start, end).tolist() == []
    with pytest.raises(ValueError, match="No holiday calendar for country 'XX'."):
        holiday_days("XX", start, end)


def test_a_spiky_non_negative_series_with_holidays_gets_a_finite_forecast():
    # The demo's derived bandwidth of one account, 17 Feb - 16 Jun 2026: zero every
    # hour but the daily measured point. Cleaning the GB bank holidays from it
    # once took the history below zero, and the log model's forecast was NaN.
    rows = np.loadtxt(
        Path(__file__).parent / "data" / "demo_bandwidth_gb.csv",
        delimiter=",",
        skiprows=1,
    )
    seconds, values = rows[:, 0].astype(np.int64), rows[:, 1]
    options = ForecastOptions(horizon=48, use_prophet="never", holiday_country="GB")

    result = forecast_series(seconds, values, options)

    assert result.state == "ok"
    assert np.isfinite(result.yhat).all()
    assert all(np.isfinite(b).all() for pair in result.bands.values() for b in pair)
    assert result.yhat.min() >= 0


def test_cleaning_holidays_keeps_a_non_negative_history_non_negative():
    # Sundays run at 100, other days at 10; a Monday holiday at 0 moved to its own
    # weekday's level would be 0 - (100 - 10): it stops at zero instead.
    seconds = np.datetime64("2026-05-18", "D").astype(np.int64) * DAY + DAY * np.arange(
        14
    )
    values = np.where((seconds // DAY + 3) % 7 == 6, 100.0, 10.0)
    holiday = np.array([np.datetime64("2026-05-25", "D").astype(np.int64)])
    values[seconds // DAY == holiday[0]] = 0.0
    profile = np.full((7, 1), 10.0)
    profile[6] = 100.0
    shift = SundayShift(profile=profile, step=DAY)

    cleaned = Adjustments(
        shift=shift, days=holiday, campaigns=(), non_negative=True
    ).clean(seconds, values)
    signed = Adjustments(
        shift=shift, days=holiday, campaigns=(), non_negative=False
    ).clean(seconds, values)

    on_holiday = seconds // DAY == holiday[0]
    assert (cleaned[on_holiday].tolist(), signed[on_holiday].tolist()) == (
        [0.0],
        [-90.0],
    )
    assert cleaned[~on_holiday].tolist() == values[~on_holiday].tolist()
