"""Resource forecasting: frequency detection, candidate models chosen per series by a
rolling-origin backtest, conformal prediction bands and holiday effects.

Pure computation: arrays of epoch seconds and floats in, dataclasses out; no ORM,
settings or clock.

How a series is forecast (``forecast_series``):

1. The step is the median spacing of the timestamps. Sub-daily series use daily and
   weekly seasonal periods, daily series weekly and yearly, monthly series yearly;
   a period is used only when the history holds two full cycles of it. The series is
   laid on a regular grid (gaps interpolated) and cut to a bounded history window.
2. Less than 24 hours (sub-daily), 14 days (daily) or 24 months (monthly) of history,
   or a constant series, gives the state ``not_enough_history`` and no points.
3. Candidates (``scaling.candidates``), all with fixed parameters so that one pass
   over the data serves every origin: ``seasonal_naive`` (always, also the MASE
   baseline), ``seasonal_mean`` and ``seasonal_median`` (the same phase over the
   last few seasons), ``weekly_mean`` (sub-daily data with two weeks: the same hour
   of the last weeks), ``relevel`` (the median daily profile moved to the level of
   the last hours, for level shifts), ``ets`` (damped additive Holt-Winters) and
   ``ets_log`` (the same on log1p of a non-negative series), ``seasonal_ar``
   (autoregression on short and seasonal lags) and ``ensemble`` (mean of ``ets`` and
   ``seasonal_ar``). ``prophet`` costs 3-30 times more per fit, so in ``auto`` mode
   it is a candidate only where it can use what the others cannot: daily data with
   two years of history (yearly seasonality), campaign windows or business
   regressors.
4. Rolling-origin backtest: up to ``origins`` forecast origins spread evenly over the
   last ``backtest_span`` steps of the history (two weeks of sub-daily data, half a
   year of daily data), each forecasting the next ``min(horizon, ...)`` steps from
   the data before it only, then origins whose windows the end of the history cuts
   short (``scaling.backtesting``). The lowest weighted mean MASE wins, recent
   origins weighing more, ties going to the cheaper model. Prophet
   is backtested on at most four non-overlapping whole-window origins (the last
   ones) and wins only if it beats the best cheap model on those.
5. Bands are conformal (``scaling.conformal``): per horizon step, from the chosen
   model's backtest errors, with adaptive conformal inference against drift; the
   reported coverage is online (each origin scored against earlier origins only).
6. Holidays (``holiday_country``): a public holiday is expected to behave like a
   Sunday. History steps on holidays are moved to their own weekday's level before
   the cheap models see them, and forecast steps on holidays are moved to Sunday's
   level (``scaling.calendars``); Prophet gets the country's holidays instead.
7. Campaign windows multiply the cheap models' forecasts by ``1 + lift`` inside the
   window (Prophet learns them as holidays).

Sub-modules: ``grid`` (frequency detection and the regular grid), ``values`` (options,
scores, results), ``cheap_models`` (the cheap candidates from many origins),
``prophet_model`` (Prophet) and ``series`` (``forecast_series``: backtest, choice and
bands). Callers import everything from ``scaling.forecasting``; the names are
re-exported here.
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
