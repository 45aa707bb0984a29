"""The portal's and the staff pages' layout on a phone and on a desktop screen: the
page never scrolls sideways (wide tables scroll inside their own box, charts fit),
and the navigation stays readable on its own background. Their text shows no
number padded with zeros (``10000.000000``, ``0.02000000``).

Each test saves a screenshot of the full page to its ``tmp_path``."""

import datetime as dt
import re
from decimal import Decimal

import pytest
from django.utils import timezone

from bundles.models import PersonalizedBundle
from bundles.tests.factories import (
    BundleTemplateFactory,
    PersonalizedBundleFactory,
    PersonalizedBundleLineFactory,
)
from invoices.models import Invoice
from invoices.tests.factories import InvoiceFactory, SubscriptionFactory
from metering.tests.factories import (
    CustomerFactory,
    PortalUserFactory,
    UsageEventFactory,
    UserFactory,
)
from pricing.tests.factories import ActivityBasedConfigFactory, BillingModelFactory
from profiling.models import ProfilingRun
from scaling.models import Recommendation
from scaling.tests.factories import (
    account_with_recommendation,
)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    # The 20th of November: October's invoices are issued, November is running.
    pytest.mark.clock("2026-11-20T10:00:00+00:00"),
]

PASSWORD = "pw-for-tests-1"

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1440, "height": 900}

# WCAG AA: 4.5:1 for text, 3:1 for large text (24 px, or 18.66 px bold).
MIN_CONTRAST = 4.5
MIN_CONTRAST_LARGE = 3.0

# The document's width and the elements that stick out to the right of the window
# (the outermost of each, to name the culprit when the page overflows).
OVERFLOW_JS = """
() => {
  const width = window.innerWidth;
  const culprits = [];
  for (const element of document.body.querySelectorAll("*")) {
    const box = element.getBoundingClientRect();
    if (box.width === 0 || box.right <= width + 0.5) continue;
    if (culprits.some((outer) => outer.contains(element))) continue;
    culprits.push(element);
  }
  return {
    scrollWidth: document.documentElement.scrollWidth,
    innerWidth: width,
    culprits: culprits.slice(0, 5).map((element) =>
      `${element.tagName.toLowerCase()}#${element.id}.${element.className}`
      + ` right=${Math.round(element.getBoundingClientRect().right)}`),
  };
}
"""

# For each visible navigation link: its text colour, the colour actually painted
# behind it (the nearest ancestor with an opaque background), and whether the
# link's box lies inside that ancestor's box and inside the window.
NAV_JS = """
(selector) => {
  const rgba = (text) => {
    const parts = text.match(/[\\d.]+/g).map(Number);
    return [parts[0], parts[1], parts[2], parts.length > 3 ? parts[3] : 1];
  };
  const painted = (element) => {
    for (let node = element; node; node = node.parentElement) {
      const colour = rgba(getComputedStyle(node).backgroundColor);
      if (colour[3] > 0) return [colour, node];
    }
    return [[255, 255, 255, 1], document.documentElement];
  };
  const inside = (inner, outer) =>
    inner.left >= outer.left - 0.5 && inner.right <= outer.right + 0.5
    && inner.top >= outer.top - 0.5 && inner.bottom <= outer.bottom + 0.5;
  return [...document.querySelectorAll(selector)]
    .filter((link) => link.getClientRects().length > 0)
    .map((link) => {
      const [background, owner] = painted(link);
      const box = link.getBoundingClientRect();
      const style = getComputedStyle(link);
      return {
        text: link.innerText.trim(),
        color: rgba(style.color),
        fontSize: parseFloat(style.fontSize),
        fontWeight: Number(style.fontWeight),
        background,
        onBackground: owner === document.documentElement
          || inside(box, owner.getBoundingClientRect()),
        inWindow: box.left >= 0 && box.right <= window.innerWidth + 0.5,
      };
    });
}
"""


def luminance(rgb) -> float:
    """WCAG relative luminance of an sRGB colour given as 0-255 channels."""

    def linear(channel):
        c = channel / 255
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (linear(c) for c in rgb[:3])
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(one, other) -> float:
    light, dark = sorted((luminance(one), luminance(other)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def required_contrast(link) -> float:
    large = link["fontSize"] >= 24 or (
        link["fontSize"] >= 18.66 and link["fontWeight"] >= 700
    )
    return MIN_CONTRAST_LARGE if large else MIN_CONTRAST


@pytest.fixture
def portal_user():
    """A customer with a month of usage, two bundle offers, issued invoices, a
    subscription running this month and a scaling recommendation."""
    portal = PortalUserFactory(
        customer=CustomerFactory(name="Pixel Works International Holdings")
    )
    customer = portal.customer
    organization = customer.organization
    now = timezone.now()
    for operation, quantity in (
        ("image.resize", "1250"),
        ("image.crop", "300"),
        ("document.render.pdf-with-attachments", "42"),
    ):
        UsageEventFactory(customer=customer, operation=operation, quantity=quantity)

    for name in ("Image Processing Suite", "Data Export Package"):
        bundle = PersonalizedBundleFactory(
            customer=customer,
            valid_from=now - dt.timedelta(hours=1),
            valid_until=now + dt.timedelta(days=7),
        )
        bundle.templates.add(
            BundleTemplateFactory(organization=organization, name=name)
        )
        PersonalizedBundleLineFactory(bundle=bundle)
        PersonalizedBundleLineFactory(
            bundle=bundle, operation="image.crop", included_quantity=None
        )

    model = BillingModelFactory(organization=organization)
    ActivityBasedConfigFactory(
        billing_model=model,
        activity_type="image.resize",
        price_per_unit=Decimal("0.25"),
    )
    SubscriptionFactory(customer=customer, billing_model=model)
    for month, total in ((8, "1234.56"), (9, "98.10"), (10, "100450.00")):
        start = dt.date(2026, month, 1)
        InvoiceFactory(
            customer=customer,
            finalized=True,
            period_start=start,
            period_end=(start + dt.timedelta(days=32)).replace(day=1)
            - dt.timedelta(days=1),
            total=Decimal(total),
        )

    account_with_recommendation(customer=customer, now=now)

    for i in range(3):
        ProfilingRun.objects.create(
            organization=organization,
            status=ProfilingRun.Status.SUCCEEDED,
            window_start=now - dt.timedelta(days=28 + i),
            window_end=now - dt.timedelta(days=i),
            customer_count=24,
            event_count=1_234_567,
            scores={"k": 4, "silhouette": 0.61},
            timings={"total": 12.5},
        )
    return portal


def portal_login(page, live_server, portal):
    page.goto(f"{live_server.url}/portal/login/")
    page.fill("#id_username", portal.user.username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/portal/")


def staff_login(page, live_server):
    staff = UserFactory(staff=True)
    page.goto(f"{live_server.url}/admin/login/")
    page.fill("#id_username", staff.username)
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_selector("#site-name")


def assert_fits(page, viewport, tmp_path, name, nav):
    page.screenshot(path=tmp_path / f"{name}-{viewport['width']}.png", full_page=True)
    size = page.evaluate(OVERFLOW_JS)
    assert size["innerWidth"] == viewport["width"]
    assert size["scrollWidth"] <= size["innerWidth"], size
    links = page.evaluate(NAV_JS, nav)
    assert links, f"no navigation link matches {nav!r}"
    for link in links:
        assert link["color"][:3] != link["background"][:3], link
        ratio = contrast(link["color"], link["background"])
        assert ratio >= required_contrast(link), (ratio, link)
        assert link["onBackground"], link
        assert link["inWindow"], link


# A decimal padded with zeros: 0.02000000, 10000.000000, 1.000.
PADDED = re.compile(r"\d\.\d*000(?!\d)")


def assert_no_padded_numbers(page):
    text = page.inner_text("body")
    assert PADDED.findall(text) == [], text


VIEWPORTS = [pytest.param(PHONE, id="390"), pytest.param(DESKTOP, id="1440")]

PORTAL_NAV = "header.topbar a"


@pytest.mark.parametrize("viewport", VIEWPORTS)
@pytest.mark.parametrize(
    ("path", "ready"),
    [
        ("/portal/", "#usage-this-period"),
        ("/portal/bundles/", "#offers table.lines"),
        ("/portal/invoices/", "#invoices"),
        ("/portal/invoices/{invoice}/", "#invoice-totals"),
        ("/portal/scaling/", ".resource .plotly-graph-div .main-svg"),
        (
            "/portal/scaling/recommendations/{recommendation}/approve/confirm/",
            "#confirm-plan-change #invoice-change",
        ),
        ("/portal/bundles/{bundle}/accept/confirm/", "#confirm-bundle #new-price"),
    ],
)
def test_portal_page_fits_the_screen(
    live_server, page, portal_user, tmp_path, viewport, path, ready
):
    path = path.format(**_objects(portal_user.customer))
    page.set_viewport_size(viewport)
    portal_login(page, live_server, portal_user)
    page.goto(f"{live_server.url}{path}")
    page.wait_for_selector(ready)
    name = path.strip("/").replace("/", "-")
    assert_fits(page, viewport, tmp_path, name, PORTAL_NAV)
    assert_no_padded_numbers(page)


def _objects(customer) -> dict:
    """The pending recommendation, the first bundle offer and the last issued
    invoice of ``customer``."""
    return {
        "invoice": Invoice.objects.filter(customer=customer)
        .order_by("-period_start")
        .first()
        .pk,
        "recommendation": Recommendation.objects.get(
            customer=customer, status="pending"
        ).pk,
        "bundle": PersonalizedBundle.objects.filter(customer=customer)
        .order_by("pk")
        .first()
        .pk,
    }


@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_portal_login_page_fits_the_screen(live_server, page, tmp_path, viewport):
    page.set_viewport_size(viewport)
    page.goto(f"{live_server.url}/portal/login/")
    page.wait_for_selector("#id_password")
    assert_fits(page, viewport, tmp_path, "portal-login", PORTAL_NAV)


STAFF_NAV = "#header a, .breadcrumbs a, .pricing-nav a"


@pytest.mark.parametrize("viewport", VIEWPORTS)
@pytest.mark.parametrize(
    ("path", "ready"),
    [
        ("/staff/live-usage/", "#live-operations tbody tr"),
        ("/staff/pricing/calculator/", "#pricing-calculator[data-state]"),
        ("/staff/profiling/", "#content table tbody tr"),
        ("/staff/scaling/", ".resource .plotly-graph-div .main-svg"),
        (
            "/staff/scaling/recommendations/{recommendation}/approve/",
            "#confirm-plan-change #invoice-change",
        ),
        (
            "/staff/scaling/recommendations/{recommendation}/reject/",
            "#confirm-plan-change #id_reason",
        ),
    ],
)
def test_staff_page_fits_the_screen(
    live_server, page, portal_user, tmp_path, viewport, path, ready
):
    customer = portal_user.customer
    path = path.format(**_objects(customer))
    query = f"?organization={customer.organization.slug}"
    if path == "/staff/scaling/":
        query += f"&account={customer.pk}"
    page.set_viewport_size(viewport)
    staff_login(page, live_server)
    page.goto(f"{live_server.url}{path}{query}")
    page.wait_for_selector(ready)
    name = path.strip("/").replace("/", "-")
    assert_fits(page, viewport, tmp_path, name, STAFF_NAV)
    assert_no_padded_numbers(page)
