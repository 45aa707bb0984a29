"""The Performance & Scaling dashboard in a real browser: charts render and a
customer approves a recommendation in the portal, after a confirmation page that
shows the prices."""

import pytest
from django.utils import timezone

from metering.tests.factories import PortalUserFactory, UserFactory
from scaling.models import Entitlement, Recommendation, ScalingEvent
from scaling.tests.factories import (
    account_with_recommendation,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "pw-for-tests-1"


@pytest.fixture
def account():
    portal = PortalUserFactory()
    customer = portal.customer
    recommendation = account_with_recommendation(customer=customer, now=timezone.now())
    assert recommendation.status == "pending"
    return portal


def login(page, live_server, portal):
    page.goto(f"{live_server.url}/portal/scaling/")
    page.fill("#id_username", portal.user.username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/portal/scaling/")


# The 10th of a 30-day month at midnight: the rest of the month is 21/30 of it.
@pytest.mark.clock("2026-11-10T00:00:00+00:00")
def test_portal_customer_approves_a_recommendation(live_server, page, account):
    login(page, live_server, account)
    assert page.inner_text("h1") == "Performance & Scaling"
    page.wait_for_selector(".resource .plotly-graph-div .main-svg")
    assert "Startup Launch" in page.inner_text("#active-bundle")
    row = page.locator("#recommendations tbody tr").first
    assert "Growth Accelerator" in row.inner_text()
    assert row.locator(".status").inner_text() == "Pending"
    assert row.locator(".new-price").inner_text() == "USD 277.00"
    assert row.locator(".reason").inner_text() == (
        "Your use of compute hours is forecast to exceed your plan's 100 on "
        "10 Nov 2026."
    )
    assert page.inner_text("#accuracy-summary") == (
        "Our forecasts for this account have been within about 10 % of actual usage."
    )
    assert "MASE" not in page.content()

    row.get_by_role("link", name="Review and approve").click()
    page.wait_for_selector("#confirm-plan-change")
    assert page.inner_text("#current-price") == "USD 85.00"
    assert page.inner_text("#new-price") == "USD 277.00"
    # (277 - 85) x 21/30.
    assert page.inner_text("#invoice-change") == "+USD 134.40"
    assert page.inner_text("#reason") == (
        "Your use of compute hours is forecast to exceed your plan's 100 on "
        "10 Nov 2026."
    )
    assert Recommendation.objects.get().status == "pending"

    page.get_by_role("button", name="Approve and change my plan").click()
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


@pytest.mark.clock("2026-11-10T00:00:00+00:00")
def test_portal_customer_cancels_on_the_confirmation(live_server, page, account):
    login(page, live_server, account)
    page.get_by_role("link", name="Review and approve").click()
    page.wait_for_selector("#confirm-plan-change")
    assert page.inner_text("#new-price") == "USD 277.00"

    page.get_by_role("link", name="Cancel").click()
    page.wait_for_url(f"{live_server.url}/portal/scaling/")

    row = page.locator("#recommendations tbody tr").first
    assert row.locator(".status").inner_text() == "Pending"
    assert "Startup Launch" in page.inner_text("#active-bundle")
    assert Recommendation.objects.get().status == "pending"
    assert Entitlement.objects.get().bundle.name == "Startup Launch"
    assert ScalingEvent.objects.count() == 1


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


def staff_login(page, live_server, account):
    staff = UserFactory(staff=True)
    customer = account.customer
    dashboard = (
        f"/staff/scaling/?organization={customer.organization.slug}"
        f"&account={customer.pk}"
    )
    page.goto(f"{live_server.url}/admin/login/?next={dashboard.replace('&', '%26')}")
    page.fill("#id_username", staff.username)
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url(f"{live_server.url}{dashboard}")
    return staff


@pytest.mark.clock("2026-11-10T00:00:00+00:00")
def test_staff_approves_a_recommendation_after_the_customers_confirmation(
    live_server, page, account
):
    staff = staff_login(page, live_server, account)
    row = page.locator("#recommendations tbody tr").first
    assert row.locator(".status").inner_text() == "Pending"

    row.get_by_role("link", name="Review and approve").click()
    page.wait_for_selector("#confirm-plan-change")
    assert page.inner_text("#current-price") == "USD 85.00"
    assert page.inner_text("#new-price") == "USD 277.00"
    # (277 - 85) x 21/30.
    assert page.inner_text("#invoice-change") == "+USD 134.40"
    assert page.inner_text("#reason") == (
        "Your use of compute hours is forecast to exceed your plan's 100 on "
        "10 Nov 2026."
    )
    assert "The customer's November 2026 invoice" in page.inner_text(
        "#invoice-change-explained"
    )
    assert Recommendation.objects.get().status == "pending"

    page.get_by_role("button", name="Approve and change the plan").click()
    page.wait_for_selector("ul.messagelist")
    assert "is approved." in page.inner_text("ul.messagelist")
    row = page.locator("#recommendations tbody tr").first
    assert row.locator(".status").inner_text() == "Applied"
    assert staff.username in row.locator(".decision").inner_text()
    recommendation = Recommendation.objects.get()
    assert (recommendation.status, recommendation.decided_by) == (
        "applied",
        staff.username,
    )
    assert Entitlement.objects.get().bundle.name == "Growth Accelerator"


def test_staff_rejects_a_recommendation_with_a_reason(live_server, page, account):
    staff = staff_login(page, live_server, account)
    page.get_by_role("link", name="Reject").click()
    page.wait_for_selector("#confirm-plan-change")
    assert page.inner_text("#new-price") == "USD 277.00"
    page.fill("#id_reason", "Agreed with the customer to wait for the launch.")

    page.get_by_role("button", name="Reject the change").click()
    page.wait_for_selector("ul.messagelist")
    row = page.locator("#recommendations tbody tr").first
    assert row.locator(".status").inner_text() == "Rejected"
    assert "Agreed with the customer to wait for the launch." in (
        row.locator(".decision").inner_text()
    )
    recommendation = Recommendation.objects.get()
    assert (
        recommendation.status,
        recommendation.decided_by,
        recommendation.decision_note,
    ) == (
        "rejected",
        staff.username,
        "Agreed with the customer to wait for the launch.",
    )
    assert Entitlement.objects.get().bundle.name == "Startup Launch"
