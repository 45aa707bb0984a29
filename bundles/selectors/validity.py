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

    Days, weeks and months are calendar lengths in the organization's time zone: a
    day bundle offered at 18:00 local time is valid until 18:00 local time the next
    day, which is 23 or 25 hours across a daylight-saving change, and a month bundle
    offered on 31 January until the end of 28 (or 29) February at the same local
    time. Sessions and custom durations are elapsed time.

    Its period key names the local calendar day, ISO week, month, session slot (of
    ``session_minutes`` from local midnight) or custom-duration slot (since the Unix
    epoch) containing ``now``, so reruns within one period find the same key.
    """
    zone = zoneinfo.ZoneInfo(timezone)
    local = now.astimezone(zone)

    def local_later(step: dt.timedelta | relativedelta) -> dt.datetime:
        # Wall-clock arithmetic on the local time, then back to an instant. A wall
        # time that does not exist that day (a spring-forward gap) resolves forward;
        # one that occurs twice (a fall-back hour) is its first occurrence.
        later = (local.replace(tzinfo=None) + step).replace(tzinfo=zone)
        return later.astimezone(now.tzinfo)

    if validity == Validity.SESSION:
        length = dt.timedelta(minutes=session_minutes)
        slot = (local.hour * 60 + local.minute) // session_minutes
        key = f"session:{local.date().isoformat()}:{session_minutes}m:{slot}"
        return Window(now, now + length, key)
    if validity == Validity.DAY:
        return Window(now, local_later(dt.timedelta(days=1)), f"day:{local.date()}")
    if validity == Validity.WEEK:
        year, week, _ = local.isocalendar()
        return Window(
            now, local_later(dt.timedelta(days=7)), f"week:{year}-W{week:02d}"
        )
    if validity == Validity.MONTH:
        return Window(now, local_later(relativedelta(months=1)), f"month:{local:%Y-%m}")
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
