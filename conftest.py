"""Cross-app fixtures: the pinned clock, organizations, API clients, portal logins,
the browser."""

import datetime as dt
import os

import pytest
import time_machine
from rest_framework.test import APIClient

# Every test starts at this instant unless ``--clock`` moves it or the test pins its
# own with ``@pytest.mark.clock(...)``: no test reads the wall clock. An ordinary
# Wednesday morning in the middle of a 30-day month.
DEFAULT_CLOCK = "2026-06-17T09:30:00+00:00"

# With ``--clock=hard`` (run by ``make test``) every test that does not pin its own
# instant runs once at each of these: the night of a leap day, a year's last half
# hour, the first minute of a month after a short February, and the hour Europe's
# clocks go back.
HARD_CLOCKS = (
    "2028-02-29T23:30:00+00:00",
    "2026-12-31T23:30:00+00:00",
    "2027-03-01T00:00:30+00:00",
    "2026-10-25T00:30:00+00:00",
)

# Playwright's sync API runs an event loop in the test thread; the ORM calls made by
# tests beside it are still synchronous and safe.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


def pytest_addoption(parser):
    parser.addoption(
        "--clock",
        metavar="INSTANT",
        default=DEFAULT_CLOCK,
        help=(
            "the ISO 8601 instant (with its UTC offset) every test starts at, unless "
            "it pins its own with @pytest.mark.clock; 'hard' runs each such test at "
            f"every one of {', '.join(HARD_CLOCKS)}; default {DEFAULT_CLOCK}"
        ),
    )


def pytest_configure(config):
    config.addinivalue_line(
        "markers",
        "clock(instant): the test starts at this ISO 8601 instant whatever --clock "
        "says (its expected figures hold for that date only)",
    )
    config.addinivalue_line(
        "markers",
        "clockless: a pure engine's test that reads no clock at all; --clock=hard "
        "leaves it out",
    )
    config.addinivalue_line(
        "markers",
        "long: runs for minutes; scheduled first, and --clock=hard runs it at the "
        f"first hard instant ({HARD_CLOCKS[0]}) only",
    )


def clock_instant(text: str) -> dt.datetime:
    """An aware instant from ISO 8601 text; a naive one is refused, not guessed."""
    instant = dt.datetime.fromisoformat(text)
    if instant.tzinfo is None:
        raise pytest.UsageError(f"--clock needs a UTC offset, not {text!r}")
    return instant


def _runs_once(node) -> bool:
    """Tests another instant tells nothing new about: those that pin their own,
    and pure engines' tests that read no clock."""
    return bool(
        node.get_closest_marker("clock") or node.get_closest_marker("clockless")
    )


def pytest_generate_tests(metafunc):
    if metafunc.config.getoption("--clock") != "hard":
        return
    if _runs_once(metafunc.definition):
        return
    long = metafunc.definition.get_closest_marker("long")
    metafunc.parametrize(
        "_pinned_clock", HARD_CLOCKS[:1] if long else HARD_CLOCKS, indirect=True
    )


def pytest_collection_modifyitems(config, items):
    """Long tests go first, so that parallel runs do not end waiting for one of
    them; tests that start a Celery worker share one process (one broker queue);
    ``--clock=hard`` leaves out the tests that run the same at any instant."""
    items.sort(key=lambda item: item.get_closest_marker("long") is None)
    for item in items:
        if item.get_closest_marker("worker"):
            item.add_marker(pytest.mark.xdist_group("celery_broker"))
    if config.getoption("--clock") != "hard":
        return
    once = [item for item in items if _runs_once(item)]
    if once:
        config.hook.pytest_deselected(items=once)
        items[:] = [item for item in items if not _runs_once(item)]


@pytest.fixture(scope="session", autouse=True)
def _session_clock(request):
    """Session-wide work (the test database's migrations, which create the usage
    partitions around "now"; the browser) runs at a pinned instant too."""
    text = request.config.getoption("--clock")
    with time_machine.travel(clock_instant(DEFAULT_CLOCK if text == "hard" else text)):
        yield


@pytest.fixture(autouse=True)
def _pinned_clock(request):
    """Start the test at its pinned instant. The clock then ticks in real time, so
    timeouts and elapsed-time checks behave, while every run of the test starts at
    exactly the same instant. Yields that instant."""
    marker = request.node.get_closest_marker("clock")
    if marker:
        text = marker.args[0]
    else:
        text = getattr(request, "param", None) or request.config.getoption("--clock")
    start = clock_instant(text)
    with time_machine.travel(start, tick=True):
        yield start


@pytest.fixture
def clock_start(_pinned_clock) -> dt.datetime:
    """The instant the test started at (aware)."""
    return _pinned_clock


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
    """A fresh browser page. The test fails if the page broke the site's
    Content-Security-Policy: chromium reports every refused script, style, image
    or connection on the console."""
    context = browser.new_context()
    page = context.new_page()
    page.set_default_timeout(30_000)
    refused = []
    page.on(
        "console",
        lambda message: refused.append(message.text)
        if "Content Security Policy" in message.text
        else None,
    )
    page.csp_refusals = refused
    yield page
    context.close()
    assert not refused, "\n".join(refused)
