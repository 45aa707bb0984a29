"""Billing periods across month ends, leap years, year ends and daylight-saving
changes. Periods are UTC calendar months and days, whatever the organization's time
zone (README: usage counters and invoices share these boundaries)."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from billing_site.errors import DomainError
from invoices import services
from invoices.models import Invoice
from invoices.periods import DAILY, MONTHLY, Period, period_containing, period_parse
from invoices.tests.conftest import ingest
from invoices.tests.factories import SubscriptionFactory
from metering.tests.factories import CustomerFactory
from pricing.tests.factories import ActivityBasedConfigFactory, BillingModelFactory

NEW_YORK = ZoneInfo("America/New_York")
BERLIN = ZoneInfo("Europe/Berlin")


@pytest.mark.parametrize(
    ("moment", "month", "day"),
    [
        # The last second of a leap day, and the first of the next month.
        (datetime(2028, 2, 29, 23, 59, 59, tzinfo=UTC), "2028-02", "2028-02-29"),
        (datetime(2028, 3, 1, 0, 0, tzinfo=UTC), "2028-03", "2028-03-01"),
        (datetime(2026, 12, 31, 23, 30, tzinfo=UTC), "2026-12", "2026-12-31"),
        # 30 November 20:00 in New York is already December in UTC.
        (datetime(2026, 11, 30, 20, 0, tzinfo=NEW_YORK), "2026-12", "2026-12-01"),
        # The repeated hour of Berlin's autumn change, both times: still 25 October.
        (datetime(2026, 10, 25, 2, 30, tzinfo=BERLIN), "2026-10", "2026-10-25"),
        (
            datetime(2026, 10, 25, 2, 30, fold=1, tzinfo=BERLIN),
            "2026-10",
            "2026-10-25",
        ),
    ],
)
def test_the_period_containing_an_instant_is_its_utc_month_and_day(moment, month, day):
    assert period_containing(moment, MONTHLY).label == month
    assert period_containing(moment, DAILY).label == day


@pytest.mark.parametrize(
    ("label", "previous", "following", "last_day", "hours"),
    [
        ("2028-02", "2028-01", "2028-03", date(2028, 2, 29), 29 * 24),
        ("2027-02", "2027-01", "2027-03", date(2027, 2, 28), 28 * 24),
        ("2026-12", "2026-11", "2027-01", date(2026, 12, 31), 31 * 24),
        ("2027-01", "2026-12", "2027-02", date(2027, 1, 31), 31 * 24),
        # Europe's clocks go back on 25 October; a UTC month keeps its 744 hours.
        ("2026-10", "2026-09", "2026-11", date(2026, 10, 31), 31 * 24),
        ("2028-02-29", "2028-02-28", "2028-03-01", date(2028, 2, 29), 24),
        ("2027-03-01", "2027-02-28", "2027-03-02", date(2027, 3, 1), 24),
        ("2026-12-31", "2026-12-30", "2027-01-01", date(2026, 12, 31), 24),
        ("2026-03-08", "2026-03-07", "2026-03-09", date(2026, 3, 8), 24),
    ],
)
def test_period_arithmetic_across_month_and_year_ends(
    label, previous, following, last_day, hours
):
    period = period_parse(label)

    assert period.previous().label == previous
    assert period.following().label == following
    assert period.end == last_day
    start, end = period.bounds
    assert (start.tzinfo, end - start) == (UTC, timedelta(hours=hours))
    assert period.closes_at == end == period.following().bounds[0]


def test_a_day_that_does_not_exist_is_refused():
    assert period_parse("2028-02-29") == Period(DAILY, date(2028, 2, 29))
    with pytest.raises(DomainError) as error:
        period_parse("2027-02-29")
    assert (error.value.field, error.value.message) == (
        "period",
        "Use YYYY-MM or YYYY-MM-DD, not '2027-02-29'.",
    )


@pytest.fixture
def daily_calls(organization):
    """A customer billed 0.10 per API call, invoiced every day."""
    organization.timezone = "America/New_York"
    organization.save()
    model = BillingModelFactory(organization=organization)
    ActivityBasedConfigFactory(
        billing_model=model,
        activity_type="api_calls",
        price_per_unit=Decimal("0.10"),
        billing_frequency="daily",
    )
    customer = CustomerFactory(organization=organization, external_id="daily")
    SubscriptionFactory(
        customer=customer,
        billing_model=model,
        starts_at=datetime(2028, 1, 1, tzinfo=UTC),
    )
    return customer


def test_the_cycle_after_a_leap_day_bills_the_leap_day_and_february(
    organization, daily_calls
):
    # The leap day's last second, and the first second of March (tomorrow's bill).
    ingest(
        daily_calls,
        "api_calls",
        [3],
        when=datetime(2028, 2, 29, 23, 59, 59, tzinfo=UTC),
    )
    ingest(daily_calls, "api_calls", [5], when=datetime(2028, 3, 1, tzinfo=UTC))
    ingest(daily_calls, "api_calls", [7], when=datetime(2028, 2, 28, 12, tzinfo=UTC))

    result = services.invoicing_cycle_run(
        organization=organization, now=datetime(2028, 3, 1, 0, 30, tzinfo=UTC)
    )

    assert [(g.period.label, g.created) for g in result.generated] == [
        ("2028-02", 0),
        ("2028-02-29", 1),
    ]
    invoice = Invoice.objects.get()
    assert (invoice.period_start, invoice.period_end, invoice.total) == (
        date(2028, 2, 29),
        date(2028, 2, 29),
        Decimal("0.30"),
    )
