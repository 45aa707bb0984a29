from decimal import Decimal

import pytest
from django.urls import reverse

from metering.tests.factories import UserFactory
from pricing.models import ActivityBasedConfig, PriceTier
from pricing.tests.factories import ActivityBasedConfigFactory, BillingModelFactory

pytestmark = pytest.mark.django_db

D = Decimal


@pytest.fixture
def staff_client(client):
    client.force_login(UserFactory(staff=True))
    return client


def config_form(config: ActivityBasedConfig, rows: list[dict], initial: int) -> dict:
    """The POST of the activity pricing admin page with ``rows`` as tier forms."""
    data = {
        "billing_model": config.billing_model_id,
        "activity_type": config.activity_type,
        "unit_type": config.unit_type,
        "price_per_unit": str(config.price_per_unit),
        "base_agent_fee": str(config.base_agent_fee),
        "volume_pricing_enabled": "on",
        "tier_mode": config.tier_mode,
        "minimum_charge": str(config.minimum_charge),
        "billing_frequency": config.billing_frequency,
        "is_active": "on",
        "tiers-TOTAL_FORMS": str(len(rows)),
        "tiers-INITIAL_FORMS": str(initial),
        "tiers-MIN_NUM_FORMS": "0",
        "tiers-MAX_NUM_FORMS": "1000",
        "_save": "Save",
    }
    for index, row in enumerate(rows):
        for key, value in row.items():
            data[f"tiers-{index}-{key}"] = "" if value is None else str(value)
        data[f"tiers-{index}-config"] = str(config.pk)
    return data


def stored_tiers(config) -> list[tuple]:
    return [
        (tier.position, tier.up_to, tier.unit_price, tier.flat_fee)
        for tier in PriceTier.objects.filter(config=config).order_by("position")
    ]


FIVE_TIERS = [
    {"position": 1, "up_to": "1000", "unit_price": "0.01", "flat_fee": "0"},
    {"position": 2, "up_to": "5000", "unit_price": "0.008", "flat_fee": "0"},
    {"position": 3, "up_to": "20000", "unit_price": "0.006", "flat_fee": "5"},
    {"position": 4, "up_to": "100000", "unit_price": "0.004", "flat_fee": "0"},
    {"position": 5, "up_to": "", "unit_price": "0.002", "flat_fee": "0"},
]


def test_tier_editor_round_trips_a_five_tier_model(staff_client):
    config = ActivityBasedConfigFactory(volume_pricing_enabled=True)
    url = reverse("admin:pricing_activitybasedconfig_change", args=[config.pk])
    response = staff_client.post(url, config_form(config, FIVE_TIERS, 0))
    assert response.status_code == 302, response.context["errors"]
    assert stored_tiers(config) == [
        (1, D("1000"), D("0.01"), D("0")),
        (2, D("5000"), D("0.008"), D("0")),
        (3, D("20000"), D("0.006"), D("5")),
        (4, D("100000"), D("0.004"), D("0")),
        (5, None, D("0.002"), D("0")),
    ]

    # The page shows the same five tiers back, in order.
    page = staff_client.get(url)
    formset = page.context["inline_admin_formsets"][0].formset
    shown = [
        (form.instance.position, form.instance.up_to, form.instance.unit_price)
        for form in formset.forms
        if form.instance.pk
    ]
    assert shown == [(t[0], t[1], t[2]) for t in stored_tiers(config)]

    # Reorder (swap the first two positions' bands), drop tier 4, save again.
    ids = [tier.pk for tier in PriceTier.objects.filter(config=config)]
    rows = [
        {"id": ids[0], "position": 2, "up_to": "5000", "unit_price": "0.009"},
        {"id": ids[1], "position": 1, "up_to": "1000", "unit_price": "0.011"},
        {"id": ids[2], "position": 3, "up_to": "20000", "unit_price": "0.006",
         "flat_fee": "5"},
        {"id": ids[3], "position": 4, "up_to": "100000", "unit_price": "0.004",
         "DELETE": "on"},
        {"id": ids[4], "position": 5, "up_to": "", "unit_price": "0.002"},
    ]  # fmt: skip
    for row in rows:
        row.setdefault("flat_fee", "0")
    response = staff_client.post(url, config_form(config, rows, 5))
    assert response.status_code == 302, response.context["errors"]
    assert stored_tiers(config) == [
        (1, D("1000"), D("0.011"), D("0")),
        (2, D("5000"), D("0.009"), D("0")),
        (3, D("20000"), D("0.006"), D("5")),
        (4, None, D("0.002"), D("0")),
    ]


def test_tier_editor_shows_validation_messages_inline(staff_client):
    config = ActivityBasedConfigFactory(volume_pricing_enabled=True)
    url = reverse("admin:pricing_activitybasedconfig_change", args=[config.pk])
    rows = [
        {"position": 1, "up_to": "5000", "unit_price": "0.01", "flat_fee": "0"},
        {"position": 2, "up_to": "4000", "unit_price": "-1", "flat_fee": "0"},
    ]
    response = staff_client.post(url, config_form(config, rows, 0))
    assert response.status_code == 200
    formset = response.context["inline_admin_formsets"][0].formset
    assert formset.forms[1].errors == {
        "up_to": ["Must be greater than the previous tier's threshold (5000)."],
        "unit_price": ["Must not be negative."],
    }
    assert "Must be greater than the previous tier" in response.content.decode()
    assert stored_tiers(config) == []


def test_tier_editor_refuses_tiers_without_volume_pricing(staff_client):
    config = ActivityBasedConfigFactory(volume_pricing_enabled=False)
    url = reverse("admin:pricing_activitybasedconfig_change", args=[config.pk])
    data = config_form(config, FIVE_TIERS[:1], 0)
    del data["volume_pricing_enabled"]
    response = staff_client.post(url, data)
    assert response.status_code == 200
    formset = response.context["inline_admin_formsets"][0].formset
    assert formset.non_form_errors() == [
        "Tiers apply only when volume pricing is enabled."
    ]


def test_billing_model_changelist_shows_tiers_compactly(
    staff_client, seed_token_model, django_assert_max_num_queries
):
    for index in range(5):
        ActivityBasedConfigFactory(
            billing_model=BillingModelFactory(
                organization=seed_token_model.organization, name=f"Extra {index}"
            )
        )
    with django_assert_max_num_queries(12):
        response = staff_client.get(reverse("admin:pricing_billingmodel_changelist"))
    assert response.status_code == 200
    assert (
        "tokens: 0-10k @0.0008 | 10k-50k @0.0006 | 50k-100k @0.0004 | 100k+ @0.001"
        in response.content.decode()
    )


def test_billing_model_changelist_filters_by_type_and_activity(
    staff_client, seed_token_model, api_calls_model
):
    url = reverse("admin:pricing_billingmodel_changelist")
    response = staff_client.get(url, {"activity_type": "tokens"})
    assert list(response.context["cl"].result_list) == [seed_token_model]
    response = staff_client.get(url, {"model_type__exact": "hybrid"})
    assert list(response.context["cl"].result_list) == []


def test_billing_model_change_page_embeds_the_calculator(staff_client, gpt_token_model):
    url = reverse("admin:pricing_billingmodel_change", args=[gpt_token_model.pk])
    response = staff_client.get(url)
    assert response.status_code == 200
    config = response.context["config"]
    assert config["activities"][0]["tiers"] == [
        {"up_to": "5000", "unit_price": "0.0015", "flat_fee": "0"},
        {"up_to": "20000", "unit_price": "0.001", "flat_fee": "0"},
    ]
    body = response.content.decode()
    assert 'id="pricing-calculator-config"' in body
    assert "pricing/calculator.js" in body
    assert "edit tiers" in body


def test_activity_model_needs_exactly_one_activity_in_admin(staff_client, organization):
    url = reverse("admin:pricing_billingmodel_add")
    response = staff_client.post(
        url,
        {
            "organization": organization.pk,
            "name": "No activity",
            "model_type": "activity",
            "subscription_fee": "0",
            "is_active": "on",
            "activity_configs-TOTAL_FORMS": "0",
            "activity_configs-INITIAL_FORMS": "0",
            "activity_configs-MIN_NUM_FORMS": "0",
            "activity_configs-MAX_NUM_FORMS": "1000",
        },
    )
    assert response.status_code == 200
    formset = response.context["inline_admin_formsets"][0].formset
    assert formset.non_form_errors() == [
        "An activity-based model needs exactly one activity pricing."
    ]


def test_activity_pricing_changelist_query_count(
    staff_client, seed_token_model, django_assert_max_num_queries
):
    for index in range(5):
        ActivityBasedConfigFactory(activity_type=f"kind_{index}")
    with django_assert_max_num_queries(12):
        response = staff_client.get(
            reverse("admin:pricing_activitybasedconfig_changelist")
        )
    assert response.status_code == 200
    assert "0-10k @0.0008 | 10k-50k @0.0006" in response.content.decode()
