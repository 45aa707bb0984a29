"""The admin shows staff only the organizations they are members of: change
lists, change pages, custom admin pages, foreign-key choices and the organization
filter. Superusers see everything."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.contrib import admin
from django.contrib.auth.models import Permission
from django.test import RequestFactory

from bundles.tests.factories import BundleTemplateFactory
from invoices.periods import MONTHLY, Period
from invoices.services import invoices_generate
from invoices.tests.factories import SubscriptionFactory
from metering.models import Customer, OrganizationMembership
from metering.staff import organization_lookup
from metering.tests.factories import CustomerFactory, OrganizationFactory, UserFactory
from pricing.tests.factories import BillingModelFactory
from tests.tables import DOMAIN_APPS

pytestmark = [pytest.mark.django_db, pytest.mark.clock("2026-06-17T09:30:00+00:00")]


def _tenant(name: str):
    organization = OrganizationFactory(name=name, slug=name.lower())
    customer = CustomerFactory(organization=organization, name=f"{name} customer")
    model = BillingModelFactory(
        organization=organization,
        name=f"{name} plan",
        model_type="subscription",
        subscription_fee=Decimal("10.00"),
    )
    SubscriptionFactory(
        customer=customer,
        billing_model=model,
        starts_at=datetime(2026, 4, 1, tzinfo=UTC),
    )
    invoices_generate(
        organization=organization,
        period=Period(MONTHLY, datetime(2026, 5, 1).date()),
        now=datetime(2026, 6, 2, tzinfo=UTC),
    )
    template = BundleTemplateFactory(organization=organization, name=f"{name} pack")
    return {
        "organization": organization,
        "customer": customer,
        "invoice": customer.invoices.get(),
        "template": template,
    }


@pytest.fixture
def tenants():
    return _tenant("Northwind"), _tenant("Southbound")


@pytest.fixture
def member(tenants):
    user = UserFactory(is_staff=True)
    user.user_permissions.set(
        Permission.objects.filter(content_type__app_label__in=DOMAIN_APPS)
    )
    OrganizationMembership.objects.create(
        user=user, organization=tenants[0]["organization"]
    )
    return user


def test_every_admin_list_holds_only_the_members_organizations(tenants, member):
    request = RequestFactory().get("/admin/")
    request.user = member
    mine = tenants[0]["organization"].pk
    hidden = 0
    for model, model_admin in admin.site._registry.items():
        if model._meta.app_label not in DOMAIN_APPS:
            continue
        lookup = organization_lookup(model)
        assert lookup is not None, model
        shown = model_admin.get_queryset(request)
        everything = model._default_manager.all()
        assert not shown.exclude(**{lookup: mine}).exists(), model
        assert shown.count() == everything.filter(**{lookup: mine}).count(), model
        hidden += everything.exclude(**{lookup: mine}).count()
    # The other organization has rows in several lists, all of them hidden.
    assert hidden >= 6


def test_change_lists_and_pages_hide_another_organization(client, tenants, member):
    mine, theirs = tenants
    client.force_login(member)
    page = client.get("/admin/metering/customer/").content.decode()
    assert "Northwind customer" in page
    assert "Southbound" not in page  # neither the row nor the filter's choice

    response = client.get(f"/admin/metering/customer/{theirs['customer'].pk}/change/")
    assert response.status_code == 302  # "does not exist", back to the index
    assert (
        client.get(f"/admin/invoices/invoice/{theirs['invoice'].pk}/diff/").status_code
        == 404
    )
    assert (
        client.get(
            f"/admin/bundles/bundletemplate/{theirs['template'].pk}/preview/"
        ).status_code
        == 404
    )
    assert (
        client.get(f"/admin/invoices/invoice/{mine['invoice'].pk}/diff/").status_code
        == 200
    )


def test_nothing_can_be_created_in_another_organization(client, tenants, member):
    mine, theirs = tenants
    client.force_login(member)
    form = client.get("/admin/metering/customer/add/").content.decode()
    assert "Northwind" in form and "Southbound" not in form

    response = client.post(
        "/admin/metering/customer/add/",
        {
            "organization": theirs["organization"].pk,
            "external_id": "planted",
            "name": "Planted",
            "email": "",
            "metadata": "{}",
            "portal_user-TOTAL_FORMS": "0",
            "portal_user-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 200
    assert "Select a valid choice" in response.content.decode()
    assert not Customer.objects.filter(external_id="planted").exists()


def test_a_superuser_sees_every_organization(client, tenants):
    client.force_login(UserFactory(staff=True))
    page = client.get("/admin/metering/customer/").content.decode()
    assert "Northwind customer" in page and "Southbound customer" in page
