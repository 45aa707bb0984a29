"""Resource forecasting: frequency detection, candidate models chosen per series by a
rolling-origin backtest, conformal prediction bands and holiday effects.

Pure computation: arrays of epoch seconds and floats in, dataclasses out; no ORM,
settings or clock.

How a series is forecast (``forecast_series``):

1. The step is the median spacing of the timestamps. Data finer than an hour
   (5-minute, 30-minute) is forecast hourly: each clock hour is the mean of its
   values, and a horizon given in steps of the series becomes the hours that cover
   it (``grid``). Sub-daily series use daily and weekly seasonal periods, daily
   series weekly and yearly, monthly series yearly; a period is used only when the
   history holds two full cycles of it. The series is laid on a regular grid (gaps
   interpolated) and cut to a bounded history: 12 weeks of sub-daily data (at
   least eight full weeks, ``grid.SUB_DAILY_WEEKS``), four years of daily data,
   30 years of monthly data.
2. Less than 24 hours (sub-daily), 14 days (daily) or 24 months (monthly) of history,
   or a constant series, gives the state ``not_enough_history`` and no points.
3. Candidates (``scaling.candidates``), all with fixed parameters so that one pass
   over the data serves every origin: ``seasonal_naive`` (always, also the MASE
   baseline), ``seasonal_mean`` and ``seasonal_median`` (the same phase over the
   last few seasons), ``relevel`` (the median daily profile moved to the level of
   the last hours, for level shifts), ``blend`` (the mean of those three),
   ``ets`` (damped additive Holt-Winters) and ``ets_log`` (the same on log1p of a
   non-negative series), ``seasonal_ar`` (autoregression on short lags and on the
   lags of each period with two full seasons before the first origin, the weekly
   ones included) and ``ensemble`` (mean of ``ets`` and ``seasonal_ar``).
   Sub-daily series with two weeks before the first backtest origin also get the
   weekly candidates, which follow both the daily and the weekly cycle:
   ``weekly_naive`` (the same hour last week), ``weekly_mean`` (the mean of the
   last three weeks), ``weekly_decomposition`` (multi-seasonal decomposition: the
   last week's level plus the median hour-of-week profile of up to eight weeks,
   which holds each day's daily cycle, plus a fading smoothed remainder),
   ``weekly_blend`` (the mean of ``weekly_naive`` and ``weekly_decomposition``)
   and ``arima`` (the decomposition with an ARMA(2,1) remainder fitted by
   statsmodels once per series,
   ``arima_model``). ``prophet`` costs 3-30 times more per fit, so in ``auto`` mode
   it is a candidate only where it can use what the others cannot: daily data with
   two years of history (yearly seasonality), sub-daily data with two weeks (daily
   and weekly seasonality), campaign windows or business regressors.
4. Rolling-origin backtest: up to ``origins`` forecast origins spread evenly over the
   last ``backtest_span`` steps of the history (four weeks of sub-daily data, half
   a year of daily data), each forecasting the next ``min(horizon, ...)`` steps from
   the data before it only; for sub-daily data also the origins whole weeks before
   the end (windows at the same hours of the week as the forecast); then origins
   whose windows the end of the history cuts short (``scaling.backtesting``). The
   lowest MASE wins. When the windows are shorter than the longest cycle in use
   (48 hours of a week), each hour of the week weighs the same whichever origins
   crossed it, and ties go to the model better on recent origins; when every
   window spans the cycle (daily and monthly data), recent origins weigh more.
   Remaining ties go to the cheaper model. Prophet is
   backtested on at most four non-overlapping whole-window origins (the last ones)
   and wins only if it beats the best cheap model on those.
5. Bands are conformal (``scaling.conformal``): per horizon step, from the chosen
   model's backtest errors, with adaptive conformal inference against drift. For
   sub-daily data only the origins of the last two weeks calibrate, and the errors
   may be taken relative to the usual change at their hour of the day or week
   and, when the windows see only part of a week, to the size of the changes in
   the week before their origin, so the band's width follows the week and the
   recent calm or turmoil. Which of these the bands follow is chosen per series
   by the online interval score on its own backtest (``series.band_conditioning``)
   and named in the explanation. The reported coverage is
   online (each origin scored against earlier origins only) and counts the hours
   of the week the forecast window crosses, each evenly.
6. Holidays (``holiday_country``): a public holiday is expected to behave like a
   Sunday. History steps on holidays are moved to their own weekday's level before
   the cheap models see them, and forecast steps on holidays are moved to Sunday's
   level (``scaling.calendars``); Prophet gets the country's holidays instead.
7. Campaign windows multiply the cheap models' forecasts by ``1 + lift`` inside the
   window (Prophet learns them as holidays).
8. The result's ``message`` says which cycles the chosen model follows
   (``cycles``: their periods in steps) and how it was chosen.

Sub-modules: ``grid`` (frequency detection, the forecast step and the regular
grid), ``values`` (options, scores, results), ``cheap_models`` (the cheap candidates
from many origins and the cycles each follows), ``arima_model`` (the ARIMA-class
candidate), ``prophet_model`` (Prophet) and ``series`` (``forecast_series``:
backtest, choice and bands). Callers import everything from
``scaling.forecasting``; the names are re-exported here.
"""

import logging

from scaling.calendars import CampaignWindow as CampaignWindow
from scaling.forecasting.cheap_models import MODEL_COST_ORDER as MODEL_COST_ORDER
from scaling.forecasting.cheap_models import PROFILE_SEASONS as PROFILE_SEASONS
from scaling.forecasting.cheap_models import WEEKLY_SEASONS as WEEKLY_SEASONS
from scaling.forecasting.cheap_models import candidate_names as candidate_names
from scaling.forecasting.cheap_models import predict_many as predict_many
from scaling.forecasting.grid import DAY as DAY
from scaling.forecasting.grid import Frequency as Frequency
from scaling.forecasting.grid import detect_frequency as detect_frequency
from scaling.forecasting.grid import future_timestamps as future_timestamps
from scaling.forecasting.grid import regular_grid as regular_grid
from scaling.forecasting.grid import usable_periods as usable_periods
from scaling.forecasting.prophet_model import prophet_forecast as prophet_forecast
from scaling.forecasting.series import PROPHET_ORIGINS as PROPHET_ORIGINS
from scaling.forecasting.series import forecast_series as forecast_series
from scaling.forecasting.values import LEVELS as LEVELS
from scaling.forecasting.values import ForecastOptions as ForecastOptions
from scaling.forecasting.values import ForecastResult as ForecastResult
from scaling.forecasting.values import Scores as Scores

logger = logging.getLogger(__name__)
