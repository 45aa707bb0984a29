"""The staff "Live usage" page refreshes itself as events arrive."""

import pytest

from metering.tests.factories import CustomerFactory, UsageEventFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_live_usage_shows_new_events_without_a_reload(live_server, page, organization):
    customer = CustomerFactory(organization=organization, name="Hooli")
    UsageEventFactory(customer=customer, operation="image.resize")
    admin = UserFactory(staff=True)
    page.goto(f"{live_server.url}/admin/login/")
    page.fill("#id_username", admin.username)
    page.fill("#id_password", "pw-for-tests-1")
    page.click("input[type=submit]")
    page.wait_for_selector("#site-name")

    page.goto(f"{live_server.url}/staff/live-usage/?organization={organization.slug}")
    page.wait_for_selector("#live-operations tbody tr")
    assert page.inner_text("#live-operations tbody").split("\t")[:2] == [
        "image.resize",
        "1",
    ]
    assert "Hooli" in page.inner_text("#live-customers")

    UsageEventFactory(customer=customer, operation="pdf.render")
    UsageEventFactory(customer=customer, operation="pdf.render")
    # The page polls every five seconds; no reload happens here.
    page.wait_for_function(
        "() => document.querySelector('#live-operations tbody').innerText"
        ".includes('pdf.render')",
        timeout=20_000,
    )
    rows = page.locator("#live-operations tbody tr").all_inner_texts()
    assert [row.split("\t")[:2] for row in rows] == [
        ["pdf.render", "2"],
        ["image.resize", "1"],
    ]
