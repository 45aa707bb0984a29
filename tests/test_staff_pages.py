"""Staff pages share the admin's look: its header, one page title, its navigation."""

import pytest

from metering.tests.factories import UserFactory

pytestmark = pytest.mark.django_db

STAFF_PAGES = [
    "/staff/live-usage/",
    "/staff/pricing/calculator/",
    "/staff/pricing/reports/tier-utilisation/",
    "/staff/pricing/reports/bpo-comparison/",
    "/staff/profiling/",
    "/staff/scaling/",
]


@pytest.mark.parametrize("path", STAFF_PAGES)
def test_staff_page_has_the_site_header_and_one_title(client, organization, path):
    client.force_login(UserFactory(staff=True))
    response = client.get(path)
    assert response.status_code == 200
    content = response.content.decode()
    assert "Usage Billing administration" in content
    assert "Django administration" not in content
    assert content.count("<h1") == 1


@pytest.mark.parametrize("path", STAFF_PAGES)
def test_staff_pages_refuse_non_staff(client, path):
    client.force_login(UserFactory())
    response = client.get(path)
    assert response.status_code == 302
    assert response.url.startswith("/admin/login/")


def test_admin_index_links_every_staff_page(client):
    client.force_login(UserFactory(staff=True))
    content = client.get("/admin/").content.decode()
    # In the right-hand column, above recent actions.
    sidebar = content[content.index('id="content-related"') :]
    assert sidebar.index('id="staff-pages"') < sidebar.index("Recent actions")
    for path in [*STAFF_PAGES, "/api/v1/docs/"]:
        assert f'href="{path}"' in content, path


HOSTILE_VALUES = ["\u00b2", "\u0663", "99999999999999999999", "-1", "0", "a\x00b",
                  "1e20"]  # fmt: skip
PAGE_PARAMETERS = ("organization", "model", "config", "period", "account", "minutes",
                   "agents", "units_per_agent", "benchmark", "resource")  # fmt: skip


@pytest.mark.parametrize("path", [*STAFF_PAGES, "/staff/live-usage/data/"])
def test_staff_pages_answer_hostile_parameters_without_a_server_error(
    client, organization, path
):
    client.raise_request_exception = False
    client.force_login(UserFactory(staff=True))
    for value in HOSTILE_VALUES:
        for name in PAGE_PARAMETERS:
            response = client.get(path, {name: value})
            assert response.status_code in (200, 400, 404), (name, value)
