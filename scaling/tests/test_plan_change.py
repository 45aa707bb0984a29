import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from scaling.plan_change import PlanSpan, plan_change_quote, utc_month_bounds

pytestmark = pytest.mark.clockless  # a pure engine: no clock, no database

NOV_1 = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
DEC_1 = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)


def test_upgrade_on_the_10th_charges_the_difference_for_21_of_30_days():
    quote = plan_change_quote(
        plans=[PlanSpan(Decimal("85.00"), NOV_1, DEC_1)],
        new_price=Decimal("277.00"),
        at=dt.datetime(2026, 11, 10, tzinfo=dt.UTC),
        currency="USD",
    )

    # 85 x 9/30 = 25.50 and 277 x 21/30 = 193.90 instead of 85.00.
    assert quote.month_charges_without == Decimal("85.00")
    assert quote.month_charges_with == Decimal("219.40")
    assert quote.invoice_change == Decimal("134.40")
    assert quote.invoice_change == (Decimal(277) - Decimal(85)) * 21 / 30
    assert (quote.current_price, quote.new_price) == (Decimal("85.00"), Decimal("277"))
    assert quote.monthly_change == Decimal("192.00")
    assert (quote.month_start, quote.month_end) == (NOV_1, DEC_1)


def test_downgrade_takes_the_difference_off():
    quote = plan_change_quote(
        plans=[PlanSpan(Decimal("119.00"), NOV_1, DEC_1)],
        new_price=Decimal("59.00"),
        at=dt.datetime(2026, 11, 16, tzinfo=dt.UTC),
        currency="USD",
    )

    # 119 x 15/30 = 59.50 and 59 x 15/30 = 29.50 instead of 119.00.
    assert quote.invoice_change == Decimal("-30.00")


def test_each_plan_line_is_rounded_once_as_invoicing_does():
    # One second into a 31-day month: 10.00 x (1 - 1/2678400) = 9.99999627 -> 10.00,
    # 20.00 x 1/2678400 -> 0.00: the change rounds away per line.
    start = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)
    quote = plan_change_quote(
        plans=[
            PlanSpan(Decimal("10.00"), start, dt.datetime(2027, 1, 1, tzinfo=dt.UTC))
        ],
        new_price=Decimal("20.00"),
        at=start + dt.timedelta(seconds=1),
        currency="USD",
    )

    assert quote.month_charges_with == Decimal("20.00")
    assert quote.invoice_change == Decimal("10.00")


def test_plan_started_mid_month_is_charged_from_its_start():
    nov_5 = dt.datetime(2026, 11, 5, tzinfo=dt.UTC)
    quote = plan_change_quote(
        plans=[
            PlanSpan(Decimal("30.00"), NOV_1, nov_5),
            PlanSpan(Decimal("60.00"), nov_5, DEC_1),
        ],
        new_price=Decimal("90.00"),
        at=dt.datetime(2026, 11, 21, tzinfo=dt.UTC),
        currency="USD",
    )

    # 30 x 4/30 + 60 x 26/30 = 4.00 + 52.00; with the change 60 x 16/30 = 32.00
    # and 90 x 10/30 = 30.00.
    assert quote.month_charges_without == Decimal("56.00")
    assert quote.month_charges_with == Decimal("66.00")
    assert quote.invoice_change == Decimal("10.00")
    assert quote.current_price == Decimal("60.00")


def test_a_first_plan_is_charged_for_the_rest_of_the_month():
    quote = plan_change_quote(
        plans=[],
        new_price=Decimal("59.00"),
        at=dt.datetime(2027, 2, 15, tzinfo=dt.UTC),
        currency="USD",
    )

    # 14 of February 2027's 28 days.
    assert quote.current_price == Decimal(0)
    assert quote.invoice_change == Decimal("29.50")


def test_month_bounds_in_utc():
    assert utc_month_bounds(
        dt.datetime(2028, 2, 29, 23, 30, tzinfo=dt.timezone(dt.timedelta(hours=-2)))
    ) == (
        dt.datetime(2028, 3, 1, tzinfo=dt.UTC),
        dt.datetime(2028, 4, 1, tzinfo=dt.UTC),
    )
    assert utc_month_bounds(dt.datetime(2026, 12, 31, 23, 30, tzinfo=dt.UTC)) == (
        dt.datetime(2026, 12, 1, tzinfo=dt.UTC),
        dt.datetime(2027, 1, 1, tzinfo=dt.UTC),
    )


prices = st.decimals(min_value=0, max_value=10_000, places=2)


@given(
    current=prices,
    new=prices,
    seconds=st.integers(min_value=0, max_value=30 * 86_400 - 1),
)
def test_change_stays_within_a_cent_of_the_exact_prorated_difference(
    current, new, seconds
):
    at = NOV_1 + dt.timedelta(seconds=seconds)
    quote = plan_change_quote(
        plans=[PlanSpan(current, NOV_1, DEC_1)],
        new_price=new,
        at=at,
        currency="USD",
    )

    rest = Decimal(30 * 86_400 - seconds) / Decimal(30 * 86_400)
    assert abs(quote.invoice_change - (new - current) * rest) <= Decimal("0.01")
    assert quote.invoice_change.as_tuple().exponent == -2
