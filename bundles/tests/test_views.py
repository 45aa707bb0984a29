import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from bundles.models import BundleTemplate
from bundles.tests.conftest import NOW
from bundles.tests.factories import (
    BundleTemplateFactory,
    BundleTemplateOperationFactory,
    PersonalizedBundleFactory,
    PersonalizedBundleLineFactory,
)
from metering.tests.factories import (
    CustomerFactory,
    PortalUserFactory,
    UserFactory,
    usage_events_bulk_create,
)

pytestmark = pytest.mark.django_db

# The previews price a month bundle from a profiling run that ended at NOW: the
# figures below hold for a month bundle offered that day (21 Nov + 1 month = 30 days).
CLOCK = NOW.isoformat()


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
    assert [b.pk for b, _ in response.context["active"]] == [active.pk]
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

    response = client.post(
        f"/portal/bundles/{mine.pk}/accept/", {"price": "25.20"}, follow=True
    )

    assert [str(m) for m in response.context["messages"]] == [
        f"Bundle {mine.pk} is declined; only an offered bundle can be accepted."
    ]


def test_portal_accept_confirmation_shows_the_price_and_posts_it(client, portal_user):
    mine = offer(portal_user.customer)
    client.force_login(portal_user.user)

    listing = client.get("/portal/bundles/").content.decode()
    response = client.get(f"/portal/bundles/{mine.pk}/accept/confirm/")

    assert f'href="/portal/bundles/{mine.pk}/accept/confirm/"' in listing
    assert f'action="/portal/bundles/{mine.pk}/accept/"' not in listing
    assert response.status_code == 200
    content = response.content.decode()
    assert '<dd id="new-price">USD 25.20</dd>' in content
    assert '<dd id="invoice-change">+USD 25.20</dd>' in content
    assert "predicted USD 28.00" in content
    assert '<input type="hidden" name="price" value="25.20">' in content
    mine.refresh_from_db()
    assert mine.status == "offered"


def test_portal_accept_without_the_confirmed_price_goes_to_the_confirmation(
    client, portal_user
):
    mine = offer(portal_user.customer)
    client.force_login(portal_user.user)

    bare = client.post(f"/portal/bundles/{mine.pk}/accept/")
    stale = client.post(f"/portal/bundles/{mine.pk}/accept/", {"price": "20.00"})

    assert bare.url == stale.url == f"/portal/bundles/{mine.pk}/accept/confirm/"
    mine.refresh_from_db()
    assert mine.status == "offered"

    client.post(f"/portal/bundles/{mine.pk}/accept/", {"price": "25.20"})

    mine.refresh_from_db()
    assert mine.status == "active"


def test_portal_confirmation_of_a_declined_offer_returns(client, portal_user):
    mine = offer(portal_user.customer, status="declined")
    client.force_login(portal_user.user)

    response = client.get(f"/portal/bundles/{mine.pk}/accept/confirm/", follow=True)

    assert response.redirect_chain == [("/portal/bundles/", 302)]
    assert [str(m) for m in response.context["messages"]] == [
        "Personalised bundle is declined; only an open offer can be accepted."
    ]


def test_portal_active_bundle_shows_used_and_included(client, portal_user):
    customer = portal_user.customer
    now = timezone.now()
    active = offer(customer, status="active", accepted_at=now)
    PersonalizedBundleLineFactory(
        bundle=active, operation="image.crop", included_quantity=None
    )
    usage_events_bulk_create(
        customer=customer,
        events=[
            {"operation": "image.resize", "quantity": "700", "occurred_at": now},
            {"operation": "image.resize", "quantity": "450", "occurred_at": now},
            {"operation": "image.crop", "quantity": "12", "occurred_at": now},
            # Before the bundle's validity: charged per operation, not counted.
            {
                "operation": "image.resize",
                "quantity": "99",
                "occurred_at": now - dt.timedelta(hours=2),
            },
        ],
    )
    client.force_login(portal_user.user)

    response = client.get("/portal/bundles/")

    ((bundle, usage),) = response.context["active"]
    assert bundle.pk == active.pk
    assert {(row.operation, row.used, row.included, row.beyond) for row in usage} == {
        ("image.resize", Decimal("1150"), Decimal("1000"), Decimal("150")),
        ("image.crop", Decimal("12"), None, Decimal(0)),
    }
    content = response.content.decode()
    assert "1,150 / 1,000" in content and "12 / unlimited" in content
    assert "(150 beyond, at list price)" in content


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


@pytest.mark.clock(CLOCK)
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


def _template_form(organization, **overrides) -> dict:
    data = {
        "organization": organization.pk,
        "name": "Image Trial",
        "description": "",
        "discount_percent": "20",
        "fixed_price": "",
        "validity": "month",
        "custom_duration": "",
        "target_tags": '[{"name": "heavy:image.*", "weight": 1}]',
        "target_segments": "[]",
        "is_active": "on",
        "operations-TOTAL_FORMS": "2",
        "operations-INITIAL_FORMS": "0",
        "operations-MIN_NUM_FORMS": "0",
        "operations-MAX_NUM_FORMS": "1000",
        "operations-0-operation": "image.resize",
        "operations-0-included_quantity": "1000",
        "operations-1-operation": "image.crop",
        "operations-1-included_quantity": "500",
        "_preview": "Preview",
    }
    data.update(overrides)
    return data


@pytest.mark.clock(CLOCK)
def test_admin_previews_an_unsaved_template_without_saving_it(
    client, organization, catalogue, image_customer, export_customer
):
    client.force_login(UserFactory(staff=True))
    templates_before = BundleTemplate.objects.count()

    response = client.post(
        "/admin/bundles/bundletemplate/add/", _template_form(organization)
    )

    assert response.status_code == 200
    assert BundleTemplate.objects.count() == templates_before
    assert response.context["unsaved"] is True
    assert response.context["profiled"] == 2
    (row,) = response.context["rows"]
    # The saved three-line template prices this customer at 28.14 (test above);
    # the form's two lines, with the engine's algorithmic line, at 27.26.
    assert (row.customer, str(row.price), str(row.list_value)) == (
        "Pixel Works",
        "27.26",
        "32.45",
    )
    assert row.operations == ("image.convert", "image.crop", "image.resize")
    assert "nothing has\n  been saved" in response.content.decode()


@pytest.mark.clock(CLOCK)
def test_admin_previews_unsaved_edits_of_a_saved_template(
    client, organization, catalogue, image_customer, export_customer
):
    image = catalogue["image"]
    client.force_login(UserFactory(staff=True))
    data = _template_form(
        organization,
        **{
            "name": image.name,
            "operations-TOTAL_FORMS": "1",
            "operations-1-operation": "",
            "operations-1-included_quantity": "",
        },
    )
    data["operations-0-operation"] = "export.csv"
    data["operations-0-included_quantity"] = "100"
    data["target_tags"] = '[{"name": "export-power-user", "weight": 1}]'

    response = client.post(f"/admin/bundles/bundletemplate/{image.pk}/change/", data)

    assert response.status_code == 200
    (row,) = response.context["rows"]
    assert (row.customer, str(row.price), str(row.list_value)) == (
        "Ledger Ltd",
        "22.26",
        "26.50",
    )
    assert row.operations == ("export.csv", "export.pdf")
    image.refresh_from_db()
    assert sorted(image.operations.values_list("operation", flat=True)) == [
        "image.convert",
        "image.crop",
        "image.resize",
    ]
    assert image.target_tags == [{"name": "heavy:image.*", "weight": 1}]


def test_admin_preview_of_an_invalid_form_shows_errors_and_saves_nothing(
    client, organization
):
    client.force_login(UserFactory(staff=True))
    response = client.post(
        "/admin/bundles/bundletemplate/add/",
        _template_form(organization, discount_percent="150"),
    )
    assert response.status_code == 200
    assert "discount_percent" in response.context["adminform"].form.errors
    assert not BundleTemplate.objects.exists()


def test_admin_preview_needs_the_permission_to_add_templates(client, organization):
    client.force_login(UserFactory(is_staff=True))
    response = client.post(
        "/admin/bundles/bundletemplate/add/", _template_form(organization)
    )
    assert response.status_code == 403
    assert not BundleTemplate.objects.exists()


@pytest.mark.clock("2026-11-05T09:00:00+00:00")
def test_portal_confirmation_names_the_invoice_of_the_month_it_is_accepted_in(
    client, portal_user
):
    # Valid since 20 October; accepted on 5 November: November's invoice bills it.
    late = PersonalizedBundleFactory(
        customer=portal_user.customer,
        valid_from=dt.datetime(2026, 10, 20, tzinfo=dt.UTC),
        valid_until=dt.datetime(2026, 11, 20, tzinfo=dt.UTC),
    )
    PersonalizedBundleLineFactory(bundle=late)
    client.force_login(portal_user.user)

    content = client.get(f"/portal/bundles/{late.pk}/accept/confirm/").content

    assert b"billed once, on your invoice for November 2026." in content
