"""The Content-Security-Policy: sent with every page, and the admin, the API
documentation and the portal work under it in a real browser (the ``page`` fixture
fails any browser test whose page broke the policy; the chart pages are proved by
their own browser tests)."""

import pytest

from billing_site.csp import DEFAULT_POLICY, policy_header
from metering.tests.factories import UserFactory

PASSWORD = "pw-for-tests-1"
POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self' data:; connect-src 'self'; "
    "object-src 'none'; base-uri 'self'; form-action 'self'; "
    "frame-ancestors 'none'"
)


def test_the_policy_refuses_inline_script():
    assert policy_header(DEFAULT_POLICY) == POLICY


@pytest.mark.django_db
@pytest.mark.parametrize(
    "path", ["/admin/login/", "/portal/login/", "/api/v1/docs/", "/api/v1/schema/"]
)
def test_every_response_carries_the_policy(client, path):
    assert client.get(path)["Content-Security-Policy"] == POLICY


def _log_in_to_admin(page, live_server):
    admin = UserFactory(staff=True)
    page.goto(f"{live_server.url}/admin/login/")
    page.fill("#id_username", admin.username)
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_selector("#site-name")


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_api_documentation_renders_under_the_policy(live_server, page):
    _log_in_to_admin(page, live_server)
    page.goto(f"{live_server.url}/api/v1/docs/")
    page.wait_for_selector(".swagger-ui .opblock-summary-path")
    assert "Usage Billing API" in page.inner_text(".swagger-ui .info")
    assert page.locator(".opblock-summary-path", has_text="/api/v1/events/").count()


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_admin_forms_work_under_the_policy(live_server, page):
    _log_in_to_admin(page, live_server)
    page.goto(f"{live_server.url}/admin/pricing/billingmodel/add/")
    page.wait_for_selector("#billingmodel_form")
    # The admin's own scripts run: the inline formsets offer "Add another".
    assert page.locator(".add-row a").count() >= 1


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_an_injected_inline_script_is_refused(live_server, page):
    _log_in_to_admin(page, live_server)
    page.evaluate(
        """() => {
            const script = document.createElement("script");
            script.textContent = "window.injected = true";
            document.body.appendChild(script);
        }"""
    )
    page.wait_for_timeout(200)
    assert page.evaluate("() => window.injected === undefined")
    assert any("script-src 'self'" in text for text in page.csp_refusals)
    page.csp_refusals.clear()
