"""The cheap candidates: which ones a series gets, their forecasts from many
origins at once, their order of cost for breaking ties and the cycles each uses."""

import numpy as np

from scaling import candidates
from scaling.forecasting.arima_model import decomposition_arima_many
from scaling.forecasting.grid import DAY, Frequency

# Order used to break ties in backtest scores: cheaper first.
MODEL_COST_ORDER = {
    "seasonal_naive": 0,
    "weekly_naive": 1,
    "seasonal_mean": 2,
    "seasonal_median": 3,
    "weekly_mean": 4,
    "relevel": 5,
    "blend": 6,
    "weekly_decomposition": 7,
    "weekly_blend": 8,
    "ets": 9,
    "ets_log": 10,
    "seasonal_ar": 11,
    "ensemble": 12,
    "arima": 13,
    "prophet": 14,
}
# Seasons averaged by the seasonal mean/median models and the relevel profile.
PROFILE_SEASONS = 5
WEEKLY_SEASONS = 3
# Weeks averaged by the weekly profile of the decomposition models, at most: the
# eight full weeks the sub-daily history keeps. A cap, not a tuned value: the
# backtest chooses between this long memory and the short one of the weekly naive
# and weekly mean candidates on each series.
DECOMPOSITION_WEEKS = 8
# Candidates that follow the week (and the daily cycle of each day within it).
WEEKLY_MODELS = (
    "weekly_naive",
    "weekly_mean",
    "weekly_decomposition",
    "weekly_blend",
    "arima",
)


def weekly_period(periods: tuple[int, ...], frequency: Frequency) -> int | None:
    """The usable period of one week of sub-daily data, in steps."""
    if frequency.kind != "sub_daily" or len(periods) < 2:
        return None
    return periods[1]


def candidate_names(
    periods: tuple[int, ...], y: np.ndarray, frequency: Frequency, first_origin: int
):
    """The cheap candidates of a series; the weekly ones when its sub-daily
    history holds two weeks before the first backtest origin."""
    names = ["seasonal_naive", "seasonal_mean", "seasonal_median", "relevel", "blend"]
    week = weekly_period(periods, frequency)
    weekly = week is not None and first_origin >= 2 * week
    if weekly:
        names += ["weekly_naive", "weekly_mean", "weekly_decomposition", "weekly_blend"]
    names.append("ets")
    if float(np.min(y)) >= 0:
        names.append("ets_log")
    names += ["seasonal_ar", "ensemble"]
    return names + ["arima"] if weekly else names


def cycle_name(period: int, frequency: Frequency) -> str:
    """The name of a seasonal period in steps: daily, weekly or yearly."""
    step_days = {"monthly": 30.4, "weekly": 7.0}.get(
        frequency.kind, frequency.step_seconds / DAY
    )
    days = period * step_days
    if days < 2:
        return "daily"
    return "weekly" if days < 30 else "yearly"


def model_cycles(
    name: str, periods: tuple[int, ...], first_origin: int, frequency: Frequency
) -> tuple[int, ...]:
    """The seasonal periods (steps) a candidate's forecast follows."""
    if not periods:
        return ()
    week = weekly_period(periods, frequency)
    if name in WEEKLY_MODELS and week:
        return (periods[0], week)
    if name in ("seasonal_ar", "ensemble"):
        return candidates.seasonal_ar_periods(first_origin, periods)
    return (periods[0],)


def predict_many(
    names: list[str],
    y: np.ndarray,
    origins: np.ndarray,
    steps: int,
    periods: tuple[int, ...],
    frequency: Frequency,
) -> dict[str, np.ndarray]:
    """Each cheap candidate's forecasts from each origin: name -> (origins, steps)."""
    primary = periods[0] if periods else 1
    window = max(1, primary // 8) if frequency.kind == "sub_daily" else primary
    out: dict[str, np.ndarray] = {}
    for name in names:
        if name == "seasonal_naive":
            out[name] = candidates.seasonal_naive_many(y, origins, steps, primary)
        elif name == "weekly_naive":
            out[name] = candidates.seasonal_naive_many(y, origins, steps, periods[1])
        elif name == "weekly_decomposition":
            out[name] = candidates.week_profile_many(
                y, origins, steps, periods[1], DECOMPOSITION_WEEKS
            )
        elif name == "weekly_blend":
            parts = ("weekly_naive", "weekly_decomposition")
            out[name] = sum(out[part] for part in parts) / len(parts)
        elif name == "arima":
            out[name] = decomposition_arima_many(
                y, origins, steps, periods[1], DECOMPOSITION_WEEKS
            )
        elif name in ("seasonal_mean", "seasonal_median"):
            out[name] = candidates.seasonal_profile_many(
                y, origins, steps, primary, PROFILE_SEASONS, name == "seasonal_median"
            )
        elif name == "weekly_mean":
            out[name] = candidates.seasonal_profile_many(
                y, origins, steps, periods[1], WEEKLY_SEASONS, robust=False
            )
        elif name == "relevel":
            out[name] = candidates.relevel_many(
                y, origins, steps, primary, PROFILE_SEASONS, window
            )
        elif name == "blend":
            parts = ("seasonal_naive", "seasonal_median", "relevel")
            out[name] = sum(out[part] for part in parts) / len(parts)
        elif name == "ets":
            out[name] = candidates.holt_winters_many(y, origins, steps, primary)
        elif name == "ets_log":
            logged = candidates.holt_winters_many(np.log1p(y), origins, steps, primary)
            out[name] = np.expm1(np.clip(logged, -50, np.log1p(10 * np.max(y))))
        elif name == "seasonal_ar":
            out[name] = candidates.seasonal_ar_many(y, origins, steps, periods)
        elif name == "ensemble":
            out[name] = (out["ets"] + out["seasonal_ar"]) / 2
    return out
