"""The admin login and the customer portal, driven in a real browser."""

import pytest

from metering.tests.factories import CustomerFactory, PortalUserFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "pw-for-tests-1"


def test_admin_login_and_customer_list(live_server, page):
    admin = UserFactory(staff=True)
    CustomerFactory(name="Globex Corporation")

    page.goto(f"{live_server.url}/admin/")
    page.fill("#id_username", admin.username)
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_selector("#site-name")
    assert "Usage Billing administration" in page.inner_text("#site-name")

    page.goto(f"{live_server.url}/admin/metering/customer/")
    assert "Globex Corporation" in page.inner_text("#result_list")


def test_portal_login_shows_own_account_only(live_server, page):
    mine = PortalUserFactory(customer=CustomerFactory(name="Initech"))
    CustomerFactory(name="Umbrella Corp", organization=mine.customer.organization)

    page.goto(f"{live_server.url}/portal/")
    assert page.url.startswith(f"{live_server.url}/portal/login/")
    page.fill("#id_password", "wrong")
    page.fill("#id_username", mine.user.username)
    page.click("button[type=submit]")
    assert "didn't match" in page.inner_text("main")

    page.fill("#id_username", mine.user.username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/portal/")
    assert page.inner_text("h1") == "Initech"
    assert "Umbrella" not in page.content()
    assert mine.customer.external_id in page.inner_text("main")
