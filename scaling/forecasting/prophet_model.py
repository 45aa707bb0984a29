"""Prophet: the expensive candidate, with campaign windows as holidays, country
holidays and business signals as extra regressors."""

import logging
import warnings

import numpy as np

from scaling.forecasting.grid import DAY, Frequency
from scaling.forecasting.values import ForecastOptions


def prophet_forecast(
    seconds: np.ndarray,
    y: np.ndarray,
    future: np.ndarray,
    frequency: Frequency,
    options: ForecastOptions,
) -> np.ndarray:
    """Prophet with the seasonalities the history supports, campaign windows as
    holidays, country holidays and business signals that cover the horizon as extra
    regressors. Its own intervals are not used (see the module's conformal bands)."""
    import pandas as pd
    from prophet import Prophet

    for name in ("cmdstanpy", "prophet"):
        logging.getLogger(name).setLevel(logging.WARNING)
    span_days = (seconds[-1] - seconds[0]) / DAY
    holidays = None
    if options.campaigns:
        rows = []
        for campaign in options.campaigns:
            days = pd.date_range(
                pd.to_datetime(campaign.start, unit="s").normalize(),
                pd.to_datetime(campaign.end - 1, unit="s").normalize(),
                freq="D",
            )
            rows += [{"holiday": campaign.name, "ds": day} for day in days]
        holidays = pd.DataFrame(rows) if rows else None
    model = Prophet(
        daily_seasonality=frequency.kind == "sub_daily" and span_days >= 2,
        weekly_seasonality=frequency.kind in ("sub_daily", "daily") and span_days >= 14,
        yearly_seasonality=span_days >= 730,
        holidays=holidays,
        uncertainty_samples=0,
    )
    if options.holiday_country:
        model.add_country_holidays(country_name=options.holiday_country)
    history = pd.DataFrame({"ds": pd.to_datetime(seconds, unit="s"), "y": y})
    upcoming = pd.DataFrame({"ds": pd.to_datetime(future, unit="s")})
    for name, (signal_seconds, signal_values) in options.regressors.items():
        signal_seconds = np.asarray(signal_seconds, dtype=np.int64)
        if len(signal_seconds) < 2 or signal_seconds[-1] < future[-1]:
            continue
        history[name] = np.interp(seconds, signal_seconds, signal_values)
        upcoming[name] = np.interp(future, signal_seconds, signal_values)
        model.add_regressor(name)
    with warnings.catch_warnings():
        # Prophet's own use of deprecated pandas arguments.
        warnings.simplefilter("ignore", category=FutureWarning)
        warnings.simplefilter("ignore", category=DeprecationWarning)
        model.fit(history)
        return model.predict(upcoming)["yhat"].to_numpy(dtype=float)
