"""Validity windows of offers and the calendar period keys that make offer runs
idempotent."""

import datetime as dt
import zoneinfo
from dataclasses import dataclass

from dateutil.relativedelta import relativedelta

from bundles.models import BundleTemplate, Validity


@dataclass(frozen=True)
class Window:
    valid_from: dt.datetime
    valid_until: dt.datetime  # exclusive
    # The calendar period (in the organization's time zone) the offer belongs to.
    period_key: str

    @property
    def seconds(self) -> int:
        return int((self.valid_until - self.valid_from).total_seconds())


def validity_window(
    *,
    validity: str,
    now: dt.datetime,
    timezone: str,
    session_minutes: int,
    custom_duration: dt.timedelta | None = None,
) -> Window:
    """An offer made at ``now`` is valid for one validity length from ``now``.

    Its period key names the calendar day, ISO week, month, session slot (of
    ``session_minutes`` from local midnight) or custom-duration slot (since the Unix
    epoch) containing ``now``, so reruns within one period find the same key.
    """
    local = now.astimezone(zoneinfo.ZoneInfo(timezone))
    if validity == Validity.SESSION:
        length = dt.timedelta(minutes=session_minutes)
        slot = (local.hour * 60 + local.minute) // session_minutes
        key = f"session:{local.date().isoformat()}:{session_minutes}m:{slot}"
        return Window(now, now + length, key)
    if validity == Validity.DAY:
        return Window(now, now + dt.timedelta(days=1), f"day:{local.date()}")
    if validity == Validity.WEEK:
        year, week, _ = local.isocalendar()
        return Window(now, now + dt.timedelta(days=7), f"week:{year}-W{week:02d}")
    if validity == Validity.MONTH:
        return Window(now, now + relativedelta(months=1), f"month:{local:%Y-%m}")
    seconds = int(custom_duration.total_seconds())
    slot = int(now.timestamp()) // seconds
    return Window(now, now + custom_duration, f"custom:{seconds}s:{slot}")


def template_window(
    *, template: BundleTemplate, now: dt.datetime, session_minutes: int
) -> Window:
    return validity_window(
        validity=template.validity,
        now=now,
        timezone=template.organization.timezone,
        session_minutes=session_minutes,
        custom_duration=template.custom_duration,
    )
