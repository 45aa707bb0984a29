import datetime as dt

import pytest
from django.utils import timezone

from bundles.tests.factories import (
    BundleTemplateFactory,
    BundleTemplateOperationFactory,
    PersonalizedBundleFactory,
    PersonalizedBundleLineFactory,
)
from metering.tests.factories import CustomerFactory, PortalUserFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def portal_user(organization):
    return PortalUserFactory(customer=CustomerFactory(organization=organization))


def offer(customer, **extra):
    now = timezone.now()
    bundle = PersonalizedBundleFactory(
        customer=customer,
        valid_from=now - dt.timedelta(hours=1),
        valid_until=now + dt.timedelta(days=1),
        **extra,
    )
    PersonalizedBundleLineFactory(bundle=bundle)
    return bundle


def test_portal_lists_own_offers_and_active_bundles_only(client, portal_user):
    mine = offer(portal_user.customer)
    active = offer(portal_user.customer, status="active", accepted_at=timezone.now())
    theirs = offer(CustomerFactory(organization=portal_user.customer.organization))
    client.force_login(portal_user.user)

    response = client.get("/portal/bundles/")

    assert response.status_code == 200
    assert [b.pk for b in response.context["offers"]] == [mine.pk]
    assert [b.pk for b in response.context["active"]] == [active.pk]
    assert f"bundle-{theirs.pk}" not in response.content.decode()


def test_portal_accept_of_another_customers_bundle_is_a_404(client, portal_user):
    theirs = offer(CustomerFactory(organization=portal_user.customer.organization))
    client.force_login(portal_user.user)

    response = client.post(f"/portal/bundles/{theirs.pk}/accept/")

    assert response.status_code == 404
    theirs.refresh_from_db()
    assert theirs.status == "offered"


def test_portal_respond_needs_post(client, portal_user):
    mine = offer(portal_user.customer)
    client.force_login(portal_user.user)

    assert client.get(f"/portal/bundles/{mine.pk}/accept/").status_code == 405


def test_portal_refused_transition_is_a_message(client, portal_user):
    mine = offer(portal_user.customer, status="declined")
    client.force_login(portal_user.user)

    response = client.post(f"/portal/bundles/{mine.pk}/accept/", follow=True)

    assert [str(m) for m in response.context["messages"]] == [
        f"Bundle {mine.pk} is declined; only an offered bundle can be accepted."
    ]


def test_portal_needs_login(client):
    response = client.get("/portal/bundles/")

    assert response.status_code == 302
    assert response.url.startswith("/portal/login/")


def test_admin_bundle_changelist_query_count(
    client, organization, django_assert_max_num_queries
):
    for _ in range(5):
        offer(CustomerFactory(organization=organization))
    client.force_login(UserFactory(staff=True))

    with django_assert_max_num_queries(12):
        response = client.get(
            "/admin/bundles/personalizedbundle/?status__exact=offered"
        )

    assert response.status_code == 200


def test_admin_template_changelist_query_count(
    client, organization, django_assert_max_num_queries
):
    for _ in range(5):
        BundleTemplateOperationFactory(
            template=BundleTemplateFactory(organization=organization)
        )
    client.force_login(UserFactory(staff=True))

    with django_assert_max_num_queries(10):
        response = client.get("/admin/bundles/bundletemplate/")

    assert response.status_code == 200


def test_admin_template_preview_lists_who_would_be_offered(
    client, organization, catalogue, image_customer, export_customer
):
    client.force_login(UserFactory(staff=True))

    response = client.get(
        f"/admin/bundles/bundletemplate/{catalogue['image'].pk}/preview/"
    )

    assert response.status_code == 200
    assert response.context["profiled"] == 2
    (row,) = response.context["rows"]
    assert (row.customer, str(row.price), str(row.expected_saving)) == (
        "Pixel Works",
        "28.14",
        "3.11",
    )
    assert "1 of 2 profiled customers" in response.content.decode()
