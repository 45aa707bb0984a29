"""Offer validity windows in the organization's time zone: days, weeks and months
are calendar lengths in local time across daylight-saving changes, month ends and
leap years; period keys name the local calendar period."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from bundles import selectors

UTC = dt.UTC
BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")


def window(validity, now, timezone="UTC", **extra):
    return selectors.validity_window(
        validity=validity,
        now=now,
        timezone=timezone,
        session_minutes=60,
        **extra,
    )


@pytest.mark.parametrize(
    ("validity", "offered", "timezone", "until", "key"),
    [
        # Berlin's clocks go back on 25 October 2026: 18:00 to 18:00 is 25 hours.
        (
            "day",
            dt.datetime(2026, 10, 24, 18, tzinfo=BERLIN),
            "Europe/Berlin",
            dt.datetime(2026, 10, 25, 17, tzinfo=UTC),
            "day:2026-10-24",
        ),
        # ...and go forward on 28 March 2027: 18:00 to 18:00 is 23 hours.
        (
            "day",
            dt.datetime(2027, 3, 27, 18, tzinfo=BERLIN),
            "Europe/Berlin",
            dt.datetime(2027, 3, 28, 16, tzinfo=UTC),
            "day:2027-03-27",
        ),
        # A week across the autumn change is 169 hours, Wednesday noon to noon.
        (
            "week",
            dt.datetime(2026, 10, 21, 12, tzinfo=BERLIN),
            "Europe/Berlin",
            dt.datetime(2026, 10, 28, 11, tzinfo=UTC),
            "week:2026-W43",
        ),
        # New York's spring change skips 02:00-03:00 on 8 March 2026: 02:30 the
        # next day does not exist, so the offer runs to 03:30, 24 hours later.
        (
            "day",
            dt.datetime(2026, 3, 7, 2, 30, tzinfo=NEW_YORK),
            "America/New_York",
            dt.datetime(2026, 3, 8, 7, 30, tzinfo=UTC),
            "day:2026-03-07",
        ),
        # 01:30 occurs twice on 1 November 2026 in New York: the first one.
        (
            "day",
            dt.datetime(2026, 10, 31, 1, 30, tzinfo=NEW_YORK),
            "America/New_York",
            dt.datetime(2026, 11, 1, 5, 30, tzinfo=UTC),
            "day:2026-10-31",
        ),
        # A month from 31 January ends on the last day of February, leap or not.
        (
            "month",
            dt.datetime(2028, 1, 31, 10, tzinfo=UTC),
            "UTC",
            dt.datetime(2028, 2, 29, 10, tzinfo=UTC),
            "month:2028-01",
        ),
        (
            "month",
            dt.datetime(2027, 1, 31, 10, tzinfo=UTC),
            "UTC",
            dt.datetime(2027, 2, 28, 10, tzinfo=UTC),
            "month:2027-01",
        ),
        # A month from the leap day ends on 29 March.
        (
            "month",
            dt.datetime(2028, 2, 29, 23, 30, tzinfo=UTC),
            "UTC",
            dt.datetime(2028, 3, 29, 23, 30, tzinfo=UTC),
            "month:2028-02",
        ),
        # New Year's Eve 23:30 UTC is already 1 January in Tokyo: January's offer,
        # valid until 1 February 08:30 Tokyo time.
        (
            "month",
            dt.datetime(2026, 12, 31, 23, 30, tzinfo=UTC),
            "Asia/Tokyo",
            dt.datetime(2027, 1, 31, 23, 30, tzinfo=UTC),
            "month:2027-01",
        ),
        # A month across Berlin's spring change: 15 March 12:00 to 15 April 12:00
        # local time, one hour less in elapsed time.
        (
            "month",
            dt.datetime(2027, 3, 15, 12, tzinfo=BERLIN),
            "Europe/Berlin",
            dt.datetime(2027, 4, 15, 10, tzinfo=UTC),
            "month:2027-03",
        ),
        # The ISO week of 31 December 2026 is week 53 of 2026.
        (
            "week",
            dt.datetime(2026, 12, 31, 23, 30, tzinfo=UTC),
            "UTC",
            dt.datetime(2027, 1, 7, 23, 30, tzinfo=UTC),
            "week:2026-W53",
        ),
    ],
)
def test_calendar_validity_in_local_time(validity, offered, timezone, until, key):
    now = offered.astimezone(UTC)

    offer = window(validity, now, timezone)

    assert (offer.valid_from, offer.valid_until, offer.period_key) == (now, until, key)


def test_sessions_and_custom_durations_are_elapsed_time_across_a_change():
    # 01:30 local on Berlin's autumn change day: the hour after repeats itself.
    now = dt.datetime(2026, 10, 25, 1, 30, tzinfo=BERLIN).astimezone(UTC)

    session = window("session", now, "Europe/Berlin")
    custom = window(
        "custom", now, "Europe/Berlin", custom_duration=dt.timedelta(hours=6)
    )

    assert (session.valid_until - now, session.period_key) == (
        dt.timedelta(hours=1),
        "session:2026-10-25:60m:1",
    )
    assert custom.valid_until - now == dt.timedelta(hours=6)


def test_reruns_in_the_same_local_day_share_the_period_key_across_utc_midnight():
    # 23:30 UTC on 24 October and 00:30 UTC on 25 October are both 25 October in
    # Tokyo, so a rerun an hour later finds the offer made by the first run.
    first = dt.datetime(2026, 10, 24, 23, 30, tzinfo=UTC)

    keys = {
        window("day", moment, "Asia/Tokyo").period_key
        for moment in (first, first + dt.timedelta(hours=1))
    }

    assert keys == {"day:2026-10-25"}
