"""Seasonal calendars: public holidays by country (the ``holidays`` package), the
"holiday behaves like a Sunday" effect used by the cheap forecasting models, and
campaign windows with their expected lift.

Pure computation: dates are UTC calendar days counted from 1970-01-01 (epoch days),
matching the UTC timestamps of resource metrics.
"""

from dataclasses import dataclass
from functools import lru_cache

import holidays
import numpy as np

DAY = 86_400
SUNDAY = 6  # weekday numbers: Monday 0 .. Sunday 6


def supported_countries() -> set[str]:
    """ISO 3166-1 alpha-2 codes the calendar knows."""
    return set(holidays.list_supported_countries())


@lru_cache(maxsize=256)
def _holiday_days(country: str, first_year: int, last_year: int) -> np.ndarray:
    calendar = holidays.country_holidays(
        country, years=range(first_year, last_year + 1)
    )
    days = [np.datetime64(day, "D").astype(np.int64) for day in calendar]
    return np.array(sorted(days), dtype=np.int64)


def holiday_days(country: str, start: int, end: int) -> np.ndarray:
    """Epoch days of the country's public holidays between two epoch seconds
    (inclusive); empty for an empty country. Unknown codes raise ``ValueError``."""
    if not country:
        return np.zeros(0, dtype=np.int64)
    if country not in supported_countries():
        raise ValueError(f"No holiday calendar for country {country!r}.")
    first = int(np.datetime64(int(start), "s").astype("datetime64[Y]").astype(int))
    last = int(np.datetime64(int(end), "s").astype("datetime64[Y]").astype(int))
    days = _holiday_days(country, 1970 + first, 1970 + last)
    return days[(days >= start // DAY) & (days <= end // DAY)]


def weekday(seconds: np.ndarray) -> np.ndarray:
    """Monday 0 .. Sunday 6 of UTC epoch seconds (1970-01-01 was a Thursday)."""
    return (np.asarray(seconds, dtype=np.int64) // DAY + 3) % 7


class SundayShift:
    """``profile[weekday, slot]`` and the shift that moves a step to Sunday's level."""

    def __init__(self, profile: np.ndarray, step: int):
        self.profile = profile
        self.step = step

    def to_sunday(self, seconds: np.ndarray) -> np.ndarray:
        """Sunday's profile minus the step's own weekday profile, per step."""
        seconds = np.asarray(seconds, dtype=np.int64)
        slot = _slot(seconds, self.step, self.profile.shape[1])
        return self.profile[SUNDAY, slot] - self.profile[weekday(seconds), slot]


def sunday_shift(
    history_seconds: np.ndarray,
    history: np.ndarray,
    step_seconds: int,
    days: np.ndarray,
) -> SundayShift | None:
    """The weekly profile of a history, for moving holidays onto Sunday's level.

    The profile is the mean value per (weekday, slot of the day) over the history's
    non-holiday steps; ``None`` when the history lacks two full weeks or a slot has
    no Sunday value.
    """
    history_seconds = np.asarray(history_seconds, dtype=np.int64)
    if len(history_seconds) < 2 or history_seconds[-1] - history_seconds[0] < (
        14 * DAY - step_seconds
    ):
        return None
    slots = max(1, DAY // step_seconds) if step_seconds < DAY else 1
    slot = _slot(history_seconds, step_seconds, slots)
    keep = ~np.isin(history_seconds // DAY, days)
    cell = weekday(history_seconds) * slots + slot
    totals = np.bincount(cell[keep], weights=history[keep], minlength=7 * slots)
    counts = np.bincount(cell[keep], minlength=7 * slots)
    if np.any(counts == 0):
        return None
    return SundayShift(profile=(totals / counts).reshape(7, slots), step=step_seconds)


def _slot(seconds: np.ndarray, step_seconds: int, slots: int) -> np.ndarray:
    if slots == 1:
        return np.zeros(len(seconds), dtype=np.int64)
    return ((seconds % DAY) // step_seconds) % slots


@dataclass(frozen=True)
class CampaignWindow:
    start: int  # epoch seconds, inclusive
    end: int  # epoch seconds, exclusive
    lift: float  # 0.3 = +30 % expected demand inside the window
    name: str = "campaign"


def apply_campaigns(
    stamps: np.ndarray, yhat: np.ndarray, campaigns: tuple[CampaignWindow, ...]
) -> np.ndarray:
    """``yhat`` times ``1 + lift`` at the steps inside each campaign window."""
    adjusted = yhat.copy()
    for campaign in campaigns:
        inside = (stamps >= campaign.start) & (stamps < campaign.end)
        adjusted[inside] *= 1 + campaign.lift
    return adjusted


@dataclass
class Adjustments:
    """What turns the models' raw forecasts into the published ones, per step
    timestamp: the holiday shift, campaign lifts and the non-negative floor."""

    shift: SundayShift | None
    days: np.ndarray
    campaigns: tuple[CampaignWindow, ...]
    non_negative: bool

    def clean(self, seconds: np.ndarray, y: np.ndarray) -> np.ndarray:
        """History with holiday steps moved to their own weekday's level; a
        non-negative series stays non-negative (the log models need it)."""
        if self.shift is None:
            return y
        on_holiday = np.isin(seconds // DAY, self.days)
        cleaned = y.astype(float).copy()
        cleaned[on_holiday] -= self.shift.to_sunday(seconds[on_holiday])
        return np.maximum(cleaned, 0.0) if self.non_negative else cleaned

    def apply(self, stamps: np.ndarray, yhat: np.ndarray, campaigns: bool):
        adjusted = yhat
        if self.shift is not None:
            on_holiday = np.isin(stamps // DAY, self.days)
            if np.any(on_holiday):
                adjusted = adjusted.copy()
                adjusted[on_holiday] += self.shift.to_sunday(stamps[on_holiday])
        if campaigns and self.campaigns:
            adjusted = apply_campaigns(stamps, adjusted, self.campaigns)
        return np.maximum(adjusted, 0.0) if self.non_negative else adjusted
