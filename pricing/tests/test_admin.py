from decimal import Decimal

import pytest
from django import forms
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


def page_data(response) -> dict[str, str]:
    """The POST the billing model page sends as it was shown: the model, each
    activity pricing form and its tier forms, with their management forms."""
    data: dict[str, str] = {"_save": "Save"}

    def add(form) -> None:
        for bound in form:
            value = bound.value()
            if isinstance(bound.field.widget, forms.CheckboxInput):
                if value:
                    data[bound.html_name] = "on"
                continue
            data[bound.html_name] = "" if value is None else str(value)

    add(response.context["adminform"].form)
    formset = response.context["inline_admin_formsets"][0].formset
    add(formset.management_form)
    for form in formset.forms:
        add(form)
        add(form.tier_formset.management_form)
        for tier_form in form.tier_formset.forms:
            add(tier_form)
    return data


def set_tiers(data: dict, rows: list[dict], activity: int = 0) -> dict:
    """``data`` with the tier forms of one activity replaced by ``rows`` (new
    rows, or saved ones naming their ``id``)."""
    prefix = f"activity_configs-{activity}-tiers-"
    for key in [key for key in data if key.startswith(prefix)]:
        del data[key]
    data[f"{prefix}TOTAL_FORMS"] = str(len(rows))
    data[f"{prefix}INITIAL_FORMS"] = str(sum(1 for row in rows if "id" in row))
    data[f"{prefix}MIN_NUM_FORMS"] = "0"
    data[f"{prefix}MAX_NUM_FORMS"] = "1000"
    for index, row in enumerate(rows):
        row = {"flat_fee": "0", **row}  # as the page shows a blank row
        for key, value in row.items():
            data[f"{prefix}{index}-{key}"] = "" if value is None else str(value)
    return data


def stored_tiers(config) -> list[tuple]:
    return [
        (tier.position, tier.up_to, tier.unit_price, tier.flat_fee)
        for tier in PriceTier.objects.filter(config=config).order_by("position")
    ]


def change_url(model) -> str:
    return reverse("admin:pricing_billingmodel_change", args=[model.pk])


FIVE_TIERS = [
    {"position": 1, "up_to": "1000", "unit_price": "0.01", "flat_fee": "0"},
    {"position": 2, "up_to": "5000", "unit_price": "0.008", "flat_fee": "0"},
    {"position": 3, "up_to": "20000", "unit_price": "0.006", "flat_fee": "5"},
    {"position": 4, "up_to": "100000", "unit_price": "0.004", "flat_fee": "0"},
    {"position": 5, "up_to": "", "unit_price": "0.002", "flat_fee": "0"},
]


def test_tiers_are_edited_on_the_billing_model_page(staff_client, gpt_token_model):
    config = gpt_token_model.activity_configs.get()
    url = change_url(gpt_token_model)
    page = staff_client.get(url)
    tiers = page.context["inline_admin_formsets"][0].formset.forms[0].tier_formset
    # The two saved tiers, unpadded, then two blank rows numbered after them.
    assert [(form["up_to"].value(), form["unit_price"].value()) for form in tiers] == [
        ("5000", "0.0015"), ("20000", "0.001"), (None, None), (None, None),
    ]  # fmt: skip
    assert [form["position"].value() for form in tiers.forms[2:]] == [3, 4]

    data = page_data(page)
    data["activity_configs-0-tiers-1-unit_price"] = "0.0012"
    data["activity_configs-0-tiers-2-up_to"] = "50000"
    data["activity_configs-0-tiers-2-unit_price"] = "0.0008"
    data["activity_configs-0-price_per_unit"] = "0.0005"
    response = staff_client.post(url, data)
    assert response.status_code == 302, response.context["errors"]
    assert stored_tiers(config) == [
        (1, D("5000"), D("0.0015"), D("0")),
        (2, D("20000"), D("0.0012"), D("0")),
        (3, D("50000"), D("0.0008"), D("0")),
    ]
    config.refresh_from_db()
    assert config.price_per_unit == D("0.0005")


def test_tiers_round_trip_five_tiers_reordered_and_deleted(staff_client, organization):
    config = ActivityBasedConfigFactory(
        billing_model=BillingModelFactory(organization=organization),
        volume_pricing_enabled=True,
    )
    url = change_url(config.billing_model)
    data = set_tiers(page_data(staff_client.get(url)), FIVE_TIERS)
    response = staff_client.post(url, data)
    assert response.status_code == 302, response.context["errors"]
    assert stored_tiers(config) == [
        (1, D("1000"), D("0.01"), D("0")),
        (2, D("5000"), D("0.008"), D("0")),
        (3, D("20000"), D("0.006"), D("5")),
        (4, D("100000"), D("0.004"), D("0")),
        (5, None, D("0.002"), D("0")),
    ]

    # Reorder (swap the first two positions' bands), drop tier 4, save again.
    ids = list(
        PriceTier.objects.filter(config=config)
        .order_by("position")
        .values_list("pk", flat=True)
    )
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
        row["config"] = config.pk
    data = set_tiers(page_data(staff_client.get(url)), rows)
    response = staff_client.post(url, data)
    assert response.status_code == 302, response.context["errors"]
    assert stored_tiers(config) == [
        (1, D("1000"), D("0.011"), D("0")),
        (2, D("5000"), D("0.009"), D("0")),
        (3, D("20000"), D("0.006"), D("5")),
        (4, None, D("0.002"), D("0")),
    ]


def test_tier_problems_show_on_their_rows_and_nothing_is_saved(
    staff_client, gpt_token_model
):
    config = gpt_token_model.activity_configs.get()
    url = change_url(gpt_token_model)
    data = page_data(staff_client.get(url))
    data["activity_configs-0-tiers-1-up_to"] = "4000"
    data["activity_configs-0-tiers-1-unit_price"] = "-1"
    data["name"] = "Renamed"
    response = staff_client.post(url, data)
    assert response.status_code == 200
    activity = response.context["inline_admin_formsets"][0].formset.forms[0]
    assert activity.tier_formset.forms[1].errors == {
        "up_to": ["Must be greater than the previous tier's threshold (5000)."],
        "unit_price": ["Must not be negative."],
    }
    assert activity.non_field_errors() == ["Correct the tiers of this activity below."]
    body = response.content.decode()
    assert "Must be greater than the previous tier" in body
    assert "Please correct the error below." in body
    assert stored_tiers(config) == [
        (1, D("5000"), D("0.0015"), D("0")),
        (2, D("20000"), D("0.001"), D("0")),
    ]
    gpt_token_model.refresh_from_db()
    assert gpt_token_model.name == "Token-Based AI Services"


def test_tiers_need_volume_pricing(staff_client, gpt_token_model):
    url = change_url(gpt_token_model)
    data = page_data(staff_client.get(url))
    del data["activity_configs-0-volume_pricing_enabled"]
    response = staff_client.post(url, data)
    assert response.status_code == 200
    activity = response.context["inline_admin_formsets"][0].formset.forms[0]
    assert activity.tier_formset.non_form_errors() == [
        "Tiers apply only when volume pricing is enabled."
    ]


def test_a_new_activity_is_saved_with_its_tiers(staff_client, organization):
    response = staff_client.get(reverse("admin:pricing_billingmodel_add"))
    data = page_data(response)
    data.update(
        {
            "organization": str(organization.pk),
            "name": "Tiered from scratch",
            "model_type": "activity",
            "activity_configs-TOTAL_FORMS": "1",
            "activity_configs-0-activity_type": "tokens",
            "activity_configs-0-unit_type": "token",
            "activity_configs-0-is_active": "on",
            "activity_configs-0-price_per_unit": "0.001",
            "activity_configs-0-base_agent_fee": "0",
            "activity_configs-0-minimum_charge": "0",
            "activity_configs-0-volume_pricing_enabled": "on",
            "activity_configs-0-tier_mode": "graduated",
            "activity_configs-0-billing_frequency": "monthly",
        }
    )
    set_tiers(
        data,
        [
            {"position": 1, "up_to": "10000", "unit_price": "0.002"},
            {"position": 2, "up_to": "", "unit_price": ""},
        ],
    )
    response = staff_client.post(reverse("admin:pricing_billingmodel_add"), data)
    assert response.status_code == 302, response.context["errors"]
    config = ActivityBasedConfig.objects.get(billing_model__name="Tiered from scratch")
    assert stored_tiers(config) == [(1, D("10000"), D("0.002"), D("0"))]


def test_the_activity_pricing_page_sends_to_its_billing_model(
    staff_client, gpt_token_model
):
    config = gpt_token_model.activity_configs.get()
    response = staff_client.get(
        reverse("admin:pricing_activitybasedconfig_change", args=[config.pk])
    )
    assert response.status_code == 302
    assert response["Location"] == change_url(gpt_token_model)


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
    body = response.content.decode()
    assert (
        "tokens: 0-10k @0.0008 | 10k-50k @0.0006 | 50k-100k @0.0004 | 100k+ @0.001"
        in body
    )
    assert '<td class="field-subscription">USD 0.00</td>' in body


def test_billing_model_changelist_filters_by_type_and_activity(
    staff_client, seed_token_model, api_calls_model
):
    url = reverse("admin:pricing_billingmodel_changelist")
    response = staff_client.get(url, {"activity_type": "tokens"})
    assert list(response.context["cl"].result_list) == [seed_token_model]
    response = staff_client.get(url, {"model_type__exact": "hybrid"})
    assert list(response.context["cl"].result_list) == []


def test_billing_model_page_has_the_preview_and_no_empty_error_box(
    staff_client, gpt_token_model
):
    response = staff_client.get(change_url(gpt_token_model))
    assert response.status_code == 200
    body = response.content.decode()
    preview = reverse(
        "admin:pricing_billingmodel_change_preview", args=[gpt_token_model.pk]
    )
    assert f'data-url="{preview}"' in body
    assert "errornote" not in body
    assert "calculator.js" not in body
    assert "<script>" not in body  # no inline script: the CSP refuses them
    assert "10000.000000" not in body and "0.00150000" not in body


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
    body = response.content.decode()
    assert "0-10k @0.0008 | 10k-50k @0.0006" in body
    # Prices unpadded, fees with their currency.
    assert '<td class="field-unit_price">0.001</td>' in body
    assert '<td class="field-agent_fee">USD 10.00</td>' in body
    assert '<td class="field-minimum">USD 5.00</td>' in body
    assert "0.00100000" not in body
