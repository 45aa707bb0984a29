"""Scaling plans (feature bundles) on invoices: each plan in force during the month,
prorated by the time it was in force, one line per plan change."""

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from invoices import selectors, services
from invoices.models import Invoice
from invoices.periods import MONTHLY, Period
from metering.tests.factories import CustomerFactory
from scaling.models import Recommendation
from scaling.services.provisioning import entitlement_record
from scaling.services.recommendations import recommendation_apply
from scaling.tests.factories import FeatureBundleFactory

NOVEMBER = Period(MONTHLY, date(2026, 11, 1))  # 30 days
AFTER_NOVEMBER = datetime(2026, 12, 1, 1, tzinfo=UTC)


def november(day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=UTC)


@pytest.fixture
def plans(organization):
    """Basic at 85.00 and Scale at 277.00 a month (no capacities priced)."""
    return {
        name: FeatureBundleFactory(
            organization=organization, name=name, base_price=Decimal(price)
        )
        for name, price in (("Basic", "85.00"), ("Scale", "277.00"))
    }


@pytest.fixture
def account(organization, plans):
    """An account on Basic since October."""
    customer = CustomerFactory(organization=organization, external_id="acme")
    entitlement_record(
        customer=customer, bundle=plans["Basic"], now=datetime(2026, 10, 20, tzinfo=UTC)
    )
    return customer


def approve_upgrade(customer, bundle, when):
    """An approved recommendation, provisioned at ``when`` as the worker does."""
    recommendation = Recommendation.objects.create(
        organization=customer.organization,
        customer=customer,
        recommended_bundle=bundle,
        direction=Recommendation.Direction.UPGRADE,
        status=Recommendation.Status.APPROVED,
        confidence=0.9,
        horizon_days=30,
        currency="USD",
        upgrade_cost=Decimal("192.00"),
        revenue_at_risk_current=Decimal("0"),
        revenue_at_risk_recommended=Decimal("0"),
        net_benefit=Decimal("0"),
    )
    return recommendation_apply(recommendation_id=recommendation.pk, now=when)


def plan_lines(invoice):
    return [
        (line.description, line.quantity, line.unit_price, line.amount)
        for line in invoice.lines.filter(kind="entitlement").order_by("position")
    ]


def generate(organization, period=NOVEMBER, now=AFTER_NOVEMBER):
    services.invoices_generate(organization=organization, period=period, now=now)
    return Invoice.objects.get(period_start=period.start)


def test_an_upgrade_approved_on_the_10th_bills_each_plan_for_its_days(
    organization, plans, account
):
    approve_upgrade(account, plans["Scale"], november(10))

    invoice = generate(organization)

    assert plan_lines(invoice) == [
        (
            "Plan Basic: 2026-11-01 00:00 to 2026-11-10 00:00 UTC",
            Decimal("0.300000"),
            Decimal("85.00000000"),
            Decimal("25.50"),  # 85 x 9/30
        ),
        (
            "Plan Scale: 2026-11-10 00:00 to 2026-12-01 00:00 UTC",
            Decimal("0.700000"),
            Decimal("277.00000000"),
            Decimal("193.90"),  # 277 x 21/30
        ),
    ]
    assert invoice.total == Decimal("219.40")
    references = list(
        invoice.lines.filter(kind="entitlement")
        .order_by("position")
        .values_list("reference", flat=True)
    )
    events = list(account.scaling_events.order_by("occurred_at", "id"))
    assert references == [f"scaling_event:{event.pk}" for event in events]


def test_each_plan_line_is_rounded_once(organization, plans, account):
    # 9 days 13:24 of 30 at 85.00 = 27.0819..., the rest at 277.00 = 188.7447...:
    # 27.08 + 188.74 = 215.82, where rounding the sum would give 215.83.
    entitlement_record(
        customer=account, bundle=plans["Scale"], now=november(10, 13, 24)
    )

    invoice = generate(organization)

    assert [row[3] for row in plan_lines(invoice)] == [
        Decimal("27.08"),
        Decimal("188.74"),
    ]
    assert invoice.total == Decimal("215.82")


def test_an_upgrade_then_a_downgrade_gives_three_lines(organization, plans, account):
    entitlement_record(customer=account, bundle=plans["Scale"], now=november(10))
    entitlement_record(customer=account, bundle=plans["Basic"], now=november(25))

    invoice = generate(organization)

    assert [(row[0], row[3]) for row in plan_lines(invoice)] == [
        ("Plan Basic: 2026-11-01 00:00 to 2026-11-10 00:00 UTC", Decimal("25.50")),
        ("Plan Scale: 2026-11-10 00:00 to 2026-11-25 00:00 UTC", Decimal("138.50")),
        ("Plan Basic: 2026-11-25 00:00 to 2026-12-01 00:00 UTC", Decimal("17.00")),
    ]
    assert invoice.total == Decimal("181.00")


def test_a_plan_in_force_all_month_is_billed_in_full_and_a_later_one_not_yet(
    organization, plans, account
):
    entitlement_record(customer=account, bundle=plans["Scale"], now=november(10))

    december = generate(
        organization,
        period=Period(MONTHLY, date(2026, 12, 1)),
        now=datetime(2027, 1, 1, 1, tzinfo=UTC),
    )
    october = generate(
        organization,
        period=Period(MONTHLY, date(2026, 10, 1)),
        now=datetime(2026, 11, 1, 1, tzinfo=UTC),
    )

    assert [row[3] for row in plan_lines(december)] == [Decimal("277.00")]
    # On Basic from 20 October 00:00: 12 of 31 days.
    assert plan_lines(october) == [
        (
            "Plan Basic: 2026-10-20 00:00 to 2026-11-01 00:00 UTC",
            Decimal("0.387097"),
            Decimal("85.00000000"),
            Decimal("32.90"),
        )
    ]


def test_an_account_without_usage_is_invoiced_for_its_plan(organization, plans):
    quiet = CustomerFactory(organization=organization, external_id="quiet")
    entitlement_record(customer=quiet, bundle=plans["Scale"], now=november(1))

    invoice = generate(organization)

    assert invoice.customer == quiet
    assert invoice.total == Decimal("277.00")


@pytest.mark.clock("2026-11-20T12:00:00+00:00")
def test_the_running_total_includes_the_plans_of_the_open_month(
    organization, plans, account
):
    entitlement_record(customer=account, bundle=plans["Scale"], now=november(10))

    live = selectors.current_usage_cost(customer=account, now=november(20, 12))

    assert live.total == Decimal("219.40")
