"""The Performance & Scaling dashboard in a real browser: charts render and a
customer approves a recommendation in the portal."""

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from metering.tests.factories import PortalUserFactory, UserFactory
from scaling.models import Entitlement, Recommendation, ResourceMetric, ScalingEvent
from scaling.services.provisioning import entitlement_record
from scaling.services.recommendations import recommendation_generate
from scaling.tests.factories import (
    BundleCapacityFactory,
    FeatureBundleFactory,
    ForecastFactory,
    daily_points,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "pw-for-tests-1"


@pytest.fixture
def account():
    portal = PortalUserFactory()
    customer = portal.customer
    organization = customer.organization
    bundles = {}
    for name, base, capacity in (
        ("Startup Launch", "49.00", "100"),
        ("Growth Accelerator", "99.00", "200"),
    ):
        bundles[name] = FeatureBundleFactory(
            organization=organization, name=name, base_price=Decimal(base)
        )
        BundleCapacityFactory(bundle=bundles[name], capacity=Decimal(capacity))
    now = timezone.now()
    ResourceMetric.objects.bulk_create(
        ResourceMetric(
            organization=organization,
            customer=customer,
            resource="compute_hours",
            timestamp=now - dt.timedelta(days=i),
            value=80.0 + i,
        )
        for i in range(10)
    )
    entitlement_record(customer=customer, bundle=bundles["Startup Launch"], now=now)
    ForecastFactory(
        customer=customer,
        generated_at=now,
        points=daily_points([(150, 140, 160)] * 2, [(130, 170)] * 2, start=now),
    )
    recommendation = recommendation_generate(customer=customer, now=now)
    assert recommendation.status == "pending"
    return portal


def test_portal_customer_approves_a_recommendation(live_server, page, account):
    page.goto(f"{live_server.url}/portal/scaling/")
    page.fill("#id_username", account.user.username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/portal/scaling/")
    assert page.inner_text("h1") == "Performance & Scaling"
    page.wait_for_selector(".resource .plotly-graph-div .main-svg")
    assert "Startup Launch" in page.inner_text("#active-bundle")
    row = page.locator("#recommendations tbody tr").first
    assert "Growth Accelerator" in row.inner_text()
    assert row.locator(".status").inner_text() == "Pending"

    row.get_by_role("button", name="Approve").click()
    page.wait_for_selector("ul.messages")
    assert "Recommendation Growth Accelerator approved." in page.inner_text(
        "ul.messages"
    )
    assert page.locator("#recommendations .status").first.inner_text() == "Applied"
    assert "Growth Accelerator" in page.inner_text("#active-bundle")
    assert Recommendation.objects.get().status == "applied"
    assert Entitlement.objects.get().bundle.name == "Growth Accelerator"
    assert list(ScalingEvent.objects.order_by("id").values_list("kind", flat=True)) == [
        "initial",
        "upgrade",
    ]
    assert "Upgrade" in page.inner_text("#events")


def test_staff_dashboard_renders_forecast_chart(live_server, page, account):
    staff = UserFactory(staff=True)
    page.goto(f"{live_server.url}/admin/login/?next=/staff/scaling/")
    page.fill("#id_username", staff.username)
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url(f"{live_server.url}/staff/scaling/")
    page.wait_for_selector(".resource .plotly-graph-div .main-svg")
    assert account.customer.external_id in page.inner_text("#account-picker")
    assert "ets" in page.inner_text("#accuracy")
