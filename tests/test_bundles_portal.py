"""Bundle offers in the customer portal, accepted (after a confirmation page that
shows the price) and declined in a real browser."""

import datetime as dt

import pytest
from django.utils import timezone

from bundles.models import PersonalizedBundle
from bundles.tests.factories import (
    BundleTemplateFactory,
    PersonalizedBundleFactory,
    PersonalizedBundleLineFactory,
)
from metering.tests.factories import (
    CustomerFactory,
    PortalUserFactory,
    UsageEventFactory,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "pw-for-tests-1"


def offer(customer, name):
    now = timezone.now()
    bundle = PersonalizedBundleFactory(
        customer=customer,
        valid_from=now - dt.timedelta(hours=1),
        valid_until=now + dt.timedelta(days=7),
    )
    bundle.templates.add(
        BundleTemplateFactory(organization=customer.organization, name=name)
    )
    PersonalizedBundleLineFactory(bundle=bundle)
    PersonalizedBundleLineFactory(
        bundle=bundle, operation="image.crop", included_quantity=None
    )
    return bundle


def test_customer_cancels_on_the_confirmation(live_server, page):
    portal_user = PortalUserFactory(customer=CustomerFactory(name="Pixel Works"))
    images = offer(portal_user.customer, "Image Processing Suite")
    login(page, live_server, portal_user)

    page.goto(f"{live_server.url}/portal/bundles/{images.pk}/accept/confirm/")
    assert page.inner_text("#new-price") == "USD 25.20"
    page.get_by_role("link", name="Cancel").click()
    page.wait_for_url(f"{live_server.url}/portal/bundles/")

    assert page.locator(f"#offers #bundle-{images.pk}").count() == 1
    images.refresh_from_db()
    assert images.status == PersonalizedBundle.Status.OFFERED


def login(page, live_server, portal_user):
    page.goto(f"{live_server.url}/portal/login/")
    page.fill("#id_username", portal_user.user.username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/portal/")


def test_customer_accepts_one_offer_and_declines_another(live_server, page):
    portal_user = PortalUserFactory(customer=CustomerFactory(name="Pixel Works"))
    images = offer(portal_user.customer, "Image Processing Suite")
    exports = offer(portal_user.customer, "Data Export Package")
    UsageEventFactory(
        customer=portal_user.customer, operation="image.resize", quantity="300"
    )
    login(page, live_server, portal_user)

    page.goto(f"{live_server.url}/portal/bundles/")
    card = page.locator(f"#bundle-{images.pk}")
    assert card.locator("h3").inner_text() == "Image Processing Suite"
    assert card.locator(".price").inner_text() == "USD 25.20"
    assert card.locator(".saving").inner_text() == "USD 2.80"
    assert card.locator("table.lines tbody tr").all_inner_texts() == [
        "image.crop\tUnlimited\t0.02",
        "image.resize\t1,000\t0.02",
    ]

    card.locator("a.accept").click()
    page.wait_for_selector("#confirm-bundle")
    assert page.inner_text("h1") == "Accept Image Processing Suite?"
    assert page.inner_text("#current-price") == (
        "each operation at its list price (predicted USD 28.00)"
    )
    assert page.inner_text("#new-price") == "USD 25.20"
    assert page.inner_text("#invoice-change") == "+USD 25.20"
    assert images.status == PersonalizedBundle.Status.OFFERED

    page.get_by_role("button", name="Accept for USD 25.20").click()
    page.wait_for_selector("ul.messages")
    assert page.inner_text("ul.messages") == "Image Processing Suite is now active."
    active = page.locator(f"#active #bundle-{images.pk}")
    assert active.count() == 1
    assert active.locator("button, a.accept").count() == 0
    assert active.locator("table.usage tbody tr").all_inner_texts() == [
        "image.crop\t0 / unlimited\t0.02",
        "image.resize\t300 / 1,000\t0.02",
    ]

    page.locator(f"#bundle-{exports.pk} button.decline").click()
    page.wait_for_selector("ul.messages")
    assert page.inner_text("ul.messages") == "You declined Data Export Package."
    assert page.locator(f"#bundle-{exports.pk}").count() == 0
    assert "No offers right now" in page.inner_text("#offers")

    images.refresh_from_db()
    exports.refresh_from_db()
    assert (images.status, exports.status) == (
        PersonalizedBundle.Status.ACTIVE,
        PersonalizedBundle.Status.DECLINED,
    )
