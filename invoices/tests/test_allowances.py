"""Bundle allowances in time: only usage inside a bundle's validity window is
covered, in order of occurrence, across period ends and overlapping bundles."""

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from bundles.tests.factories import (
    OperationPriceFactory,
    PersonalizedBundleFactory,
    PersonalizedBundleLineFactory,
)
from invoices import allowances, services
from invoices.models import Invoice
from invoices.periods import MONTHLY, Period
from invoices.tests.conftest import ingest
from metering.tests.factories import CustomerFactory

OCTOBER = Period(MONTHLY, date(2026, 10, 1))
NOVEMBER = Period(MONTHLY, date(2026, 11, 1))


def at(day: int, hour: int = 12, minute: int = 0, month: int = 10) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=UTC)


def window(key, start, end, **included):
    return allowances.BundleWindow(
        key=key,
        valid_from=start,
        valid_until=end,
        included={
            code: None if q is None else Decimal(q) for code, q in included.items()
        },
    )


def cover(bundles, start, end, usage_by_segment):
    parts = allowances.segments(bundles, start=start, end=end)
    return parts, allowances.covered_in_period(
        bundles,
        start=start,
        parts=parts,
        usage=[usage_by_segment(left, right) for left, right in parts],
    )


@pytest.mark.clockless
def test_overlapping_bundles_cover_in_order_of_start_then_occurrence():
    first = window(1, at(1, 0), at(15, 0), ops="10")
    second = window(2, at(10, 0), at(20, 0), ops="10")
    # 8 units on the 5th, 6 on the 12th, 5 on the 17th.
    events = {at(5): Decimal(8), at(12): Decimal(6), at(17): Decimal(5)}

    parts, covered = cover(
        [second, first],
        at(1, 0),
        at(1, 0, month=11),
        lambda left, right: {
            "ops": sum((q for t, q in events.items() if left <= t < right), Decimal(0))
        },
    )

    assert parts == [
        (at(1, 0), at(10, 0)),
        (at(10, 0), at(15, 0)),
        (at(15, 0), at(20, 0)),
    ]
    # The 5th: the first bundle, 8 (2 left); the 12th: its 2, then 4 of the
    # second (6 left); the 17th: 5 of the second.
    assert covered == {1: {"ops": Decimal(10)}, 2: {"ops": Decimal(9)}}


@pytest.mark.clockless
def test_segments_split_at_the_period_start_and_stop_at_its_end():
    spanning = window(1, at(29, 0, month=9), at(6, 0), ops=None)
    assert allowances.segments([spanning], start=at(1, 0), end=at(1, 0, month=11)) == [
        (at(29, 0, month=9), at(1, 0)),
        (at(1, 0), at(6, 0)),
    ]


@pytest.fixture
def customer(organization):
    OperationPriceFactory(
        organization=organization, operation="image.resize", unit_price=Decimal("0.50")
    )
    return CustomerFactory(organization=organization, external_id="acme")


def accepted_bundle(
    customer, valid_from, valid_until, included, price="20.00", accepted_at=None
):
    bundle = PersonalizedBundleFactory(
        customer=customer,
        status="active",
        validity="week",
        price=Decimal(price),
        valid_from=valid_from,
        valid_until=valid_until,
        accepted_at=accepted_at or valid_from,
    )
    PersonalizedBundleLineFactory(
        bundle=bundle, operation="image.resize", included_quantity=Decimal(included)
    )
    return bundle


def rows(invoice):
    return [
        (line.kind, line.quantity, line.amount)
        for line in invoice.lines.order_by("position")
    ]


def generate(organization, period):
    services.invoices_generate(
        organization=organization,
        period=period,
        now=datetime.combine(period.next_start, datetime.min.time(), tzinfo=UTC),
    )
    return Invoice.objects.get(period_start=period.start)


def test_a_week_bundle_from_mid_month_covers_only_its_week(organization, customer):
    # Accepted at 13:24 on the 13th, valid for a week, 50 units included.
    accepted_bundle(customer, at(13, 13, 24), at(20, 13, 24), "50")
    ingest(customer, "image.resize", [8], when=at(13, 9))  # before it existed
    ingest(customer, "image.resize", [30, 15], when=at(16))  # inside
    ingest(customer, "image.resize", [10], when=at(20, 13, 24))  # just after

    invoice = generate(organization, OCTOBER)

    # 45 of the 63 units are covered; 8 + 10 are charged at 0.50.
    assert rows(invoice) == [
        ("bundle", Decimal("1.000000"), Decimal("20.00")),
        ("bundled_usage", Decimal("45.000000"), Decimal("0.00")),
        ("overage", Decimal("18.000000"), Decimal("9.00")),
    ]
    assert invoice.total == Decimal("29.00")


def test_a_bundle_across_the_month_end_carries_what_is_left(organization, customer):
    accepted_bundle(customer, at(29, 0), at(5, 0, month=11), "50")
    ingest(customer, "image.resize", [30], when=at(30))
    ingest(customer, "image.resize", [40], when=at(2, month=11))
    ingest(customer, "image.resize", [7], when=at(6, month=11))  # after it ended

    october = generate(organization, OCTOBER)
    november = generate(organization, NOVEMBER)

    assert rows(october) == [
        ("bundle", Decimal("1.000000"), Decimal("20.00")),
        ("bundled_usage", Decimal("30.000000"), Decimal("0.00")),
    ]
    # 20 units of the allowance are left for November: 40 - 20 + 7 = 27 charged.
    assert rows(november) == [
        ("bundled_usage", Decimal("20.000000"), Decimal("0.00")),
        ("overage", Decimal("27.000000"), Decimal("13.50")),
    ]
    assert (october.total, november.total) == (Decimal("20.00"), Decimal("13.50"))


def test_a_bundle_accepted_after_its_start_month_is_billed_when_accepted(
    organization, customer
):
    # Valid from 20 October; October is invoiced on 1 November, before the
    # customer accepts on 5 November: November's invoice bills the price, once.
    bundle = accepted_bundle(
        customer, at(20, 0), at(20, 0, month=11), "50", accepted_at=None
    )
    bundle.accepted_at = None
    bundle.status = "offered"
    bundle.save(update_fields=["accepted_at", "status"])
    ingest(customer, "image.resize", [10], when=at(25))
    october = generate(organization, OCTOBER)
    services.invoice_finalize(invoice=october, now=at(1, 2, month=11))

    bundle.accepted_at = at(5, 9, month=11)
    bundle.status = "active"
    bundle.save(update_fields=["accepted_at", "status"])
    ingest(customer, "image.resize", [30], when=at(6, month=11))
    november = generate(organization, NOVEMBER)

    assert rows(october) == [("overage", Decimal("10.000000"), Decimal("5.00"))]
    assert rows(november) == [
        ("bundle", Decimal("1.000000"), Decimal("20.00")),
        ("bundled_usage", Decimal("30.000000"), Decimal("0.00")),
    ]


def test_a_bundle_accepted_in_its_start_month_is_not_billed_again(
    organization, customer
):
    accepted_bundle(
        customer, at(20, 0), at(20, 0, month=11), "50", accepted_at=at(21, 8)
    )
    october = generate(organization, OCTOBER)
    ingest(customer, "image.resize", [5], when=at(2, month=11))
    november = generate(organization, NOVEMBER)

    assert rows(october) == [("bundle", Decimal("1.000000"), Decimal("20.00"))]
    assert rows(november) == [("bundled_usage", Decimal("5.000000"), Decimal("0.00"))]
