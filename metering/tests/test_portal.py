from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from metering.services import usage_alert_create, usage_events_ingest
from metering.tests.factories import (
    CustomerFactory,
    PortalUserFactory,
    UsageEventFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


def test_portal_requires_login(client):
    response = client.get("/portal/")
    assert response.status_code == 302
    assert response.url.startswith("/portal/login/")


def test_portal_home_shows_only_own_customer(client):
    mine = PortalUserFactory(customer=CustomerFactory(name="Mine Ltd"))
    CustomerFactory(name="Other Corp", organization=mine.customer.organization)
    client.force_login(mine.user)
    response = client.get("/portal/")
    assert response.status_code == 200
    assert response.context["customer"] == mine.customer
    assert b"Mine Ltd" in response.content
    assert b"Other Corp" not in response.content


def test_login_not_linked_to_a_customer_is_403(client):
    client.force_login(UserFactory())
    assert client.get("/portal/").status_code == 403


def test_portal_home_lists_this_months_usage(client):
    portal_user = PortalUserFactory()
    other = CustomerFactory(organization=portal_user.customer.organization)
    for quantity in ("2", "3.5"):
        UsageEventFactory(
            customer=portal_user.customer,
            operation="doc.ocr",
            quantity=Decimal(quantity),
        )
    UsageEventFactory(customer=other, operation="image.resize")
    client.force_login(portal_user.user)
    response = client.get("/portal/")
    rows = [(c.operation, c.quantity, c.event_count) for c in response.context["usage"]]
    assert rows == [("doc.ocr", Decimal("5.5"), 2)]
    assert b"image.resize" not in response.content


def test_portal_nav_links_every_customer_page(client):
    portal_user = PortalUserFactory()
    client.force_login(portal_user.user)
    content = client.get("/portal/").content.decode()
    for href in ("/portal/bundles/", "/portal/invoices/", "/portal/scaling/"):
        assert f'href="{href}"' in content


@pytest.mark.parametrize(
    "path", ["/portal/", "/portal/bundles/", "/portal/invoices/", "/portal/scaling/"]
)
def test_every_portal_page_shows_the_same_navigation_once(client, path):
    portal_user = PortalUserFactory()
    client.force_login(portal_user.user)
    content = client.get(path).content.decode()
    for href in ("/portal/bundles/", "/portal/invoices/", "/portal/scaling/"):
        assert content.count(f'<a href="{href}"') == 1, href


@pytest.mark.clock("2027-03-01T00:00:30+00:00")
def test_portal_this_month_starts_at_the_first_utc_instant_of_the_month(client):
    # Thirty seconds into March, after a 28-day February, for a customer whose
    # organization is in New York (still 28 February there): March in UTC.
    portal_user = PortalUserFactory(customer__organization__timezone="America/New_York")
    for moment, quantity in (
        (datetime(2027, 2, 28, 23, 59, 59, tzinfo=UTC), "4"),
        (datetime(2027, 3, 1, 0, 0, 0, tzinfo=UTC), "1.5"),
        (datetime(2027, 3, 1, 0, 0, 10, tzinfo=UTC), "2"),
    ):
        UsageEventFactory(
            customer=portal_user.customer,
            operation="doc.ocr",
            quantity=Decimal(quantity),
            occurred_at=moment,
        )
    client.force_login(portal_user.user)

    response = client.get("/portal/")

    assert response.context["period_start"] == date(2027, 3, 1)
    rows = [(c.operation, c.quantity, c.event_count) for c in response.context["usage"]]
    assert rows == [("doc.ocr", Decimal("3.5"), 2)]


@pytest.mark.clock("2026-11-18T09:30:00+00:00")
def test_portal_home_lists_the_customers_alerts_with_their_state(client):
    portal_user = PortalUserFactory(customer__external_id="cus_1")
    customer = portal_user.customer
    usage_alert_create(
        customer=customer, kind="usage", operation="image.resize", threshold=Decimal(5)
    )
    usage_alert_create(customer=customer, kind="spend", threshold=Decimal("250.00"))
    other = CustomerFactory(organization=customer.organization)
    usage_alert_create(customer=other, kind="usage", operation="x", threshold=1)
    now = datetime(2026, 11, 18, 9, 0, tzinfo=UTC)
    usage_events_ingest(
        organization=customer.organization,
        events=[
            {
                "event_id": "e-1",
                "customer_id": "cus_1",
                "operation": "image.resize",
                "quantity": "7",
                "occurred_at": now.isoformat(),
            }
        ],
        now=now,
    )
    client.force_login(portal_user.user)

    response = client.get("/portal/")

    states = response.context["alerts"]
    assert [(s.alert.kind, s.triggered_at, s.value) for s in states] == [
        ("spend", None, None),
        ("usage", now, Decimal("7")),
    ]
    content = response.content.decode()
    assert "Usage of image.resize" in content
    assert '<td class="num">USD 250.00</td>' in content
    assert '<td class="num">5</td>' in content
    assert "Reached 7 on 18 Nov 2026 09:00 UTC" in content
    assert "Not reached" in content
