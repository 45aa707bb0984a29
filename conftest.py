"""Cross-app fixtures: organizations, API clients, portal logins, the browser."""

import os

import pytest
from rest_framework.test import APIClient

# Playwright's sync API runs an event loop in the test thread; the ORM calls made by
# tests beside it are still synchronous and safe.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture(autouse=True)
def _eager_celery(settings):
    """Tasks run in-process in tests unless a test starts a real worker."""
    from billing_site.celery import app

    app.conf.task_always_eager = True
    settings.CELERY_TASK_ALWAYS_EAGER = True


@pytest.fixture
def organization(db):
    from metering.tests.factories import OrganizationFactory

    return OrganizationFactory()


@pytest.fixture
def other_organization(db):
    from metering.tests.factories import OrganizationFactory

    return OrganizationFactory()


@pytest.fixture
def api_client_for():
    """``api_client_for(org)`` returns an APIClient sending a fresh key of ``org``."""
    from metering.services import api_key_create

    def make(organization):
        issued = api_key_create(organization=organization, name="test")
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Api-Key {issued.raw_key}")
        client.api_key = issued.api_key
        return client

    return make


@pytest.fixture
def api_client(organization, api_client_for):
    return api_client_for(organization)


@pytest.fixture(scope="session")
def browser():
    """Debian's chromium driven by Playwright (never a downloaded browser build)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(
            executable_path=os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"),
            headless=True,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        yield instance
        instance.close()


@pytest.fixture
def page(browser):
    context = browser.new_context()
    page = context.new_page()
    page.set_default_timeout(30_000)
    yield page
    context.close()
