"""The billing model page's cost preview: the unsaved form priced by the engine."""

from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from metering.models import OrganizationMembership
from metering.tests.factories import OrganizationFactory, UserFactory
from pricing.models import PriceTier
from pricing.tests.test_admin import page_data, set_tiers
from tests.tables import row_counts

pytestmark = pytest.mark.django_db

D = Decimal


@pytest.fixture
def staff_client(client):
    client.force_login(UserFactory(staff=True))
    return client


def preview_url(model=None) -> str:
    if model is None:
        return reverse("admin:pricing_billingmodel_preview")
    return reverse("admin:pricing_billingmodel_change_preview", args=[model.pk])


def model_page(client, model) -> dict:
    page = client.get(reverse("admin:pricing_billingmodel_change", args=[model.pk]))
    data = page_data(page)
    del data["_save"]
    return data


def staff_member(organization, *codenames: str):
    user = UserFactory(is_staff=True)
    user.user_permissions.set(
        Permission.objects.filter(
            content_type__app_label="pricing", codename__in=codenames
        )
    )
    OrganizationMembership.objects.create(user=user, organization=organization)
    return user


EVERY_PRICING_PERMISSION = [
    f"{action}_{model}"
    for action in ("view", "add", "change", "delete")
    for model in ("billingmodel", "activitybasedconfig", "pricetier")
]


def test_preview_prices_the_unsaved_tiers(staff_client, gpt_token_model):
    data = model_page(staff_client, gpt_token_model)
    # Tier 2 repriced from 0.001 to 0.0012, not saved.
    data["activity_configs-0-tiers-1-unit_price"] = "0.0012"
    data.update({"preview_agents": "2", "preview_units-0": "15000"})
    before = row_counts()
    response = staff_client.post(preview_url(gpt_token_model), data)
    assert response.status_code == 200, response.content
    body = response.json()
    # 2 x 15.00 + 5,000 x 0.0015 + 10,000 x 0.0012 = 30.00 + 7.50 + 12.00
    assert body["total"] == "49.50"
    assert body["currency"] == "USD"
    assert [
        (line["label"], line["units"], line["amount"]) for line in body["lines"]
    ] == [
        ("Gpt tokens — base fee (2 agents at USD 15.00)", "2", "30.00"),
        ("Gpt tokens — tier 1 (0–5,000 at 0.0015)", "5000", "7.50"),
        ("Gpt tokens — tier 2 (5,000–20,000 at 0.0012)", "10000", "12.00"),
    ]
    assert "USD 49.50" in body["html"]
    assert "Gpt tokens — tier 2 (5,000–20,000 at 0.0012)" in body["html"]
    assert row_counts() == before
    assert list(
        PriceTier.objects.filter(config__billing_model=gpt_token_model)
        .order_by("position")
        .values_list("unit_price", flat=True)
    ) == [D("0.0015"), D("0.001")]


def test_preview_of_the_seed_figure_with_a_tier_added_unsaved(
    staff_client, gpt_token_model
):
    data = model_page(staff_client, gpt_token_model)
    data["activity_configs-0-tiers-2-up_to"] = "40000"
    data["activity_configs-0-tiers-2-unit_price"] = "0.0005"
    data.update({"preview_agents": "0", "preview_units-0": "50000"})
    response = staff_client.post(preview_url(gpt_token_model), data)
    assert response.status_code == 200, response.content
    # 5,000 x 0.0015 + 15,000 x 0.001 + 20,000 x 0.0005 + 10,000 x 0.002
    assert [(line["key"], line["amount"]) for line in response.json()["lines"]] == [
        ("base_agent_fee", "0.00"),
        ("tier_1_cost", "7.50"),
        ("tier_2_cost", "15.00"),
        ("tier_3_cost", "10.00"),
        ("overflow_cost", "20.00"),
    ]
    assert response.json()["total"] == "52.50"


def test_preview_of_a_model_not_yet_created(staff_client, organization):
    data = page_data(staff_client.get(reverse("admin:pricing_billingmodel_add")))
    del data["_save"]
    data.update(
        {
            "organization": str(organization.pk),
            "name": "Hybrid draft",
            "model_type": "hybrid",
            "subscription_fee": "99",
            "activity_configs-TOTAL_FORMS": "1",
            "activity_configs-0-activity_type": "tokens",
            "activity_configs-0-unit_type": "token",
            "activity_configs-0-is_active": "on",
            "activity_configs-0-price_per_unit": "0.001",
            "activity_configs-0-base_agent_fee": "0",
            "activity_configs-0-minimum_charge": "5",
            "activity_configs-0-volume_pricing_enabled": "on",
            "activity_configs-0-tier_mode": "volume",
            "activity_configs-0-billing_frequency": "monthly",
            "preview_agents": "1",
            "preview_units-0": "12000",
        }
    )
    set_tiers(data, [{"position": 1, "up_to": "10000", "unit_price": "0.002"}])
    before = row_counts()
    response = staff_client.post(preview_url(), data)
    assert response.status_code == 200, response.content
    # Volume: all 12,000 above the 10,000 tier at price_per_unit 0.001.
    assert [(line["label"], line["amount"]) for line in response.json()["lines"]] == [
        ("Subscription fee", "99.00"),
        ("Tokens — base fee (1 agent at USD 0.00)", "0.00"),
        ("Tokens — above 10,000 (at 0.001)", "12.00"),
    ]
    assert response.json()["total"] == "111.00"
    assert row_counts() == before


def test_preview_refuses_bad_tiers_naming_the_field(staff_client, gpt_token_model):
    data = model_page(staff_client, gpt_token_model)
    data["activity_configs-0-tiers-1-up_to"] = "4000"
    data.update({"preview_agents": "1", "preview_units-0": "100"})
    before = row_counts()
    response = staff_client.post(preview_url(gpt_token_model), data)
    assert response.status_code == 400
    assert response.json()["errors"] == {
        "activity_configs-0": ["Correct the tiers of this activity below."],
        "activity_configs-0-tiers-1-up_to": [
            "Must be greater than the previous tier's threshold (5000)."
        ],
    }
    assert response.json()["messages"] == [
        "Activity 1: Correct the tiers of this activity below.",
        "Activity 1, tier 2, up to: Must be greater than the previous tier's "
        "threshold (5000).",
    ]
    assert row_counts() == before


def test_preview_refuses_bad_samples_and_fields_naming_them(
    staff_client, gpt_token_model
):
    data = model_page(staff_client, gpt_token_model)
    data["activity_configs-0-price_per_unit"] = "cheap"
    data["name"] = ""
    data.update({"preview_agents": "-1", "preview_units-0": "12x"})
    response = staff_client.post(preview_url(gpt_token_model), data)
    assert response.status_code == 400
    assert response.json()["errors"] == {
        "name": ["This field is required."],
        "activity_configs-0-price_per_unit": ["Enter a number."],
        "preview_agents": ["Ensure this value is greater than or equal to 0."],
        "preview_units-0": ["Enter a number."],
    }
    assert "Units of activity 1: Enter a number." in response.json()["messages"]


def test_preview_needs_change_permission_and_the_organization(client, gpt_token_model):
    organization = gpt_token_model.organization
    data = model_page_as_superuser(client, gpt_token_model)
    url = preview_url(gpt_token_model)
    for user in (
        staff_member(organization, "view_billingmodel"),
        staff_member(OrganizationFactory(), *EVERY_PRICING_PERMISSION),
    ):
        client.force_login(user)
        before = row_counts()
        assert client.post(url, data).status_code == 403
        assert row_counts() == before
    # Staff of the organization with change permission may preview it.
    client.force_login(staff_member(organization, *EVERY_PRICING_PERMISSION))
    assert client.post(url, data).status_code == 200


def test_preview_of_a_new_model_in_another_organization_is_refused(
    client, gpt_token_model
):
    data = model_page_as_superuser(client, gpt_token_model)
    client.force_login(staff_member(OrganizationFactory(), *EVERY_PRICING_PERMISSION))
    response = client.post(preview_url(), {**data, "name": "Copy"})
    assert response.status_code == 403


def test_preview_is_a_post_for_staff_only(client, gpt_token_model):
    url = preview_url(gpt_token_model)
    client.force_login(UserFactory())
    response = client.post(url, {})
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")
    client.force_login(UserFactory(staff=True))
    assert client.get(url).status_code == 405


def test_preview_is_csrf_protected(gpt_token_model):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(UserFactory(staff=True))
    response = client.post(preview_url(gpt_token_model), {"preview_agents": "1"})
    assert response.status_code == 403
    assert b"CSRF" in response.content


def model_page_as_superuser(client, model) -> dict:
    client.force_login(UserFactory(staff=True))
    data = model_page(client, model)
    data.update({"preview_agents": "1", "preview_units-0": "1000"})
    client.logout()
    return data
