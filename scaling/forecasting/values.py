"""What a forecast takes and gives: options, scores and the result."""

from dataclasses import dataclass, field

import numpy as np

from scaling.calendars import CampaignWindow
from scaling.forecasting.grid import Frequency

LEVELS = (0.8, 0.95)


@dataclass(frozen=True)
class ForecastOptions:
    horizon: int | None = None  # steps of the series; None: the frequency's default
    origins: int = 24  # rolling origins of the backtest, at most
    use_prophet: str = "auto"  # "auto", "always" or "never"
    campaigns: tuple[CampaignWindow, ...] = ()
    # ISO 3166 country whose public holidays behave like Sundays; "" for none.
    holiday_country: str = ""
    # Business signals: name -> (epoch seconds, values); used by Prophet when they
    # cover the forecast horizon.
    regressors: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Scores:
    mase: float
    smape: float  # percent, 0-200
    coverage_80: float | None = None
    coverage_95: float | None = None


@dataclass
class ForecastResult:
    state: str  # "ok" or "not_enough_history"
    # Why there is no forecast, or what the chosen model follows (its cycles).
    message: str = ""
    model: str = ""
    frequency: Frequency | None = None
    history_points: int = 0
    horizon: int = 0
    timestamps: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    yhat: np.ndarray = field(default_factory=lambda: np.zeros(0))
    # level -> (lower, upper)
    bands: dict = field(default_factory=dict)
    scores: Scores | None = None
    baseline: Scores | None = None
    candidates: dict = field(default_factory=dict)  # name -> Scores
    backtest_origins: int = 0
    # Seasonal periods (steps) the chosen model follows, shortest first.
    cycles: tuple[int, ...] = ()
    # What the bands' widths follow ("step", "step, hour of the week", ...) and
    # each option's online weighted interval score on the backtest (name -> score).
    band_conditioning: str = "step"
    band_scores: dict = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.state == "ok"
