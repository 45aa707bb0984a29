"""Billing periods: calendar months and days in UTC.

Periods are UTC like the usage counters (``metering.models.UsageCounter``), so the
live total of an open month and its invoice read the same boundaries. A period is
written ``YYYY-MM`` (monthly) or ``YYYY-MM-DD`` (daily); ``end`` is its last day,
inclusive, and ``bounds`` the half-open ``[start, next start)`` instants.
"""

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from billing_site.errors import DomainError

MONTHLY = "monthly"
DAILY = "daily"
FREQUENCY_CHOICES = [(MONTHLY, "Monthly"), (DAILY, "Daily")]

_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
_DAY = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")


def _next_month(day: date) -> date:
    return date(day.year + (day.month == 12), day.month % 12 + 1, 1)


@dataclass(frozen=True, order=True)
class Period:
    frequency: str
    start: date

    @property
    def next_start(self) -> date:
        if self.frequency == MONTHLY:
            return _next_month(self.start)
        return self.start + timedelta(days=1)

    @property
    def end(self) -> date:
        """The last day of the period (inclusive)."""
        return self.next_start - timedelta(days=1)

    @property
    def bounds(self) -> tuple[datetime, datetime]:
        return (
            datetime.combine(self.start, time.min, tzinfo=UTC),
            datetime.combine(self.next_start, time.min, tzinfo=UTC),
        )

    @property
    def closes_at(self) -> datetime:
        return self.bounds[1]

    @property
    def label(self) -> str:
        if self.frequency == MONTHLY:
            return self.start.strftime("%Y-%m")
        return self.start.isoformat()

    def previous(self) -> "Period":
        if self.frequency == MONTHLY:
            last_day = self.start - timedelta(days=1)
            return Period(MONTHLY, last_day.replace(day=1))
        return Period(DAILY, self.start - timedelta(days=1))

    def following(self) -> "Period":
        return Period(self.frequency, self.next_start)

    def __str__(self) -> str:
        return self.label


def period_parse(text: str, field: str = "period") -> Period:
    """``"2026-10"`` -> the month, ``"2026-10-03"`` -> the day; else a DomainError."""
    text = (text or "").strip()
    try:
        if match := _MONTH.match(text):
            year, month = (int(part) for part in match.groups())
            return Period(MONTHLY, date(year, month, 1))
        if match := _DAY.match(text):
            year, month, day = (int(part) for part in match.groups())
            return Period(DAILY, date(year, month, day))
    except ValueError:
        pass
    raise DomainError(f"Use YYYY-MM or YYYY-MM-DD, not {text!r}.", field=field)


def period_containing(moment: datetime, frequency: str) -> Period:
    day = moment.astimezone(UTC).date()
    if frequency == MONTHLY:
        return Period(MONTHLY, day.replace(day=1))
    return Period(DAILY, day)
