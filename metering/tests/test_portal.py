import pytest

from metering.tests.factories import CustomerFactory, PortalUserFactory, UserFactory

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
