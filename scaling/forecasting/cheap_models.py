"""The cheap candidates: which ones a series gets, their forecasts from many
origins at once, and their order of cost for breaking ties."""

import numpy as np

from scaling import candidates
from scaling.forecasting.grid import Frequency

# Order used to break ties in backtest scores: cheaper first.
MODEL_COST_ORDER = {
    "seasonal_naive": 0,
    "seasonal_mean": 1,
    "seasonal_median": 2,
    "weekly_mean": 3,
    "relevel": 4,
    "blend": 5,
    "ets": 6,
    "ets_log": 7,
    "seasonal_ar": 8,
    "ensemble": 9,
    "prophet": 10,
}
# Seasons averaged by the seasonal mean/median models and the relevel profile.
PROFILE_SEASONS = 5
WEEKLY_SEASONS = 3


def candidate_names(periods: tuple[int, ...], y: np.ndarray, frequency: Frequency):
    names = ["seasonal_naive", "seasonal_mean", "seasonal_median", "relevel", "blend"]
    if frequency.kind == "sub_daily" and len(periods) > 1:
        names.append("weekly_mean")
    names.append("ets")
    if float(np.min(y)) >= 0:
        names.append("ets_log")
    return names + ["seasonal_ar", "ensemble"]


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
