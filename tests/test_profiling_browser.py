"""Staff profiling pages in a real browser: runs, a segment's chart, a profile."""

from datetime import UTC, datetime

import pytest

from metering.tests.factories import OrganizationFactory, UserFactory
from profiling import synthetic
from profiling.features import DAY
from profiling.models import CustomerProfile
from profiling.services import profiling_run_execute, synthetic_usage_store

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "pw-for-tests-1"
NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


@pytest.fixture
def profiled_run():
    organization = OrganizationFactory()
    usage = synthetic.generate(
        customers=24,
        seed=4,
        window_start=int(NOW.timestamp()) // DAY * DAY - 29 * DAY,
        days=28,
        scale_sessions=0.3,
    )
    synthetic_usage_store(
        organization=organization,
        events=usage.events,
        external_ids=[f"cus_{i:03d}" for i in range(24)],
        planted=usage.labels,
        now=NOW,
    )
    return profiling_run_execute(organization=organization, now=NOW, k_max=5)


def _login(page, live_server):
    admin = UserFactory(staff=True)
    page.goto(f"{live_server.url}/admin/login/")
    page.fill("#id_username", admin.username)
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_selector("#site-name")


def test_staff_follow_run_to_segment_to_customer(live_server, page, profiled_run):
    _login(page, live_server)
    page.goto(f"{live_server.url}/staff/profiling/")
    page.get_by_role("link", name=str(profiled_run.pk), exact=True).click()
    page.wait_for_selector("#projection .plot-container")
    segment_link = page.locator("table a").first
    segment_name = segment_link.inner_text()
    segment_link.click()
    assert page.inner_text("h1") == segment_name
    page.wait_for_selector("#heatmap .plot-container")
    page.locator("main ul li a, #content ul li a").last.click()
    page.wait_for_selector("table.next-operations")
    assert page.inner_text("a.segment") == segment_name
    profile = CustomerProfile.objects.filter(
        run=profiled_run, segment__name=segment_name
    ).first()
    first = profile.next_operations[0]["operation"]
    assert first in page.inner_text("table.next-operations")
    page.wait_for_selector("#heatmap .plot-container")
